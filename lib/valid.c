/*
 * valid.c - JSON bodies against declared tables (valid.h). Pure: no I/O,
 * no HTTP; every refusal is a struct valid_error, so the whole checker is
 * unit-tested and fuzzed (tests/unit/test_valid.c, tests/fuzz/fuzz_valid.c).
 *
 * Order of refusals, the same for every body: the keys first (operator
 * shapes, unknown, twice), then missing required fields, then each field
 * in table order, then the object's own rule. Nested objects are whole
 * values: they are checked as when creating, whatever the mode.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics.h"
#include "oshxona.h"
#include "valid.h"

/* A schema's fields are tracked in one 64-bit mask while checking keys. */
#define VALID_FIELDS_MAX 64

#define PHONE_BYTES_MAX  30
#define PHONE_DIGITS_MIN 9
#define PHONE_DIGITS_MAX 15
#define PHONE_UZ_DIGITS  12 /* 998 + 9 */

int
valid_fail(struct valid_error *e, int status, const char *path, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	snprintf(e->field, sizeof(e->field), "%s", path);
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -1;
}

/* ------------------------------------------------------- scalar rules */

int
valid_phone(const char *s, size_t len)
{
	size_t digits = 0, first = len;

	if (len > PHONE_BYTES_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			if (digits++ == 0)
				first = i;
		} else if (s[i] == '+') {
			if (i != 0)
				return 0;
		} else if (s[i] == '\0' || strchr(" -()", s[i]) == NULL) {
			return 0;
		}
	}
	if (digits < PHONE_DIGITS_MIN || digits > PHONE_DIGITS_MAX)
		return 0;
	/* An Uzbek number written with its country code has exactly 9 more digits. */
	if (len - first >= 3 && strncmp(s + first, "998", 3) == 0 && digits != PHONE_UZ_DIGITS)
		return 0;
	return 1;
}

int
valid_hhmm(const char *s, int allow_24)
{
	int h, m;

	if (s == NULL || strlen(s) != 5 || s[2] != ':')
		return -1;
	for (int i = 0; i < 5; i++)
		if (i != 2 && (s[i] < '0' || s[i] > '9'))
			return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && (m != 0 || !allow_24)))
		return -1;
	return h * 60 + m;
}

int
valid_localday(const char *s)
{
	return s != NULL && analytics_day_valid(s);
}

int
valid_enum_index(const char *s, const char *const *values)
{
	for (int i = 0; s != NULL && values[i] != NULL; i++)
		if (strcmp(s, values[i]) == 0)
			return i;
	return -1;
}

