/*
 * test_cookie.c - Cookie header parsing and Set-Cookie formatting from
 * lib/cookie.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "oshxona.h"

static char got[COOKIE_VALUE_MAX + 1];

/* cookie_get into got; the value, or NULL on -1. */
static const char *
get(const char *header, const char *name)
{
	memset(got, 'Z', sizeof(got));
	if (cookie_get(header, name, got, sizeof(got)) < 0) {
		assert_string_equal(got, "");
		return NULL;
	}
	return got;
}

static void
test_simple(void **state)
{
	(void)state;
	assert_string_equal(get("sid=abc", "sid"), "abc");
	assert_string_equal(get("a=1; b=2; c=3", "a"), "1");
	assert_string_equal(get("a=1; b=2; c=3", "b"), "2");
	assert_string_equal(get("a=1; b=2; c=3", "c"), "3");
	assert_null(get("a=1; b=2; c=3", "d"));
	assert_null(get("", "a"));
	/* names are case-sensitive and matched whole */
	assert_null(get("SID=abc", "sid"));
	assert_null(get("sidx=abc", "sid"));
	assert_null(get("xsid=abc", "sid"));
	assert_null(get("a=sid=1", "sid"));
	/* the value may hold '=' */
	assert_string_equal(get("t=a=b==", "t"), "a=b==");
	/* typical values */
	assert_string_equal(get("token=eyJhbGciOiJIUzI1NiJ9.e30.abc-_; theme=dark", "token"),
	                    "eyJhbGciOiJIUzI1NiJ9.e30.abc-_");
}

static void
test_whitespace(void **state)
{
	(void)state;
	/* no space after ';' */
	assert_string_equal(get("a=1;b=2;c=3", "b"), "2");
	assert_string_equal(get("a=1;b=2;c=3", "c"), "3");
	/* extra spaces and tabs around pairs, names and values */
	assert_string_equal(get("  a=1 ;   b = 2\t;\tc=3  ", "b"), "2");
	assert_string_equal(get("  a=1 ;   b = 2\t;\tc=3  ", "a"), "1");
	assert_string_equal(get("  a=1 ;   b = 2\t;\tc=3  ", "c"), "3");
	/* empty pairs and a trailing ';' */
	assert_string_equal(get("a=1;; ;b=2;", "b"), "2");
	assert_string_equal(get(";a=1", "a"), "1");
	/* a space inside a value is not a cookie-octet */
	assert_null(get("a=1 2", "a"));
}

static void
test_duplicates(void **state)
{
	(void)state;
	/* the first wins */
	assert_string_equal(get("sid=first; sid=second", "sid"), "first");
	assert_string_equal(get("x=1; sid=first; y=2; sid=second", "sid"), "first");
	/* even when the first is empty */
	assert_string_equal(get("sid=; sid=second", "sid"), "");
	/* and when the first is invalid, no fallback to the second */
	assert_null(get("sid=a\\b; sid=second", "sid"));
}

static void
test_quoted(void **state)
{
	(void)state;
	assert_string_equal(get("a=\"quoted\"", "a"), "quoted");
	assert_string_equal(get("a=\"\"; b=1", "a"), "");
	assert_string_equal(get("a= \"x\" ; b=1", "a"), "x");
	/* unbalanced or inner quotes */
	assert_null(get("a=\"x", "a"));
	assert_null(get("a=x\"", "a"));
	assert_null(get("a=\"", "a"));
	assert_null(get("a=\"x\"y\"", "a"));
	assert_null(get("a=\"\"\"", "a"));
	/* a quoted value with a space is still not cookie-octets */
	assert_null(get("a=\"x y\"", "a"));
}

static void
test_empty_and_no_equals(void **state)
{
	(void)state;
	assert_string_equal(get("a=", "a"), "");
	assert_string_equal(get("a=; b=2", "a"), "");
	assert_string_equal(get("a=  ; b=2", "a"), "");
	/* a pair with no '=' has no name; it is skipped */
	assert_null(get("a", "a"));
	assert_string_equal(get("flag; a=1", "a"), "1");
	assert_string_equal(get("a=1; flag", "a"), "1");
	/* an empty name never matches */
	assert_string_equal(get("=x; a=1", "a"), "1");
	assert_null(get("a=1", ""));
}

static void
test_bad_octets(void **state)
{
	(void)state;
	assert_null(get("a=x,y", "a"));
	assert_null(get("a=x\\y", "a"));
	assert_null(get("a=\xc3\xa9", "a"));
	/* a bad value elsewhere does not matter */
	assert_string_equal(get("b=x,y z\xc3\xa9; a=1", "a"), "1");
	assert_string_equal(get("b=\"unbalanced; a=1", "a"), "1");
}

