/*
 * test_qs.c - query-string decoding limits (qs_parse) and the typed,
 * table-driven checks on top of it (qs_check over valid.h tables) from
 * lib/qs.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "oshxona.h"
#include "valid.h"

#include "fake_fcgi.h"

static struct qs q;
static char err[256];

/* qs_parse that must succeed. */
static void
parse_ok(const char *raw)
{
	err[0] = '\0';
	if (qs_parse(raw, &q, err, sizeof(err)) != 0)
		fail_msg("qs_parse(\"%s\") failed: %s", raw, err);
}

/* qs_parse that must fail with a message containing want. */
static void
parse_bad(const char *raw, const char *want)
{
	err[0] = '\0';
	if (qs_parse(raw, &q, err, sizeof(err)) != -1)
		fail_msg("qs_parse(\"%s\") accepted", raw);
	if (want != NULL && strstr(err, want) == NULL)
		fail_msg("qs_parse(\"%s\"): message \"%s\" lacks \"%s\"", raw, err, want);
}

static void
test_parse_basic(void **state)
{
	(void)state;
	parse_ok("");
	assert_int_equal(q.n, 0);

	parse_ok("a=1&bb=two&c=");
	assert_int_equal(q.n, 3);
	assert_string_equal(q.pairs[0].name, "a");
	assert_string_equal(q.pairs[0].value, "1");
	assert_string_equal(q.pairs[1].name, "bb");
	assert_string_equal(q.pairs[1].value, "two");
	assert_string_equal(q.pairs[2].name, "c");
	assert_string_equal(q.pairs[2].value, "");

	/* A pair without '=' has the value "". */
	parse_ok("flag&x=1");
	assert_int_equal(q.n, 2);
	assert_string_equal(q.pairs[0].name, "flag");
	assert_string_equal(q.pairs[0].value, "");
	assert_string_equal(q.pairs[1].value, "1");

	/* Only the first '=' splits. */
	parse_ok("expr=a=b==c");
	assert_int_equal(q.n, 1);
	assert_string_equal(q.pairs[0].name, "expr");
	assert_string_equal(q.pairs[0].value, "a=b==c");
}

static void
test_parse_empty_segments(void **state)
{
	(void)state;
	parse_ok("a=1&&b=2&");
	assert_int_equal(q.n, 2);
	assert_string_equal(q.pairs[0].name, "a");
	assert_string_equal(q.pairs[1].name, "b");
	assert_string_equal(q.pairs[1].value, "2");

	parse_ok("&&&");
	assert_int_equal(q.n, 0);

	parse_ok("&x=1");
	assert_int_equal(q.n, 1);
	assert_string_equal(q.pairs[0].value, "1");
}

static void
test_parse_percent_decoding(void **state)
{
	(void)state;
	parse_ok("q=%D0%BF%D0%BB%D0%BE%D0%B2&n%61me=%41%62%3d%26%25");
	assert_int_equal(q.n, 2);
	assert_string_equal(q.pairs[0].name, "q");
	assert_string_equal(q.pairs[0].value, "плов");
	assert_string_equal(q.pairs[1].name, "name");
	assert_string_equal(q.pairs[1].value, "Ab=&%");

	/* Upper and lower case hex digits alike. */
	parse_ok("x=%c3%a9%C3%A9");
	assert_string_equal(q.pairs[0].value, "éé");

	/* An escaped '&' and '=' do not split. */
	parse_ok("a=1%262%3D3");
	assert_int_equal(q.n, 1);
	assert_string_equal(q.pairs[0].value, "1&2=3");

	/* Raw UTF-8 passes through. */
	parse_ok("s=Ўзбек");
	assert_string_equal(q.pairs[0].value, "Ўзбек");
}

static void
test_parse_plus(void **state)
{
	(void)state;
	/* Form encoding: '+' is a space, "%2B" a plus, in names and values. */
	parse_ok("search=osh+palov&a+b=1&p=%2B1");
	assert_int_equal(q.n, 3);
	assert_string_equal(q.pairs[0].value, "osh palov");
	assert_string_equal(q.pairs[1].name, "a b");
	assert_string_equal(q.pairs[2].value, "+1");

	parse_ok("s=+++");
	assert_string_equal(q.pairs[0].value, "   ");
}

