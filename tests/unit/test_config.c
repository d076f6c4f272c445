/*
 * test_config.c - .env reading and the environment-only configuration of
 * lib/config.c. Every test starts from an environment without any of the
 * settings, and .env files are private temporary files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "oshxona.h"

static const char *const settings[] = {
    "MONGODB_URI",       "NODE_ENV",       "LOG_LEVEL",    "LOG_FILE",
    "JWT_SECRET",        "SESSION_SECRET", "BOT_TOKEN",    "ADMIN_PANEL_URL",
    "USER_FRONTEND_URL", "API_BASE_URL",   "COMPANY_NAME", "PORT",
};

static const char *const test_vars[] = {
    "OSHT_A",   "OSHT_B",     "OSHT_C",     "OSHT_D",    "OSHT_E",    "OSHT_F", "OSHT_G",
    "OSHT_H",   "OSHT_I",     "OSHT_J",     "OSHT_K",    "OSHT_L",    "OSHT_M", "OSHT_N",
    "OSHT_BAD", "OSHT_AFTER", "OSHT_EXIST", "OSHT_LONG", "OSHT_CRLF",
};

#define SECRET_32 "0123456789abcdef0123456789abcdef"
#define SECRET_31 "0123456789abcdef0123456789abcde"

static char path[64];
static char err[256];

static int
clean_env(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		unsetenv(settings[i]);
	for (size_t i = 0; i < sizeof(test_vars) / sizeof(test_vars[0]); i++)
		unsetenv(test_vars[i]);
	path[0] = '\0';
	err[0] = '\0';
	return 0;
}

static int
remove_file(void **state)
{
	if (path[0] != '\0')
		unlink(path);
	return clean_env(state);
}

/* Writes text to a new temporary file whose name is left in path. */
static const char *
envfile(const char *text)
{
	int fd;
	size_t len = strlen(text);

	snprintf(path, sizeof(path), "/tmp/osh-test-env-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

/* A path that does not exist (the file is created and removed). */
static const char *
no_envfile(void)
{
	envfile("");
	unlink(path);
	return path;
}

static void
assert_env(const char *name, const char *value)
{
	const char *v = getenv(name);

	if (v == NULL)
		fail_msg("%s is not set, expected \"%s\"", name, value);
	if (strcmp(v, value) != 0)
		fail_msg("%s is \"%s\", expected \"%s\"", name, v, value);
}

static int
is_hex(const char *s, size_t len)
{
	if (strlen(s) != len)
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

/* ---------------------------------------------------- config_read_envfile */

static void
test_envfile_missing_is_fine(void **state)
{
	(void)state;
	assert_int_equal(config_read_envfile(no_envfile()), 0);
	assert_int_equal(config_read_envfile("/nonexistent-dir-osh/.env"), 0);
}

static void
test_envfile_unreadable_is_error(void **state)
{
	(void)state;
	/* Not ENOENT (ENOTDIR): a real error, not "no file". */
	assert_int_equal(config_read_envfile("/etc/passwd/.env"), -1);
}

static void
test_envfile_basic(void **state)
{
	(void)state;
	envfile("# a comment\n"
	        "\n"
	        "   \n"
	        "\t# indented comment\n"
	        "OSHT_A=plain\n"
	        "OSHT_B = spaced value  \n"
	        "  OSHT_C=indented\n"
	        "export OSHT_D=exported\n"
	        "OSHT_E=\n"
	        "OSHT_F=mongodb://h:1/db?a=b&c=d\n"
	        "OSHT_G=last-line-without-newline");
	assert_int_equal(config_read_envfile(path), 0);
	assert_env("OSHT_A", "plain");
	assert_env("OSHT_B", "spaced value");
	assert_env("OSHT_C", "indented");
	assert_env("OSHT_D", "exported");
	assert_env("OSHT_E", "");
	assert_env("OSHT_F", "mongodb://h:1/db?a=b&c=d");
	assert_env("OSHT_G", "last-line-without-newline");
}

static void
test_envfile_quotes(void **state)
{
	(void)state;
	envfile("OSHT_A=\"double quoted # not a comment\"\n"
	        "OSHT_B='single quoted'\n"
	        "OSHT_C=\"  keeps inner spaces  \"\n"
	        "OSHT_D=\"\"\n"
	        "OSHT_E=''\n"
	        "OSHT_F=\"mismatched'\n"
	        "OSHT_G=\"unterminated\n"
	        "OSHT_H='it\"s'\n"
	        "OSHT_I=\"\n");
	assert_int_equal(config_read_envfile(path), 0);
	assert_env("OSHT_A", "double quoted # not a comment");
	assert_env("OSHT_B", "single quoted");
	assert_env("OSHT_C", "  keeps inner spaces  ");
	assert_env("OSHT_D", "");
	assert_env("OSHT_E", "");
	/* Not a quoted value: kept as written. */
	assert_env("OSHT_F", "\"mismatched'");
	assert_env("OSHT_G", "\"unterminated");
	assert_env("OSHT_H", "it\"s");
	assert_env("OSHT_I", "\"");
}

static void
test_envfile_inline_comments(void **state)
{
	(void)state;
	envfile("OSHT_A=value # trailing comment\n"
	        "OSHT_B=value#not-a-comment\n"
	        "OSHT_C=value\t # tab before\n"
	        "OSHT_E=a # b # c\n");
	assert_int_equal(config_read_envfile(path), 0);
	assert_env("OSHT_A", "value");
	assert_env("OSHT_B", "value#not-a-comment");
	assert_env("OSHT_C", "value");
	assert_env("OSHT_E", "a");
}

static void
test_envfile_crlf(void **state)
{
	(void)state;
	envfile("OSHT_CRLF=windows\r\nOSHT_A=\"q\"\r\n");
	assert_int_equal(config_read_envfile(path), 0);
	assert_env("OSHT_CRLF", "windows");
	assert_env("OSHT_A", "q");
}

static void
test_envfile_bad_lines_skipped(void **state)
{
	(void)state;
	envfile("OSHT_A=before\n"
	        "not a key value line\n"
	        "=no-name\n"
	        "OSHT-BAD=dash\n"
	        "OSHT BAD=space\n"
	        "OSHT.BAD=dot\n"
	        "export =x\n"
	        "OSHT_AFTER=after\n");
	assert_int_equal(config_read_envfile(path), 0);
	assert_env("OSHT_A", "before");
	assert_env("OSHT_AFTER", "after");
	assert_null(getenv("OSHT-BAD"));
	assert_null(getenv("OSHT BAD"));
	assert_null(getenv("OSHT.BAD"));
	assert_null(getenv("OSHT_BAD"));
	assert_null(getenv("OSHT"));
}

static void
test_envfile_does_not_override(void **state)
{
	(void)state;
	setenv("OSHT_EXIST", "from-process", 1);
	setenv("OSHT_B", "", 1);
	envfile("OSHT_EXIST=from-file\nOSHT_A=new\nOSHT_B=from-file\n");
	assert_int_equal(config_read_envfile(path), 0);
	assert_env("OSHT_EXIST", "from-process");
	assert_env("OSHT_A", "new");
	/* Set but empty still counts as set. */
	assert_env("OSHT_B", "");
}

static void
test_envfile_first_definition_wins(void **state)
{
	(void)state;
	envfile("OSHT_A=first\nOSHT_A=second\n");
	assert_int_equal(config_read_envfile(path), 0);
	assert_env("OSHT_A", "first");
}

/* ------------------------------------------------------------ config_load */

static void
test_load_defaults_development(void **state)
{
	struct config cfg;

	(void)state;
	memset(&cfg, 0xa5, sizeof(cfg));
	assert_int_equal(config_load(&cfg, no_envfile(), err, sizeof(err)), 0);
	assert_string_equal(cfg.mongodb_uri, "mongodb://127.0.0.1:27017/oshxona");
	assert_string_equal(cfg.node_env, "development");
	assert_int_equal(cfg.production, 0);
	assert_string_equal(cfg.log_level, "info");
	assert_string_equal(cfg.log_file, "");
	assert_string_equal(cfg.bot_token, "");
	assert_string_equal(cfg.admin_panel_url, "http://127.0.0.1:8080");
	assert_string_equal(cfg.user_frontend_url, "http://127.0.0.1:8080");
	assert_string_equal(cfg.api_base_url, "http://127.0.0.1:8080");
	assert_string_equal(cfg.company_name, "Oshxona");
	assert_true(cfg.port == 8080);
}

static void
test_load_development_generates_secrets(void **state)
{
	struct config cfg;
	char jwt[80];

	(void)state;
	assert_int_equal(config_load(&cfg, no_envfile(), err, sizeof(err)), 0);
	assert_non_null(cfg.jwt_secret);
	assert_non_null(cfg.session_secret);
	/* 32 random bytes in hex: long enough for production's rule too. */
	assert_true(is_hex(cfg.jwt_secret, 64));
	assert_true(is_hex(cfg.session_secret, 64));
	assert_string_not_equal(cfg.jwt_secret, cfg.session_secret);
	/* Put into the environment, where child code finds them. */
	assert_env("JWT_SECRET", cfg.jwt_secret);
	assert_env("SESSION_SECRET", cfg.session_secret);

	/* Random each time they are generated. */
	snprintf(jwt, sizeof(jwt), "%s", cfg.jwt_secret);
	unsetenv("JWT_SECRET");
	assert_int_equal(config_load(&cfg, no_envfile(), err, sizeof(err)), 0);
	assert_true(is_hex(cfg.jwt_secret, 64));
	assert_string_not_equal(cfg.jwt_secret, jwt);
}

static void
test_load_development_replaces_short_secrets(void **state)
{
	struct config cfg;

	(void)state;
	setenv("JWT_SECRET", "short", 1);
	setenv("SESSION_SECRET", SECRET_31, 1);
	assert_int_equal(config_load(&cfg, no_envfile(), err, sizeof(err)), 0);
	assert_true(is_hex(cfg.jwt_secret, 64));
	assert_true(is_hex(cfg.session_secret, 64));
	assert_string_not_equal(cfg.session_secret, SECRET_31);
}

static void
test_load_development_keeps_good_secrets(void **state)
{
	struct config cfg;

	(void)state;
	setenv("JWT_SECRET", SECRET_32, 1);
	setenv("SESSION_SECRET", SECRET_32 "-session", 1);
	assert_int_equal(config_load(&cfg, no_envfile(), err, sizeof(err)), 0);
	assert_string_equal(cfg.jwt_secret, SECRET_32);
	assert_string_equal(cfg.session_secret, SECRET_32 "-session");
}

static void
test_load_production_ok(void **state)
{
	struct config cfg;

	(void)state;
	setenv("NODE_ENV", "production", 1);
	setenv("JWT_SECRET", SECRET_32, 1);
	setenv("SESSION_SECRET", SECRET_32 SECRET_32, 1);
	assert_int_equal(config_load(&cfg, no_envfile(), err, sizeof(err)), 0);
	assert_int_equal(cfg.production, 1);
	assert_string_equal(cfg.node_env, "production");
	assert_string_equal(cfg.jwt_secret, SECRET_32);
	assert_string_equal(cfg.session_secret, SECRET_32 SECRET_32);
}

static void
production_fails(const char *jwt, const char *session, const char *want)
{
	struct config cfg;

	clean_env(NULL);
	setenv("NODE_ENV", "production", 1);
	if (jwt != NULL)
		setenv("JWT_SECRET", jwt, 1);
	if (session != NULL)
		setenv("SESSION_SECRET", session, 1);
	err[0] = '\0';
	assert_int_equal(config_load(&cfg, no_envfile(), err, sizeof(err)), -1);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" does not name %s", err, want);
	/* Nothing was made up in production. */
	if (jwt == NULL)
		assert_null(getenv("JWT_SECRET"));
	if (session == NULL)
		assert_null(getenv("SESSION_SECRET"));
}

static void
test_load_production_secrets_required(void **state)
{
	(void)state;
	production_fails(NULL, NULL, "JWT_SECRET");
	production_fails(NULL, SECRET_32, "JWT_SECRET");
	production_fails("", SECRET_32, "JWT_SECRET");
	production_fails(SECRET_31, SECRET_32, "JWT_SECRET");
	production_fails(SECRET_32, NULL, "SESSION_SECRET");
	production_fails(SECRET_32, "", "SESSION_SECRET");
	production_fails(SECRET_32, SECRET_31, "SESSION_SECRET");
	production_fails(SECRET_32, "x", "32");
}

static void
test_load_from_envfile(void **state)
{
	struct config cfg;

	(void)state;
	setenv("COMPANY_NAME", "From Process", 1);
	envfile("NODE_ENV=production\n"
	        "JWT_SECRET=" SECRET_32 "\n"
	        "SESSION_SECRET='" SECRET_32 "'\n"
	        "MONGODB_URI=mongodb://db.example:27017/oshxona?replicaSet=rs0\n"
	        "PORT=9000\n"
	        "LOG_LEVEL=debug\n"
	        "COMPANY_NAME=From File\n"
	        "BOT_TOKEN=123:abc\n");
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), 0);
	assert_int_equal(cfg.production, 1);
	assert_string_equal(cfg.jwt_secret, SECRET_32);
	assert_string_equal(cfg.session_secret, SECRET_32);
	assert_string_equal(cfg.mongodb_uri, "mongodb://db.example:27017/oshxona?replicaSet=rs0");
	assert_true(cfg.port == 9000);
	assert_string_equal(cfg.log_level, "debug");
	assert_string_equal(cfg.bot_token, "123:abc");
	/* The process environment wins over the file. */
	assert_string_equal(cfg.company_name, "From Process");
}