const char *
valid_enum_list(const char *const *values, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; values[i] != NULL && used < size; i++) {
		const char *sep = i == 0 ? "" : values[i + 1] == NULL ? " or " : ", ";
		int n = snprintf(buf + used, size - used, "%s%s", sep, values[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return buf;
}

/* Code points in len bytes of valid UTF-8. */
static size_t
valid_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/*
 * VALID_CUT: the byte length of v's string s[0..len) cut to max units (code
 * points, or bytes with VALID_BYTES) without splitting a character; v is
 * set to the cut string. Returns the new length.
 */
static size_t
valid_cut(const struct valid_field *f, json_object *v, size_t len)
{
	const char *s = json_object_get_string(v);
	size_t n;
	char *copy;

	if (f->flags & VALID_BYTES) {
		if ((int64_t)len <= f->max)
			return len;
		n = utf8_cut(s, (size_t)f->max);
	} else {
		int64_t chars = 0;
		/* n: where character max + 1 starts, or len. */
		for (n = 0; n < len; n++)
			if (((unsigned char)s[n] & 0xc0) != 0x80 && chars++ == f->max)
				break;
		if (n == len)
			return len;
	}
	/* json-c would memcpy the string onto itself: set it from a copy. */
	copy = xstrndup(s, n);
	json_object_set_string_len(v, copy, (int)n);
	free(copy);
	return n;
}

/* --------------------------------------------------------------- kinds */

static int valid_object(const struct valid_schema *s, json_object *obj, const char *path,
                        enum valid_mode mode, struct valid_error *e, int *named);

/* path + "." + key (or just key at the top) into out. */
static void
valid_path(char *out, size_t size, const char *path, const char *key)
{
	snprintf(out, size, "%s%s%s", path, path[0] != '\0' ? "." : "", key);
}

/*
 * A string kind: v must be a string of valid UTF-8; ASCII white space
 * around it is dropped (in v itself) for the kinds people type. The result
 * is in *s and *len.
 */
static int
valid_string(const struct valid_field *f, json_object *v, const char *path, const char *what,
             struct valid_error *e, const char **s, size_t *len)
{
	const char *p;
	size_t n;
	int verbatim = (f->flags & VALID_VERBATIM) != 0;
	int trim = !verbatim && (f->kind == VK_STRING || f->kind == VK_TEXT || f->kind == VK_PHONE);

	if (!json_object_is_type(v, json_type_string))
		return valid_fail(e, 400, path, "%s must be %s", path, what);
	p = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (!utf8_valid(p, n) || strlen(p) != n)
		return valid_fail(e, 422, path, "%s must be UTF-8 text without NUL", path);
	if (trim) {
		size_t a = 0, b = n;
		while (a < b && strchr(" \t\r\n", p[a]) != NULL)
			a++;
		while (b > a && strchr(" \t\r\n", p[b - 1]) != NULL)
			b--;
		if (a > 0 || b < n) {
			char *copy = xstrndup(p + a, b - a);
			json_object_set_string_len(v, copy, (int)(b - a));
			free(copy);
			p = json_object_get_string(v);
			n = b - a;
		}
	}
	for (size_t i = 0; !verbatim && i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if ((c < 0x20 || c == 0x7f) &&
		    !(f->kind == VK_TEXT && (c == '\n' || c == '\r' || c == '\t')))
			return valid_fail(e, 422, path, "%s must not contain control characters",
			                  path);
	}
	*s = p;
	*len = n;
	return 0;
}

static int
valid_int(const struct valid_field *f, json_object *v, const char *path, struct valid_error *e)
{
	int64_t i;

	if (json_object_is_type(v, json_type_double) && (f->flags & VALID_NUMBER))
		return valid_fail(e, 422, path, "%s must be a whole number", path);
	if (!json_object_is_type(v, json_type_int))
		return valid_fail(e, 400, path, "%s must be an integer", path);
	if (json_int64(v, f->min, f->max, &i) != 0)
		return valid_fail(e, 422, path, "%s must be %lld..%lld", path, (long long)f->min,
		                  (long long)f->max);
	return 0;
}

static int
valid_number(json_object *v, double *out)
{
	if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
		return -1;
	*out = json_object_get_double(v);
	return 0;
}

static int
valid_location(json_object *v, const char *path, struct valid_error *e)
{
	json_object *lat = NULL, *lng = NULL;
	double la, ln;

	if (!json_object_is_type(v, json_type_object))
		goto shape;
	json_object_object_foreach(v, k, val)
	{
		char sub[VALID_PATH_MAX];
		if (strcmp(k, "lat") == 0 && lat == NULL) {
			lat = val;
		} else if (strcmp(k, "lng") == 0 && lng == NULL) {
			lng = val;
		} else {
			valid_path(sub, sizeof(sub), path, k);
			return valid_fail(e, 400, sub, "%s is not a known field", sub);
		}
	}
	if (valid_number(lat, &la) != 0 || valid_number(lng, &ln) != 0)
		goto shape;
	if (!(la >= -90 && la <= 90 && ln >= -180 && ln <= 180))
		return valid_fail(e, 422, path, "%s is out of range (lat -90..90, lng -180..180)",
		                  path);
	return 0;
shape:
	return valid_fail(e, 400, path, "%s must be {\"lat\": number, \"lng\": number}", path);
}

/* What a string kind's min..max count in s[0..len): bytes, or code points. */
static int64_t
valid_units(const struct valid_field *f, const char *s, size_t len)
{
	return (int64_t)((f->flags & VALID_BYTES) ? len : valid_chars(s, len));
}

/* A string kind's min..max: code points, or bytes with VALID_BYTES. */
static int
valid_length(const struct valid_field *f, const char *s, size_t len, const char *path,
             struct valid_error *e)
{
	const char *unit = (f->flags & VALID_BYTES) ? "bytes" : "characters";
	int64_t n = valid_units(f, s, len);

	if (n >= f->min && n <= f->max)
		return 0;
	if (f->min == 0)
		return valid_fail(e, 422, path, "%s must be at most %lld %s", path,
		                  (long long)f->max, unit);
	return valid_fail(e, 422, path, "%s must be %lld..%lld %s", path, (long long)f->min,
	                  (long long)f->max, unit);
}

static int valid_value(const struct valid_field *f, json_object *v, const char *path,
                       struct valid_error *e);

/* VK_ARRAY and VK_STRINGS: the count, then each element at path[i]. */
static int
valid_array(const struct valid_field *f, json_object *v, const char *path, struct valid_error *e)
{
	size_t n;

	if (!json_object_is_type(v, json_type_array))
		return valid_fail(e, 400, path, "%s must be an array", path);
	n = json_object_array_length(v);
	if ((int64_t)n < f->min || (int64_t)n > f->max)
		return valid_fail(e, 422, path, "%s must hold %lld..%lld items", path,
		                  (long long)f->min, (long long)f->max);
	for (size_t i = 0; i < n; i++) {
		json_object *it = json_object_array_get_idx(v, i);
		char sub[VALID_PATH_MAX];
		int named;

		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		if (f->kind == VK_STRINGS) {
			if (valid_value(f->item, it, sub, e) != 0)
				return -1;
			continue;
		}
		if (!json_object_is_type(it, json_type_object))
			return valid_fail(e, 400, sub, "%s must be an object", sub);
		if (valid_object(f->schema, it, sub, VALID_CREATE, e, &named) != 0)
			return -1;
	}
	return 0;
}

/* One value (v NULL for JSON null) at path against f. */
static int
valid_value(const struct valid_field *f, json_object *v, const char *path, struct valid_error *e)
{
	const char *s = NULL;
	size_t len = 0;
	char list[160];
	bson_oid_t oid;
	int named;

	/* A JSON-RPC id may be null: a value of its kind, not an absence. */
	if (v == NULL && ((f->flags & VALID_NULLABLE) || f->kind == VK_RPCID))
		return 0;
	switch (f->kind) {
	case VK_STRING:
	case VK_TEXT:
		if (valid_string(f, v, path, "a string", e, &s, &len) != 0)
			return -1;
		if (f->flags & VALID_CUT) {
			len = valid_cut(f, v, len);
			s = json_object_get_string(v);
		} else if ((f->flags & VALID_DROP) && valid_units(f, s, len) > f->max) {
			json_object_set_string_len(v, "", 0);
			s = json_object_get_string(v);
			len = 0;
		}
		if (valid_length(f, s, len, path, e) != 0)
			return -1;
		break;
	case VK_REAL: {
		double d;
		if (valid_number(v, &d) != 0)
			return valid_fail(e, 400, path, "%s must be a number", path);
		if (!(d >= (double)f->min && d <= (double)f->max))
			return valid_fail(e, 422, path, "%s must be %lld..%lld", path,
			                  (long long)f->min, (long long)f->max);
		break;
	}
	case VK_RPCID:
		if (json_object_is_type(v, json_type_int) ||
		    json_object_is_type(v, json_type_double))
			break;
		if (valid_string(f, v, path, "a string, a number or null", e, &s, &len) != 0 ||
		    valid_length(f, s, len, path, e) != 0)
			return -1;
		break;
	case VK_INT:
		if (valid_int(f, v, path, e) != 0)
			return -1;
		break;
	case VK_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			return valid_fail(e, 400, path, "%s must be true or false", path);
		break;
	case VK_ENUM:
		/* "ready\u0000x" would match "ready" as a C string, and be stored whole. */
		if (!json_object_is_type(v, json_type_string) ||
		    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v) ||
		    valid_enum_index(json_object_get_string(v), f->values) < 0)
			return valid_fail(e, 400, path, "%s must be %s", path,
			                  valid_enum_list(f->values, list, sizeof(list)));
		break;
	case VK_ID:
		if (!json_object_is_type(v, json_type_string) ||
		    parse_oid(json_object_get_string(v), &oid) != 0)
			return valid_fail(e, 400, path, "%s must be a 24-hex id", path);
		break;
	case VK_PHONE:
		if (valid_string(f, v, path, "a string", e, &s, &len) != 0)
			return -1;
		if (!valid_phone(s, len))
			return valid_fail(e, 422, path,
			                  "%s must be a phone number: 9..15 digits with optional "
			                  "spaces, '-', '(' and ')' after an optional '+', e.g. "
			                  "+998 71 200 12 12",
			                  path);
		break;
	case VK_HHMM:
		if (valid_string(f, v, path, "a string \"HH:MM\"", e, &s, &len) != 0)
			return -1;
		if (valid_hhmm(s, (f->flags & VALID_24H) != 0) < 0)
			return valid_fail(e, 422, path, "%s must be HH:MM, 00:00..%s", path,
			                  (f->flags & VALID_24H) ? "24:00" : "23:59");
		break;
	case VK_LOCALDAY:
		if (valid_string(f, v, path, "a string \"YYYY-MM-DD\"", e, &s, &len) != 0)
			return -1;
		if (!valid_localday(s))
			return valid_fail(e, 422, path, "%s must be a calendar day, YYYY-MM-DD",
			                  path);
		break;
	case VK_DIGITS:
		if (valid_string(f, v, path, "a string of digits", e, &s, &len) != 0)
			return -1;
		if (strspn(s, "0123456789") != len || (int64_t)len < f->min ||
		    (int64_t)len > f->max) {
			if (f->min == f->max)
				return valid_fail(e, 422, path, "%s must be exactly %lld digits",
				                  path, (long long)f->min);
			return valid_fail(e, 422, path, "%s must be %lld..%lld digits", path,
			                  (long long)f->min, (long long)f->max);
		}
		break;
	case VK_LOCATION:
		if (valid_location(v, path, e) != 0)
			return -1;
		break;
	case VK_OBJECT:
		if (!json_object_is_type(v, json_type_object))
			return valid_fail(e, 400, path, "%s must be an object", path);
		/* No schema: an opaque object, its members the rule's to judge (v17-conv). */
		if (f->schema != NULL &&
		    valid_object(f->schema, v, path, VALID_CREATE, e, &named) != 0)
			return -1;
		break;
	case VK_ARRAY:
	case VK_STRINGS:
		if (valid_array(f, v, path, e) != 0)
			return -1;
		break;
	default:
		abort();
	}
	return f->rule != NULL ? f->rule(v, path, e) : 0;
}

/* The field of s named key, or NULL; *idx its index. */
static const struct valid_field *
valid_find(const struct valid_schema *s, const char *key, size_t *idx)
{
	for (size_t i = 0; i < s->nfields; i++)
		if (strcmp(s->fields[i].name, key) == 0) {
			*idx = i;
			return &s->fields[i];
		}
	return NULL;
}

/* Refuses field i of s when it is required and not in seen (creating). */
static int
valid_missing(const struct valid_schema *s, size_t i, uint64_t seen, const char *path,
              struct valid_error *e)
{
	char sub[VALID_PATH_MAX];

	if (!(s->fields[i].flags & VALID_REQUIRED) || (seen & ((uint64_t)1 << i)))
		return 0;
	valid_path(sub, sizeof(sub), path, s->fields[i].name);
	return valid_fail(e, 400, sub, "%s is required", sub);
}

static int
valid_object(const struct valid_schema *s, json_object *obj, const char *path, enum valid_mode mode,
             struct valid_error *e, int *named)
{
	uint64_t seen = 0;

	if (s->nfields > VALID_FIELDS_MAX)
		abort(); /* a table this large is a programming error */
	*named = 0;
	json_object_object_foreach(obj, key, unused)
	{
		char sub[VALID_PATH_MAX];
		size_t i;

		(void)unused;
		valid_path(sub, sizeof(sub), path, key);
		/* An open schema never reads an unknown key, whatever it looks like. */
		if ((s->flags & VALID_OPEN) && valid_find(s, key, &i) == NULL)
			continue;
		if (key[0] == '$' || strchr(key, '.') != NULL)
			return valid_fail(e, 400, sub,
			                  "Keys starting with '$' or containing '.' are not "
			                  "allowed (%s)",
			                  sub);
		if (valid_find(s, key, &i) == NULL)
			return valid_fail(e, 400, sub, "%s is not a known field", sub);
		/* json-c keeps one value per key unless built with ADD_KEY_IS_NEW. */
		if (seen & ((uint64_t)1 << i))
			return valid_fail(e, 400, sub, "%s is given twice", sub);
		seen |= (uint64_t)1 << i;
	}
	for (size_t i = 0; mode == VALID_CREATE && !(s->flags & VALID_IN_ORDER) && i < s->nfields;
	     i++)
		if (valid_missing(s, i, seen, path, e) != 0)
			return -1;
	for (size_t i = 0; i < s->nfields; i++) {
		const struct valid_field *f = &s->fields[i];
		char sub[VALID_PATH_MAX];
		json_object *v;

		if (!(seen & ((uint64_t)1 << i))) {
			if (mode == VALID_CREATE && (s->flags & VALID_IN_ORDER) &&
			    valid_missing(s, i, seen, path, e) != 0)
				return -1;
			if (mode == VALID_CREATE && f->dflt != NULL)
				json_object_object_add(obj, f->name, json_tokener_parse(f->dflt));
			continue;
		}
		json_object_object_get_ex(obj, f->name, &v);
		valid_path(sub, sizeof(sub), path, f->name);
		if (valid_value(f, v, sub, e) != 0)
			return -1;
		(*named)++;
	}
	return s->rule != NULL ? s->rule(obj, path, e) : 0;
}

int
valid_body(const struct valid_schema *s, json_object *body, enum valid_mode mode,
           struct valid_error *e)
{
	int named;

	memset(e, 0, sizeof(*e));
	if (!json_object_is_type(body, json_type_object))
		return valid_fail(e, 400, "", "The body must be a JSON object");
	if (valid_object(s, body, "", mode, e, &named) != 0)
		return -1;
	return named;
}

int
valid_json(const struct valid_schema *s, const char *text, size_t len, enum valid_mode mode,
           json_object **out, struct valid_error *e)
{
	char err[160];
	json_object *body;
	int named;

	*out = NULL;
	memset(e, 0, sizeof(*e));
	body = json_parse(text, len, err, sizeof(err));
	if (body == NULL)
		return valid_fail(e, 400, "", "Invalid JSON: %s", err);
	named = valid_body(s, body, mode, e);
	if (named < 0) {
		json_object_put(body);
		return -1;
	}
	*out = body;
	return named;
}

void
valid_answer(struct req *r, const struct valid_error *e)
{
	resp_error(r, e->status != 0 ? e->status : 400, "%s", e->message);
}

int
valid_query(struct req *r, struct qs *q, const struct valid_field *fields, size_t n,
            struct qs_value *vals)
{
	struct valid_error e;

	if (qs_parse(r->query, q, e.message, sizeof(e.message)) != 0) {
		resp_error(r, 400, "%s", e.message);
		return -1;
	}
	if (qs_check(q, fields, n, vals, &e) != 0) {
		valid_answer(r, &e);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- BSON */

static void valid_append(const struct valid_field *f, const char *key, json_object *v, bson_t *out);

static void
valid_append_array(const struct valid_field *f, const char *key, json_object *v, bson_t *out)
{
	bson_t arr;

	bson_append_array_begin(out, key, -1, &arr);
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		json_object *it = json_object_array_get_idx(v, i);
		char idx[24];

		snprintf(idx, sizeof(idx), "%zu", i);
		if (f->kind == VK_STRINGS) {
			valid_append(f->item, idx, it, &arr);
		} else {
			bson_t doc;
			bson_append_document_begin(&arr, idx, -1, &doc);
			valid_to_bson(f->schema, it, &doc);
			bson_append_document_end(&arr, &doc);
		}
	}
	bson_append_array_end(out, &arr);
}

static void
valid_append(const struct valid_field *f, const char *key, json_object *v, bson_t *out)
{
	bson_oid_t oid;
	bson_t doc;

	if (v == NULL) {
		bson_append_null(out, key, -1);
		return;
	}
	switch (f->kind) {
	case VK_INT:
		bson_append_int64(out, key, -1, json_object_get_int64(v));
		break;
	case VK_REAL:
		bson_append_double(out, key, -1, json_object_get_double(v));
		break;
	case VK_RPCID:
		if (json_object_is_type(v, json_type_int))
			bson_append_int64(out, key, -1, json_object_get_int64(v));
		else if (json_object_is_type(v, json_type_double))
			bson_append_double(out, key, -1, json_object_get_double(v));
		else
			bson_append_utf8(out, key, -1, json_object_get_string(v),
			                 json_object_get_string_len(v));
		break;
	case VK_BOOL:
		bson_append_bool(out, key, -1, json_object_get_boolean(v));
		break;
	case VK_ID:
		if (parse_oid(json_object_get_string(v), &oid) == 0)
			bson_append_oid(out, key, -1, &oid);
		break;
	case VK_LOCATION: {
		json_object *lat, *lng;
		json_object_object_get_ex(v, "lat", &lat);
		json_object_object_get_ex(v, "lng", &lng);
		bson_append_document_begin(out, key, -1, &doc);
		BSON_APPEND_DOUBLE(&doc, "lat", json_object_get_double(lat));
		BSON_APPEND_DOUBLE(&doc, "lng", json_object_get_double(lng));
		bson_append_document_end(out, &doc);
		break;
	}
	case VK_OBJECT:
		if (f->schema == NULL) /* opaque: never stored */
			break;
		bson_append_document_begin(out, key, -1, &doc);
		valid_to_bson(f->schema, v, &doc);
		bson_append_document_end(out, &doc);
		break;
	case VK_ARRAY:
	case VK_STRINGS:
		valid_append_array(f, key, v, out);
		break;
	default: /* the string kinds */
		bson_append_utf8(out, key, -1, json_object_get_string(v),
		                 json_object_get_string_len(v));
		break;
	}
}

void
valid_to_bson(const struct valid_schema *s, json_object *body, bson_t *out)
{
	for (size_t i = 0; i < s->nfields; i++) {
		json_object *v;
		if (json_object_object_get_ex(body, s->fields[i].name, &v))
			valid_append(&s->fields[i], s->fields[i].name, v, out);
	}
}

/* ----------------------------------------------------------- accessors */

static json_object *
valid_get(json_object *body, const char *name)
{
	json_object *v = NULL;

	if (body == NULL || !json_object_object_get_ex(body, name, &v))
		return NULL;
	return v;
}

int
valid_has(json_object *body, const char *name)
{
	return valid_get(body, name) != NULL;
}

const char *
valid_get_str(json_object *body, const char *name)
{
	json_object *v = valid_get(body, name);

	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int
valid_copy_str(json_object *body, const char *name, char *out, size_t size)
{
	const char *s = valid_get_str(body, name);

	if (s == NULL)
		return 0;
	snprintf(out, size, "%s", s);
	return 1;
}

int64_t
valid_get_int(json_object *body, const char *name, int64_t fallback)
{
	json_object *v = valid_get(body, name);

	return json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : fallback;
}

double
valid_get_real(json_object *body, const char *name, double fallback)
{
	double d;

	return valid_number(valid_get(body, name), &d) == 0 ? d : fallback;
}

int
valid_get_bool(json_object *body, const char *name, int fallback)
{
	json_object *v = valid_get(body, name);

	return json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : fallback;
}

int
valid_get_id(json_object *body, const char *name, bson_oid_t *out)
{
	const char *s = valid_get_str(body, name);

	return s != NULL ? parse_oid(s, out) : -1;
}

int
valid_get_enum(json_object *body, const struct valid_field *f)
{
	return valid_enum_index(valid_get_str(body, f->name), f->values);
}

int
valid_get_minutes(json_object *body, const char *name)
{
	return valid_hhmm(valid_get_str(body, name), 1);
}

int
valid_get_location(json_object *body, const char *name, double *lat, double *lng)
{
	json_object *v = valid_get(body, name), *a, *b;

	if (!json_object_is_type(v, json_type_object) || !json_object_object_get_ex(v, "lat", &a) ||
	    !json_object_object_get_ex(v, "lng", &b) || valid_number(a, lat) != 0 ||
	    valid_number(b, lng) != 0)
		return -1;
	return 0;
}

json_object *
valid_get_array(json_object *body, const char *name, size_t *n)
{
	json_object *v = valid_get(body, name);

	*n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
	return *n > 0 || json_object_is_type(v, json_type_array) ? v : NULL;
}

json_object *
valid_get_object(json_object *body, const char *name)
{
	json_object *v = valid_get(body, name);

	return json_object_is_type(v, json_type_object) ? v : NULL;
}