static void
test_parse_bad_escapes(void **state)
{
	(void)state;
	parse_bad("a=%zz", "escape");
	parse_bad("a=%", "escape");
	parse_bad("a=%f", "escape");
	parse_bad("a=%4", "escape");
	parse_bad("a=%4g", "escape");
	parse_bad("a=%g4", "escape");
	parse_bad("a=%%41", "escape");
	parse_bad("a=% 1", "escape");
	parse_bad("a=%-1", "escape");
	parse_bad("a=%+1", "escape");
	parse_bad("%=1", "escape");
	parse_bad("%zz=1", "escape");
	/* "%f" is cut off by the '&', not completed by the next pair. */
	parse_bad("a=%f&b=1", "escape");
	parse_bad("a=%&20=1", "escape");
	parse_bad("x=1&a=ok%", "escape");
}

static void
test_parse_control_bytes(void **state)
{
	char raw[16];

	(void)state;
	parse_bad("a=%00", "UTF-8");
	parse_bad("a=x%00y", NULL);
	parse_bad("%00=1", NULL);
	parse_bad("a=%0a", NULL);
	parse_bad("a=%0D%0A", NULL);
	parse_bad("a=%09", NULL);
	parse_bad("a=%1f", NULL);
	parse_bad("a=%7f", NULL);
	parse_bad("a%0a=1", NULL);
	/* Raw control bytes too, not only escaped ones. */
	parse_bad("a=\t", NULL);
	parse_bad("a=b\x1b", NULL);
	parse_bad("a=\x7f", NULL);
	for (int c = 1; c < 0x20; c++) {
		snprintf(raw, sizeof(raw), "v=%%%02x", c);
		parse_bad(raw, NULL);
	}
	/* Space, '~' and U+0080.. are fine. */
	parse_ok("a=%20%7e%C2%80");
	assert_string_equal(q.pairs[0].value, " ~\xc2\x80");
}

static void
test_parse_not_utf8(void **state)
{
	(void)state;
	parse_bad("a=%ff", "UTF-8");
	parse_bad("a=%fe", NULL);
	parse_bad("a=%c3", NULL);          /* truncated */
	parse_bad("a=%c3%28", NULL);       /* bad continuation */
	parse_bad("a=%c0%80", NULL);       /* overlong NUL */
	parse_bad("a=%c1%bf", NULL);       /* overlong */
	parse_bad("a=%e0%80%af", NULL);    /* overlong '/' */
	parse_bad("a=%ed%a0%80", NULL);    /* surrogate */
	parse_bad("a=%f4%90%80%80", NULL); /* > U+10FFFF */
	parse_bad("%ff=1", NULL);
	parse_bad("a=\xff", NULL);
	/* A code point split across a name and its value is no excuse. */
	parse_bad("a%c3=%a9", NULL);
	parse_ok("a=%f0%9f%8d%b2");
	assert_string_equal(q.pairs[0].value, "\xf0\x9f\x8d\xb2");
}

static void
test_parse_empty_name(void **state)
{
	(void)state;
	parse_bad("=1", "name");
	parse_bad("a=1&=2", "name");
	parse_bad("=", "name");
}

static void
test_parse_repeated_name(void **state)
{
	(void)state;
	parse_bad("a=1&a=2", "'a'");
	parse_bad("a=1&b=2&a=1", "twice");
	parse_bad("a&a", NULL);
	/* Compared after decoding. */
	parse_bad("a=1&%61=2", NULL);
	parse_bad("a+b=1&a%20b=2", NULL);
	/* Case matters: two different names. */
	parse_ok("a=1&A=2");
	assert_int_equal(q.n, 2);
}