static void
test_control_chars(void **state)
{
	char h[64];

	(void)state;
	for (int ch = 1; ch < 0x20; ch++) {
		if (ch == '\t')
			continue;
		snprintf(h, sizeof(h), "a=1; b=%c; c=3", ch);
		assert_null(get(h, "a"));
		assert_null(get(h, "c"));
	}
	assert_null(get("a=1; b=\x7f", "a"));
	assert_null(get("a=1\r\nSet-Cookie: x=y", "a"));
	assert_null(get("a=1\n", "a"));
}

static void
test_too_many_pairs(void **state)
{
	char h[1024];
	size_t n = 0;

	(void)state;
	for (int i = 0; i < COOKIE_MAX_PAIRS; i++)
		n += (size_t)snprintf(h + n, sizeof(h) - n, "%sc%d=%d", i ? "; " : "", i, i);
	assert_string_equal(get(h, "c0"), "0");
	assert_string_equal(get(h, "c31"), "31");
	/* pairs without '=' count too, empty segments do not */
	snprintf(h + n, sizeof(h) - n, ";;; ;");
	assert_string_equal(get(h, "c0"), "0");
	snprintf(h + n, sizeof(h) - n, "; c32=32");
	assert_null(get(h, "c0"));
	assert_null(get(h, "c32"));
	snprintf(h + n, sizeof(h) - n, "; flag");
	assert_null(get(h, "c0"));
}

static void
test_value_length(void **state)
{
	static char h[JWT_MAX_LEN + 64], big[JWT_MAX_LEN + 1];
	char small[8];

	(void)state;
	memcpy(h, "a=", 2);
	memset(h + 2, 'v', COOKIE_VALUE_MAX);
	h[2 + COOKIE_VALUE_MAX] = '\0';
	assert_non_null(get(h, "a"));
	assert_int_equal(strlen(got), COOKIE_VALUE_MAX);
	/* one more byte does not fit got[COOKIE_VALUE_MAX + 1] */
	memcpy(h + 2 + COOKIE_VALUE_MAX, "v", 2);
	assert_null(get(h, "a"));
	/* the caller's buffer is the only limit: a JWT-sized value fits a JWT buffer */
	memset(h + 2, 'v', JWT_MAX_LEN);
	h[2 + JWT_MAX_LEN] = '\0';
	assert_int_equal(cookie_get(h, "a", big, sizeof(big)), 0);
	assert_int_equal(strlen(big), JWT_MAX_LEN);
	assert_int_equal(cookie_get(h, "a", big, sizeof(big) - 1), -1);
	assert_string_equal(big, "");
	/* a value that does not fit the caller's buffer */
	assert_int_equal(cookie_get("a=1234567", "a", small, sizeof(small)), 0);
	assert_string_equal(small, "1234567");
	assert_int_equal(cookie_get("a=12345678", "a", small, sizeof(small)), -1);
	assert_string_equal(small, "");
	assert_int_equal(cookie_get("a=\"1234567\"", "a", small, sizeof(small)), 0);
	assert_int_equal(cookie_get("a=", "a", small, 1), 0);
	assert_int_equal(cookie_get("a=x", "a", small, 1), -1);
	assert_int_equal(cookie_get("a=x", "a", small, 0), -1);
	assert_int_equal(cookie_get(NULL, "a", small, sizeof(small)), -1);
	assert_int_equal(cookie_get("a=1", NULL, small, sizeof(small)), -1);
	/* the name asked for must be a token */
	assert_int_equal(cookie_get("a b=1", "a b", small, sizeof(small)), -1);
}

static void
test_format(void **state)
{
	char out[256];
	int n;

	(void)state;
	n = cookie_format(out, sizeof(out), "sid", "abc123", "/", 3600, "Lax", true);
	assert_string_equal(out,
	                    "sid=abc123; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax; Secure");
	assert_int_equal(n, (int)strlen(out));

	n = cookie_format(out, sizeof(out), "sid", "abc123", "/api", 60, "Strict", false);
	assert_string_equal(out, "sid=abc123; Path=/api; Max-Age=60; HttpOnly; SameSite=Strict");
	assert_int_equal(n, (int)strlen(out));

	/* max_age 0 clears the cookie */
	n = cookie_format(out, sizeof(out), "sid", "", "/", 0, "Lax", true);
	assert_string_equal(out, "sid=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; "
	                         "HttpOnly; SameSite=Lax; Secure");
	assert_int_equal(n, (int)strlen(out));

	n = cookie_format(out, sizeof(out), "__Host-s", "a.b-c_d~!#$%&'()*+/:<=>?@[]^`{|}", "/",
	                  2592000, "None", true);
	assert_true(n > 0);
	assert_string_equal(out, "__Host-s=a.b-c_d~!#$%&'()*+/:<=>?@[]^`{|}; Path=/; "
	                         "Max-Age=2592000; HttpOnly; SameSite=None; Secure");
	/* what cookie_format writes, cookie_get reads back */
	char back[64];
	assert_int_equal(
	    cookie_get("__Host-s=a.b-c_d~!#$%&'()*+/:<=>?@[]^`{|}", "__Host-s", back, sizeof(back)),
	    0);
	assert_string_equal(back, "a.b-c_d~!#$%&'()*+/:<=>?@[]^`{|}");
}

