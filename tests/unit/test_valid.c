/*
 * test_valid.c - the declared body checker (lib/valid.c): one test per
 * kind, one per refusal, the path in messages, create against patch, and
 * what a handler reads back (accessors, BSON).
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
#include "valid.h"

/* ------------------------------------------------------------ schemas */

static const char *const order_types[] = {"delivery", "pickup", "dine_in", NULL};
static const char *const languages[] = {"uz", "ru", NULL};

enum { IF_PRODUCT, IF_QTY, IF_NOTES, IF__MAX };
static const struct valid_field item_fields[IF__MAX] = {
    [IF_PRODUCT] = VALID_FIELD("productId", VK_ID, VALID_REQUIRED),
    [IF_QTY] = VALID_FIELD("quantity", VK_INT, VALID_REQUIRED, .min = 1, .max = 50),
    [IF_NOTES] = VALID_FIELD("notes", VK_TEXT, VALID_NULLABLE, .min = 0, .max = 200),
};
static const struct valid_schema item_schema = VALID_SCHEMA(item_fields);

/* A shift: open and close, never equal (a rule on the object). */
static int
shift_rule(json_object *v, const char *path, struct valid_error *e)
{
	if (valid_get_minutes(v, "open") == valid_get_minutes(v, "close"))
		return valid_fail(e, 422, path, "%s: open and close are equal", path);
	return 0;
}

static const struct valid_field shift_fields[] = {
    VALID_FIELD("open", VK_HHMM, VALID_REQUIRED),
    VALID_FIELD("close", VK_HHMM, VALID_REQUIRED | VALID_24H),
};
static const struct valid_schema shift_schema = VALID_SCHEMA_RULE(shift_fields, shift_rule);

static const struct valid_field week_fields[] = {
    VALID_FIELD("mon", VK_OBJECT, VALID_REQUIRED | VALID_NULLABLE, .schema = &shift_schema),
    VALID_FIELD("tue", VK_OBJECT, VALID_REQUIRED | VALID_NULLABLE, .schema = &shift_schema),
};
static const struct valid_schema week_schema = VALID_SCHEMA(week_fields);

static const struct valid_field id_item = VALID_FIELD("id", VK_ID, 0);

/* A field's own rule: 0 is no chat. */
static int
not_zero(json_object *v, const char *path, struct valid_error *e)
{
	if (json_object_get_int64(v) == 0)
		return valid_fail(e, 422, path, "%s must not be 0", path);
	return 0;
}

enum {
	F_NAME,
	F_ABOUT,
	F_TYPE,
	F_BRANCH,
	F_ITEMS,
	F_PHONE,
	F_HOURS,
	F_DAY,
	F_WHERE,
	F_CODE,
	F_TAGS,
	F_OPEN,
	F_CHAT,
	F_LANG,
	F__MAX
};
static const struct valid_field fields[F__MAX] = {
    [F_NAME] = VALID_FIELD("name", VK_STRING, VALID_REQUIRED, .min = 2, .max = 5),
    [F_ABOUT] = VALID_FIELD("about", VK_TEXT, 0, .min = 0, .max = 20, .dflt = "\"\""),
    [F_TYPE] = VALID_FIELD("orderType", VK_ENUM, 0, .values = order_types),
    [F_BRANCH] = VALID_FIELD("branchId", VK_ID, VALID_REQUIRED),
    [F_ITEMS] = VALID_FIELD("items", VK_ARRAY, 0, .min = 1, .max = 3, .schema = &item_schema),
    [F_PHONE] = VALID_FIELD("phone", VK_PHONE, 0),
    [F_HOURS] = VALID_FIELD("hours", VK_OBJECT, 0, .schema = &week_schema),
    [F_DAY] = VALID_FIELD("day", VK_LOCALDAY, 0),
    [F_WHERE] = VALID_FIELD("location", VK_LOCATION, VALID_NULLABLE, .dflt = "null"),
    [F_CODE] = VALID_FIELD("code", VK_DIGITS, VALID_NULLABLE, .min = 17, .max = 17),
    [F_TAGS] = VALID_FIELD("tags", VK_STRINGS, 0, .min = 0, .max = 2, .item = &id_item),
    [F_OPEN] = VALID_FIELD("isOpen", VK_BOOL, 0, .dflt = "true"),
    [F_CHAT] = VALID_FIELD("chat", VK_INT, VALID_NULLABLE, .min = -1000000000000000LL,
                           .max = 1000000000000000LL, .rule = not_zero),
    [F_LANG] = VALID_FIELD("lang", VK_ENUM, 0, .values = languages, .dflt = "\"uz\""),
};
static const struct valid_schema schema = VALID_SCHEMA(fields);

#define BRANCH "\"branchId\": \"65a000000000000000000001\""
#define ID2    "65a000000000000000000002"

/* ------------------------------------------------------------ helpers */

static struct valid_error e;

/* valid_json that must succeed; the caller puts the body. */
static json_object *
ok_mode(const char *text, enum valid_mode mode)
{
	json_object *body = NULL;

	if (valid_json(&schema, text, strlen(text), mode, &body, &e) < 0)
		fail_msg("refused %s: %d %s", text, e.status, e.message);
	return body;
}

static json_object *
ok(const char *text)
{
	return ok_mode(text, VALID_PATCH);
}