static void
test_parse_max_pairs(void **state)
{
	char raw[QS_MAX_LEN + 1];
	size_t off = 0;

	(void)state;
	for (int i = 0; i < QS_MAX_PAIRS; i++)
		off +=
		    (size_t)snprintf(raw + off, sizeof(raw) - off, "%sp%d=%d", i ? "&" : "", i, i);
	parse_ok(raw);
	assert_int_equal(q.n, QS_MAX_PAIRS);
	assert_string_equal(q.pairs[QS_MAX_PAIRS - 1].name, "p15");
	assert_string_equal(q.pairs[QS_MAX_PAIRS - 1].value, "15");

	/* Empty segments do not count as pairs. */
	snprintf(raw + off, sizeof(raw) - off, "&&&");
	parse_ok(raw);
	assert_int_equal(q.n, QS_MAX_PAIRS);

	snprintf(raw + off, sizeof(raw) - off, "&extra=1");
	parse_bad(raw, "parameters");
	snprintf(raw + off, sizeof(raw) - off, "&x");
	parse_bad(raw, NULL);
}

static void
test_parse_max_len(void **state)
{
	char raw[QS_MAX_LEN + 2];

	(void)state;
	/* Exactly QS_MAX_LEN bytes: accepted, decoded in full. */
	memset(raw, 'x', sizeof(raw));
	memcpy(raw, "v=", 2);
	raw[QS_MAX_LEN] = '\0';
	parse_ok(raw);
	assert_int_equal(q.n, 1);
	assert_int_equal(strlen(q.pairs[0].value), QS_MAX_LEN - 2);

	/* One byte more: rejected before decoding. */
	raw[QS_MAX_LEN] = 'x';
	raw[QS_MAX_LEN + 1] = '\0';
	parse_bad(raw, "longer");

	/* The limit is on the raw bytes, not the decoded ones. */
	for (size_t i = 2; i + 3 <= QS_MAX_LEN + 1; i += 3)
		memcpy(raw + i, "%41", 3);
	raw[QS_MAX_LEN + 1] = '\0';
	parse_bad(raw, "longer");
}

static void
test_parse_buffer_worst_case(void **state)
{
	char raw[QS_MAX_LEN + 1];
	size_t off = 0;

	(void)state;
	/*
	 * QS_MAX_PAIRS pairs without '=' plus one long name fill the decode
	 * buffer as far as it can go; must not overflow (ASan watches).
	 */
	for (int i = 0; i < QS_MAX_PAIRS - 1; i++)
		off += (size_t)snprintf(raw + off, sizeof(raw) - off, "%c&", 'a' + i);
	while (off < QS_MAX_LEN)
		raw[off++] = 'z';
	raw[off] = '\0';
	parse_ok(raw);
	assert_int_equal(q.n, QS_MAX_PAIRS);
	assert_int_equal(strlen(q.pairs[QS_MAX_PAIRS - 1].name),
	                 QS_MAX_LEN - 2 * (QS_MAX_PAIRS - 1));
	assert_string_equal(q.pairs[QS_MAX_PAIRS - 1].value, "");
}

/* ------------------------------------------------------------- qs_check */

enum { F_LIMIT, F_OFFSET, F_CATEGORY, F_SEARCH, F__MAX };

static const struct valid_field fields[F__MAX] = {
    [F_LIMIT] = VALID_FIELD("limit", VK_INT, 0, .min = 1, .max = 100),
    [F_OFFSET] = VALID_FIELD("offset", VK_INT, 0, .min = 0, .max = 100000),
    [F_CATEGORY] = VALID_FIELD("category", VK_ID, 0),
    [F_SEARCH] = VALID_FIELD("search", VK_STRING, 0, .min = 1, .max = 5),
};

static struct qs_value v[F__MAX];
static struct valid_error e;

static int
validate(const char *raw)
{
	parse_ok(raw);
	return qs_check(&q, fields, F__MAX, v, &e);
}

/*
 * qs_check that must refuse raw: always 400, with a message containing
 * want and, when given, naming field as the refused parameter.
 */
static void
validate_bad_field(const char *raw, const char *want, const char *field)
{
	if (validate(raw) != -1)
		fail_msg("qs_check accepted \"%s\"", raw);
	if (e.status != 400)
		fail_msg("qs_check(\"%s\"): status %d, not 400", raw, e.status);
	if (want != NULL && strstr(e.message, want) == NULL)
		fail_msg("qs_check(\"%s\"): message \"%s\" lacks \"%s\"", raw, e.message, want);
	if (field != NULL && strcmp(e.field, field) != 0)
		fail_msg("qs_check(\"%s\"): field \"%s\", not \"%s\"", raw, e.field, field);
}