static void
test_load_envfile_error(void **state)
{
	struct config cfg;

	(void)state;
	assert_int_equal(config_load(&cfg, "/etc/passwd/.env", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/etc/passwd/.env"));
}

static void
test_load_env_overrides_and_empty_values(void **state)
{
	struct config cfg;

	(void)state;
	setenv("MONGODB_URI", "mongodb://other/x", 1);
	setenv("LOG_FILE", "/var/log/osh.log", 1);
	setenv("ADMIN_PANEL_URL", "https://admin.example", 1);
	setenv("USER_FRONTEND_URL", "https://shop.example", 1);
	setenv("API_BASE_URL", "https://api.example", 1);
	/* Empty means unset: the default applies. */
	setenv("COMPANY_NAME", "", 1);
	setenv("NODE_ENV", "", 1);
	setenv("PORT", "", 1);
	assert_int_equal(config_load(&cfg, no_envfile(), err, sizeof(err)), 0);
	assert_string_equal(cfg.mongodb_uri, "mongodb://other/x");
	assert_string_equal(cfg.log_file, "/var/log/osh.log");
	assert_string_equal(cfg.admin_panel_url, "https://admin.example");
	assert_string_equal(cfg.user_frontend_url, "https://shop.example");
	assert_string_equal(cfg.api_base_url, "https://api.example");
	assert_string_equal(cfg.company_name, "Oshxona");
	assert_string_equal(cfg.node_env, "development");
	assert_true(cfg.port == 8080);
}

static void
test_load_only_exact_production(void **state)
{
	struct config cfg;

	(void)state;
	/* Anything but exactly "production" is not production. */
	setenv("NODE_ENV", "staging", 1);
	assert_int_equal(config_load(&cfg, no_envfile(), err, sizeof(err)), 0);
	assert_int_equal(cfg.production, 0);
	assert_string_equal(cfg.node_env, "staging");
}

static void
test_load_port(void **state)
{
	static const char *const bad[] = {
	    "0", "65536", "-1", "abc", " 80", "80 ", "+80", "8e3", "99999999999999999999"};
	struct config cfg;

	(void)state;
	setenv("PORT", "1", 1);
	assert_int_equal(config_load(&cfg, no_envfile(), err, sizeof(err)), 0);
	assert_true(cfg.port == 1);
	setenv("PORT", "65535", 1);
	assert_int_equal(config_load(&cfg, no_envfile(), err, sizeof(err)), 0);
	assert_true(cfg.port == 65535);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("PORT", bad[i], 1);
		err[0] = '\0';
		if (config_load(&cfg, no_envfile(), err, sizeof(err)) != -1)
			fail_msg("PORT=\"%s\" accepted", bad[i]);
		if (strstr(err, "PORT") == NULL)
			fail_msg("PORT=\"%s\": message \"%s\"", bad[i], err);
	}
}

static void
test_load_small_err_buffer(void **state)
{
	struct config cfg;
	char small[8];

	(void)state;
	setenv("NODE_ENV", "production", 1);
	memset(small, 'x', sizeof(small));
	assert_int_equal(config_load(&cfg, no_envfile(), small, sizeof(small)), -1);
	/* Cut, but still a C string within the buffer. */
	assert_true(memchr(small, '\0', sizeof(small)) != NULL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, clean_env, remove_file)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_envfile_missing_is_fine),
	    T(test_envfile_unreadable_is_error),
	    T(test_envfile_basic),
	    T(test_envfile_quotes),
	    T(test_envfile_inline_comments),
	    T(test_envfile_crlf),
	    T(test_envfile_bad_lines_skipped),
	    T(test_envfile_does_not_override),
	    T(test_envfile_first_definition_wins),
	    T(test_load_defaults_development),
	    T(test_load_development_generates_secrets),
	    T(test_load_development_replaces_short_secrets),
	    T(test_load_development_keeps_good_secrets),
	    T(test_load_production_ok),
	    T(test_load_production_secrets_required),
	    T(test_load_from_envfile),
	    T(test_load_envfile_error),
	    T(test_load_env_overrides_and_empty_values),
	    T(test_load_only_exact_production),
	    T(test_load_port),
	    T(test_load_small_err_buffer),
	};

	/* The generated-secret warnings are expected; keep the output quiet. */
	log_init("test_config", "error", NULL);
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