/* valid_json that must refuse with status and a message holding want. */
static void
bad_mode(const char *text, enum valid_mode mode, int status, const char *want)
{
	json_object *body = (json_object *)1;

	if (valid_json(&schema, text, strlen(text), mode, &body, &e) != -1)
		fail_msg("accepted %s", text);
	assert_null(body);
	if (e.status != status)
		fail_msg("%s: status %d, want %d (%s)", text, e.status, status, e.message);
	if (want != NULL && strstr(e.message, want) == NULL)
		fail_msg("%s: message \"%s\" lacks \"%s\"", text, e.message, want);
}

static void
bad(const char *text, int status, const char *want)
{
	bad_mode(text, VALID_PATCH, status, want);
}

/* One field's value in a patch: accepted (1) or refused with status. */
static void
value_ok(const char *field, const char *json)
{
	char text[512];

	snprintf(text, sizeof(text), "{\"%s\": %s}", field, json);
	json_object_put(ok(text));
}

static void
value_bad(const char *field, const char *json, int status)
{
	char text[512];

	snprintf(text, sizeof(text), "{\"%s\": %s}", field, json);
	bad(text, status, field);
}

/* -------------------------------------------------------------- kinds */

static void
test_string(void **state)
{
	json_object *b;

	(void)state;
	b = ok("{\"name\": \"  Osh \\t\"}");
	assert_string_equal(valid_get_str(b, "name"), "Osh"); /* trimmed in place */
	json_object_put(b);
	value_bad("name", "\"x\"", 422);
	value_bad("name", "\"   x   \"", 422); /* the trimmed length counts */
	value_bad("name", "\"Osh\\u0007\"", 422);
	value_bad("name", "\"a\\nb\"", 422); /* one line */
	value_bad("name", "\"abcdef\"", 422);
	bad("{\"name\": \"abcdef\"}", 422, "name must be 2..5 characters");
	value_ok("about", "\"line one\\nline two\\t!\"");
	bad("{\"about\": \"123456789012345678901\"}", 422, "about must be at most 20 characters");
}

static void
test_length_in_characters(void **state)
{
	(void)state;
	/* 5 code points, 9 bytes (Russian), 10 bytes (Uzbek Cyrillic) */
	value_ok("name", "\"Плов!\"");
	value_ok("name", "\"Ўқғҳз\"");
	/* Uzbek Latin with the modifier letter: oʻrik is 5 characters, 6 bytes */
	value_ok("name", "\"o\xca\xbbrik\"");
	value_bad("name", "\"Пловы!\"", 422);
	value_bad("name", "\"o\xca\xbbriks\"", 422);
}

static void
test_int(void **state)
{
	(void)state;
	value_ok("chat", "-1002003004005");
	value_ok("chat", "1000000000000000");
	value_bad("chat", "1000000000000001", 422);
	value_bad("chat", "-1000000000000001", 422);
	value_bad("chat", "18446744073709551615", 422);
	value_bad("chat", "\"5\"", 400);
	value_bad("chat", "5.0", 400);
	value_bad("chat", "true", 400);
	value_bad("chat", "0", 422); /* the field's own rule */
	value_ok("chat", "null");    /* nullable */
}

static void
test_bool(void **state)
{
	json_object *b;

	(void)state;
	b = ok("{\"isOpen\": false}");
	assert_int_equal(valid_get_bool(b, "isOpen", 1), 0);
	json_object_put(b);
	value_bad("isOpen", "\"true\"", 400);
	value_bad("isOpen", "1", 400);
	value_bad("isOpen", "null", 400);
}

static void
test_enum(void **state)
{
	json_object *b;

	(void)state;
	b = ok("{\"orderType\": \"pickup\"}");
	assert_int_equal(valid_get_enum(b, &fields[F_TYPE]), 1);
	json_object_put(b);
	bad("{\"orderType\": \"takeaway\"}", 400, "orderType must be delivery, pickup or dine_in");
	value_bad("orderType", "\"Pickup\"", 400);
	value_bad("orderType", "2", 400);
	bad("{\"lang\": \"en\"}", 400, "lang must be uz or ru");
	/* a NUL hides no tail behind a listed value (v17-tg) */
	value_bad("orderType", "\"pickup\\u0000x\"", 400);
}

static void
test_id(void **state)
{
	json_object *b;
	bson_oid_t oid;
	char hex[25];

	(void)state;
	b = ok("{\"branchId\": \"65A000000000000000000001\"}");
	assert_int_equal(valid_get_id(b, "branchId", &oid), 0);
	bson_oid_to_string(&oid, hex);
	assert_string_equal(hex, "65a000000000000000000001");
	assert_int_equal(valid_get_id(b, "nothing", &oid), -1);
	json_object_put(b);
	value_bad("branchId", "\"65a00000000000000000000\"", 400);
	value_bad("branchId", "\"65a00000000000000000000g\"", 400);
	value_bad("branchId", "{\"$oid\": \"65a000000000000000000001\"}", 400);
}

static void
test_phone(void **state)
{
	static const char *const good[] = {
	    "\"+998 71 200 56 56\"", "\"+998901112233\"", "\"998901234567\"",
	    "\"(71) 200-12-12\"",    "\"901234567\"",     "\"+7 495 123 45 67\"",
	    "\" +998901234567 \"",
	};
	static const char *const wrong[] = {
	    "\"call me\"",
	    "\"12345\"",
	    "\"+99890\"",
	    "\"+998 90 123 45 678\"",
	    "\"99+8901234567\"",
	    "\"+998 90 123 45 6\"",
	    "\"1234567890123456\"",
	    "\"+998901234567x\"",
	    "\"\"",
	    "\"+ 9 9 8 9 0 1 2 3 4 5 6 7 8 9 0\"",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		value_ok("phone", good[i]);
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++)
		value_bad("phone", wrong[i], 422);
	value_bad("phone", "998712001212", 400);
	assert_true(valid_phone("+998 71 200 12 12", 17));
	assert_false(valid_phone("+998 71 200 12 12", 16)); /* only len bytes count */
}