static void
validate_bad(const char *raw, const char *want)
{
	validate_bad_field(raw, want, NULL);
}

static void
test_validate_good(void **state)
{
	char hex[25];

	(void)state;
	assert_int_equal(validate("limit=20&category=507F1F77bcf86cd799439011&search=osh"), 0);
	assert_int_equal(v[F_LIMIT].present, 1);
	assert_true(v[F_LIMIT].i == 20);
	assert_int_equal(v[F_OFFSET].present, 0);
	assert_int_equal(v[F_CATEGORY].present, 1);
	bson_oid_to_string(&v[F_CATEGORY].oid, hex);
	assert_string_equal(hex, "507f1f77bcf86cd799439011");
	assert_int_equal(v[F_SEARCH].present, 1);
	assert_string_equal(v[F_SEARCH].text, "osh");
	/* The text points into the struct qs. */
	assert_true(v[F_SEARCH].text >= q.buf && v[F_SEARCH].text < q.buf + sizeof(q.buf));

	/* Nothing given: nothing present, and stale values are cleared. */
	assert_int_equal(validate(""), 0);
	for (int i = 0; i < F__MAX; i++)
		assert_int_equal(v[i].present, 0);
	assert_null(v[F_SEARCH].text);
}

static void
test_validate_unknown(void **state)
{
	(void)state;
	validate_bad_field("limit=1&sort=name", "unknown query parameter 'sort'", "sort");
	validate_bad_field("Limit=1", "'Limit'", "Limit");
	/* Even an empty, harmless-looking one. */
	validate_bad_field("debug", "debug", "debug");
}

static void
test_validate_int(void **state)
{
	(void)state;
	assert_int_equal(validate("limit=1"), 0);
	assert_true(v[F_LIMIT].i == 1);
	assert_int_equal(validate("limit=100"), 0);
	assert_true(v[F_LIMIT].i == 100);
	assert_int_equal(validate("offset=0"), 0);
	assert_int_equal(v[F_OFFSET].present, 1);
	assert_true(v[F_OFFSET].i == 0);

	validate_bad_field("limit=0", "query parameter 'limit' must be an integer from 1 to 100",
	                   "limit");
	validate_bad("limit=101", "1 to 100");
	validate_bad("limit=-1", "'limit'");
	validate_bad("limit=", "'limit'");
	validate_bad("limit", "'limit'");
	validate_bad("limit=+5", "'limit'");
	validate_bad("limit=5+", "'limit'"); /* "5 " after decoding */
	validate_bad("limit=%205", "'limit'");
	validate_bad("limit=1e1", "'limit'");
	validate_bad("limit=0x10", "'limit'");
	validate_bad("limit=5.0", "'limit'");
	validate_bad("limit=99999999999999999999", "'limit'");
	validate_bad_field("offset=100001", "from 0 to 100000", "offset");
	validate_bad("offset=-0x1", "'offset'");
}

static void
test_validate_oid(void **state)
{
	(void)state;
	validate_bad_field("category=507f1f77bcf86cd79943901",
	                   "query parameter 'category' must be a 24-hex id", "category");
	validate_bad("category=507f1f77bcf86cd7994390111", "'category'");
	validate_bad("category=507f1f77bcf86cd79943901z", "'category'");
	validate_bad("category=", "'category'");
	validate_bad("category=+07f1f77bcf86cd799439011", "'category'");
	validate_bad("category=%7B%22$gt%22:%22%22%7D", "'category'");
}

static void
test_validate_text(void **state)
{
	(void)state;
	/* Lengths are in code points, not bytes. */
	assert_int_equal(validate("search=a"), 0);
	assert_string_equal(v[F_SEARCH].text, "a");
	assert_int_equal(validate("search=abcde"), 0);
	assert_int_equal(validate("search=%D0%BF%D0%BB%D0%BE%D0%B2%21"), 0); /* 5 cps, 9 bytes */
	assert_string_equal(v[F_SEARCH].text, "плов!");
	assert_int_equal(validate("search=%F0%9F%8D%B2%F0%9F%8D%B2"), 0);

	validate_bad_field("search=", "query parameter 'search' must be 1 to 5 characters",
	                   "search");
	validate_bad("search", "1 to 5");
	validate_bad("search=abcdef", "'search'");
	validate_bad("search=%D0%BF%D0%BB%D0%BE%D0%B2%D0%BE%D0%B2", "'search'"); /* 6 cps */
}

