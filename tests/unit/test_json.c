/*
 * test_json.c - bounded parsing, non-coercing getters, operator-key
 * screening and BSON to JSON from lib/json.c.
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

static char err[256];

static json_object *
parse(const char *s)
{
	err[0] = '\0';
	return json_parse(s, strlen(s), err, sizeof(err));
}

/* json_parse that must succeed; the caller puts the result. */
static json_object *
parse_ok(const char *s)
{
	json_object *v = parse(s);

	if (v == NULL)
		fail_msg("json_parse(%s) failed: %s", s, err);
	return v;
}

/* json_parse of len bytes that must fail with a message holding want. */
static void
parse_bad_len(const char *s, size_t len, const char *want)
{
	json_object *v;

	err[0] = '\0';
	v = json_parse(s, len, err, sizeof(err));
	if (v != NULL) {
		json_object_put(v);
		fail_msg("json_parse accepted \"%.*s\"", (int)len, s);
	}
	if (err[0] == '\0')
		fail_msg("json_parse(\"%.*s\") gave no message", (int)len, s);
	if (want != NULL && strstr(err, want) == NULL)
		fail_msg("json_parse(\"%.*s\"): \"%s\" lacks \"%s\"", (int)len, s, err, want);
}

static void
parse_bad(const char *s, const char *want)
{
	parse_bad_len(s, strlen(s), want);
}

/* Serialized the way responses are. */
static void
assert_json(json_object *v, const char *expect)
{
	assert_string_equal(json_object_to_json_string_ext(v, JSON_OUT_FLAGS), expect);
}

/* k nested arrays around inner ("" for none). */
static char *
nested_arrays(int k, const char *inner)
{
	size_t n = strlen(inner);
	char *s = xmalloc(2 * (size_t)k + n + 1);

	memset(s, '[', (size_t)k);
	memcpy(s + k, inner, n);
	memset(s + k + n, ']', (size_t)k);
	s[2 * k + n] = '\0';
	return s;
}

/* k nested {"a": ...} objects around inner. */
static char *
nested_objects(int k, const char *inner)
{
	size_t n = strlen(inner), off = 0;
	char *s = xmalloc(6 * (size_t)k + n + 1);

	for (int i = 0; i < k; i++) {
		memcpy(s + off, "{\"a\":", 5);
		off += 5;
	}
	memcpy(s + off, inner, n);
	off += n;
	memset(s + off, '}', (size_t)k);
	s[off + (size_t)k] = '\0';
	return s;
}

static void
test_parse_good(void **state)
{
	json_object *v;

	(void)state;
	v = parse_ok("{\"name\":\"Osh\",\"price\":25000,\"tags\":[\"a\",1,true,null],"
	             "\"x\":{\"y\":-1.5}}");
	assert_true(json_object_is_type(v, json_type_object));
	assert_json(v, "{\"name\":\"Osh\",\"price\":25000,\"tags\":[\"a\",1,true,null],"
	               "\"x\":{\"y\":-1.5}}");
	json_object_put(v);

	v = parse_ok("[]");
	assert_true(json_object_is_type(v, json_type_array));
	json_object_put(v);

	v = parse_ok("\"Ўзбек 🍲\"");
	assert_string_equal(json_object_get_string(v), "Ўзбек 🍲");
	json_object_put(v);

	/* Escapes are decoded; the string keeps its length. */
	v = parse_ok("\"a\\u00e9\\n\\\"\\/\"");
	assert_string_equal(json_object_get_string(v), "a\xc3\xa9\n\"/");
	json_object_put(v);
}

static void
test_parse_surrounding_space(void **state)
{
	json_object *v;

	(void)state;
	v = parse_ok(" \t\r\n{\"a\":1} \t\r\n");
	assert_json(v, "{\"a\":1}");
	json_object_put(v);
	/* A number ended by white space. */
	v = parse_ok("42 ");
	assert_true(json_object_is_type(v, json_type_int));
	assert_int_equal(json_object_get_int64(v), 42);
	json_object_put(v);
}