static void
test_hhmm(void **state)
{
	(void)state;
	assert_int_equal(valid_hhmm("00:00", 0), 0);
	assert_int_equal(valid_hhmm("09:30", 0), 570);
	assert_int_equal(valid_hhmm("23:59", 0), 1439);
	assert_int_equal(valid_hhmm("24:00", 0), -1);
	assert_int_equal(valid_hhmm("24:00", 1), 1440);
	assert_int_equal(valid_hhmm("24:01", 1), -1);
	assert_int_equal(valid_hhmm("9:00", 1), -1);
	assert_int_equal(valid_hhmm(" 9:00", 1), -1);
	assert_int_equal(valid_hhmm("+9:00", 1), -1);
	assert_int_equal(valid_hhmm("12:60", 1), -1);
	assert_int_equal(valid_hhmm("25:00", 1), -1);
	assert_int_equal(valid_hhmm("12.30", 1), -1);
	assert_int_equal(valid_hhmm(NULL, 1), -1);
	value_ok("hours", "{\"mon\": {\"open\": \"10:00\", \"close\": \"24:00\"}, \"tue\": null}");
	bad("{\"hours\": {\"mon\": {\"open\": \"24:00\", \"close\": \"23:00\"}, \"tue\": null}}",
	    422, "hours.mon.open must be HH:MM, 00:00..23:59");
	bad("{\"hours\": {\"mon\": {\"open\": 10, \"close\": \"11:00\"}, \"tue\": null}}", 400,
	    "hours.mon.open must be a string");
}

static void
test_localday(void **state)
{
	(void)state;
	value_ok("day", "\"2024-02-29\"");
	value_ok("day", "\"1970-01-01\"");
	value_bad("day", "\"2023-02-29\"", 422);
	value_bad("day", "\"2024-13-01\"", 422);
	value_bad("day", "\"2024-04-31\"", 422);
	value_bad("day", "\"1969-12-31\"", 422);
	value_bad("day", "\"2024-1-01\"", 422);
	value_bad("day", "\"2024-01-01T00:00\"", 422);
	value_bad("day", "20240101", 400);
	assert_true(valid_localday("2000-02-29"));
	assert_false(valid_localday("1900-02-29"));
	assert_false(valid_localday(NULL));
}

static void
test_digits(void **state)
{
	(void)state;
	value_ok("code", "\"10202001001000000\"");
	value_ok("code", "null");
	bad("{\"code\": \"1020200100100000\"}", 422, "code must be exactly 17 digits");
	value_bad("code", "\"102020010010000001\"", 422);
	value_bad("code", "\"1020200100100000a\"", 422);
	value_bad("code", "\" 10202001001000000\"", 422); /* codes are not trimmed */
	value_bad("code", "10202001001000000", 400);
}

static void
test_location(void **state)
{
	json_object *b;
	double lat, lng;

	(void)state;
	b = ok("{\"location\": {\"lat\": 41.3, \"lng\": 69}}");
	assert_int_equal(valid_get_location(b, "location", &lat, &lng), 0);
	assert_true(lat > 41.29 && lat < 41.31 && lng == 69);
	json_object_put(b);
	value_ok("location", "null");
	bad("{\"location\": {\"lat\": 91, \"lng\": 69}}", 422, "location is out of range");
	bad("{\"location\": {\"lat\": 41, \"lng\": -180.5}}", 422, "location");
	bad("{\"location\": {\"lat\": \"41\", \"lng\": 69}}", 400, "location must be");
	bad("{\"location\": {\"lat\": 41}}", 400, "location must be");
	bad("{\"location\": {\"lat\": 41, \"lng\": 69, \"alt\": 1}}", 400,
	    "location.alt is not a known field");
	bad("{\"location\": [41, 69]}", 400, "location must be");
}

static void
test_object(void **state)
{
	(void)state;
	bad("{\"hours\": \"always\"}", 400, "hours must be an object");
	bad("{\"hours\": {\"mon\": null}}", 400, "hours.tue is required");
	bad("{\"hours\": {\"mon\": null, \"tue\": null, \"wed\": null}}", 400,
	    "hours.wed is not a known field");
	bad("{\"hours\": {\"mon\": {\"open\": \"10:00\"}, \"tue\": null}}", 400,
	    "hours.mon.close is required");
	/* the object's own rule, with the path */
	bad("{\"hours\": {\"mon\": null, \"tue\": {\"open\": \"10:00\", \"close\": \"10:00\"}}}",
	    422, "hours.tue: open and close are equal");
}

