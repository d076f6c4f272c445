/*
 * json.c - json-c helpers: bounded parsing, typed getters that never
 * coerce, operator-key screening, and BSON to JSON for responses.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "oshxona.h"

json_object *
json_parse(const char *s, size_t len, char *err, size_t errlen)
{
	struct json_tokener *tok;
	json_object *v;
	enum json_tokener_error e;
	size_t used;

	if (len > INT32_MAX) {
		snprintf(err, errlen, "body too large");
		return NULL;
	}
	if (!utf8_valid(s, len)) {
		snprintf(err, errlen, "body is not valid UTF-8");
		return NULL;
	}
	tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	v = json_tokener_parse_ex(tok, s, (int)len);
	e = json_tokener_get_error(tok);
	used = json_tokener_get_parse_end(tok);
	if (v == NULL && e == json_tokener_continue && used == len) {
		/*
		 * A bare number ("5") might go on; json-c finishes it only when
		 * it sees the end of input, which a terminating NUL tells it.
		 */
		v = json_tokener_parse_ex(tok, "", 1);
		e = json_tokener_get_error(tok);
	}
	if (v == NULL || e != json_tokener_success) {
		snprintf(err, errlen, "malformed JSON: %s",
		         e == json_tokener_continue ? "unexpected end of input"
		                                    : json_tokener_error_desc(e));
		json_object_put(v);
		v = NULL;
	} else {
		for (; used < len; used++)
			if (memchr(" \t\r\n", s[used], 4) == NULL) {
				snprintf(err, errlen, "malformed JSON: data after the value");
				json_object_put(v);
				v = NULL;
				break;
			}
	}
	json_tokener_free(tok);
	return v;
}

const char *
json_get_string(json_object *obj, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int
json_get_int64(json_object *obj, const char *key, int64_t min, int64_t max, int64_t *out)
{
	json_object *v;
	int64_t i;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	i = json_object_get_int64(v);
	/*
	 * json-c 0.16 keeps integers above INT64_MAX as uint64 and reads them
	 * back clamped: ask for the unsigned value to tell them apart. (Below
	 * INT64_MIN it clamps while parsing; callers' ranges never reach it.)
	 */
	if (i == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
		return -1;
	if (i < min || i > max)
		return -1;
	*out = i;
	return 0;
}

int
json_has_operator_keys(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_object: {
		json_object_object_foreach(v, key, val)
		{
			if (key[0] == '$' || strchr(key, '.') != NULL)
				return 1;
			if (json_has_operator_keys(val))
				return 1;
		}
		return 0;
	}
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(v); i++)
			if (json_has_operator_keys(json_object_array_get_idx(v, i)))
				return 1;
		return 0;
	case json_type_string:
		return strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v);
	default:
		return 0;
	}
}

static json_object *json_from_iter(bson_iter_t *it);

static json_object *
json_from_container(bson_iter_t *it, int array)
{
	bson_iter_t child;
	json_object *o = array ? json_object_new_array() : json_object_new_object();

	if (!bson_iter_recurse(it, &child))
		return o;
	while (bson_iter_next(&child)) {
		json_object *v = json_from_iter(&child);
		if (array)
			json_object_array_add(o, v);
		else
			json_object_object_add(o, bson_iter_key(&child), v);
	}
	return o;
}

static json_object *
json_from_iter(bson_iter_t *it)
{
	switch (bson_iter_type(it)) {
	case BSON_TYPE_UTF8: {
		uint32_t len;
		const char *s = bson_iter_utf8(it, &len);
		return json_object_new_string_len(s, (int)len);
	}
	case BSON_TYPE_INT32:
		return json_object_new_int64(bson_iter_int32(it));
	case BSON_TYPE_INT64:
		return json_object_new_int64(bson_iter_int64(it));
	case BSON_TYPE_DOUBLE:
		return json_object_new_double(bson_iter_double(it));
	case BSON_TYPE_BOOL:
		return json_object_new_boolean(bson_iter_bool(it));
	case BSON_TYPE_OID: {
		char hex[25];
		bson_oid_to_string(bson_iter_oid(it), hex);
		return json_object_new_string(hex);
	}
	case BSON_TYPE_DATE_TIME: {
		int64_t ms = bson_iter_date_time(it);
		/* Floor division: -1 ms is 23:59:59.999 of the day before. */
		int64_t rem = ((ms % 1000) + 1000) % 1000;
		time_t secs = (time_t)((ms - rem) / 1000);
		struct tm tm;
		char buf[64];
		gmtime_r(&secs, &tm);
		snprintf(buf, sizeof(buf), "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ",
		         (long long)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		         tm.tm_min, tm.tm_sec, (int)rem);
		return json_object_new_string(buf);
	}
	case BSON_TYPE_DOCUMENT:
		return json_from_container(it, 0);
	case BSON_TYPE_ARRAY:
		return json_from_container(it, 1);
	default:
		return NULL; /* null, and types we never store */
	}
}

json_object *
json_from_bson(const bson_t *doc)
{
	bson_iter_t it;
	json_object *o = json_object_new_object();

	if (bson_iter_init(&it, doc))
		while (bson_iter_next(&it))
			json_object_object_add(o, bson_iter_key(&it), json_from_iter(&it));
	return o;
}

json_object *
json_from_bson_pick(const bson_t *doc, const char *const *keys, size_t n, const char *id_name)
{
	json_object *all = json_from_bson(doc), *o = json_object_new_object();

	for (size_t i = 0; i < n; i++) {
		json_object *v;
		const char *name =
		    id_name != NULL && strcmp(keys[i], "_id") == 0 ? id_name : keys[i];
		if (json_object_object_get_ex(all, keys[i], &v))
			json_object_object_add(o, name, json_object_get(v));
	}
	json_object_put(all);
	return o;
}
