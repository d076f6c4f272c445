/*
 * test_botspool.c - the webhook's spool file (lib/botspool.c): records
 * appended by several processes at once stay whole and in the format the
 * worker reads, the directory is made when missing, and headers that are
 * not one are refused. (Moving records into the database is covered by
 * tests/blackbox/test_telegram_bot.py.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "oshxona.h"
#include "botspool.h"

static char dir[256];

static int
setup(void **state)
{
	char tmpl[] = "/tmp/oshxona-spool-XXXXXX";

	(void)state;
	if (mkdtemp(tmpl) == NULL)
		return -1;
	/* A directory below it that does not exist yet: put must make it. */
	snprintf(dir, sizeof(dir), "%s/spool", tmpl);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strrchr(dir, '/') - dir), dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Reads the spool back: count of whole records, and checks each. */
static int
read_file(const char *path, int64_t *ids, int max)
{
	char *buf;
	FILE *f;
	long size, off = 0;
	int n = 0;

	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	buf = malloc((size_t)size + 1);
	assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	while (off < size) {
		int64_t id;
		uint32_t len, sum;
		char hdr[36];
		memcpy(hdr, buf + off, 35);
		hdr[35] = '\0';
		assert_int_equal(botspool_header(hdr, &id, &len, &sum), 0);
		assert_int_equal(botspool_sum(buf + off + 35, len), sum);
		assert_int_equal(buf[off + 35 + len], '\n');
		if (n < max)
			ids[n] = id;
		n++;
		off += 35 + (long)len + 1;
	}
	assert_int_equal(off, size);
	free(buf);
	return n;
}

static int
read_back(int64_t *ids, int max)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/inbox.spool", dir);
	return read_file(path, ids, max);
}

static void
test_spool_records_from_many_writers_stay_whole(void **state)
{
	enum { WRITERS = 4, EACH = 50 };
	int64_t ids[WRITERS * EACH];
	int seen[WRITERS * EACH] = {0};
	char raw[600];

	(void)state;
	for (int w = 0; w < WRITERS; w++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			for (int i = 0; i < EACH; i++) {
				int64_t id = 1000 + w * EACH + i;
				/* Different lengths, so interleaved writes would show. */
				int len = snprintf(raw, sizeof(raw),
				                   "{\"update_id\": %lld, \"pad\": \"%.*s\"}",
				                   (long long)id, 1 + (int)(id % 400),
				                   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				                   "xxxxxxxxxxxxxxxxx"
				                   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				                   "xxxxxxxxxxxxxxxxx"
				                   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				                   "xxxxxxxxxxxxxxxxx"
				                   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				                   "xxxxxxxxxxxxxxxxx"
				                   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				                   "xxxxxxxxxxxxxxxxx"
				                   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				                   "xxxxxxxxxxxxxxxxx"
				                   "xxxxxxxxxxxxxxxx");
				if (botspool_put(dir, id, raw, (size_t)len) != 0)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (int w = 0; w < WRITERS; w++) {
		int status;
		assert_true(wait(&status) > 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(read_back(ids, WRITERS * EACH), WRITERS * EACH);
	for (int i = 0; i < WRITERS * EACH; i++) {
		assert_in_range(ids[i], 1000, 1000 + WRITERS * EACH - 1);
		seen[ids[i] - 1000]++;
	}
	for (int i = 0; i < WRITERS * EACH; i++)
		assert_int_equal(seen[i], 1);
}

/*
 * botspool_rotate's steps with a pause under the lock, so that writers
 * are surely waiting for the lock with the old file open when it is
 * renamed away.
 */
static int
slow_rotate(const char *path, const char *draining)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	assert_int_equal(flock(fd, LOCK_EX), 0);
	usleep(30000);
	assert_int_equal(rename(path, draining), 0);
	flock(fd, LOCK_UN);
	close(fd);
	return 1;
}

/*
 * The worker sets the spool aside while writers append: every record
 * lands whole in one of the two files, and none is appended to the
 * set-aside file after botspool_rotate returned (it would be lost: the
 * worker has read it by then).
 */
static void
test_spool_rotation_loses_nothing(void **state)
{
	enum { WRITERS = 3, EACH = 100 };
	char path[300], draining[300];
	int64_t ids[WRITERS * EACH];
	struct stat st;
	int rounds = 0, total = 0;
	off_t set_aside = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/inbox.spool", dir);
	snprintf(draining, sizeof(draining), "%s/inbox.spool.draining", dir);
	unlink(path);
	for (int w = 0; w < WRITERS; w++) {
		if (fork() == 0) {
			for (int i = 0; i < EACH; i++) {
				char raw[64];
				int len = snprintf(raw, sizeof(raw), "{\"update_id\": %d}",
				                   5000 + w * EACH + i);
				if (botspool_put(dir, 5000 + w * EACH + i, raw, (size_t)len) != 0)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (int live = WRITERS; live > 0;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid > 0) {
			assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
			live--;
		}
		if (rounds % 2 == 1 ? slow_rotate(path, draining) : botspool_rotate(dir) == 1) {
			/* What the worker would read now... */
			assert_int_equal(stat(draining, &st), 0);
			set_aside = st.st_size;
			usleep(20000);
			/* ...is all there will ever be in it. */
			assert_int_equal(stat(draining, &st), 0);
			assert_int_equal(st.st_size, set_aside);
			total += read_file(draining, ids, 0);
			unlink(draining);
			rounds++;
		}
	}
	if (botspool_rotate(dir) == 1) {
		total += read_file(draining, ids, 0);
		unlink(draining);
	}
	assert_int_equal(total, WRITERS * EACH);
	assert_true(rounds >= 1);
}

static void
test_spool_refuses_what_it_cannot_store(void **state)
{
	static char big[64 * 1024 + 2];

	(void)state;
	memset(big, 'x', sizeof(big));
	assert_int_equal(botspool_put(dir, 1, big, sizeof(big)), -1);
	/* A directory that cannot be made (its parent is a file). */
	assert_int_equal(botspool_put("/dev/null/spool", 1, "{}", 2), -1);
}

static void
test_spool_header(void **state)
{
	int64_t id;
	uint32_t len, sum;

	(void)state;
	assert_int_equal(botspool_header("000000001dcd6500 0000002a 89abcdef\n", &id, &len, &sum),
	                 0);
	assert_int_equal(id, 500000000);
	assert_int_equal(len, 42);
	assert_int_equal(sum, 0x89abcdef);
	assert_int_equal(botspool_header("000000001dcd6500 0000002a 89abcdeg\n", &id, &len, &sum),
	                 -1);
	assert_int_equal(botspool_header("000000001dcd6500 0000002a 89abcdef ", &id, &len, &sum),
	                 -1);
	assert_int_equal(botspool_header("000000001DCD6500 0000002a 89abcdef\n", &id, &len, &sum),
	                 -1);
	assert_int_equal(botspool_header("00000000\0", &id, &len, &sum), -1);
	/* The sum changes with any byte. */
	assert_true(botspool_sum("{\"a\":1}", 7) != botspool_sum("{\"a\":2}", 7));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spool_records_from_many_writers_stay_whole),
	    cmocka_unit_test(test_spool_rotation_loses_nothing),
	    cmocka_unit_test(test_spool_refuses_what_it_cannot_store),
	    cmocka_unit_test(test_spool_header),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