static void
test_array_of_objects(void **state)
{
	json_object *b, *items;
	size_t n;

	(void)state;
	b = ok("{\"items\": [{\"productId\": \"" ID2
	       "\", \"quantity\": 2, \"notes\": \" hot \"}]}");
	items = valid_get_array(b, "items", &n);
	assert_non_null(items);
	assert_int_equal(n, 1);
	assert_int_equal(valid_get_int(json_object_array_get_idx(items, 0), "quantity", 0), 2);
	assert_string_equal(valid_get_str(json_object_array_get_idx(items, 0), "notes"), "hot");
	json_object_put(b);
	bad("{\"items\": [{\"productId\": \"" ID2 "\", \"quantity\": 1}, {\"productId\": \"" ID2
	    "\", \"quantity\": 1}, {\"productId\": \"" ID2 "\", \"quantity\": 51}]}",
	    422, "items[2].quantity must be 1..50");
	bad("{\"items\": [{\"productId\": \"" ID2 "\", \"quantity\": \"1\"}]}", 400,
	    "items[0].quantity must be an integer");
	bad("{\"items\": [{\"productId\": \"" ID2 "\", \"quantity\": 1, \"price\": 1}]}", 400,
	    "items[0].price is not a known field");
	bad("{\"items\": [{\"quantity\": 1}]}", 400, "items[0].productId is required");
	bad("{\"items\": [5]}", 400, "items[0] must be an object");
	bad("{\"items\": []}", 422, "items must hold 1..3 items");
	bad("{\"items\": {}}", 400, "items must be an array");
}

static void
test_array_of_ids(void **state)
{
	(void)state;
	value_ok("tags", "[]");
	value_ok("tags", "[\"" ID2 "\"]");
	bad("{\"tags\": [\"" ID2 "\", \"nope\"]}", 400, "tags[1] must be a 24-hex id");
	bad("{\"tags\": [\"" ID2 "\", \"" ID2 "\", \"" ID2 "\"]}", 422, "tags must hold 0..2");
}

/* ----------------------------------------------------------- refusals */

static void
test_unknown_field(void **state)
{
	(void)state;
	bad("{\"color\": \"red\"}", 400, "color is not a known field");
	bad("{\"name\": \"Osh\", \"Name\": \"Osh\"}", 400, "Name is not a known field");
}

static void
test_operator_keys(void **state)
{
	(void)state;
	bad("{\"$set\": {\"name\": \"Osh\"}}", 400, "'$'");
	bad("{\"name.x\": \"Osh\"}", 400, "'.'");
	bad("{\"location\": {\"lat\": 1, \"lng\": 2, \"$where\": 1}}", 400, "location");
	bad("{\"hours\": {\"$mon\": null}}", 400, "hours.$mon");
	/* where a scalar is expected, an operator object is a wrong type */
	bad("{\"items\": [{\"productId\": {\"$ne\": null}, \"quantity\": 1}]}", 400,
	    "items[0].productId");
}

static void
test_nul_key(void **state)
{
	static const char text[] = "{\"name\\u0000x\": \"Osh\"}";
	json_object *raw;

	(void)state;
	/* valid_json parses with lib/json.c, which refuses the key outright. */
	bad(text, 400, "\\u0000");
	/* Parsed elsewhere, json-c cuts the key at the NUL: not a key of ours. */
	raw = json_tokener_parse("{\"nam\\u0000e\": \"Osh\"}");
	assert_non_null(raw);
	assert_int_equal(valid_body(&schema, raw, VALID_PATCH, &e), -1);
	assert_int_equal(e.status, 400);
	json_object_put(raw);
	/* A NUL inside a string value is refused too. */
	bad("{\"name\": \"Os\\u0000h\"}", 422, "name");
}

static void
test_duplicate_key(void **state)
{
	json_object *body;

	(void)state;
	bad("{\"name\": \"Osh\", \"name\": \"Plov\"}", 400, "name");
	/* An object built with ADD_KEY_IS_NEW can hold a key twice. */
	body = json_object_new_object();
	json_object_object_add_ex(body, "name", json_object_new_string("Osh"),
	                          JSON_C_OBJECT_ADD_KEY_IS_NEW);
	json_object_object_add_ex(body, "name", json_object_new_string("Plov"),
	                          JSON_C_OBJECT_ADD_KEY_IS_NEW);
	assert_int_equal(valid_body(&schema, body, VALID_PATCH, &e), -1);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.message, "name is given twice");
	assert_string_equal(e.field, "name");
	json_object_put(body);
}

