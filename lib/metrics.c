/*
 * metrics.c - per-program request counters shared by every child through
 * one mmap'ed file (metrics.h says why).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics.h"
#include "oshxona.h"

const double metrics_bounds[METRICS_NBOUNDS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                0.5,   1,    2.5,   5,    10};

static struct metrics_file *metrics_map;

int
metrics_open(const char *program)
{
	const char *dir = getenv("METRICS_DIR");
	char path[1024];
	struct stat st;
	void *p;
	int fd;

	if (dir == NULL || *dir == '\0' || metrics_map != NULL)
		return 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.v1.metrics", dir, program) >=
	    sizeof(path)) {
		log_error("metrics: METRICS_DIR is too long");
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_error("metrics: cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	/*
	 * Siblings starting together may all extend it: growing a file to the
	 * same size twice is harmless, and new bytes read as zero.
	 */
	if (fstat(fd, &st) != 0 || (st.st_size < (off_t)sizeof(struct metrics_file) &&
	                            ftruncate(fd, (off_t)sizeof(struct metrics_file)) != 0)) {
		log_error("metrics: cannot size %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	p = mmap(NULL, sizeof(struct metrics_file), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		log_error("metrics: cannot map %s: %s", path, strerror(errno));
		return -1;
	}
	metrics_map = p;
	return 0;
}

static void
metrics_add(uint64_t *counter, uint64_t n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

void
metrics_observe(int status, int64_t usec)
{
	struct metrics_status *s;
	double secs;
	int b;

	if (metrics_map == NULL)
		return;
	if (status < METRICS_STATUS_MIN || status > METRICS_STATUS_MAX)
		status = 500;
	if (usec < 0)
		usec = 0;
	s = &metrics_map->status[status - METRICS_STATUS_MIN];
	secs = (double)usec / 1e6;
	for (b = 0; b < METRICS_NBOUNDS && secs > metrics_bounds[b]; b++)
		;
	metrics_add(&s->bucket[b], 1);
	metrics_add(&s->sum_us, (uint64_t)usec);
	metrics_add(&s->count, 1);
}

void
metrics_db_error(int unavailable)
{
	if (metrics_map != NULL)
		metrics_add(unavailable ? &metrics_map->db_unavailable : &metrics_map->db_errors,
		            1);
}

int
metrics_read(const char *path, struct metrics_file *out)
{
	const uint64_t *src;
	uint64_t *dst = (uint64_t *)out;
	size_t n = sizeof(*out) / sizeof(uint64_t);
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || st.st_size != (off_t)sizeof(*out)) {
		close(fd);
		return -1;
	}
	p = mmap(NULL, sizeof(*out), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -1;
	src = p;
	for (size_t i = 0; i < n; i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	munmap(p, sizeof(*out));
	return 0;
}
