/*
 * test_log.c - lib/log.c's JSON lines and its own rotation in LOG_DIR,
 * driven by a forced clock: day change, size limit, deletion of old days.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "oshxona.h"

static int64_t fake_ms;
static char dir[64];

/* 2026-12-03T10:00:00Z: 15:00 in Tashkent, same day. */
#define DAY_MS   (86400LL * 1000)
#define T_DEC_03 1796292000000LL

static int64_t
fake_clock(void)
{
	return fake_ms;
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/oshxona-logtest-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	setenv("LOG_DIR", dir, 1);
	fake_ms = T_DEC_03;
	log_set_clock(fake_clock);
	log_set_limits(0, 0, 0);
	log_set_request_id(NULL);
	log_init("test", "debug", NULL);
	return 0;
}

static int
teardown(void **state)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	char path[512];

	(void)state;
	log_init("test", "debug", NULL); /* closes the files */
	unsetenv("LOG_DIR");
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	if (d != NULL)
		closedir(d);
	rmdir(dir);
	return 0;
}

/* The whole file, NUL-terminated (NULL if missing); caller frees. */
static char *
slurp(const char *name)
{
	char path[512];
	FILE *f;
	long n;
	char *buf;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = xmalloc((size_t)n + 1);
	buf[fread(buf, 1, (size_t)n, f)] = '\0';
	fclose(f);
	return buf;
}

static int
exists(const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0;
}