static void
test_parse_only_len_bytes(void **state)
{
	const char *s = "{\"a\":1}garbage";
	json_object *v;

	(void)state;
	/* Bytes past len are not looked at. */
	v = json_parse(s, 7, err, sizeof(err));
	assert_non_null(v);
	assert_json(v, "{\"a\":1}");
	json_object_put(v);
	/* And a value cut short by len is incomplete. */
	parse_bad_len(s, 6, "malformed");
}

static void
test_parse_trailing_garbage(void **state)
{
	(void)state;
	parse_bad("{} x", "malformed");
	parse_bad("{}x", NULL);
	parse_bad("{}{}", NULL);
	parse_bad("[1] [2]", NULL);
	parse_bad("[1],", NULL);
	parse_bad("\"a\"\"b\"", NULL);
	parse_bad("{\"a\":1}}", NULL);
	parse_bad("[1]]", NULL);
	parse_bad("[1] \x0b", NULL); /* vertical tab is not JSON space */
	parse_bad("[1] // comment", NULL);
	parse_bad("[1] /* comment */", NULL);
	parse_bad_len("[1]\0x", 5, NULL);
}

static void
test_parse_malformed(void **state)
{
	static const char *const bad[] = {
	    "",
	    " ",
	    "{",
	    "[",
	    "{\"a\":1",
	    "[1,]",
	    "{\"a\":1,}",
	    "{a:1}",
	    "['a']",
	    "[True]",
	    "[tRUE]",
	    "[0x10]",
	    "[+1]",
	    "[.5]",
	    "[01]",
	    "[1 2]",
	    "{\"a\" 1}",
	    "{\"a\":1 \"b\":2}",
	    "[\"\\x41\"]",
	    "[\"\\u12\"]",
	    "/*c*/[1]",
	    "\xef\xbb\xbf[1]",
	    "[\"abc]",
	    "{\"a\"}",
	    "{1:2}",
	    "[,1]",
	    "[1,,2]",
	    "[-]",
	    "nul",
	    "[undefined]",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_bad(bad[i], "malformed");
}

static void
test_parse_not_utf8(void **state)
{
	(void)state;
	parse_bad("[\"\xff\"]", "UTF-8");
	parse_bad("[\"\xc3\"]", "UTF-8");
	parse_bad("[\"\xc0\xaf\"]", "UTF-8");     /* overlong '/' */
	parse_bad("[\"\xed\xa0\x80\"]", "UTF-8"); /* surrogate */
	parse_bad("{\"k\xfe\":1}", "UTF-8");
	/* Outside any string, too. */
	parse_bad("[1]\xff", "UTF-8");
}

static void
test_parse_depth_limit(void **state)
{
	json_object *v;
	char *s;

	(void)state;
	/* JSON_MAX_DEPTH nested containers are accepted... */
	s = nested_arrays(JSON_MAX_DEPTH, "");
	v = parse_ok(s);
	assert_true(json_object_is_type(v, json_type_array));
	json_object_put(v);
	free(s);

	/* ...as are values one level further in, below the cap. */
	s = nested_arrays(JSON_MAX_DEPTH - 1, "1");
	v = parse_ok(s);
	json_object_put(v);
	free(s);
	s = nested_objects(JSON_MAX_DEPTH - 1, "\"x\"");
	v = parse_ok(s);
	json_object_put(v);
	free(s);

	/* One container more is refused. */
	s = nested_arrays(JSON_MAX_DEPTH + 1, "");
	parse_bad(s, "deep");
	free(s);
	s = nested_objects(JSON_MAX_DEPTH + 1, "1");
	parse_bad(s, "deep");
	free(s);
	s = nested_arrays(JSON_MAX_DEPTH + 1, "1");
	parse_bad(s, "deep");
	free(s);

	/* And a deep bomb does not crash or take long. */
	s = nested_arrays(100000, "");
	parse_bad(s, "deep");
	free(s);

	/* Width is not depth. */
	v = parse_ok("[[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[]]");
	json_object_put(v);
}

static void
test_get_string(void **state)
{
	json_object *v;

	(void)state;
	v = parse_ok("{\"s\":\"hi\",\"e\":\"\",\"n\":5,\"b\":true,\"z\":null,\"o\":{},"
	             "\"a\":[\"x\"]}");
	assert_string_equal(json_get_string(v, "s"), "hi");
	assert_string_equal(json_get_string(v, "e"), "");
	assert_null(json_get_string(v, "n"));
	assert_null(json_get_string(v, "b"));
	assert_null(json_get_string(v, "z"));
	assert_null(json_get_string(v, "o"));
	assert_null(json_get_string(v, "a"));
	assert_null(json_get_string(v, "missing"));
	assert_null(json_get_string(v, "S"));
	json_object_put(v);

	/* Not an object at all. */
	v = parse_ok("[\"s\"]");
	assert_null(json_get_string(v, "s"));
	json_object_put(v);
}

static void
test_get_int64(void **state)
{
	json_object *v;
	int64_t i = 1234;

	(void)state;
	v = parse_ok("{\"n\":5,\"neg\":-7,\"zero\":0,\"big\":9223372036854775807,"
	             "\"small\":-9223372036854775808}");
	assert_int_equal(json_get_int64(v, "n", 0, 10, &i), 0);
	assert_true(i == 5);
	assert_int_equal(json_get_int64(v, "neg", -7, -7, &i), 0);
	assert_true(i == -7);
	assert_int_equal(json_get_int64(v, "zero", 0, 0, &i), 0);
	assert_true(i == 0);
	assert_int_equal(json_get_int64(v, "big", INT64_MIN, INT64_MAX, &i), 0);
	assert_true(i == INT64_MAX);
	assert_int_equal(json_get_int64(v, "small", INT64_MIN, INT64_MAX, &i), 0);
	assert_true(i == INT64_MIN);

	/* Range, both ends. */
	i = 1234;
	assert_int_equal(json_get_int64(v, "n", 6, 10, &i), -1);
	assert_int_equal(json_get_int64(v, "n", 0, 4, &i), -1);
	assert_int_equal(json_get_int64(v, "neg", 0, 10, &i), -1);
	assert_int_equal(json_get_int64(v, "big", 0, INT64_MAX - 1, &i), -1);
	assert_int_equal(json_get_int64(v, "small", INT64_MIN + 1, 0, &i), -1);
	assert_int_equal(json_get_int64(v, "missing", INT64_MIN, INT64_MAX, &i), -1);
	/* out untouched on failure */
	assert_true(i == 1234);
	json_object_put(v);
}

static void
test_get_int64_no_coercion(void **state)
{
	json_object *v;
	int64_t i = 1234;

	(void)state;
	v = parse_ok("{\"str\":\"5\",\"dbl\":5.0,\"exp\":5e0,\"frac\":5.5,\"t\":true,"
	             "\"f\":false,\"z\":null,\"a\":[5],\"o\":{\"n\":5},\"e\":\"\"}");
	assert_int_equal(json_get_int64(v, "str", INT64_MIN, INT64_MAX, &i), -1);
	assert_int_equal(json_get_int64(v, "dbl", INT64_MIN, INT64_MAX, &i), -1);
	assert_int_equal(json_get_int64(v, "exp", INT64_MIN, INT64_MAX, &i), -1);
	assert_int_equal(json_get_int64(v, "frac", INT64_MIN, INT64_MAX, &i), -1);
	assert_int_equal(json_get_int64(v, "t", INT64_MIN, INT64_MAX, &i), -1);
	assert_int_equal(json_get_int64(v, "f", INT64_MIN, INT64_MAX, &i), -1);
	assert_int_equal(json_get_int64(v, "z", INT64_MIN, INT64_MAX, &i), -1);
	assert_int_equal(json_get_int64(v, "a", INT64_MIN, INT64_MAX, &i), -1);
	assert_int_equal(json_get_int64(v, "o", INT64_MIN, INT64_MAX, &i), -1);
	assert_int_equal(json_get_int64(v, "e", INT64_MIN, INT64_MAX, &i), -1);
	assert_true(i == 1234);
	json_object_put(v);

	/* Not an object. */
	v = parse_ok("[5]");
	assert_int_equal(json_get_int64(v, "0", INT64_MIN, INT64_MAX, &i), -1);
	json_object_put(v);
}

static void
test_get_int64_out_of_range_narrow(void **state)
{
	json_object *v;
	int64_t i = 1234;

	(void)state;
	/* Numbers beyond int64 never pass a range that is narrower. */
	v = parse_ok("{\"huge\":99999999999999999999,\"neg\":-99999999999999999999,"
	             "\"u\":9223372036854775808}");
	assert_int_equal(json_get_int64(v, "huge", 1, 1000, &i), -1);
	assert_int_equal(json_get_int64(v, "neg", -1000, 1000, &i), -1);
	assert_int_equal(json_get_int64(v, "u", 0, 1000000, &i), -1);
	assert_true(i == 1234);
	json_object_put(v);
}

static int
has_ops(const char *s)
{
	json_object *v = parse_ok(s);
	int r = json_has_operator_keys(v);

	json_object_put(v);
	return r;
}

static void
test_operator_keys(void **state)
{
	(void)state;
	assert_int_equal(has_ops("{\"name\":\"osh\",\"n\":{\"x\":[1,{\"y\":2}]}}"), 0);
	/* '$' or '.' in values is fine. */
	assert_int_equal(has_ops("{\"q\":\"$gt\",\"w\":\"a.b\",\"a\":[\"$x\"]}"), 0);
	assert_int_equal(has_ops("{\"a$\":1,\"\":2}"), 0);
	assert_int_equal(has_ops("[]"), 0);
	assert_int_equal(has_ops("5 "), 0);
	assert_int_equal(has_ops("\"$where\""), 0);

	assert_int_equal(has_ops("{\"$gt\":1}"), 1);
	assert_int_equal(has_ops("{\"$\":1}"), 1);
	assert_int_equal(has_ops("{\"price\":{\"$gt\":0}}"), 1);
	assert_int_equal(has_ops("{\"a\":[1,2,{\"$where\":\"1\"}]}"), 1);
	assert_int_equal(has_ops("[[[{\"$ne\":null}]]]"), 1);
	assert_int_equal(has_ops("[{\"ok\":1},{\"x\":{\"y\":[{\"$set\":{}}]}}]"), 1);
	assert_int_equal(has_ops("{\"a.b\":1}"), 1);
	assert_int_equal(has_ops("{\".\":1}"), 1);
	assert_int_equal(has_ops("{\"a\":{\"b.\":1}}"), 1);
	assert_int_equal(has_ops("[{\"x.y\":1}]"), 1);
	/* Escaped forms are decoded first. */
	assert_int_equal(has_ops("{\"\\u0024gt\":1}"), 1);
	assert_int_equal(has_ops("{\"a\\u002eb\":1}"), 1);
	/* The first key is clean, a later one is not. */
	assert_int_equal(has_ops("{\"a\":1,\"b\":2,\"$c\":3}"), 1);
}

static void
test_operator_keys_nul_in_strings(void **state)
{
	(void)state;
	assert_int_equal(has_ops("{\"a\":\"x\\u0000y\"}"), 1);
	assert_int_equal(has_ops("\"\\u0000\""), 1);
	assert_int_equal(has_ops("[\"ok\",[\"\\u0000\"]]"), 1);
	assert_int_equal(has_ops("{\"a\":{\"b\":[1,\"\\u0000$gt\"]}}"), 1);
	assert_int_equal(has_ops("{\"a\":\"\\u0001\"}"), 0);
}

static void
test_operator_keys_built(void **state)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();

	(void)state;
	/* Objects built in code, not parsed, are screened the same way. */
	json_object_object_add(o, "ok", json_object_new_string_len("a\0b", 3));
	assert_int_equal(json_has_operator_keys(o), 1);
	json_object_put(o);

	o = json_object_new_object();
	json_object_array_add(arr, json_object_new_int(1));
	json_object_object_add(o, "list", arr);
	assert_int_equal(json_has_operator_keys(o), 0);
	json_object_object_add(o, "$inc", json_object_new_int(1));
	assert_int_equal(json_has_operator_keys(o), 1);
	json_object_put(o);

	assert_int_equal(json_has_operator_keys(NULL), 0);
}