static void
test_validate_first_error_wins(void **state)
{
	(void)state;
	/* A bad value before a good one still fails, and names the bad one. */
	validate_bad_field("search=abcdefgh&limit=5", "'search'", "search");
	validate_bad_field("limit=5&offset=x", "'offset'", "offset");
}

static void
test_validate_long_unknown_name_is_cut(void **state)
{
	char raw[300];

	(void)state;
	memset(raw, 'n', 200);
	memcpy(raw + 200, "=1", 3);
	validate_bad(raw, "unknown");
	/* The message stays small and readable; the field path is cut, not overrun. */
	assert_true(strlen(e.message) < 128);
	assert_true(strlen(e.field) < sizeof(e.field));
}

/* The kinds shared with bodies: bool, local day, HH:MM... */
static void
test_validate_bool_day_hhmm(void **state)
{
	static const struct valid_field kinds[] = {
	    VALID_FIELD("active", VK_BOOL, 0),
	    VALID_FIELD("date", VK_LOCALDAY, 0),
	    VALID_FIELD("at", VK_HHMM, 0),
	};
	struct qs_value k[3];

	(void)state;
	parse_ok("active=false&date=2024-02-29&at=09:30");
	assert_int_equal(qs_check(&q, kinds, 3, k, &e), 0);
	assert_true(k[0].present && k[0].b == 0);
	assert_string_equal(k[1].text, "2024-02-29");
	assert_true(k[2].i == 570);
	parse_ok("active=true");
	assert_int_equal(qs_check(&q, kinds, 3, k, &e), 0);
	assert_int_equal(k[0].b, 1);
	static const char *const wrong[] = {
	    "active=1",   "active=TRUE", "active=", "date=2023-02-29", "date=2024-2-01",
	    "date=today", "at=24:00",    "at=9:30", "at=12:60"};
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		parse_ok(wrong[i]);
		if (qs_check(&q, kinds, 3, k, &e) != -1)
			fail_msg("accepted %s", wrong[i]);
		assert_int_equal(e.status, 400);
		assert_non_null(strstr(e.message, "query parameter '"));
	}
}

/* ...enums, days and ids together, with the error value's parts. */
static void
test_check_valid_table(void **state)
{
	static const char *const formats[] = {"json", "csv", NULL};
	enum { P_FORMAT, P_FROM, P_BRANCH, P_LIMIT, P__MAX };
	static const struct valid_field params[P__MAX] = {
	    [P_FORMAT] = VALID_FIELD("format", VK_ENUM, 0, .values = formats),
	    [P_FROM] = VALID_FIELD("from", VK_LOCALDAY, 0),
	    [P_BRANCH] = VALID_FIELD("branchId", VK_ID, 0),
	    [P_LIMIT] = VALID_FIELD("limit", VK_INT, 0, .min = 1, .max = 100),
	};
	struct qs_value k[P__MAX];

	(void)state;
	parse_ok("format=csv&from=2026-12-01&limit=7");
	assert_int_equal(qs_check(&q, params, P__MAX, k, &e), 0);
	assert_true(k[P_FORMAT].present && k[P_FORMAT].i == 1);
	assert_string_equal(k[P_FROM].text, "2026-12-01");
	assert_true(k[P_LIMIT].i == 7 && !k[P_BRANCH].present);
	parse_ok("format=xml");
	assert_int_equal(qs_check(&q, params, P__MAX, k, &e), -1);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.field, "format");
	assert_string_equal(e.message, "query parameter 'format' must be json or csv");
	parse_ok("from=2026-13-01");
	assert_int_equal(qs_check(&q, params, P__MAX, k, &e), -1);
	assert_string_equal(e.field, "from");
	parse_ok("colour=red");
	assert_int_equal(qs_check(&q, params, P__MAX, k, &e), -1);
	assert_non_null(strstr(e.message, "unknown query parameter 'colour'"));
	parse_ok("limit=0");
	assert_int_equal(qs_check(&q, params, P__MAX, k, &e), -1);
	parse_ok("");
	assert_int_equal(qs_check(&q, NULL, 0, k, &e), 0);
	/* No table: an endpoint without parameters refuses every one. */
	parse_ok("limit=5");
	assert_int_equal(qs_check(&q, NULL, 0, k, &e), -1);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.message, "unknown query parameter 'limit'");
}

