/*
 * test_util.c - strict parsers, UTF-8 checks, constant-time compare and
 * FNV-1a from lib/util.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "oshxona.h"

/* parse_int64 with the whole int64 range. */
static int
p64(const char *s, int64_t *out)
{
	return parse_int64(s, INT64_MIN, INT64_MAX, out);
}

static void
test_parse_int64_good(void **state)
{
	int64_t v = 12345;

	(void)state;
	assert_int_equal(p64("0", &v), 0);
	assert_true(v == 0);
	assert_int_equal(p64("42", &v), 0);
	assert_true(v == 42);
	assert_int_equal(p64("-42", &v), 0);
	assert_true(v == -42);
	assert_int_equal(p64("-0", &v), 0);
	assert_true(v == 0);
	assert_int_equal(p64("007", &v), 0);
	assert_true(v == 7);
	/* 19 digits, leading zeros count as digits. */
	assert_int_equal(p64("0000000000000000001", &v), 0);
	assert_true(v == 1);
}

static void
test_parse_int64_limits(void **state)
{
	int64_t v = 0;

	(void)state;
	assert_int_equal(p64("9223372036854775807", &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(p64("-9223372036854775808", &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(p64("-9223372036854775807", &v), 0);
	assert_true(v == INT64_MIN + 1);
	assert_int_equal(p64("9223372036854775806", &v), 0);
	assert_true(v == INT64_MAX - 1);
}

static void
test_parse_int64_overflow(void **state)
{
	int64_t v = 777;

	(void)state;
	assert_int_equal(p64("9223372036854775808", &v), -1);
	assert_int_equal(p64("-9223372036854775809", &v), -1);
	assert_int_equal(p64("9999999999999999999", &v), -1);
	assert_int_equal(p64("-9999999999999999999", &v), -1);
	assert_int_equal(p64("18446744073709551615", &v), -1);
	assert_int_equal(p64("18446744073709551616", &v), -1);
	assert_int_equal(p64("99999999999999999999999999999", &v), -1);
	/* 20 digits even when the value would fit. */
	assert_int_equal(p64("00000000000000000001", &v), -1);
	/* out is untouched on failure */
	assert_true(v == 777);
}

static void
test_parse_int64_rejects_syntax(void **state)
{
	static const char *const bad[] = {
	    "",   "-",     "+1",    " 1",  "1 ",  "\t1", "1\n", "1e2", "1.0",
	    "1.", ".5",    "0x10",  "--1", "-+1", "+-1", "1-",  "1a",  "a1",
	    "١",  "1,000", "1_000", "- 1", "0b1", "inf", "nan", "１",  "\xef\xbc\x91"};
	int64_t v = 99;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (p64(bad[i], &v) != -1)
			fail_msg("parse_int64 accepted \"%s\"", bad[i]);
	}
	assert_int_equal(p64(NULL, &v), -1);
	assert_true(v == 99);
}

static void
test_parse_int64_range(void **state)
{
	int64_t v = 0;

	(void)state;
	assert_int_equal(parse_int64("1", 1, 100, &v), 0);
	assert_true(v == 1);
	assert_int_equal(parse_int64("100", 1, 100, &v), 0);
	assert_true(v == 100);
	assert_int_equal(parse_int64("0", 1, 100, &v), -1);
	assert_int_equal(parse_int64("101", 1, 100, &v), -1);
	assert_int_equal(parse_int64("-1", 0, 10, &v), -1);
	assert_int_equal(parse_int64("-5", -5, -1, &v), 0);
	assert_true(v == -5);
	assert_int_equal(parse_int64("-6", -5, -1, &v), -1);
	assert_int_equal(parse_int64("0", -5, -1, &v), -1);
	/* A single allowed value. */
	assert_int_equal(parse_int64("7", 7, 7, &v), 0);
	assert_true(v == 7);
	assert_int_equal(parse_int64("8", 7, 7, &v), -1);
	/* The extreme values against narrowed ranges. */
	assert_int_equal(parse_int64("9223372036854775807", 0, INT64_MAX - 1, &v), -1);
	assert_int_equal(parse_int64("-9223372036854775808", INT64_MIN + 1, 0, &v), -1);
}

static void
test_parse_oid(void **state)
{
	bson_oid_t oid, expect;
	char hex[25];

	(void)state;
	assert_int_equal(parse_oid("507f1f77bcf86cd799439011", &oid), 0);
	bson_oid_init_from_string(&expect, "507f1f77bcf86cd799439011");
	assert_int_equal(bson_oid_equal(&oid, &expect), 1);
	bson_oid_to_string(&oid, hex);
	assert_string_equal(hex, "507f1f77bcf86cd799439011");

	assert_int_equal(parse_oid("000000000000000000000000", &oid), 0);
	assert_int_equal(parse_oid("ffffffffffffffffffffffff", &oid), 0);
	bson_oid_to_string(&oid, hex);
	assert_string_equal(hex, "ffffffffffffffffffffffff");
}

static void
test_parse_oid_upper_case(void **state)
{
	bson_oid_t oid;
	char hex[25];

	(void)state;
	/* "24 hexadecimal digits": upper case is hexadecimal too. */
	assert_int_equal(parse_oid("507F1F77BCF86CD799439011", &oid), 0);
	bson_oid_to_string(&oid, hex);
	assert_string_equal(hex, "507f1f77bcf86cd799439011");
	assert_int_equal(parse_oid("AbCdEf0123456789aBcDeF01", &oid), 0);
	bson_oid_to_string(&oid, hex);
	assert_string_equal(hex, "abcdef0123456789abcdef01");
}

static void
test_parse_oid_bad(void **state)
{
	static const char *const bad[] = {
	    "",
	    "507f1f77bcf86cd79943901",   /* 23 */
	    "507f1f77bcf86cd7994390111", /* 25 */
	    "507f1f77bcf86cd79943901g",  /* non-hex last */
	    "g07f1f77bcf86cd799439011",  /* non-hex first */
	    " 507f1f77bcf86cd79943901",  /* space */
	    "507f1f77bcf86cd79943901 ",
	    "507f1f77bcf86cd799439011 ",
	    "0x507f1f77bcf86cd7994390",
	    "507f1f77-bcf86cd79943901",
	    "507f1f77bcf86cd799439011507f1f77bcf86cd799439011",
	    "507f1f77bcf86cd79943901\xc3\xa9",
	};
	bson_oid_t oid;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_oid(bad[i], &oid) != -1)
			fail_msg("parse_oid accepted \"%s\"", bad[i]);
	assert_int_equal(parse_oid(NULL, &oid), -1);
}

static int
valid(const char *s)
{
	return utf8_valid(s, strlen(s));
}

static void
test_utf8_valid_good(void **state)
{
	(void)state;
	assert_int_equal(utf8_valid("", 0), 1);
	assert_int_equal(valid("plain ascii ~\x7f"), 1);
	assert_int_equal(valid("\xc2\x80"), 1);         /* U+0080 */
	assert_int_equal(valid("\xdf\xbf"), 1);         /* U+07FF */
	assert_int_equal(valid("\xe0\xa0\x80"), 1);     /* U+0800 */
	assert_int_equal(valid("\xed\x9f\xbf"), 1);     /* U+D7FF */
	assert_int_equal(valid("\xee\x80\x80"), 1);     /* U+E000 */
	assert_int_equal(valid("\xef\xbf\xbf"), 1);     /* U+FFFF */
	assert_int_equal(valid("\xf0\x90\x80\x80"), 1); /* U+10000 */
	assert_int_equal(valid("\xf4\x8f\xbf\xbf"), 1); /* U+10FFFF */
	assert_int_equal(valid("Oʻzbekiston Ўзбекистон 🍲"), 1);
	/* NUL is a valid code point when the length covers it. */
	assert_int_equal(utf8_valid("a\0b", 3), 1);
	/* Only len bytes are looked at. */
	assert_int_equal(utf8_valid("ab\xff", 2), 1);
}

static void
test_utf8_valid_bad(void **state)
{
	static const char *const bad[] = {
	    "\x80",                     /* lone continuation */
	    "a\xbf",                    /* lone continuation */
	    "\xc0\x80",                 /* overlong NUL */
	    "\xc1\xbf",                 /* overlong U+007F */
	    "\xe0\x80\x80",             /* overlong */
	    "\xe0\x9f\xbf",             /* overlong U+07FF */
	    "\xf0\x80\x80\x80",         /* overlong */
	    "\xf0\x8f\xbf\xbf",         /* overlong U+FFFF */
	    "\xed\xa0\x80",             /* U+D800 */
	    "\xed\xbf\xbf",             /* U+DFFF */
	    "\xed\xa0\xbd\xed\xb2\xa9", /* CESU-8 surrogate pair */
	    "\xf4\x90\x80\x80",         /* U+110000 */
	    "\xf5\x80\x80\x80",         /* lead byte F5 */
	    "\xf7\xbf\xbf\xbf",         /* lead byte F7 */
	    "\xf8\x88\x80\x80\x80",     /* 5-byte form */
	    "\xfc\x84\x80\x80\x80\x80",
	    "\xfe",
	    "\xff",
	    "\xc3",          /* truncated 2-byte */
	    "\xe2\x82",      /* truncated 3-byte */
	    "\xf0\x9f\x8d",  /* truncated 4-byte */
	    "\xc3(",         /* bad continuation */
	    "\xe2(\xa1",     /* bad continuation */
	    "\xe2\x82(",     /* bad continuation */
	    "\xf0\x9f\x8d(", /* bad continuation */
	    "ok\xc3",        /* truncated at the end */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (valid(bad[i]) != 0)
			fail_msg("utf8_valid accepted case %zu", i);
	/* Truncated by len although the bytes go on. */
	assert_int_equal(utf8_valid("\xc3\xa9", 1), 0);
	assert_int_equal(utf8_valid("\xe2\x82\xac", 2), 0);
	assert_int_equal(utf8_valid("\xf0\x9f\x8d\xb2", 3), 0);
	assert_int_equal(utf8_valid("\xf0\x9f\x8d\xb2", 4), 1);
}

static void
test_utf8_length(void **state)
{
	(void)state;
	assert_int_equal(utf8_length(""), 0);
	assert_int_equal(utf8_length("abc"), 3);
	assert_int_equal(utf8_length("\xc3\xa9"), 1);
	assert_int_equal(utf8_length("Ўзбек"), 5);
	assert_int_equal(utf8_length("\xe2\x82\xac"), 1);
	assert_int_equal(utf8_length("\xf0\x9f\x8d\xb2"), 1);
	assert_int_equal(utf8_length("aʻb🍲c"), 5);
}

static void
test_utf8_cut(void **state)
{
	(void)state;
	assert_int_equal(utf8_cut("abcdef", 3), 3);
	assert_int_equal(utf8_cut("Ўзбек", 3), 2); /* never half of з */
	assert_int_equal(utf8_cut("Ўзбек", 4), 4); /* on a boundary */
	assert_int_equal(utf8_cut("a🍲b", 4), 1);   /* the 4-byte character left whole */
	assert_int_equal(utf8_cut("a🍲b", 5), 5);
	assert_int_equal(utf8_cut("\xe2\x82\xac", 2), 0);
	assert_int_equal(utf8_cut("abc", 0), 0);
}

static void
test_bytes_equal_ct(void **state)
{
	(void)state;
	assert_int_equal(bytes_equal_ct("secret", 6, "secret", 6), 1);
	assert_int_equal(bytes_equal_ct("", 0, "", 0), 1);
	assert_int_equal(bytes_equal_ct("secret", 6, "secreT", 6), 0);
	assert_int_equal(bytes_equal_ct("Secret", 6, "secret", 6), 0);
	/* Prefixes are not equal, whichever side is longer. */
	assert_int_equal(bytes_equal_ct("secret", 6, "secret!", 7), 0);
	assert_int_equal(bytes_equal_ct("secret!", 7, "secret", 6), 0);
	assert_int_equal(bytes_equal_ct("", 0, "a", 1), 0);
	assert_int_equal(bytes_equal_ct("a", 1, "", 0), 0);
	/* A shorter a padded with NULs must not equal b ending in NULs. */
	assert_int_equal(bytes_equal_ct("ab", 2, "ab\0", 3), 0);
	assert_int_equal(bytes_equal_ct("ab\0", 3, "ab", 2), 0);
	/* Bytes after a NUL count. */
	assert_int_equal(bytes_equal_ct("a\0b", 3, "a\0c", 3), 0);
	assert_int_equal(bytes_equal_ct("a\0b", 3, "a\0b", 3), 1);
	/* High bytes. */
	assert_int_equal(bytes_equal_ct("\xff\x80", 2, "\xff\x80", 2), 1);
	assert_int_equal(bytes_equal_ct("\xff\x80", 2, "\xff\x81", 2), 0);
}

static void
test_hash_fnv1a64(void **state)
{
	(void)state;
	/* Published FNV-1a 64 test vectors. */
	assert_true(hash_fnv1a64("", 0) == 0xcbf29ce484222325ULL);
	assert_true(hash_fnv1a64("a", 1) == 0xaf63dc4c8601ec8cULL);
	assert_true(hash_fnv1a64("b", 1) == 0xaf63df4c8601f1a5ULL);
	assert_true(hash_fnv1a64("foobar", 6) == 0x85944171f73967e8ULL);
	/* len is what counts, not NUL termination. */
	assert_true(hash_fnv1a64("a\0", 2) != hash_fnv1a64("a", 1));
	assert_true(hash_fnv1a64("ab", 1) == 0xaf63dc4c8601ec8cULL);
	assert_true(hash_fnv1a64("ab", 2) != hash_fnv1a64("ba", 2));
}

static void
test_xalloc(void **state)
{
	char *p;

	(void)state;
	p = xstrdup("hello");
	assert_string_equal(p, "hello");
	free(p);
	p = xstrndup("hello world", 5);
	assert_string_equal(p, "hello");
	free(p);
	p = xstrndup("ab", 0);
	assert_string_equal(p, "");
	free(p);
	p = xcalloc(4, 8);
	for (size_t i = 0; i < 32; i++)
		assert_int_equal(p[i], 0);
	p = xrealloc(p, 64);
	p[63] = 'x';
	free(p);
	/* Zero-size requests still give a pointer to free. */
	p = xmalloc(0);
	assert_non_null(p);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_int64_good),
	    cmocka_unit_test(test_parse_int64_limits),
	    cmocka_unit_test(test_parse_int64_overflow),
	    cmocka_unit_test(test_parse_int64_rejects_syntax),
	    cmocka_unit_test(test_parse_int64_range),
	    cmocka_unit_test(test_parse_oid),
	    cmocka_unit_test(test_parse_oid_upper_case),
	    cmocka_unit_test(test_parse_oid_bad),
	    cmocka_unit_test(test_utf8_valid_good),
	    cmocka_unit_test(test_utf8_valid_bad),
	    cmocka_unit_test(test_utf8_length),
	    cmocka_unit_test(test_utf8_cut),
	    cmocka_unit_test(test_bytes_equal_ct),
	    cmocka_unit_test(test_hash_fnv1a64),
	    cmocka_unit_test(test_xalloc),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