static void
test_from_bson_types(void **state)
{
	bson_t doc, sub, arr;
	bson_oid_t oid;
	json_object *j, *x;

	(void)state;
	bson_init(&doc);
	bson_oid_init_from_string(&oid, "507f1f77bcf86cd799439011");
	BSON_APPEND_OID(&doc, "_id", &oid);
	BSON_APPEND_UTF8(&doc, "name", "Osh ʻ");
	BSON_APPEND_INT32(&doc, "i32", -2147483647 - 1);
	BSON_APPEND_INT64(&doc, "i64", INT64_MAX);
	BSON_APPEND_DOUBLE(&doc, "d", 2.5);
	BSON_APPEND_BOOL(&doc, "t", true);
	BSON_APPEND_BOOL(&doc, "f", false);
	BSON_APPEND_NULL(&doc, "z");
	BSON_APPEND_DATE_TIME(&doc, "epoch", 0);
	BSON_APPEND_DATE_TIME(&doc, "at", 1700000000123LL);
	BSON_APPEND_DOCUMENT_BEGIN(&doc, "sub", &sub);
	BSON_APPEND_OID(&sub, "ref", &oid);
	BSON_APPEND_INT32(&sub, "n", 7);
	bson_append_document_end(&doc, &sub);
	BSON_APPEND_ARRAY_BEGIN(&doc, "arr", &arr);
	BSON_APPEND_INT32(&arr, "0", 1);
	BSON_APPEND_UTF8(&arr, "1", "two");
	BSON_APPEND_DATE_TIME(&arr, "2", 86400000LL + 5);
	bson_append_array_end(&doc, &arr);

	j = json_from_bson(&doc);
	assert_json(j, "{\"_id\":\"507f1f77bcf86cd799439011\",\"name\":\"Osh ʻ\","
	               "\"i32\":-2147483648,\"i64\":9223372036854775807,\"d\":2.5,"
	               "\"t\":true,\"f\":false,\"z\":null,"
	               "\"epoch\":\"1970-01-01T00:00:00.000Z\","
	               "\"at\":\"2023-11-14T22:13:20.123Z\","
	               "\"sub\":{\"ref\":\"507f1f77bcf86cd799439011\",\"n\":7},"
	               "\"arr\":[1,\"two\",\"1970-01-02T00:00:00.005Z\"]}");

	/* Integers stay integers, ids and dates become strings. */
	assert_true(json_object_object_get_ex(j, "i32", &x));
	assert_true(json_object_is_type(x, json_type_int));
	assert_true(json_object_object_get_ex(j, "i64", &x));
	assert_true(json_object_is_type(x, json_type_int));
	assert_true(json_object_get_int64(x) == INT64_MAX);
	assert_true(json_object_object_get_ex(j, "d", &x));
	assert_true(json_object_is_type(x, json_type_double));
	assert_true(json_object_object_get_ex(j, "_id", &x));
	assert_true(json_object_is_type(x, json_type_string));
	assert_int_equal(json_object_get_string_len(x), 24);
	json_object_put(j);
	bson_destroy(&doc);
}

