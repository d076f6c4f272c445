/*
 * json.c - json-c helpers: bounded parsing, typed getters that never
 * coerce, operator-key screening, and BSON to JSON for responses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oshxona.h"

/*
 * The keys of one object while json_keys_check scans it: decoded bytes in
 * the scan's arena, so "a" and "\u0061" compare equal as json-c sees them.
 */
struct jk_key {
	const char *p;
	size_t n;
};

static int
jk_cmp(const void *a, const void *b)
{
	const struct jk_key *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);

	return c != 0 ? c : (x->n > y->n) - (x->n < y->n);
}

static unsigned
jk_hex4(const char *s)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

/*
 * Decodes the string whose opening quote is at s[*i] into out (never more
 * bytes than it spans); leaves *i after the closing quote. The input is
 * JSON json-c already accepted, so escapes are well formed. Sets *nul when
 * the string holds U+0000.
 */
static size_t
jk_string(const char *s, size_t len, size_t *i, char *out, int *nul)
{
	size_t k = *i + 1, n = 0;

	while (k < len && s[k] != '"') {
		unsigned cp;
		if (s[k] != '\\') {
			out[n++] = s[k++];
			continue;
		}
		k++;
		switch (s[k]) {
		case 'b':
			out[n++] = '\b';
			k++;
			continue;
		case 'f':
			out[n++] = '\f';
			k++;
			continue;
		case 'n':
			out[n++] = '\n';
			k++;
			continue;
		case 'r':
			out[n++] = '\r';
			k++;
			continue;
		case 't':
			out[n++] = '\t';
			k++;
			continue;
		case 'u':
			break;
		default:
			out[n++] = s[k++];
			continue;
		}
		cp = jk_hex4(s + k + 1);
		k += 5;
		if (cp >= 0xd800 && cp < 0xdc00 && k + 6 <= len && s[k] == '\\' &&
		    s[k + 1] == 'u') {
			unsigned lo = jk_hex4(s + k + 2);
			if (lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				k += 6;
			}
		}
		if (cp == 0)
			*nul = 1;
		if (cp < 0x80) {
			out[n++] = (char)cp;
		} else if (cp < 0x800) {
			out[n++] = (char)(0xc0 | cp >> 6);
			out[n++] = (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			out[n++] = (char)(0xe0 | cp >> 12);
			out[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
			out[n++] = (char)(0x80 | (cp & 0x3f));
		} else {
			out[n++] = (char)(0xf0 | cp >> 18);
			out[n++] = (char)(0x80 | (cp >> 12 & 0x3f));
			out[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
			out[n++] = (char)(0x80 | (cp & 0x3f));
		}
	}
	*i = k + 1;
	return n;
}

/* The message for a duplicate key; named only when it is plain ASCII. */
static void
jk_duplicate(const struct jk_key *k, char *err, size_t errlen)
{
	for (size_t i = 0; i < k->n; i++)
		if (k->p[i] < 0x20 || k->p[i] > 0x7e) {
			snprintf(err, errlen, "duplicate key");
			return;
		}
	snprintf(err, errlen, "duplicate key \"%.*s\"", (int)(k->n > 40 ? 40 : k->n), k->p);
}

/*
 * json-c keeps the last of duplicate keys and cuts a key at an escaped
 * NUL, so {"status":"x","status\u0000":"y"} reads as status "y": a second
 * scan of the text json-c accepted refuses both. Returns 0, or -1 with a
 * message in err. Each object's keys are sorted once, when it closes.
 */
static int
json_keys_check(const char *s, size_t len, char *err, size_t errlen)
{
	struct {
		int object;
		size_t first_key;
		size_t arena_used;
	} stack[JSON_MAX_DEPTH + 2];
	char *arena = xmalloc(len + 1);
	struct jk_key *keys = xmalloc((len / 2 + 1) * sizeof(*keys));
	size_t depth = 0, nkeys = 0, used = 0, i = 0;
	int rc = 0;

	while (i < len && rc == 0) {
		char c = s[i];
		if (c == '"') {
			int nul = 0;
			size_t n = jk_string(s, len, &i, arena + used, &nul), j = i;
			while (j < len && memchr(" \t\r\n", s[j], 4) != NULL)
				j++;
			if (j < len && s[j] == ':' && depth > 0) {
				if (nul) {
					snprintf(err, errlen, "a key holds \\u0000");
					rc = -1;
				}
				keys[nkeys].p = arena + used;
				keys[nkeys++].n = n;
				used += n;
			}
		} else if (c == '{' || c == '[') {
			if (depth >= sizeof(stack) / sizeof(stack[0])) {
				snprintf(err, errlen, "nested too deeply");
				rc = -1;
				break;
			}
			stack[depth].object = c == '{';
			stack[depth].first_key = nkeys;
			stack[depth++].arena_used = used;
			i++;
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
			if (stack[depth].object) {
				struct jk_key *k = keys + stack[depth].first_key;
				size_t nk = nkeys - stack[depth].first_key;
				qsort(k, nk, sizeof(*k), jk_cmp);
				for (size_t x = 1; x < nk && rc == 0; x++)
					if (jk_cmp(&k[x - 1], &k[x]) == 0) {
						jk_duplicate(&k[x], err, errlen);
						rc = -1;
					}
			}
			nkeys = stack[depth].first_key;
			used = stack[depth].arena_used;
			i++;
		} else {
			i++;
		}
	}
	free(keys);
	free(arena);
	return rc;
}

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
	if (v != NULL && json_keys_check(s, len, err, errlen) != 0) {
		json_object_put(v);
		v = NULL;
	}
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

	if (!json_object_object_get_ex(obj, key, &v))
		return -1;
	return json_int64(v, min, max, out);
}

int
json_int64(json_object *v, int64_t min, int64_t max, int64_t *out)
{
	int64_t i;

	if (!json_object_is_type(v, json_type_int))
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