static void
test_wrong_type_each_kind(void **state)
{
	static const struct {
		const char *field, *value;
	} cases[] = {
	    {"name", "5"},        {"about", "[]"},    {"orderType", "null"},
	    {"branchId", "1"},    {"items", "\"x\""}, {"phone", "true"},
	    {"hours", "[]"},      {"day", "{}"},      {"location", "\"41,69\""},
	    {"code", "17"},       {"tags", "{}"},     {"isOpen", "\"no\""},
	    {"chat", "\"-100\""}, {"lang", "1"},      {"name", "null"},
	    {"hours", "null"},    {"items", "null"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		value_bad(cases[i].field, cases[i].value, 400);
}

static void
test_not_an_object(void **state)
{
	(void)state;
	bad("[1]", 400, "JSON object");
	bad("{\"name\": ", 400, "Invalid JSON");
	assert_int_equal(valid_body(&schema, NULL, VALID_PATCH, &e), -1);
}

/* ------------------------------------------------------ create, patch */

static void
test_create_vs_patch(void **state)
{
	json_object *b;

	(void)state;
	/* create: required fields enforced, defaults filled in */
	bad_mode("{\"name\": \"Osh\"}", VALID_CREATE, 400, "branchId is required");
	bad_mode("{" BRANCH "}", VALID_CREATE, 400, "name is required");
	b = ok_mode("{\"name\": \"Osh\", " BRANCH "}", VALID_CREATE);
	assert_string_equal(valid_get_str(b, "about"), "");
	assert_string_equal(valid_get_str(b, "lang"), "uz");
	assert_int_equal(valid_get_bool(b, "isOpen", 0), 1);
	assert_true(json_object_object_get_ex(b, "location", NULL));
	assert_false(valid_has(b, "location")); /* the default is null */
	assert_false(json_object_object_get_ex(b, "phone", NULL));
	json_object_put(b);

	/* patch: only what is named, nothing filled in; the count says how many */
	b = ok("{\"about\": \"x\"}");
	assert_false(json_object_object_get_ex(b, "lang", NULL));
	assert_false(json_object_object_get_ex(b, "name", NULL));
	json_object_put(b);
	b = json_tokener_parse("{}");
	assert_int_equal(valid_body(&schema, b, VALID_PATCH, &e), 0);
	json_object_put(b);
	b = json_tokener_parse("{\"name\": \"Osh\", \"isOpen\": true}");
	assert_int_equal(valid_body(&schema, b, VALID_PATCH, &e), 2);
	json_object_put(b);
	/* a nested object is a whole value: its required fields hold in a patch */
	bad("{\"hours\": {\"mon\": null}}", 400, "hours.tue is required");
}

/* ---------------------------------------------------------------- out */

static void
test_to_bson(void **state)
{
	json_object *b;
	bson_t doc = BSON_INITIALIZER;
	bson_iter_t it, sub;

	(void)state;
	b = ok_mode("{\"name\": \" Osh \", " BRANCH
	            ", \"chat\": -100123, \"items\": [{\"productId\": "
	            "\"" ID2 "\", \"quantity\": 3}], \"tags\": [\"" ID2 "\"], \"location\": "
	            "{\"lat\": 41, \"lng\": 69.5}, \"code\": null}",
	            VALID_CREATE);
	valid_to_bson(&schema, b, &doc);
	assert_true(bson_iter_init_find(&it, &doc, "name") && BSON_ITER_HOLDS_UTF8(&it));
	assert_string_equal(bson_iter_utf8(&it, NULL), "Osh");
	assert_true(bson_iter_init_find(&it, &doc, "branchId") && BSON_ITER_HOLDS_OID(&it));
	assert_true(bson_iter_init_find(&it, &doc, "chat") && BSON_ITER_HOLDS_INT64(&it));
	assert_int_equal(bson_iter_int64(&it), -100123);
	assert_true(bson_iter_init(&it, &doc) &&
	            bson_iter_find_descendant(&it, "items.0.productId", &sub) &&
	            BSON_ITER_HOLDS_OID(&sub));
	assert_true(bson_iter_init(&it, &doc) &&
	            bson_iter_find_descendant(&it, "items.0.quantity", &sub) &&
	            BSON_ITER_HOLDS_INT64(&sub));
	assert_true(bson_iter_init(&it, &doc) && bson_iter_find_descendant(&it, "tags.0", &sub) &&
	            BSON_ITER_HOLDS_OID(&sub));
	assert_true(bson_iter_init(&it, &doc) &&
	            bson_iter_find_descendant(&it, "location.lat", &sub) &&
	            BSON_ITER_HOLDS_DOUBLE(&sub));
	assert_true(bson_iter_init_find(&it, &doc, "code") && BSON_ITER_HOLDS_NULL(&it));
	assert_true(bson_iter_init_find(&it, &doc, "isOpen") && BSON_ITER_HOLDS_BOOL(&it));
	assert_true(bson_iter_init_find(&it, &doc, "lang") && BSON_ITER_HOLDS_UTF8(&it));
	assert_false(bson_has_field(&doc, "phone"));
	bson_destroy(&doc);
	json_object_put(b);
}

static void
test_error_value(void **state)
{
	json_object *b =
	    json_tokener_parse("{\"items\": [{\"productId\": \"" ID2 "\", \"quantity\": 0}]}");

	(void)state;
	assert_int_equal(valid_body(&schema, b, VALID_PATCH, &e), -1);
	assert_int_equal(e.status, 422);
	assert_string_equal(e.field, "items[0].quantity");
	assert_string_equal(e.message, "items[0].quantity must be 1..50");
	json_object_put(b);
}

/* ------------------------------------------- provider-shaped schemas */

/* Two required counts; the schemas below differ only in their flags. */
static const struct valid_field pair_fields[] = {
    VALID_FIELD("a", VK_INT, VALID_REQUIRED | VALID_NUMBER, .min = 1, .max = 9),
    VALID_FIELD("b", VK_INT, VALID_REQUIRED, .min = 1, .max = 9),
};
static const struct valid_schema pair_closed = VALID_SCHEMA(pair_fields);
static const struct valid_schema pair_open = VALID_SCHEMA_FLAGS(pair_fields, NULL, VALID_OPEN);
static const struct valid_schema pair_in_order =
    VALID_SCHEMA_FLAGS(pair_fields, NULL, VALID_IN_ORDER);

/* Checks text against s: 0 accepted, else the refusal in e. */
static int
check(const struct valid_schema *s, const char *text)
{
	json_object *body = NULL;
	int rc = valid_json(s, text, strlen(text), VALID_CREATE, &body, &e);

	json_object_put(body);
	return rc < 0 ? -1 : 0;
}

static void
test_number_flag(void **state)
{
	(void)state;
	/* VALID_NUMBER: a fraction is a wrong value (422), a string still a wrong type (400) */
	assert_int_equal(check(&pair_closed, "{\"a\": 1.5, \"b\": 1}"), -1);
	assert_int_equal(e.status, 422);
	assert_string_equal(e.field, "a");
	assert_int_equal(check(&pair_closed, "{\"a\": 2.0, \"b\": 1}"), -1);
	assert_int_equal(e.status, 422);
	assert_int_equal(check(&pair_closed, "{\"a\": \"1\", \"b\": 1}"), -1);
	assert_int_equal(e.status, 400);
	assert_int_equal(check(&pair_closed, "{\"a\": null, \"b\": 1}"), -1);
	assert_int_equal(e.status, 400);
	assert_int_equal(check(&pair_closed, "{\"a\": 10, \"b\": 1}"), -1);
	assert_int_equal(e.status, 422);
	/* without the flag a fraction is a wrong type */
	assert_int_equal(check(&pair_closed, "{\"a\": 1, \"b\": 1.5}"), -1);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.field, "b");
	assert_int_equal(check(&pair_closed, "{\"a\": 1, \"b\": 2}"), 0);
}

static void
test_open_schema(void **state)
{
	static const char extra[] = "{\"a\": 1, \"c\": [], \"$x\": 1, \"d.e\": 2, \"b\": 2}";
	json_object *body;

	(void)state;
	assert_int_equal(check(&pair_closed, "{\"a\": 1, \"b\": 2, \"c\": 3}"), -1);
	assert_string_equal(e.message, "c is not a known field");
	/* open: unknown keys are ignored whatever they look like, and left alone */
	assert_int_equal(valid_json(&pair_open, extra, strlen(extra), VALID_CREATE, &body, &e), 2);
	assert_true(json_object_object_get_ex(body, "c", NULL));
	json_object_put(body);
	/* the known ones are still checked, required and single */
	assert_int_equal(check(&pair_open, "{\"a\": 1, \"c\": 3}"), -1);
	assert_string_equal(e.message, "b is required");
	assert_int_equal(check(&pair_open, "{\"a\": 0, \"b\": 1, \"c\": 3}"), -1);
	assert_string_equal(e.field, "a");
	body = json_object_new_object();
	json_object_object_add(body, "b", json_object_new_int(1));
	for (int i = 0; i < 2; i++) {
		json_object_object_add_ex(body, "a", json_object_new_int(1),
		                          JSON_C_OBJECT_ADD_KEY_IS_NEW);
		json_object_object_add_ex(body, "zz", json_object_new_int(1),
		                          JSON_C_OBJECT_ADD_KEY_IS_NEW);
	}
	assert_int_equal(valid_body(&pair_open, body, VALID_CREATE, &e), -1);
	assert_string_equal(e.message, "a is given twice");
	json_object_put(body);
}

static void
test_in_order(void **state)
{
	json_object *body;

	(void)state;
	/* by default every missing field is refused before any value */
	assert_int_equal(check(&pair_closed, "{\"a\": 1.5}"), -1);
	assert_string_equal(e.message, "b is required");
	/* in order: the first field's value is refused first */
	assert_int_equal(check(&pair_in_order, "{\"a\": 1.5}"), -1);
	assert_string_equal(e.field, "a");
	assert_int_equal(e.status, 422);
	assert_int_equal(check(&pair_in_order, "{\"b\": \"x\"}"), -1);
	assert_string_equal(e.message, "a is required");
	assert_int_equal(check(&pair_in_order, "{\"a\": 1}"), -1);
	assert_string_equal(e.message, "b is required");
	assert_int_equal(check(&pair_in_order, "{\"b\": 1, \"a\": 3}"), 0);
	/* patching enforces no required field, in order or not */
	body = json_object_new_object();
	assert_int_equal(valid_body(&pair_in_order, body, VALID_PATCH, &e), 0);
	json_object_put(body);
}

/* ------------------------------------------- v17-tg: Telegram, JSON-RPC */

enum { T_NAME, T_NICK, T_CODE, T_LAT, T_ID, T_URL, T_TAG, T__MAX };
static const struct valid_field tg_fields[T__MAX] = {
    /* display text: cut to 5 characters, or to 5 bytes, never refused for length */
    [T_NAME] = VALID_FIELD("name", VK_STRING, VALID_CUT, .min = 1, .max = 5),
    [T_NICK] = VALID_FIELD("nick", VK_STRING, VALID_CUT | VALID_BYTES | VALID_VERBATIM, .min = 0,
                           .max = 5),
    /* a protocol limit in bytes: refused beyond it */
    [T_CODE] = VALID_FIELD("code", VK_STRING, VALID_BYTES | VALID_VERBATIM, .min = 1, .max = 4),
    [T_LAT] = VALID_FIELD("lat", VK_REAL, 0, .min = -90, .max = 90),
    [T_ID] = VALID_FIELD("id", VK_RPCID, VALID_REQUIRED, .min = 0, .max = 8),
    /* whole or nothing: over max it is taken as "" */
    [T_URL] = VALID_FIELD("url", VK_STRING, VALID_DROP | VALID_BYTES, .min = 0, .max = 6),
    [T_TAG] = VALID_FIELD("tag", VK_STRING, VALID_DROP, .min = 0, .max = 3),
};
static const struct valid_schema tg_schema = VALID_SCHEMA(tg_fields);

/* tg_schema over text: the accepted body (the caller puts it) or NULL with e. */
static json_object *
tg(const char *text)
{
	json_object *body = NULL;

	if (valid_json(&tg_schema, text, strlen(text), VALID_CREATE, &body, &e) < 0)
		return NULL;
	return body;
}

/* tg_schema refuses text with status at field. */
static void
tg_bad(const char *text, int status, const char *field)
{
	json_object *body = tg(text);

	if (body != NULL)
		fail_msg("accepted %s", text);
	if (e.status != status || strcmp(e.field, field) != 0)
		fail_msg("%s: %d at \"%s\", want %d at \"%s\" (%s)", text, e.status, e.field,
		         status, field, e.message);
}

/* The string the accepted text holds at name after checking. */
static void
tg_str(const char *text, const char *name, const char *want)
{
	json_object *body = tg(text);

	if (body == NULL)
		fail_msg("refused %s: %s", text, e.message);
	assert_string_equal(valid_get_str(body, name), want);
	/* cut once, the value is accepted again as it is */
	assert_true(valid_body(&tg_schema, body, VALID_CREATE, &e) >= 0);
	assert_string_equal(valid_get_str(body, name), want);
	json_object_put(body);
}

static void
test_cut_flag(void **state)
{
	(void)state;
	/* in characters: 7 Cyrillic letters (14 bytes) keep 5 */
	tg_str("{\"id\": 1, \"name\": \"Шарипов\"}", "name", "Шарип");
	tg_str("{\"id\": 1, \"name\": \"abcdefgh\"}", "name", "abcde");
	tg_str("{\"id\": 1, \"name\": \"Ali\"}", "name", "Ali");
	tg_str("{\"id\": 1, \"name\": \"Oʻgʻil\"}", "name", "Oʻgʻi");
	/* in bytes: never half a character (Ш is 2 bytes, € 3, 😀 4) */
	tg_str("{\"id\": 1, \"nick\": \"Шарипов\"}", "nick", "Ша");
	tg_str("{\"id\": 1, \"nick\": \"€€\"}", "nick", "€");
	tg_str("{\"id\": 1, \"nick\": \"a😀\"}", "nick", "a😀");
	tg_str("{\"id\": 1, \"nick\": \"ab😀\"}", "nick", "ab");
	tg_str("{\"id\": 1, \"nick\": \"abcdef\"}", "nick", "abcde");
	/* cutting is not accepting: the other rules still hold */
	tg_bad("{\"id\": 1, \"name\": \"\"}", 422, "name");
	tg_bad("{\"id\": 1, \"name\": \"   \"}", 422, "name"); /* trimmed first */
	tg_bad("{\"id\": 1, \"name\": 5}", 400, "name");
	tg_bad("{\"id\": 1, \"name\": \"abcdefg\\u0000\"}", 422, "name");
	tg_bad("{\"id\": 1, \"name\": \"a\\u0001\"}", 422, "name");
	tg_bad("{\"id\": 1, \"nick\": \"abcdefg\\u0000\"}", 422, "nick");
}

static void
test_drop_flag(void **state)
{
	(void)state;
	tg_str("{\"id\": 1, \"url\": \"https:\"}", "url", "https:");
	tg_str("{\"id\": 1, \"url\": \"https:/\"}", "url", "");
	tg_str("{\"id\": 1, \"url\": \"Шарип\"}", "url", ""); /* 10 bytes */
	tg_str("{\"id\": 1, \"url\": \"\"}", "url", "");
	/* in characters: 3 Cyrillic letters fit, 4 do not */
	tg_str("{\"id\": 1, \"tag\": \"Шар\"}", "tag", "Шар");
	tg_str("{\"id\": 1, \"tag\": \"Шари\"}", "tag", "");
	tg_str("{\"id\": 1, \"tag\": \" ab \"}", "tag", "ab"); /* trimmed first */
	/* dropping is not accepting: the other rules still hold */
	tg_bad("{\"id\": 1, \"url\": 5}", 400, "url");
	tg_bad("{\"id\": 1, \"url\": \"abcdefg\\u0000\"}", 422, "url");
	tg_bad("{\"id\": 1, \"tag\": \"a\\u0001\"}", 422, "tag");
}

static void
test_bytes_flag(void **state)
{
	(void)state;
	tg_str("{\"id\": 1, \"code\": \"abcd\"}", "code", "abcd");
	tg_str("{\"id\": 1, \"code\": \"Шa\"}", "code", "Шa"); /* 3 bytes */
	/* 3 characters, 6 bytes: over a limit of 4 bytes */
	tg_bad("{\"id\": 1, \"code\": \"абв\"}", 422, "code");
	assert_string_equal(e.message, "code must be 1..4 bytes");
	tg_bad("{\"id\": 1, \"code\": \"abcde\"}", 422, "code");
	tg_bad("{\"id\": 1, \"code\": \"\"}", 422, "code");
	/* verbatim: spaces count, not trimmed */
	tg_bad("{\"id\": 1, \"code\": \" ab  \"}", 422, "code");
}

static void
test_real(void **state)
{
	json_object *b;
	bson_t doc = BSON_INITIALIZER;
	bson_iter_t it;

	(void)state;
	b = tg("{\"id\": 1, \"lat\": 41.311081}");
	assert_non_null(b);
	assert_true(valid_get_real(b, "lat", 0) > 41.31 && valid_get_real(b, "lat", 0) < 41.32);
	assert_true(valid_get_real(b, "nope", -1) == -1);
	valid_to_bson(&tg_schema, b, &doc);
	assert_true(bson_iter_init_find(&it, &doc, "lat") && BSON_ITER_HOLDS_DOUBLE(&it));
	bson_destroy(&doc);
	json_object_put(b);
	/* whole numbers and the bounds themselves are numbers in range */
	b = tg("{\"id\": 1, \"lat\": -90}");
	assert_non_null(b);
	assert_true(valid_get_real(b, "lat", 0) == -90);
	json_object_put(b);
	json_object_put(tg("{\"id\": 1, \"lat\": 90.0}"));
	tg_bad("{\"id\": 1, \"lat\": 90.000001}", 422, "lat");
	assert_string_equal(e.message, "lat must be -90..90");
	tg_bad("{\"id\": 1, \"lat\": -1e300}", 422, "lat");
	tg_bad("{\"id\": 1, \"lat\": 18446744073709551615}", 422, "lat");
	tg_bad("{\"id\": 1, \"lat\": \"41.3\"}", 400, "lat");
	tg_bad("{\"id\": 1, \"lat\": null}", 400, "lat");
	tg_bad("{\"id\": 1, \"lat\": true}", 400, "lat");
	tg_bad("{\"id\": 1, \"lat\": [1]}", 400, "lat");
}

static void
test_rpcid(void **state)
{
	static const char *const good[] = {
	    "{\"id\": 7}",          "{\"id\": -1}",          "{\"id\": 1.5}",  "{\"id\": \"\"}",
	    "{\"id\": \"abc-12\"}", "{\"id\": \"ид12345\"}", "{\"id\": null}",
	};
	json_object *b;
	bson_t doc = BSON_INITIALIZER;
	bson_iter_t it;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		b = tg(good[i]);
		if (b == NULL)
			fail_msg("refused %s: %s", good[i], e.message);
		json_object_put(b);
	}
	/* null is a value of the kind: present, so a required id is given */
	tg_bad("{}", 400, "id");
	assert_string_equal(e.message, "id is required");
	tg_bad("{\"id\": true}", 400, "id");
	assert_string_equal(e.message, "id must be a string, a number or null");
	tg_bad("{\"id\": {}}", 400, "id");
	tg_bad("{\"id\": [1]}", 400, "id");
	tg_bad("{\"id\": \"123456789\"}", 422, "id"); /* 9 characters > 8 */
	tg_bad("{\"id\": \"a\\u0000b\"}", 422, "id");
	/* typed in BSON as sent */
	b = tg("{\"id\": 42}");
	valid_to_bson(&tg_schema, b, &doc);
	assert_true(bson_iter_init_find(&it, &doc, "id") && BSON_ITER_HOLDS_INT64(&it));
	bson_reinit(&doc);
	json_object_put(b);
	b = tg("{\"id\": \"x\"}");
	valid_to_bson(&tg_schema, b, &doc);
	assert_true(bson_iter_init_find(&it, &doc, "id") && BSON_ITER_HOLDS_UTF8(&it));
	bson_reinit(&doc);
	json_object_put(b);
	b = tg("{\"id\": null}");
	valid_to_bson(&tg_schema, b, &doc);
	assert_true(bson_iter_init_find(&it, &doc, "id") && BSON_ITER_HOLDS_NULL(&it));
	bson_destroy(&doc);
	json_object_put(b);
}

