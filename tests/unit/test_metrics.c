/*
 * test_metrics.c - lib/metrics.c: counters shared by processes through the
 * mapped file, latency buckets, odd statuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "metrics.h"
#include "oshxona.h"

static char dir[64], path[128];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/oshxona-metrics-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/unit.v1.metrics", dir);
	setenv("METRICS_DIR", dir, 1);
	log_init("test_metrics", "error", NULL);
	return metrics_open("unit");
}

static int
teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

static const struct metrics_status *
status_of(const struct metrics_file *m, int status)
{
	return &m->status[status - METRICS_STATUS_MIN];
}

static void
test_children_add_to_the_same_counters(void **state)
{
	static struct metrics_file m;
	pid_t kids[4];

	(void)state;
	/* Each child is a separate process, as FastCGI children are. */
	for (int k = 0; k < 4; k++) {
		kids[k] = fork();
		assert_true(kids[k] >= 0);
		if (kids[k] == 0) {
			for (int i = 0; i < 10000; i++)
				metrics_observe(200, 1000);
			_exit(0);
		}
	}
	for (int i = 0; i < 10000; i++)
		metrics_observe(200, 1000);
	for (int k = 0; k < 4; k++) {
		int st;
		assert_int_equal(waitpid(kids[k], &st, 0), kids[k]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	assert_int_equal(metrics_read(path, &m), 0);
	assert_int_equal(status_of(&m, 200)->count, 50000);
	assert_int_equal(status_of(&m, 200)->sum_us, 50000 * 1000);
	assert_int_equal(status_of(&m, 200)->bucket[0], 50000);
}

static void
test_buckets_are_upper_bounds(void **state)
{
	static struct metrics_file m;

	(void)state;
	metrics_observe(201, 5000);     /* exactly 5 ms: le="0.005" */
	metrics_observe(201, 5001);     /* just over: le="0.01" */
	metrics_observe(201, 10000000); /* 10 s: the last bound */
	metrics_observe(201, 60000000); /* a minute: +Inf */
	metrics_observe(201, -5);       /* a clock step back counts as 0 */
	assert_int_equal(metrics_read(path, &m), 0);
	assert_int_equal(status_of(&m, 201)->count, 5);
	assert_int_equal(status_of(&m, 201)->bucket[0], 2);
	assert_int_equal(status_of(&m, 201)->bucket[1], 1);
	assert_int_equal(status_of(&m, 201)->bucket[METRICS_NBOUNDS - 1], 1);
	assert_int_equal(status_of(&m, 201)->bucket[METRICS_NBOUNDS], 1);
}

static void
test_odd_statuses_and_db_errors(void **state)
{
	static struct metrics_file m;

	(void)state;
	metrics_observe(0, 1);   /* nothing sent: counted as 500 */
	metrics_observe(999, 1); /* out of range: also 500 */
	metrics_db_error(1);
	metrics_db_error(0);
	metrics_db_error(0);
	assert_int_equal(metrics_read(path, &m), 0);
	assert_int_equal(status_of(&m, 500)->count, 2);
	assert_int_equal(m.db_unavailable, 1);
	assert_int_equal(m.db_errors, 2);
}

static void
test_read_refuses_a_wrong_size(void **state)
{
	static struct metrics_file m;
	char other[160];
	FILE *f;

	(void)state;
	snprintf(other, sizeof(other), "%s/old.v1.metrics", dir);
	f = fopen(other, "w");
	assert_non_null(f);
	fputs("short", f);
	fclose(f);
	assert_int_equal(metrics_read(other, &m), -1);
	assert_int_equal(metrics_read("/nonexistent/x.v1.metrics", &m), -1);
	unlink(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_children_add_to_the_same_counters),
	    cmocka_unit_test(test_buckets_are_upper_bounds),
	    cmocka_unit_test(test_odd_statuses_and_db_errors),
	    cmocka_unit_test(test_read_refuses_a_wrong_size),
	};

	return cmocka_run_group_tests_name("metrics", tests, setup, teardown);
}