/* ------------------------------------------------------------ valid_query */

/*
 * valid_query over a request with QUERY_STRING=raw against the test table:
 * its result, and the whole answer (empty when it did not answer) in out.
 */
static int
query_answer(const char *raw, char *out, size_t outlen)
{
	char param[QS_MAX_LEN + 32];
	const char *env[] = {"REQUEST_METHOD=GET", param, NULL};
	struct fake_fcgi f;
	struct req r;
	int rc;

	snprintf(param, sizeof(param), "QUERY_STRING=%s", raw);
	fake_init(&f, env, NULL, 0);
	req_init(&r, &f.req);
	rc = valid_query(&r, &q, fields, F__MAX, v);
	snprintf(out, outlen, "%s", fake_output(&f));
	req_free(&r);
	fake_free(&f);
	return rc;
}

/* An answer that is 400 with exactly this JSON message. */
static void
assert_answer_400(const char *raw, const char *message)
{
	char out[2048], want[512];
	const char *body;

	if (query_answer(raw, out, sizeof(out)) != -1)
		fail_msg("valid_query accepted \"%s\"", raw);
	if (strncmp(out, "Status: 400 ", 12) != 0)
		fail_msg("valid_query(\"%s\") answered \"%s\"", raw, out);
	body = strstr(out, "\r\n\r\n");
	assert_non_null(body);
	snprintf(want, sizeof(want), "{\"success\":false,\"message\":\"%s\"}", message);
	assert_string_equal(body + 4, want);
}

/* The path every parameterized endpoint answers through (menu among them). */
static void
test_valid_query_answers(void **state)
{
	char out[2048];

	(void)state;
	/* Accepted: nothing is answered, the values are the handler's. */
	assert_int_equal(query_answer("limit=7&search=osh", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_true(v[F_LIMIT].present && v[F_LIMIT].i == 7);
	assert_string_equal(v[F_SEARCH].text, "osh");
	/* Refused while decoding (qs_parse)... */
	assert_answer_400("limit=5&limit=5", "query parameter 'limit' given twice");
	assert_answer_400("search=%ZZ", "malformed %-escape in the query string");
	assert_answer_400("=5", "query parameter without a name");
	/* ...and against the table (qs_check). */
	assert_answer_400("sort=price", "unknown query parameter 'sort'");
	assert_answer_400("limit=0", "query parameter 'limit' must be an integer from 1 to 100");
	assert_answer_400("category=xyz", "query parameter 'category' must be a 24-hex id");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_basic),
	    cmocka_unit_test(test_parse_empty_segments),
	    cmocka_unit_test(test_parse_percent_decoding),
	    cmocka_unit_test(test_parse_plus),
	    cmocka_unit_test(test_parse_bad_escapes),
	    cmocka_unit_test(test_parse_control_bytes),
	    cmocka_unit_test(test_parse_not_utf8),
	    cmocka_unit_test(test_parse_empty_name),
	    cmocka_unit_test(test_parse_repeated_name),
	    cmocka_unit_test(test_parse_max_pairs),
	    cmocka_unit_test(test_parse_max_len),
	    cmocka_unit_test(test_parse_buffer_worst_case),
	    cmocka_unit_test(test_validate_good),
	    cmocka_unit_test(test_validate_unknown),
	    cmocka_unit_test(test_validate_int),
	    cmocka_unit_test(test_validate_oid),
	    cmocka_unit_test(test_validate_text),
	    cmocka_unit_test(test_validate_first_error_wins),
	    cmocka_unit_test(test_validate_long_unknown_name_is_cut),
	    cmocka_unit_test(test_validate_bool_day_hhmm),
	    cmocka_unit_test(test_check_valid_table),
	    cmocka_unit_test(test_valid_query_answers),
	};

	return cmocka_run_group_tests_name("qs", tests, NULL, NULL);
}