static void
test_enum_list(void **state)
{
	static const char *const one[] = {"a", NULL};
	static const char *const two[] = {"a", "b", NULL};
	char buf[64], tiny[6];

	(void)state;
	assert_string_equal(valid_enum_list(one, buf, sizeof(buf)), "a");
	assert_string_equal(valid_enum_list(two, buf, sizeof(buf)), "a or b");
	assert_string_equal(valid_enum_list(order_types, buf, sizeof(buf)),
	                    "delivery, pickup or dine_in");
	assert_string_equal(valid_enum_list(order_types, tiny, sizeof(tiny)), "deliv");
	assert_int_equal(valid_enum_index("dine_in", order_types), 2);
	assert_int_equal(valid_enum_index(NULL, order_types), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_string),
	    cmocka_unit_test(test_length_in_characters),
	    cmocka_unit_test(test_int),
	    cmocka_unit_test(test_bool),
	    cmocka_unit_test(test_enum),
	    cmocka_unit_test(test_id),
	    cmocka_unit_test(test_phone),
	    cmocka_unit_test(test_hhmm),
	    cmocka_unit_test(test_localday),
	    cmocka_unit_test(test_digits),
	    cmocka_unit_test(test_location),
	    cmocka_unit_test(test_object),
	    cmocka_unit_test(test_array_of_objects),
	    cmocka_unit_test(test_array_of_ids),
	    cmocka_unit_test(test_unknown_field),
	    cmocka_unit_test(test_operator_keys),
	    cmocka_unit_test(test_nul_key),
	    cmocka_unit_test(test_duplicate_key),
	    cmocka_unit_test(test_wrong_type_each_kind),
	    cmocka_unit_test(test_not_an_object),
	    cmocka_unit_test(test_create_vs_patch),
	    cmocka_unit_test(test_to_bson),
	    cmocka_unit_test(test_error_value),
	    cmocka_unit_test(test_enum_list),
	    cmocka_unit_test(test_number_flag),
	    cmocka_unit_test(test_open_schema),
	    cmocka_unit_test(test_in_order),
	    cmocka_unit_test(test_cut_flag),
	    cmocka_unit_test(test_bytes_flag),
	    cmocka_unit_test(test_drop_flag),
	    cmocka_unit_test(test_real),
	    cmocka_unit_test(test_rpcid),
	};

	return cmocka_run_group_tests_name("valid", tests, NULL, NULL);
}