static long
file_size(const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void
touch(const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{}\n", f);
	fclose(f);
}

static int
count_lines(const char *text)
{
	int n = 0;
	for (; *text != '\0'; text++)
		n += *text == '\n';
	return n;
}

static void
test_line_has_every_field(void **state)
{
	json_object *fields = json_object_new_object(), *line, *v, *f;
	char *text;

	(void)state;
	json_object_object_add(fields, "orderId", json_object_new_string("abc/1"));
	json_object_object_add(fields, "total", json_object_new_int64(45000));
	log_set_request_id("0123456789abcdef0123456789abcdef");
	log_fields(LOGL_INFO, fields, "order %d placed", 7);
	json_object_put(fields);

	text = slurp("app-2026-12-03.log");
	assert_non_null(text);
	assert_int_equal(count_lines(text), 1);
	line = json_tokener_parse(text);
	assert_non_null(line);
	assert_true(json_object_object_get_ex(line, "time", &v));
	assert_string_equal(json_object_get_string(v), "2026-12-03T10:00:00.000Z");
	assert_true(json_object_object_get_ex(line, "level", &v));
	assert_string_equal(json_object_get_string(v), "info");
	assert_true(json_object_object_get_ex(line, "program", &v));
	assert_string_equal(json_object_get_string(v), "test");
	assert_true(json_object_object_get_ex(line, "request_id", &v));
	assert_string_equal(json_object_get_string(v), "0123456789abcdef0123456789abcdef");
	assert_true(json_object_object_get_ex(line, "message", &v));
	assert_string_equal(json_object_get_string(v), "order 7 placed");
	assert_true(json_object_object_get_ex(line, "fields", &f));
	assert_true(json_object_object_get_ex(f, "orderId", &v));
	assert_string_equal(json_object_get_string(v), "abc/1");
	assert_true(json_object_object_get_ex(f, "total", &v));
	assert_int_equal(json_object_get_int64(v), 45000);
	json_object_put(line);
	free(text);
	/* Info lines never reach the error file. */
	assert_false(exists("error-2026-12-03.log"));
}

static void
test_no_request_id_outside_a_request(void **state)
{
	char *text;

	(void)state;
	log_set_request_id("abc");
	log_set_request_id(NULL);
	log_info("between requests");
	text = slurp("app-2026-12-03.log");
	assert_non_null(text);
	assert_null(strstr(text, "request_id"));
	free(text);
}

static void
test_request_id_must_be_sane(void **state)
{
	char long_id[80];

	(void)state;
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	assert_true(log_request_id_valid("f3a9-01:x_y.z"));
	assert_false(log_request_id_valid(""));
	assert_false(log_request_id_valid("a b"));
	assert_false(log_request_id_valid("a\"b"));
	assert_false(log_request_id_valid("a\nb"));
	assert_false(log_request_id_valid(long_id));
	long_id[64] = '\0';
	assert_true(log_request_id_valid(long_id));
	log_set_request_id("evil\"id");
	assert_string_equal(log_get_request_id(), "");
}

static void
test_errors_go_to_both_files(void **state)
{
	char *app, *err;

	(void)state;
	log_info("fine");
	log_error("broken: %s", "disk");
	app = slurp("app-2026-12-03.log");
	err = slurp("error-2026-12-03.log");
	assert_non_null(app);
	assert_non_null(err);
	assert_int_equal(count_lines(app), 2);
	assert_int_equal(count_lines(err), 1);
	assert_non_null(strstr(err, "\"level\":\"error\""));
	assert_non_null(strstr(err, "broken: disk"));
	free(app);
	free(err);
}

static void
test_new_file_on_tashkent_date_change(void **state)
{
	(void)state;
	/* 18:59:59Z is 23:59:59 in Tashkent; 19:00Z is already the next day. */
	fake_ms = T_DEC_03 + 9 * 3600 * 1000 - 1000;
	log_info("last of the 3rd");
	fake_ms = T_DEC_03 + 9 * 3600 * 1000;
	log_info("first of the 4th");
	log_error("and an error");
	assert_true(exists("app-2026-12-03.log"));
	assert_true(exists("app-2026-12-04.log"));
	assert_true(exists("error-2026-12-04.log"));
	assert_false(exists("error-2026-12-03.log"));
}

static void
test_size_limit_continues_in_numbered_files(void **state)
{
	char msg[101];
	long lim = 1000;

	(void)state;
	memset(msg, 'x', 100);
	msg[100] = '\0';
	log_set_limits(lim, 0, 0);
	for (int i = 0; i < 40; i++)
		log_info("%s %d", msg, i);
	assert_true(exists("app-2026-12-03.log"));
	assert_true(exists("app-2026-12-03.1.log"));
	assert_true(exists("app-2026-12-03.2.log"));
	/* A file is closed once it reaches the limit: at most one line over. */
	for (const char *const *n =
	         (const char *const[]){"app-2026-12-03.log", "app-2026-12-03.1.log", NULL};
	     *n != NULL; n++) {
		long sz = file_size(*n);
		assert_true(sz >= lim && sz < lim + 250);
	}
	/* Every line was written once, none lost between files. */
	{
		int total = 0;
		char name[64];
		for (int i = 0; i < 20; i++) {
			char *t;
			if (i == 0)
				snprintf(name, sizeof(name), "app-2026-12-03.log");
			else
				snprintf(name, sizeof(name), "app-2026-12-03.%d.log", i);
			t = slurp(name);
			if (t == NULL)
				break;
			total += count_lines(t);
			free(t);
		}
		assert_int_equal(total, 40);
	}
	/*
	 * A second writer (another process) starts at the day's first file
	 * and skips every full one: its line lands in the last file if that
	 * has room, else in a new one after it, never in a gap.
	 */
	{
		char last[64], next[64];
		int k = 1;
		long before;
		while (1) {
			snprintf(next, sizeof(next), "app-2026-12-03.%d.log", k + 1);
			if (!exists(next))
				break;
			k++;
		}
		snprintf(last, sizeof(last), "app-2026-12-03.%d.log", k);
		before = file_size(last);
		log_init("other", "debug", NULL);
		log_info("from another process");
		if (before < lim) {
			assert_true(file_size(last) > before);
			assert_false(exists(next));
		} else {
			assert_true(exists(next));
		}
	}
}

static void
test_old_days_are_deleted(void **state)
{
	(void)state;
	/* Today is 2026-12-03: app files live 14 days, error files 30. */
	touch("app-2026-11-19.log");   /* 14 days old: goes */
	touch("app-2026-11-19.3.log"); /* goes with its day */
	touch("app-2026-11-20.log");   /* 13 days: stays */
	touch("error-2026-11-03.log"); /* 30 days: goes */
	touch("error-2026-11-04.log"); /* 29 days: stays */
	touch("error-2026-11-19.log"); /* error files live longer: stays */
	touch("app-notes.txt");        /* not ours */
	touch("app-2026-11-01.log.gz");
	touch("orders.log");
	log_info("first line of the day prunes");
	assert_false(exists("app-2026-11-19.log"));
	assert_false(exists("app-2026-11-19.3.log"));
	assert_true(exists("app-2026-11-20.log"));
	assert_false(exists("error-2026-11-03.log"));
	assert_true(exists("error-2026-11-04.log"));
	assert_true(exists("error-2026-11-19.log"));
	assert_true(exists("app-notes.txt"));
	assert_true(exists("app-2026-11-01.log.gz"));
	assert_true(exists("orders.log"));

	/* A long-running process prunes when its day changes, too. */
	fake_ms = T_DEC_03 + DAY_MS;
	log_info("next day");
	assert_false(exists("app-2026-11-20.log"));
	assert_true(exists("error-2026-11-19.log"));
}

static void
test_invalid_utf8_and_controls_stay_valid_json(void **state)
{
	json_object *line, *v;
	char *text;

	(void)state;
	log_info("login '%s' \"q\" \\ tab\t", "bad\xff\xfe");
	text = slurp("app-2026-12-03.log");
	assert_non_null(text);
	line = json_tokener_parse(text);
	assert_non_null(line);
	assert_true(json_object_object_get_ex(line, "message", &v));
	assert_non_null(strstr(json_object_get_string(v), "\"q\" \\ tab\t"));
	json_object_put(line);
	free(text);
}

static void
test_threshold(void **state)
{
	char *text;

	(void)state;
	log_init("test", "warn", NULL);
	log_info("hidden");
	log_debug("hidden");
	log_warn("shown");
	text = slurp("app-2026-12-03.log");
	assert_non_null(text);
	assert_int_equal(count_lines(text), 1);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_line_has_every_field, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_request_id_outside_a_request, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_request_id_must_be_sane, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors_go_to_both_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_new_file_on_tashkent_date_change, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_size_limit_continues_in_numbered_files, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_old_days_are_deleted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_utf8_and_controls_stay_valid_json, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_threshold, setup, teardown),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