static void
test_from_bson_empty_and_embedded_nul(void **state)
{
	bson_t doc;
	json_object *j, *x;

	(void)state;
	bson_init(&doc);
	j = json_from_bson(&doc);
	assert_json(j, "{}");
	json_object_put(j);

	/* A BSON string may hold a NUL; its full length survives. */
	bson_append_utf8(&doc, "s", 1, "a\0b", 3);
	j = json_from_bson(&doc);
	assert_true(json_object_object_get_ex(j, "s", &x));
	assert_int_equal(json_object_get_string_len(x), 3);
	assert_memory_equal(json_object_get_string(x), "a\0b", 3);
	json_object_put(j);
	bson_destroy(&doc);
}

static void
test_from_bson_dates(void **state)
{
	static const struct {
		int64_t ms;
		const char *iso;
	} t[] = {
	    {0, "1970-01-01T00:00:00.000Z"},
	    {1, "1970-01-01T00:00:00.001Z"},
	    {999, "1970-01-01T00:00:00.999Z"},
	    {1000, "1970-01-01T00:00:01.000Z"},
	    {951782400000LL, "2000-02-29T00:00:00.000Z"},
	    {1709164800000LL, "2024-02-29T00:00:00.000Z"},
	    {1735689599999LL, "2024-12-31T23:59:59.999Z"},
	    {4102444800000LL, "2100-01-01T00:00:00.000Z"},
	    {253402300799999LL, "9999-12-31T23:59:59.999Z"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bson_t doc;
		json_object *j;

		bson_init(&doc);
		BSON_APPEND_DATE_TIME(&doc, "d", t[i].ms);
		j = json_from_bson(&doc);
		assert_string_equal(json_get_string(j, "d"), t[i].iso);
		json_object_put(j);
		bson_destroy(&doc);
	}
}

static void
test_from_bson_other_types_are_null(void **state)
{
	bson_t doc;
	json_object *j;
	static const uint8_t bin[3] = {1, 2, 3};

	(void)state;
	bson_init(&doc);
	BSON_APPEND_BINARY(&doc, "bin", BSON_SUBTYPE_BINARY, bin, sizeof(bin));
	BSON_APPEND_REGEX(&doc, "re", "^a", "i");
	BSON_APPEND_INT32(&doc, "after", 3);
	j = json_from_bson(&doc);
	/* The keys stay, with null, and later fields are not lost. */
	assert_json(j, "{\"bin\":null,\"re\":null,\"after\":3}");
	json_object_put(j);
	bson_destroy(&doc);
}

/* Regressions found by review: bare top-level scalars, trailing NULs. */
static void
test_parse_scalars_and_trailing_nul(void **state)
{
	json_object *v;

	(void)state;
	v = parse_ok("5");
	assert_int_equal(json_object_get_int64(v), 5);
	json_object_put(v);
	v = parse_ok("-1");
	assert_int_equal(json_object_get_int64(v), -1);
	json_object_put(v);
	v = parse_ok("true");
	assert_true(json_object_get_boolean(v));
	json_object_put(v);
	parse_bad_len("[1]\0", 4, "after the value");
	parse_bad_len("5\0", 2, "after the value");
}

/* Integers beyond int64 are refused, not clamped to INT64_MAX. */
static void
test_get_int64_beyond_int64(void **state)
{
	json_object *v;
	int64_t i = 7;

	(void)state;
	v = parse_ok("{\"a\":9223372036854775808,\"b\":99999999999999999999}");
	assert_int_equal(json_get_int64(v, "a", INT64_MIN, INT64_MAX, &i), -1);
	assert_int_equal(json_get_int64(v, "b", INT64_MIN, INT64_MAX, &i), -1);
	assert_true(i == 7);
	json_object_put(v);
}

/* Dates before 1970 floor to the right second; years pad to four digits. */
static void
test_from_bson_dates_before_1970(void **state)
{
	bson_t doc = BSON_INITIALIZER;
	json_object *j;

	(void)state;
	BSON_APPEND_DATE_TIME(&doc, "a", -1);
	BSON_APPEND_DATE_TIME(&doc, "b", -1500);
	BSON_APPEND_DATE_TIME(&doc, "c", -62135596800000LL); /* 0001-01-01 */
	j = json_from_bson(&doc);
	assert_string_equal(json_get_string(j, "a"), "1969-12-31T23:59:59.999Z");
	assert_string_equal(json_get_string(j, "b"), "1969-12-31T23:59:58.500Z");
	assert_string_equal(json_get_string(j, "c"), "0001-01-01T00:00:00.000Z");
	json_object_put(j);
	bson_destroy(&doc);
}

/* Only the named keys survive; "_id" may be renamed, absent keys are skipped. */
static void
test_from_bson_pick(void **state)
{
	static const char *const keys[] = {"_id", "name", "missing"};
	bson_t doc = BSON_INITIALIZER;
	bson_oid_t oid;
	json_object *j, *v;

	(void)state;
	bson_oid_init_from_string(&oid, "0123456789abcdef01234567");
	BSON_APPEND_OID(&doc, "_id", &oid);
	BSON_APPEND_UTF8(&doc, "name", "Osh");
	BSON_APPEND_UTF8(&doc, "passwordHash", "secret");
	j = json_from_bson_pick(&doc, keys, 3, "id");
	assert_int_equal(json_object_object_length(j), 2);
	assert_string_equal(json_get_string(j, "id"), "0123456789abcdef01234567");
	assert_string_equal(json_get_string(j, "name"), "Osh");
	assert_false(json_object_object_get_ex(j, "passwordHash", &v));
	json_object_put(j);
	j = json_from_bson_pick(&doc, keys, 3, NULL);
	assert_string_equal(json_get_string(j, "_id"), "0123456789abcdef01234567");
	json_object_put(j);
	bson_destroy(&doc);
}

/* issue 12: json-c keeps the last duplicate and cuts a key at \u0000. */
static void
test_parse_duplicate_keys_refused(void **state)
{
	json_object *v;

	(void)state;
	parse_bad("{\"status\":\"cancelled\",\"status\":\"confirmed\"}", "duplicate key");
	parse_bad("{\"a\":1,\"b\":2,\"c\":3,\"a\":4}", "duplicate key");
	parse_bad("{\"s\\u0074atus\":1,\"status\":2}", "duplicate key");
	parse_bad("{\"x\":{\"k\":1,\"k\":2}}", "duplicate key");
	parse_bad("[1,{\"k\":[{\"z\":1,\"z\":1}]}]", "duplicate key");
	parse_bad("{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}", "duplicate key");
	/* The same key in different objects, and keys only alike, are fine. */
	v = parse_ok("{\"k\":{\"k\":1},\"j\":[{\"k\":2},{\"k\":3}],\"K\":4,\"k \":5}");
	json_object_put(v);
	v = parse_ok("{\"a\\\"b\":1,\"a\\\\b\":2,\"\":3}");
	json_object_put(v);
	v = parse_ok("{\"b\":1,\"a\":{\"b\":2,\"c\":{}},\"c\":{\"a\":1}}");
	json_object_put(v);
}

static void
test_parse_nul_in_key_refused(void **state)
{
	json_object *v;

	(void)state;
	parse_bad("{\"status\\u0000\":\"x\"}", "key");
	parse_bad("{\"status\":\"ok\",\"status\\u0000x\":\"x\"}", "key");
	parse_bad("{\"\\u0000\":1}", "key");
	parse_bad("[{\"a\":{\"b\\u0000\":1}}]", "key");
	/* A NUL in a string value stays the operator-key screen's business. */
	v = parse_ok("{\"a\":\"b\\u0000c\"}");
	json_object_put(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_good),
	    cmocka_unit_test(test_parse_duplicate_keys_refused),
	    cmocka_unit_test(test_parse_nul_in_key_refused),
	    cmocka_unit_test(test_from_bson_pick),
	    cmocka_unit_test(test_parse_scalars_and_trailing_nul),
	    cmocka_unit_test(test_get_int64_beyond_int64),
	    cmocka_unit_test(test_from_bson_dates_before_1970),
	    cmocka_unit_test(test_parse_surrounding_space),
	    cmocka_unit_test(test_parse_only_len_bytes),
	    cmocka_unit_test(test_parse_trailing_garbage),
	    cmocka_unit_test(test_parse_malformed),
	    cmocka_unit_test(test_parse_not_utf8),
	    cmocka_unit_test(test_parse_depth_limit),
	    cmocka_unit_test(test_get_string),
	    cmocka_unit_test(test_get_int64),
	    cmocka_unit_test(test_get_int64_no_coercion),
	    cmocka_unit_test(test_get_int64_out_of_range_narrow),
	    cmocka_unit_test(test_operator_keys),
	    cmocka_unit_test(test_operator_keys_nul_in_strings),
	    cmocka_unit_test(test_operator_keys_built),
	    cmocka_unit_test(test_from_bson_types),
	    cmocka_unit_test(test_from_bson_empty_and_embedded_nul),
	    cmocka_unit_test(test_from_bson_dates),
	    cmocka_unit_test(test_from_bson_other_types_are_null),
	};

	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