static int
fmt(const char *name, const char *value, const char *path, int64_t max_age, const char *ss)
{
	char out[256];

	return cookie_format(out, sizeof(out), name, value, path, max_age, ss, false);
}

static void
test_format_rejects(void **state)
{
	char out[64];

	(void)state;
	assert_true(fmt("sid", "v", "/", 1, "Lax") > 0);
	/* names: tokens only */
	assert_int_equal(fmt("", "v", "/", 1, "Lax"), -1);
	assert_int_equal(fmt("s id", "v", "/", 1, "Lax"), -1);
	assert_int_equal(fmt("s=id", "v", "/", 1, "Lax"), -1);
	assert_int_equal(fmt("s;id", "v", "/", 1, "Lax"), -1);
	assert_int_equal(fmt("s(id)", "v", "/", 1, "Lax"), -1);
	assert_int_equal(fmt("s\"id", "v", "/", 1, "Lax"), -1);
	assert_int_equal(fmt("s\rid", "v", "/", 1, "Lax"), -1);
	assert_int_equal(fmt("s\xc3\xa9", "v", "/", 1, "Lax"), -1);
	/* values: cookie-octets only */
	assert_int_equal(fmt("sid", "a b", "/", 1, "Lax"), -1);
	assert_int_equal(fmt("sid", "a;b", "/", 1, "Lax"), -1);
	assert_int_equal(fmt("sid", "a,b", "/", 1, "Lax"), -1);
	assert_int_equal(fmt("sid", "a\"b", "/", 1, "Lax"), -1);
	assert_int_equal(fmt("sid", "a\\b", "/", 1, "Lax"), -1);
	assert_int_equal(fmt("sid", "a\r\nSet-Cookie: x=y", "/", 1, "Lax"), -1);
	assert_int_equal(fmt("sid", "a\x7f", "/", 1, "Lax"), -1);
	assert_int_equal(fmt("sid", "\xc3\xa9", "/", 1, "Lax"), -1);
	/* path, max_age, samesite */
	assert_int_equal(fmt("sid", "v", "", 1, "Lax"), -1);
	assert_int_equal(fmt("sid", "v", "api", 1, "Lax"), -1);
	assert_int_equal(fmt("sid", "v", "/a;b", 1, "Lax"), -1);
	assert_int_equal(fmt("sid", "v", "/a\nb", 1, "Lax"), -1);
	assert_int_equal(fmt("sid", "v", "/", -1, "Lax"), -1);
	assert_int_equal(fmt("sid", "v", "/", 1, "lax"), -1);
	assert_int_equal(fmt("sid", "v", "/", 1, ""), -1);
	assert_int_equal(fmt("sid", "v", "/", 1, "Lax; Domain=evil"), -1);
	assert_int_equal(fmt(NULL, "v", "/", 1, "Lax"), -1);
	assert_int_equal(fmt("sid", NULL, "/", 1, "Lax"), -1);
	/* out too small, by one */
	const char *want = "sid=v; Path=/; Max-Age=1; HttpOnly; SameSite=Lax";
	size_t len = strlen(want);
	assert_true(len < sizeof(out));
	assert_int_equal(cookie_format(out, len, "sid", "v", "/", 1, "Lax", false), -1);
	assert_string_equal(out, "");
	assert_int_equal(cookie_format(out, len + 1, "sid", "v", "/", 1, "Lax", false), (int)len);
	assert_string_equal(out, want);
	assert_int_equal(cookie_format(out, 0, "sid", "v", "/", 1, "Lax", false), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_simple),
	    cmocka_unit_test(test_whitespace),
	    cmocka_unit_test(test_duplicates),
	    cmocka_unit_test(test_quoted),
	    cmocka_unit_test(test_empty_and_no_equals),
	    cmocka_unit_test(test_bad_octets),
	    cmocka_unit_test(test_control_chars),
	    cmocka_unit_test(test_too_many_pairs),
	    cmocka_unit_test(test_value_length),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_format_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
