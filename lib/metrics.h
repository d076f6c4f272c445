/*
 * metrics.h - request counters every FastCGI process of a program shares
 * with its siblings, and the metrics program reads (fcgi-apps/metrics).
 *
 * Why a shared file: a program runs as several single-threaded children
 * (spawn-fcgi -F, multiwatch), each its own process, and a scrape reaches
 * none of them. So each program has one file $METRICS_DIR/<program>.v1.metrics
 * that every child maps MAP_SHARED and updates with atomic adds: exact,
 * lock-free, one cache line touched per request, and nothing to parse. The
 * counters live as long as the file (the run directory), so they survive a
 * child's restart; Prometheus copes with the reset on reboot. The layout's
 * version is in the name, so an upgrade never reads an old layout.
 */
#ifndef OSHXONA_METRICS_H
#define OSHXONA_METRICS_H

#include <stdint.h>

#define METRICS_STATUS_MIN 100
#define METRICS_STATUS_MAX 599
/* Latency buckets' upper bounds in seconds; one more bucket for +Inf. */
#define METRICS_NBOUNDS  11
#define METRICS_NBUCKETS (METRICS_NBOUNDS + 1)
extern const double metrics_bounds[METRICS_NBOUNDS];

/* Requests answered with one status; buckets are not cumulative here. */
struct metrics_status {
	uint64_t count;                    /* requests */
	uint64_t sum_us;                   /* total time in the program, µs */
	uint64_t bucket[METRICS_NBUCKETS]; /* requests per latency bucket */
};

/* The shared file's layout (version 1). */
struct metrics_file {
	uint64_t db_unavailable; /* database unreachable (answered 503) */
	uint64_t db_errors;      /* other database errors (answered 500) */
	uint64_t reserved[14];
	struct metrics_status status[METRICS_STATUS_MAX - METRICS_STATUS_MIN + 1];
};

/*
 * Maps this program's file when METRICS_DIR is set (else every call below
 * does nothing). Returns 0, or -1 (logged; the program runs without).
 */
int metrics_open(const char *program);

/* One request answered with status after usec microseconds. */
void metrics_observe(int status, int64_t usec);

/* A database error: unavailable 1 for "cannot reach it", 0 otherwise. */
void metrics_db_error(int unavailable);

/*
 * A consistent-enough copy of a program's file at path (each counter read
 * atomically). Returns 0, or -1 when it cannot be read or has the wrong size.
 */
int metrics_read(const char *path, struct metrics_file *out);

#endif
