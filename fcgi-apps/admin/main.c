/*
 * admin - the catalogue as staff edit it: products (any staff member: the
 * menu is chain-wide), categories (owners), branches (owners create and
 * delete them; the owner or the staff of a branch edit its settings).
 *
 * Every body is checked against the resource's field table (struct field)
 * before anything reaches the database: an unknown field, a wrong type or
 * a missing required field is 400, a value out of range 422, each naming
 * the field. Deleting is soft (isActive false, deletedAt), so orders keep
 * pointing at what they sold.
 *
 * Writes name only the fields the request names ($set): FerretDB runs no
 * update atomically and a whole document written back from a stale read
 * would undo a concurrent edit of another field (FACTS.md, "Concurrency");
 * for the catalogue the last writer of a field wins. After every
 * acknowledged write the menu's caches are dropped (menucache_invalidate)
 * before the answer goes out, so the very next public request reads the
 * database, and storefronts hear "menu-updated" on the channel menu/all.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "oshxona.h"

#define ADMIN_BODY_MAX     (16 * 1024)
#define PRICE_MAX          100000000 /* so'm */
#define SORT_ORDER_MAX     10000
#define DELIVERY_FEE_MAX   10000000
#define MIN_ORDER_MAX      100000000
#define IMAGE_URL_MAX      500
#define IMAGE_ID_MAX       200
#define SEARCH_MAX_CHARS   100
#define LIST_LIMIT_DEFAULT 50
#define LIST_LIMIT_MAX     100
#define LIST_OFFSET_MAX    100000

/* ------------------------------------------------------- field tables */

enum field_type {
	FT_TEXT,     /* one line of min..max code points, trimmed */
	FT_PARA,     /* like FT_TEXT, but line breaks and tabs allowed */
	FT_INT,      /* an integer (not a double, not a string) in min..max */
	FT_BOOL,     /* true or false */
	FT_OID,      /* a 24-hex id, stored as an ObjectId */
	FT_PHONE,    /* digits, spaces, '+', '-', '(', ')', with 9..15 digits */
	FT_IMAGE,    /* {"url", "publicId"} (an upload's answer) or null */
	FT_LOCATION, /* {"lat", "lng"} or null */
	FT_HOURS,    /* {"mon".."sun": {"open": "HH:MM", "close": "HH:MM"} or null} */
};

#define FIELD_REQUIRED 0x1 /* must be present when creating */
#define FIELD_SEARCH   0x2 /* feeds products.searchPrefixes */

/* One accepted field of a resource's body. */
struct field {
	const char *name;     /* the key in the body and in the document */
	enum field_type type; /* what it must hold */
	int64_t min, max;     /* FT_TEXT, FT_PARA: code points; FT_INT: value */
	unsigned flags;       /* FIELD_* */
	const char *dflt;     /* JSON stored when creating without it; NULL: none */
};

enum product_field {
	PF_NAME,
	PF_NAME_RU,
	PF_DESCRIPTION,
	PF_DESCRIPTION_RU,
	PF_PRICE,
	PF_CATEGORY,
	PF_ACTIVE,
	PF_AVAILABLE,
	PF_SORT,
	PF_IMAGE,
	PF__MAX
};

static const struct field product_fields[PF__MAX] = {
    [PF_NAME] = {"name", FT_TEXT, 2, 100, FIELD_REQUIRED | FIELD_SEARCH, NULL},
    [PF_NAME_RU] = {"nameRu", FT_TEXT, 2, 100, FIELD_SEARCH, NULL},
    [PF_DESCRIPTION] = {"description", FT_PARA, 0, 500, FIELD_SEARCH, "\"\""},
    [PF_DESCRIPTION_RU] = {"descriptionRu", FT_PARA, 0, 500, FIELD_SEARCH, "\"\""},
    [PF_PRICE] = {"price", FT_INT, 0, PRICE_MAX, FIELD_REQUIRED, NULL},
    [PF_CATEGORY] = {"categoryId", FT_OID, 0, 0, FIELD_REQUIRED, NULL},
    [PF_ACTIVE] = {"isActive", FT_BOOL, 0, 0, 0, "true"},
    [PF_AVAILABLE] = {"isAvailable", FT_BOOL, 0, 0, 0, "true"},
    [PF_SORT] = {"sortOrder", FT_INT, 0, SORT_ORDER_MAX, 0, "0"},
    [PF_IMAGE] = {"image", FT_IMAGE, 0, 0, 0, "null"},
};

enum category_field { CF_NAME, CF_NAME_RU, CF_SORT, CF_ACTIVE, CF_IMAGE, CF__MAX };

static const struct field category_fields[CF__MAX] = {
    [CF_NAME] = {"name", FT_TEXT, 2, 50, FIELD_REQUIRED, NULL},
    [CF_NAME_RU] = {"nameRu", FT_TEXT, 2, 50, 0, NULL},
    [CF_SORT] = {"sortOrder", FT_INT, 0, SORT_ORDER_MAX, 0, "0"},
    [CF_ACTIVE] = {"isActive", FT_BOOL, 0, 0, 0, "true"},
    [CF_IMAGE] = {"image", FT_IMAGE, 0, 0, 0, "null"},
};

enum branch_field {
	BF_NAME,
	BF_NAME_RU,
	BF_ADDRESS,
	BF_ADDRESS_RU,
	BF_PHONE,
	BF_LOCATION,
	BF_HOURS,
	BF_FEE,
	BF_MIN_ORDER,
	BF_OPEN,
	BF_ACTIVE,
	BF__MAX
};

static const struct field branch_fields[BF__MAX] = {
    [BF_NAME] = {"name", FT_TEXT, 2, 100, FIELD_REQUIRED, NULL},
    [BF_NAME_RU] = {"nameRu", FT_TEXT, 2, 100, 0, NULL},
    [BF_ADDRESS] = {"address", FT_TEXT, 5, 300, FIELD_REQUIRED, NULL},
    [BF_ADDRESS_RU] = {"addressRu", FT_TEXT, 5, 300, 0, NULL},
    [BF_PHONE] = {"phone", FT_PHONE, 0, 0, FIELD_REQUIRED, NULL},
    [BF_LOCATION] = {"location", FT_LOCATION, 0, 0, 0, "null"},
    [BF_HOURS] = {"workingHours", FT_HOURS, 0, 0, FIELD_REQUIRED, NULL},
    [BF_FEE] = {"deliveryFee", FT_INT, 0, DELIVERY_FEE_MAX, 0, "0"},
    [BF_MIN_ORDER] = {"minOrder", FT_INT, 0, MIN_ORDER_MAX, 0, "0"},
    [BF_OPEN] = {"isOpen", FT_BOOL, 0, 0, 0, "true"},
    [BF_ACTIVE] = {"isActive", FT_BOOL, 0, 0, 0, "true"},
};

static const char *const week_days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

/* Most FIELD_SEARCH fields a table has. */
#define SEARCH_TEXTS_MAX 4

/* --------------------------------------------------------- validators */

/*
 * The string v trimmed of ASCII white space: *start and *len. Returns 0,
 * or -1 after answering 400 (not a string) or 422 (control characters:
 * only FT_PARA admits line breaks and tabs).
 */
static int
field_string(struct req *r, const char *name, json_object *v, int para, const char **start,
             size_t *len)
{
	const char *s;
	size_t n;

	if (!json_object_is_type(v, json_type_string)) {
		resp_error(r, 400, "%s must be a string", name);
		return -1;
	}
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	while (n > 0 && strchr(" \t\r\n", *s) != NULL && *s != '\0') {
		s++;
		n--;
	}
	while (n > 0 && strchr(" \t\r\n", s[n - 1]) != NULL && s[n - 1] != '\0')
		n--;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 || c == 0x7f) && !(para && (c == '\n' || c == '\r' || c == '\t'))) {
			resp_error(r, 422, "%s must not contain control characters", name);
			return -1;
		}
	}
	*start = s;
	*len = n;
	return 0;
}

/* Code points in len bytes of valid UTF-8. */
static size_t
field_chars(const char *s, size_t len)
{
	char *copy = xstrndup(s, len);
	size_t n = utf8_length(copy);

	free(copy);
	return n;
}

static int
field_text(struct req *r, const struct field *f, json_object *v, bson_t *set)
{
	const char *s;
	size_t len, n;

	if (field_string(r, f->name, v, f->type == FT_PARA, &s, &len) != 0)
		return -1;
	n = field_chars(s, len);
	if ((int64_t)n < f->min || (int64_t)n > f->max) {
		if (f->min == 0)
			resp_error(r, 422, "%s must be at most %lld characters", f->name,
			           (long long)f->max);
		else
			resp_error(r, 422, "%s must be %lld..%lld characters", f->name,
			           (long long)f->min, (long long)f->max);
		return -1;
	}
	bson_append_utf8(set, f->name, -1, s, (int)len);
	return 0;
}

static int
field_phone(struct req *r, const struct field *f, json_object *v, bson_t *set)
{
	const char *s;
	size_t len, digits = 0;

	if (field_string(r, f->name, v, 0, &s, &len) != 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			digits++;
		else if (strchr(" +-()", s[i]) == NULL || s[i] == '\0')
			digits = 99; /* a foreign character: fail below */
	}
	if (len > 30 || digits < 9 || digits > 15) {
		resp_error(r, 422,
		           "%s must be 9..15 digits with optional spaces, '+', '-', "
		           "'(' and ')', e.g. +998 71 200 12 12",
		           f->name);
		return -1;
	}
	bson_append_utf8(set, f->name, -1, s, (int)len);
	return 0;
}

/* The object v holds only keys from allowed; -1 after answering 400 if not. */
static int
field_keys(struct req *r, const char *name, json_object *v, const char *const *allowed, size_t n)
{
	json_object_object_foreach(v, k, unused)
	{
		size_t i;
		(void)unused;
		for (i = 0; i < n && strcmp(k, allowed[i]) != 0; i++)
			;
		if (i == n) {
			resp_error(r, 400, "%s.%s is not a known field", name, k);
			return -1;
		}
	}
	return 0;
}

/*
 * What POST /api/admin/uploads answers: an http(s) URL at the image host
 * (Cloudinary), or "/media/<publicId>" for an image stored on this host,
 * whose publicId is then one of our names (image_name_valid).
 */
static int
image_url_ok(const char *url, size_t ulen, const char *pid, size_t plen)
{
	char *name;
	int ok;

	if (ulen > IMAGE_URL_MAX || memchr(url, ' ', ulen) != NULL)
		return 0;
	if ((ulen > 8 && strncmp(url, "https://", 8) == 0) ||
	    (ulen > 7 && strncmp(url, "http://", 7) == 0))
		return 1;
	if (ulen != 7 + plen || strncmp(url, "/media/", 7) != 0 || memcmp(url + 7, pid, plen) != 0)
		return 0;
	name = xstrndup(pid, plen);
	ok = image_name_valid(name);
	free(name);
	return ok;
}

/* {"url", "publicId"} as an upload answered it, or null. */
static int
field_image(struct req *r, const struct field *f, json_object *v, bson_t *set)
{
	static const char *const keys[] = {"url", "publicId"};
	const char *url, *pid;
	size_t ulen, plen;
	json_object *u, *p;
	bson_t img;

	if (v == NULL) {
		bson_append_null(set, f->name, -1);
		return 0;
	}
	if (!json_object_is_type(v, json_type_object)) {
		resp_error(r, 400, "%s must be {\"url\", \"publicId\"} or null", f->name);
		return -1;
	}
	if (field_keys(r, f->name, v, keys, 2) != 0)
		return -1;
	if (!json_object_object_get_ex(v, "url", &u) ||
	    !json_object_object_get_ex(v, "publicId", &p)) {
		resp_error(r, 400, "%s needs both url and publicId", f->name);
		return -1;
	}
	if (field_string(r, "image.url", u, 0, &url, &ulen) != 0 ||
	    field_string(r, "image.publicId", p, 0, &pid, &plen) != 0)
		return -1;
	if (plen < 1 || plen > IMAGE_ID_MAX) {
		resp_error(r, 422, "%s.publicId must be 1..%d bytes", f->name, IMAGE_ID_MAX);
		return -1;
	}
	if (!image_url_ok(url, ulen, pid, plen)) {
		resp_error(
		    r, 422,
		    "%s.url must be an http(s) URL of at most %d bytes, or /media/<publicId> "
		    "for an image stored here",
		    f->name, IMAGE_URL_MAX);
		return -1;
	}
	bson_append_document_begin(set, f->name, -1, &img);
	bson_append_utf8(&img, "url", -1, url, (int)ulen);
	bson_append_utf8(&img, "publicId", -1, pid, (int)plen);
	bson_append_document_end(set, &img);
	return 0;
}

static int
field_number(json_object *v, double *out)
{
	if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
		return -1;
	*out = json_object_get_double(v);
	return 0;
}

/* {"lat": -90..90, "lng": -180..180} or null. */
static int
field_location(struct req *r, const struct field *f, json_object *v, bson_t *set)
{
	static const char *const keys[] = {"lat", "lng"};
	json_object *lat, *lng;
	double la, ln;
	bson_t loc;

	if (v == NULL) {
		bson_append_null(set, f->name, -1);
		return 0;
	}
	if (!json_object_is_type(v, json_type_object) || field_keys(r, f->name, v, keys, 2) != 0 ||
	    !json_object_object_get_ex(v, "lat", &lat) ||
	    !json_object_object_get_ex(v, "lng", &lng) || field_number(lat, &la) != 0 ||
	    field_number(lng, &ln) != 0) {
		if (r->status == 0)
			resp_error(r, 400, "%s must be {\"lat\": number, \"lng\": number} or null",
			           f->name);
		return -1;
	}
	if (!(la >= -90 && la <= 90 && ln >= -180 && ln <= 180)) {
		resp_error(r, 422, "%s is out of range (lat -90..90, lng -180..180)", f->name);
		return -1;
	}
	bson_append_document_begin(set, f->name, -1, &loc);
	BSON_APPEND_DOUBLE(&loc, "lat", la);
	BSON_APPEND_DOUBLE(&loc, "lng", ln);
	bson_append_document_end(set, &loc);
	return 0;
}

/* "HH:MM" into minutes; 24:00 only where allow_24. -1 if malformed. */
static int
field_minutes(const char *s, int allow_24)
{
	int h, m;

	if (strlen(s) != 5 || s[2] != ':')
		return -1;
	for (int i = 0; i < 5; i++) {
		if (i != 2 && (s[i] < '0' || s[i] > '9'))
			return -1;
	}
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && (m != 0 || !allow_24)))
		return -1;
	return h * 60 + m;
}

/*
 * All seven days, each {"open": "HH:MM", "close": "HH:MM"} or null (closed
 * that day). A close earlier than the open is past midnight (the shift
 * belongs to the day it opened: tashkent_is_open); "24:00" closes at
 * midnight; open == close would be ambiguous and is refused.
 */
static int
field_hours(struct req *r, const struct field *f, json_object *v, bson_t *set)
{
	static const char *const keys[] = {"open", "close"};
	bson_t hours, day;

	if (!json_object_is_type(v, json_type_object)) {
		resp_error(r, 400, "%s must be an object with the days mon..sun", f->name);
		return -1;
	}
	if (field_keys(r, f->name, v, week_days, 7) != 0)
		return -1;
	for (size_t i = 0; i < 7; i++) {
		json_object *d;
		if (!json_object_object_get_ex(v, week_days[i], &d)) {
			resp_error(r, 400, "%s.%s is required (null: closed that day)", f->name,
			           week_days[i]);
			return -1;
		}
	}
	bson_append_document_begin(set, f->name, -1, &hours);
	for (size_t i = 0; i < 7; i++) {
		json_object *d, *o, *c;
		char path[40];
		int open, close;

		json_object_object_get_ex(v, week_days[i], &d);
		snprintf(path, sizeof(path), "%s.%s", f->name, week_days[i]);
		if (d == NULL) {
			BSON_APPEND_NULL(&hours, week_days[i]);
			continue;
		}
		if (!json_object_is_type(d, json_type_object) ||
		    field_keys(r, path, d, keys, 2) != 0 ||
		    !json_object_object_get_ex(d, "open", &o) ||
		    !json_object_object_get_ex(d, "close", &c) ||
		    !json_object_is_type(o, json_type_string) ||
		    !json_object_is_type(c, json_type_string)) {
			if (r->status == 0)
				resp_error(r, 400,
				           "%s must be {\"open\": \"HH:MM\", \"close\": \"HH:MM\"} "
				           "or null",
				           path);
			goto fail;
		}
		open = field_minutes(json_object_get_string(o), 0);
		close = field_minutes(json_object_get_string(c), 1);
		if (open < 0 || close < 0) {
			resp_error(r, 422,
			           "%s: times must be HH:MM (open 00:00..23:59, close "
			           "00:00..24:00)",
			           path);
			goto fail;
		}
		if (open == close) {
			resp_error(r, 422,
			           "%s: open and close are equal; use 00:00-24:00 for all day, "
			           "null for closed",
			           path);
			goto fail;
		}
		bson_append_document_begin(&hours, week_days[i], -1, &day);
		BSON_APPEND_UTF8(&day, "open", json_object_get_string(o));
		BSON_APPEND_UTF8(&day, "close", json_object_get_string(c));
		bson_append_document_end(&hours, &day);
	}
	bson_append_document_end(set, &hours);
	return 0;
fail:
	bson_append_document_end(set, &hours);
	return -1;
}

/*
 * Checks parent[f->name] and appends it to set, typed for the database.
 * Returns 0, or -1 after answering 400 (wrong type) or 422 (out of range).
 */
static int
field_check(struct req *r, const struct field *f, json_object *parent, bson_t *set)
{
	json_object *v = NULL;
	int64_t i;

	json_object_object_get_ex(parent, f->name, &v);
	switch (f->type) {
	case FT_TEXT:
	case FT_PARA:
		return field_text(r, f, v, set);
	case FT_INT:
		if (!json_object_is_type(v, json_type_int)) {
			resp_error(r, 400, "%s must be an integer", f->name);
			return -1;
		}
		if (json_get_int64(parent, f->name, f->min, f->max, &i) != 0) {
			resp_error(r, 422, "%s must be %lld..%lld", f->name, (long long)f->min,
			           (long long)f->max);
			return -1;
		}
		BSON_APPEND_INT64(set, f->name, i);
		return 0;
	case FT_BOOL:
		if (!json_object_is_type(v, json_type_boolean)) {
			resp_error(r, 400, "%s must be true or false", f->name);
			return -1;
		}
		bson_append_bool(set, f->name, -1, json_object_get_boolean(v));
		return 0;
	case FT_OID: {
		bson_oid_t oid;
		if (!json_object_is_type(v, json_type_string) ||
		    parse_oid(json_object_get_string(v), &oid) != 0) {
			resp_error(r, 400, "%s must be a 24-hex id", f->name);
			return -1;
		}
		bson_append_oid(set, f->name, -1, &oid);
		return 0;
	}
	case FT_PHONE:
		return field_phone(r, f, v, set);
	case FT_IMAGE:
		return field_image(r, f, v, set);
	case FT_LOCATION:
		return field_location(r, f, v, set);
	case FT_HOURS:
		return field_hours(r, f, v, set);
	}
	abort();
}

/*
 * Checks body against the table and appends every field it names to set.
 * When creating, every FIELD_REQUIRED field must be there and absent ones
 * with a default get it. Returns the number of fields the body named, or
 * -1 after answering 400 (unknown field, wrong type, missing required
 * field) or 422 (a value out of range).
 */
static int
input_validate(struct req *r, json_object *body, const struct field *fields, size_t n, int creating,
               bson_t *set)
{
	int named = 0;

	json_object_object_foreach(body, k, unused)
	{
		size_t i;
		(void)unused;
		for (i = 0; i < n && strcmp(k, fields[i].name) != 0; i++)
			;
		if (i == n) {
			resp_error(r, 400, "%s is not a known field", k);
			return -1;
		}
	}
	for (size_t i = 0; creating && i < n; i++) {
		if ((fields[i].flags & FIELD_REQUIRED) &&
		    !json_object_object_get_ex(body, fields[i].name, NULL)) {
			resp_error(r, 400, "%s is required", fields[i].name);
			return -1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct field *f = &fields[i];
		if (json_object_object_get_ex(body, f->name, NULL)) {
			if (field_check(r, f, body, set) != 0)
				return -1;
			named++;
		} else if (creating && f->dflt != NULL) {
			json_object *tmp = json_object_new_object();
			int rc;
			json_object_object_add(tmp, f->name, json_tokener_parse(f->dflt));
			rc = field_check(r, f, tmp, set);
			json_object_put(tmp);
			if (rc != 0)
				return -1;
		}
	}
	return named;
}

/* A body of exactly one boolean field; -1 after answering 400 if not. */
static int
input_one_bool(struct req *r, json_object *body, const char *name, int *out)
{
	json_object *v;

	json_object_object_foreach(body, k, unused)
	{
		(void)unused;
		if (strcmp(k, name) != 0) {
			resp_error(r, 400, "%s is not a known field", k);
			return -1;
		}
	}
	if (!json_object_object_get_ex(body, name, &v) ||
	    !json_object_is_type(v, json_type_boolean)) {
		resp_error(r, 400, "%s must be true or false", name);
		return -1;
	}
	*out = json_object_get_boolean(v);
	return 0;
}

/* ------------------------------------------------------------ database */

/* The document with _id id; *out is a copy (the caller's). 1 found, 0 not, -1 error. */
static int
admin_find_id(mongoc_client_t *client, const char *collection, const bson_oid_t *id, bson_t **out,
              bson_error_t *error)
{
	bson_t *filter = BCON_NEW("_id", BCON_OID(id));
	int rc = db_find_one(client, collection, filter, NULL, out, error);

	bson_destroy(filter);
	return rc;
}

/*
 * Loads the document the path's {id} names into *out (the caller's).
 * Returns 0, or -1 after answering 400 (malformed id), 404 or 503/500.
 */
static int
admin_load(struct req *r, mongoc_client_t *client, const char *collection, const char *what,
           bson_oid_t *id, bson_t **out)
{
	bson_error_t error;
	int rc;

	*out = NULL;
	if (parse_oid(r->params[0], id) != 0) {
		resp_error(r, 400, "Malformed %s id: expected 24 hexadecimal digits", what);
		return -1;
	}
	rc = admin_find_id(client, collection, id, out, &error);
	if (rc < 0)
		db_answer_error(r, &error);
	else if (rc == 0)
		resp_error(r, 404, "%c%s not found", toupper((unsigned char)what[0]), what + 1);
	return rc == 1 ? 0 : -1;
}

/* Runs update on _id id: 1 when it matched, 0 when no such document, -1 on error. */
static int
admin_update(mongoc_client_t *client, const char *collection, const bson_oid_t *id,
             const bson_t *update, bson_error_t *error)
{
	mongoc_collection_t *coll = db_collection(client, collection);
	bson_t *filter = BCON_NEW("_id", BCON_OID(id));
	bson_t reply;
	bson_iter_t it;
	int rc = -1;

	if (mongoc_collection_update_one(coll, filter, update, NULL, &reply, error))
		rc =
		    bson_iter_init_find(&it, &reply, "matchedCount") && bson_iter_as_int64(&it) > 0;
	bson_destroy(&reply);
	bson_destroy(filter);
	mongoc_collection_destroy(coll);
	return rc;
}

/*
 * Writes {$set: set} (plus {$unset: {deletedAt}} when unset_deleted) to
 * the document and reads it back into *fresh (the caller's). Returns 0,
 * or -1 after answering 404 (gone meanwhile) or 503/500.
 */
static int
admin_set(struct req *r, mongoc_client_t *client, const char *collection, const char *what,
          const bson_oid_t *id, const bson_t *set, int unset_deleted, bson_t **fresh)
{
	bson_t update = BSON_INITIALIZER, unset;
	bson_error_t error;
	int rc;

	*fresh = NULL;
	BSON_APPEND_DOCUMENT(&update, "$set", set);
	if (unset_deleted) {
		BSON_APPEND_DOCUMENT_BEGIN(&update, "$unset", &unset);
		BSON_APPEND_UTF8(&unset, "deletedAt", "");
		bson_append_document_end(&update, &unset);
	}
	rc = admin_update(client, collection, id, &update, &error);
	bson_destroy(&update);
	if (rc == 1)
		rc = admin_find_id(client, collection, id, fresh, &error);
	if (rc < 0)
		db_answer_error(r, &error);
	else if (rc == 0)
		resp_error(r, 404, "%c%s not found", toupper((unsigned char)what[0]), what + 1);
	return rc == 1 ? 0 : -1;
}

/* A copy of doc's image.publicId (free()), or NULL when it has none. */
static char *
doc_image_id(const bson_t *doc)
{
	bson_iter_t it, sub;

	if (doc != NULL && bson_iter_init(&it, doc) &&
	    bson_iter_find_descendant(&it, "image.publicId", &sub) && BSON_ITER_HOLDS_UTF8(&sub))
		return xstrdup(bson_iter_utf8(&sub, NULL));
	return NULL;
}

/* -------------------------------------------------------------- output */

static void
admin_respond(struct req *r, int status, const bson_t *doc)
{
	json_object *o = json_object_new_object(), *data = json_from_bson(doc);

	json_object_object_del(data, "searchPrefixes");
	json_object_object_add(o, "success", json_object_new_boolean(1));
	json_object_object_add(o, "data", data);
	resp_header(r, "Cache-Control", "no-store");
	resp_json(r, status, o);
	json_object_put(o);
}

static void
admin_respond_created(struct req *r, const char *collection, const bson_oid_t *id,
                      const bson_t *doc)
{
	char hex[25], loc[96];

	bson_oid_to_string(id, hex);
	snprintf(loc, sizeof(loc), "/api/admin/%s/%s", collection, hex);
	resp_header(r, "Location", loc);
	admin_respond(r, 201, doc);
}

/*
 * Runs a find and answers {"data", "total", "limit", "offset"}; keep,
 * when set, drops documents it returns 0 for (after paging: only for
 * small collections such as branches).
 */
static void
admin_list(struct req *r, mongoc_client_t *client, const char *collection, const bson_t *filter,
           const char *sort, int64_t limit, int64_t offset, const struct who *who,
           int (*keep)(const struct who *, const bson_t *))
{
	mongoc_collection_t *coll = db_collection(client, collection);
	bson_t *order = bson_new_from_json((const uint8_t *)sort, -1, NULL);
	bson_t *opts = bson_new();
	mongoc_cursor_t *cur;
	json_object *o, *data = json_object_new_array();
	const bson_t *doc;
	bson_error_t error;
	int64_t total = 0;

	BSON_APPEND_DOCUMENT(opts, "sort", order);
	if (offset > 0)
		BSON_APPEND_INT64(opts, "skip", offset);
	if (limit > 0)
		BSON_APPEND_INT64(opts, "limit", limit);
	cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	while (mongoc_cursor_next(cur, &doc)) {
		json_object *item;
		if (keep != NULL && !keep(who, doc))
			continue;
		item = json_from_bson(doc);
		json_object_object_del(item, "searchPrefixes");
		json_object_array_add(data, item);
		total++;
	}
	if (mongoc_cursor_error(cur, &error) ||
	    (keep == NULL && (total = mongoc_collection_count_documents(coll, filter, NULL, NULL,
	                                                                NULL, &error)) < 0)) {
		db_answer_error(r, &error);
		json_object_put(data);
	} else {
		o = json_object_new_object();
		json_object_object_add(o, "success", json_object_new_boolean(1));
		json_object_object_add(o, "data", data);
		json_object_object_add(o, "total", json_object_new_int64(total));
		json_object_object_add(o, "limit", json_object_new_int64(limit));
		json_object_object_add(o, "offset", json_object_new_int64(offset));
		resp_header(r, "Cache-Control", "no-store");
		resp_json(r, 200, o);
		json_object_put(o);
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(opts);
	bson_destroy(order);
	mongoc_collection_destroy(coll);
}

/*
 * What every acknowledged catalogue write does before it answers: drop
 * the menu's caches, so the next public request anywhere reads the write.
 */
static void
admin_invalidate(void)
{
	if (menucache_invalidate() != 0)
		log_warn("menu cache not invalidated: the public menu may lag up to 5 minutes");
}

/* ...and after it answered: tell the storefronts (best effort, outbox). */
static void
admin_publish(mongoc_client_t *client, const char *kind, const bson_oid_t *id)
{
	json_object *data = json_object_new_object();
	char hex[25];

	bson_oid_to_string(id, hex);
	json_object_object_add(data, "kind", json_object_new_string(kind));
	json_object_object_add(data, "id", json_object_new_string(hex));
	notify_publish(client, "menu", "all", "menu-updated", data);
	json_object_put(data);
}

/*
 * The image old_id may no longer be used (replaced, removed, or its owner
 * deleted): unless fresh (the document after the write) still shows it,
 * or another product or category does (a picture can be shared, and a
 * publicId typed into another product must not delete this one's), it
 * is deleted where it is stored, if this service stored it (asset_delete:
 * only recorded uploads). Best effort: a failure is logged.
 */
static void
admin_image_forget(mongoc_client_t *client, const char *old_id, const bson_t *fresh)
{
	static const char *const users[] = {"products", "categories"};
	char *keep = doc_image_id(fresh);
	bson_t *filter;
	bson_error_t error;
	int64_t n = 0;

	if (old_id == NULL || (keep != NULL && strcmp(keep, old_id) == 0)) {
		free(keep);
		return;
	}
	free(keep);
	filter = BCON_NEW("image.publicId", BCON_UTF8(old_id));
	for (size_t i = 0; i < 2 && n == 0; i++) {
		mongoc_collection_t *coll = db_collection(client, users[i]);
		n = mongoc_collection_count_documents(coll, filter, NULL, NULL, NULL, &error);
		mongoc_collection_destroy(coll);
		if (n < 0)
			log_warn("image %s kept: cannot tell whether it is used (%s)", old_id,
			         error.message);
	}
	bson_destroy(filter);
	if (n == 0 && asset_delete(client, old_id) < 0)
		log_warn("image %s is no longer used but could not be deleted", old_id);
}

/* ------------------------------------------------------------ products */

/*
 * Appends searchPrefixes to set, built from the search texts as they will
 * be after the write: set's where it names them, else old's (NULL on
 * create).
 */
static void
product_prefixes(bson_t *set, const bson_t *old)
{
	char *texts[SEARCH_TEXTS_MAX];
	size_t n = 0;
	bson_t arr;

	/* Copies: appending to set may move the bytes its iterators point at. */
	for (size_t i = 0; i < PF__MAX; i++) {
		const char *name = product_fields[i].name, *s;
		if (!(product_fields[i].flags & FIELD_SEARCH) || n == SEARCH_TEXTS_MAX)
			continue;
		s = bson_has_field(set, name) ? db_doc_utf8(set, name) : db_doc_utf8(old, name);
		texts[n++] = s != NULL ? xstrdup(s) : NULL;
	}
	BSON_APPEND_ARRAY_BEGIN(set, "searchPrefixes", &arr);
	search_prefixes((const char *const *)texts, n, &arr);
	bson_append_array_end(set, &arr);
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
}

/*
 * Concurrent edits of two text fields can each build searchPrefixes from
 * the other's old text. Re-checks the stored document and rewrites its
 * prefixes when they do not match its texts (last writer repairs).
 */
static void
product_prefixes_repair(mongoc_client_t *client, const bson_oid_t *id, bson_t **fresh)
{
	bson_t want = BSON_INITIALIZER, update = BSON_INITIALIZER, *again = NULL;
	const uint8_t *have = NULL;
	uint32_t have_len = 0;
	bson_iter_t it, w;
	bson_error_t error;

	product_prefixes(&want, *fresh);
	if (bson_iter_init_find(&it, *fresh, "searchPrefixes") && BSON_ITER_HOLDS_ARRAY(&it))
		bson_iter_array(&it, &have_len, &have);
	if (!bson_iter_init_find(&w, &want, "searchPrefixes"))
		goto done;
	{
		const uint8_t *wdata;
		uint32_t wlen;
		bson_t a, b;
		bson_iter_array(&w, &wlen, &wdata);
		if (have != NULL && bson_init_static(&a, have, have_len) &&
		    bson_init_static(&b, wdata, wlen) && bson_compare(&a, &b) == 0)
			goto done;
	}
	log_warn("searchPrefixes of a product were stale after a concurrent edit: rebuilt");
	BSON_APPEND_DOCUMENT(&update, "$set", &want);
	if (admin_update(client, "products", id, &update, &error) < 0 ||
	    admin_find_id(client, "products", id, &again, &error) < 0) {
		log_error("searchPrefixes repair: %s", error.message);
	} else if (again != NULL) {
		bson_destroy(*fresh);
		*fresh = again;
	}
done:
	bson_destroy(&update);
	bson_destroy(&want);
}

/*
 * The category a product is put in must exist and be active. Returns 0,
 * or -1 after answering 422 or 503/500.
 */
static int
product_category_ok(struct req *r, mongoc_client_t *client, const bson_t *set)
{
	bson_oid_t cat;
	bson_t *doc = NULL;
	bson_error_t error;
	bson_iter_t it;
	int rc;

	if (db_doc_oid(set, "categoryId", &cat) != 0)
		return 0;
	rc = admin_find_id(client, "categories", &cat, &doc, &error);
	if (rc < 0) {
		db_answer_error(r, &error);
		return -1;
	}
	if (rc == 0 || !bson_iter_init_find(&it, doc, "isActive") || !BSON_ITER_HOLDS_BOOL(&it) ||
	    !bson_iter_bool(&it)) {
		resp_error(r, 422, "categoryId names no active category");
		rc = -1;
	} else {
		rc = 0;
	}
	if (doc != NULL)
		bson_destroy(doc);
	return rc;
}

/* GET /api/admin/products?category=&active=&search=&limit=&offset= (staff) */
static void
products_list(struct req *r)
{
	enum { Q_CATEGORY, Q_ACTIVE, Q_SEARCH, Q_LIMIT, Q_OFFSET, Q__MAX };
	static const struct qs_field params[Q__MAX] = {
	    [Q_CATEGORY] = {"category", QS_OID, 0, 0},
	    [Q_ACTIVE] = {"active", QS_TEXT, 4, 5},
	    [Q_SEARCH] = {"search", QS_TEXT, 0, SEARCH_MAX_CHARS},
	    [Q_LIMIT] = {"limit", QS_INT, 1, LIST_LIMIT_MAX},
	    [Q_OFFSET] = {"offset", QS_INT, 0, LIST_OFFSET_MAX},
	};
	struct qs_value v[Q__MAX];
	struct qs q;
	char err[160];
	mongoc_client_t *client = db_pop();
	struct who who;
	bson_t filter = BSON_INITIALIZER;

	if (authz(r, client, AUTHZ_STAFF, NULL, &who) != 0)
		goto done;
	if (qs_parse(r->query, &q, err, sizeof(err)) != 0 ||
	    qs_validate(&q, params, Q__MAX, v, err, sizeof(err)) != 0) {
		resp_error(r, 400, "%s", err);
		goto done;
	}
	if (v[Q_ACTIVE].present && strcmp(v[Q_ACTIVE].text, "true") != 0 &&
	    strcmp(v[Q_ACTIVE].text, "false") != 0) {
		resp_error(r, 400, "active must be true or false");
		goto done;
	}
	if (v[Q_CATEGORY].present)
		BSON_APPEND_OID(&filter, "categoryId", &v[Q_CATEGORY].oid);
	if (v[Q_ACTIVE].present)
		BSON_APPEND_BOOL(&filter, "isActive", strcmp(v[Q_ACTIVE].text, "true") == 0);
	if (v[Q_SEARCH].present)
		search_filter(&filter, v[Q_SEARCH].text);
	admin_list(r, client, "products", &filter, "{\"sortOrder\": 1, \"name\": 1, \"_id\": 1}",
	           v[Q_LIMIT].present ? v[Q_LIMIT].i : LIST_LIMIT_DEFAULT,
	           v[Q_OFFSET].present ? v[Q_OFFSET].i : 0, &who, NULL);
done:
	bson_destroy(&filter);
	db_push(client);
}

/* POST /api/admin/products (staff) */
static void
product_create(struct req *r)
{
	mongoc_client_t *client = db_pop();
	struct who who;
	json_object *body = NULL;
	bson_t doc = BSON_INITIALIZER;
	bson_error_t error;
	bson_oid_t id;
	int64_t now = db_now_ms();

	if (authz(r, client, AUTHZ_STAFF, NULL, &who) != 0)
		goto done;
	if ((body = req_json(r, ADMIN_BODY_MAX)) == NULL)
		goto done;
	bson_oid_init(&id, NULL);
	BSON_APPEND_OID(&doc, "_id", &id);
	if (input_validate(r, body, product_fields, PF__MAX, 1, &doc) < 0 ||
	    product_category_ok(r, client, &doc) != 0)
		goto done;
	product_prefixes(&doc, NULL);
	BSON_APPEND_DATE_TIME(&doc, "createdAt", now);
	BSON_APPEND_DATE_TIME(&doc, "updatedAt", now);
	if (db_insert(client, "products", &doc, &error) != 0) {
		db_answer_error(r, &error);
		goto done;
	}
	admin_invalidate();
	admin_respond_created(r, "products", &id, &doc);
	admin_publish(client, "product", &id);
done:
	bson_destroy(&doc);
	json_object_put(body);
	db_push(client);
}

/* GET /api/admin/products/{id} (staff): also inactive and deleted ones. */
static void
product_get(struct req *r)
{
	mongoc_client_t *client = db_pop();
	struct who who;
	bson_t *doc = NULL;
	bson_oid_t id;

	if (authz(r, client, AUTHZ_STAFF, NULL, &who) == 0 &&
	    admin_load(r, client, "products", "product", &id, &doc) == 0)
		admin_respond(r, 200, doc);
	if (doc != NULL)
		bson_destroy(doc);
	db_push(client);
}

/* 1 when set holds key with the boolean value want. */
static int
set_has_bool(const bson_t *set, const char *key, int want)
{
	bson_iter_t it;

	return bson_iter_init_find(&it, set, key) && BSON_ITER_HOLDS_BOOL(&it) &&
	       bson_iter_bool(&it) == (want != 0);
}

/* PATCH /api/admin/products/{id} (staff): the fields the body names. */
static void
product_update(struct req *r)
{
	mongoc_client_t *client = db_pop();
	struct who who;
	json_object *body = NULL;
	bson_t set = BSON_INITIALIZER, *old = NULL, *fresh = NULL;
	char *old_image = NULL;
	bson_oid_t id;
	int named, texts = 0;
	bson_iter_t it;

	if (authz(r, client, AUTHZ_STAFF, NULL, &who) != 0)
		goto done;
	if (parse_oid(r->params[0], &id) != 0) {
		resp_error(r, 400, "Malformed product id: expected 24 hexadecimal digits");
		goto done;
	}
	if ((body = req_json(r, ADMIN_BODY_MAX)) == NULL)
		goto done;
	named = input_validate(r, body, product_fields, PF__MAX, 0, &set);
	if (named < 0)
		goto done;
	if (named == 0) {
		resp_error(r, 400, "Nothing to update: name at least one field");
		goto done;
	}
	if (product_category_ok(r, client, &set) != 0)
		goto done;
	/* The other texts (for searchPrefixes) and the image it replaces. */
	if (admin_load(r, client, "products", "product", &id, &old) != 0)
		goto done;
	for (size_t i = 0; i < PF__MAX; i++)
		texts |= (product_fields[i].flags & FIELD_SEARCH) &&
		         bson_has_field(&set, product_fields[i].name);
	if (texts)
		product_prefixes(&set, old);
	if (bson_iter_init_find(&it, &set, "image"))
		old_image = doc_image_id(old);
	BSON_APPEND_DATE_TIME(&set, "updatedAt", db_now_ms());
	if (admin_set(r, client, "products", "product", &id, &set,
	              set_has_bool(&set, "isActive", 1), &fresh) != 0)
		goto done;
	if (texts)
		product_prefixes_repair(client, &id, &fresh);
	admin_invalidate();
	admin_respond(r, 200, fresh);
	admin_publish(client, "product", &id);
	admin_image_forget(client, old_image, fresh);
done:
	free(old_image);
	if (fresh != NULL)
		bson_destroy(fresh);
	if (old != NULL)
		bson_destroy(old);
	bson_destroy(&set);
	json_object_put(body);
	db_push(client);
}

/* PATCH /api/admin/products/{id}/availability {"isAvailable"}: the stop-list. */
static void
product_availability(struct req *r)
{
	mongoc_client_t *client = db_pop();
	struct who who;
	json_object *body = NULL;
	bson_t set = BSON_INITIALIZER, *fresh = NULL;
	bson_oid_t id;
	int available;

	if (authz(r, client, AUTHZ_STAFF, NULL, &who) != 0)
		goto done;
	if (parse_oid(r->params[0], &id) != 0) {
		resp_error(r, 400, "Malformed product id: expected 24 hexadecimal digits");
		goto done;
	}
	if ((body = req_json(r, 1024)) == NULL ||
	    input_one_bool(r, body, "isAvailable", &available) != 0)
		goto done;
	BSON_APPEND_BOOL(&set, "isAvailable", available);
	BSON_APPEND_DATE_TIME(&set, "updatedAt", db_now_ms());
	if (admin_set(r, client, "products", "product", &id, &set, 0, &fresh) != 0)
		goto done;
	admin_invalidate();
	admin_respond(r, 200, fresh);
	admin_publish(client, "product", &id);
done:
	if (fresh != NULL)
		bson_destroy(fresh);
	bson_destroy(&set);
	json_object_put(body);
	db_push(client);
}

/*
 * DELETE of a product or a category: hidden for good (isActive false,
 * deletedAt kept from the first delete), kept for the orders that name
 * it; its picture goes unless something else still shows it. may_delete,
 * when given, can refuse first (it answers).
 */
static void
admin_soft_delete(struct req *r, enum authz_rule rule, const char *collection, const char *kind,
                  int (*may_delete)(struct req *, mongoc_client_t *, const bson_oid_t *))
{
	mongoc_client_t *client = db_pop();
	struct who who;
	bson_t set = BSON_INITIALIZER, *old = NULL, *fresh = NULL;
	char *old_image = NULL;
	int64_t now = db_now_ms();
	bson_oid_t id;

	if (authz(r, client, rule, NULL, &who) != 0 ||
	    admin_load(r, client, collection, kind, &id, &old) != 0 ||
	    (may_delete != NULL && may_delete(r, client, &id) != 0))
		goto done;
	old_image = doc_image_id(old);
	BSON_APPEND_BOOL(&set, "isActive", false);
	BSON_APPEND_NULL(&set, "image");
	if (!bson_has_field(old, "deletedAt")) /* deleting again keeps the first date */
		BSON_APPEND_DATE_TIME(&set, "deletedAt", now);
	BSON_APPEND_DATE_TIME(&set, "updatedAt", now);
	if (admin_set(r, client, collection, kind, &id, &set, 0, &fresh) != 0)
		goto done;
	admin_invalidate();
	admin_respond(r, 200, fresh);
	admin_publish(client, kind, &id);
	admin_image_forget(client, old_image, fresh);
done:
	free(old_image);
	if (fresh != NULL)
		bson_destroy(fresh);
	if (old != NULL)
		bson_destroy(old);
	bson_destroy(&set);
	db_push(client);
}

/* DELETE /api/admin/products/{id} (staff) */
static void
product_delete(struct req *r)
{
	admin_soft_delete(r, AUTHZ_STAFF, "products", "product", NULL);
}

/* ---------------------------------------------------------- categories */

/*
 * A category may be hidden only when no active product is left in it.
 * Returns 0, or -1 after answering 409 (naming how many) or 503/500.
 */
static int
category_empty(struct req *r, mongoc_client_t *client, const bson_oid_t *id)
{
	mongoc_collection_t *coll = db_collection(client, "products");
	bson_t *filter = BCON_NEW("categoryId", BCON_OID(id), "isActive", BCON_BOOL(true));
	bson_error_t error;
	int64_t n = mongoc_collection_count_documents(coll, filter, NULL, NULL, NULL, &error);

	bson_destroy(filter);
	mongoc_collection_destroy(coll);
	if (n < 0) {
		db_answer_error(r, &error);
		return -1;
	}
	if (n > 0) {
		resp_error(r, 409,
		           "The category still has %lld active product%s: move or delete %s "
		           "first",
		           (long long)n, n == 1 ? "" : "s", n == 1 ? "it" : "them");
		return -1;
	}
	return 0;
}

/* GET /api/admin/categories (owners): also inactive ones. */
static void
categories_list(struct req *r)
{
	mongoc_client_t *client = db_pop();
	struct who who;
	struct qs_value none[1];
	struct qs q;
	char err[160];
	bson_t filter = BSON_INITIALIZER;

	if (authz(r, client, AUTHZ_OWNER, NULL, &who) != 0)
		goto done;
	if (qs_parse(r->query, &q, err, sizeof(err)) != 0 ||
	    qs_validate(&q, NULL, 0, none, err, sizeof(err)) != 0) {
		resp_error(r, 400, "%s", err);
		goto done;
	}
	admin_list(r, client, "categories", &filter, "{\"sortOrder\": 1, \"name\": 1, \"_id\": 1}",
	           0, 0, &who, NULL);
done:
	bson_destroy(&filter);
	db_push(client);
}

/*
 * POST for the owners' simple resources: validates the body against the
 * table, stamps the dates, inserts, then drops the menu cache, answers 201
 * and tells the storefronts (kind names the resource in menu-updated).
 */
static void
admin_create(struct req *r, const char *collection, const char *kind, const struct field *fields,
             size_t nfields)
{
	mongoc_client_t *client = db_pop();
	struct who who;
	json_object *body = NULL;
	bson_t doc = BSON_INITIALIZER;
	bson_error_t error;
	bson_oid_t id;
	int64_t now = db_now_ms();

	if (authz(r, client, AUTHZ_OWNER, NULL, &who) != 0)
		goto done;
	if ((body = req_json(r, ADMIN_BODY_MAX)) == NULL)
		goto done;
	bson_oid_init(&id, NULL);
	BSON_APPEND_OID(&doc, "_id", &id);
	if (input_validate(r, body, fields, nfields, 1, &doc) < 0)
		goto done;
	BSON_APPEND_DATE_TIME(&doc, "createdAt", now);
	BSON_APPEND_DATE_TIME(&doc, "updatedAt", now);
	if (db_insert(client, collection, &doc, &error) != 0) {
		db_answer_error(r, &error);
		goto done;
	}
	admin_invalidate();
	admin_respond_created(r, collection, &id, &doc);
	admin_publish(client, kind, &id);
done:
	bson_destroy(&doc);
	json_object_put(body);
	db_push(client);
}

/* POST /api/admin/categories (owners) */
static void
category_create(struct req *r)
{
	admin_create(r, "categories", "category", category_fields, CF__MAX);
}

/* GET /api/admin/categories/{id} (owners) */
static void
category_get(struct req *r)
{
	mongoc_client_t *client = db_pop();
	struct who who;
	bson_t *doc = NULL;
	bson_oid_t id;

	if (authz(r, client, AUTHZ_OWNER, NULL, &who) == 0 &&
	    admin_load(r, client, "categories", "category", &id, &doc) == 0)
		admin_respond(r, 200, doc);
	if (doc != NULL)
		bson_destroy(doc);
	db_push(client);
}

/* PATCH /api/admin/categories/{id} (owners) */
static void
category_update(struct req *r)
{
	mongoc_client_t *client = db_pop();
	struct who who;
	json_object *body = NULL;
	bson_t set = BSON_INITIALIZER, *old = NULL, *fresh = NULL;
	char *old_image = NULL;
	bson_iter_t it;
	bson_oid_t id;
	int named;

	if (authz(r, client, AUTHZ_OWNER, NULL, &who) != 0)
		goto done;
	if (parse_oid(r->params[0], &id) != 0) {
		resp_error(r, 400, "Malformed category id: expected 24 hexadecimal digits");
		goto done;
	}
	if ((body = req_json(r, ADMIN_BODY_MAX)) == NULL)
		goto done;
	named = input_validate(r, body, category_fields, CF__MAX, 0, &set);
	if (named < 0)
		goto done;
	if (named == 0) {
		resp_error(r, 400, "Nothing to update: name at least one field");
		goto done;
	}
	if (admin_load(r, client, "categories", "category", &id, &old) != 0)
		goto done;
	/* Hiding a category is deleting it, with the same rule. */
	if (set_has_bool(&set, "isActive", 0) && category_empty(r, client, &id) != 0)
		goto done;
	if (bson_iter_init_find(&it, &set, "image"))
		old_image = doc_image_id(old);
	BSON_APPEND_DATE_TIME(&set, "updatedAt", db_now_ms());
	if (admin_set(r, client, "categories", "category", &id, &set,
	              set_has_bool(&set, "isActive", 1), &fresh) != 0)
		goto done;
	admin_invalidate();
	admin_respond(r, 200, fresh);
	admin_publish(client, "category", &id);
	admin_image_forget(client, old_image, fresh);
done:
	free(old_image);
	if (fresh != NULL)
		bson_destroy(fresh);
	if (old != NULL)
		bson_destroy(old);
	bson_destroy(&set);
	json_object_put(body);
	db_push(client);
}

/* DELETE /api/admin/categories/{id} (owners): only an empty category. */
static void
category_delete(struct req *r)
{
	admin_soft_delete(r, AUTHZ_OWNER, "categories", "category", category_empty);
}

/* ------------------------------------------------------------ branches */

/* Staff see the branches they work at; owners see every branch. */
static int
branch_visible(const struct who *who, const bson_t *doc)
{
	bson_oid_t id;

	return db_doc_oid(doc, "_id", &id) == 0 && authz_branch(who, &id);
}

/* GET /api/admin/branches (staff): theirs, also inactive ones. */
static void
branches_list(struct req *r)
{
	mongoc_client_t *client = db_pop();
	struct who who;
	struct qs_value none[1];
	struct qs q;
	char err[160];
	bson_t filter = BSON_INITIALIZER;

	if (authz(r, client, AUTHZ_STAFF, NULL, &who) != 0)
		goto done;
	if (qs_parse(r->query, &q, err, sizeof(err)) != 0 ||
	    qs_validate(&q, NULL, 0, none, err, sizeof(err)) != 0) {
		resp_error(r, 400, "%s", err);
		goto done;
	}
	admin_list(r, client, "branches", &filter, "{\"name\": 1, \"_id\": 1}", 0, 0, &who,
	           branch_visible);
done:
	bson_destroy(&filter);
	db_push(client);
}

/* POST /api/admin/branches (owners) */
static void
branch_create(struct req *r)
{
	admin_create(r, "branches", "branch", branch_fields, BF__MAX);
}

/*
 * Staff first (401/403), then the id (400), then the branch: a member of
 * another branch gets 403 whether or not the id exists.
 */
static int
branch_authz(struct req *r, mongoc_client_t *client, struct who *who, bson_oid_t *id)
{
	if (authz(r, client, AUTHZ_STAFF, NULL, who) != 0)
		return -1;
	if (parse_oid(r->params[0], id) != 0) {
		resp_error(r, 400, "Malformed branch id: expected 24 hexadecimal digits");
		return -1;
	}
	if (!authz_branch(who, id)) {
		resp_error(r, 403, "Not allowed for this branch");
		return -1;
	}
	return 0;
}

/* GET /api/admin/branches/{id} (the owner or the branch's staff) */
static void
branch_get(struct req *r)
{
	mongoc_client_t *client = db_pop();
	struct who who;
	bson_t *doc = NULL;
	bson_oid_t id;

	if (branch_authz(r, client, &who, &id) == 0 &&
	    admin_load(r, client, "branches", "branch", &id, &doc) == 0)
		admin_respond(r, 200, doc);
	if (doc != NULL)
		bson_destroy(doc);
	db_push(client);
}

/* PATCH /api/admin/branches/{id} (the owner or the branch's staff) */
static void
branch_update(struct req *r)
{
	mongoc_client_t *client = db_pop();
	struct who who;
	json_object *body = NULL;
	bson_t set = BSON_INITIALIZER, *fresh = NULL;
	bson_iter_t it;
	bson_oid_t id;
	int named;

	if (branch_authz(r, client, &who, &id) != 0)
		goto done;
	if ((body = req_json(r, ADMIN_BODY_MAX)) == NULL)
		goto done;
	named = input_validate(r, body, branch_fields, BF__MAX, 0, &set);
	if (named < 0)
		goto done;
	if (named == 0) {
		resp_error(r, 400, "Nothing to update: name at least one field");
		goto done;
	}
	/* Opening and closing a branch for good is the owners' call. */
	if (bson_iter_init_find(&it, &set, "isActive") && strcmp(who.role, "owner") != 0) {
		resp_error(r, 403, "Only owners may activate or deactivate a branch");
		goto done;
	}
	BSON_APPEND_DATE_TIME(&set, "updatedAt", db_now_ms());
	if (admin_set(r, client, "branches", "branch", &id, &set, set_has_bool(&set, "isActive", 1),
	              &fresh) != 0)
		goto done;
	admin_invalidate();
	admin_respond(r, 200, fresh);
	admin_publish(client, "branch", &id);
done:
	if (fresh != NULL)
		bson_destroy(fresh);
	bson_destroy(&set);
	json_object_put(body);
	db_push(client);
}

/* DELETE /api/admin/branches/{id} (owners): hidden, kept for its orders. */
static void
branch_delete(struct req *r)
{
	mongoc_client_t *client = db_pop();
	struct who who;
	bson_t set = BSON_INITIALIZER, *old = NULL, *fresh = NULL;
	int64_t now = db_now_ms();
	bson_oid_t id;

	if (authz(r, client, AUTHZ_OWNER, NULL, &who) != 0 ||
	    admin_load(r, client, "branches", "branch", &id, &old) != 0)
		goto done;
	BSON_APPEND_BOOL(&set, "isActive", false);
	if (!bson_has_field(old, "deletedAt")) /* deleting again keeps the first date */
		BSON_APPEND_DATE_TIME(&set, "deletedAt", now);
	BSON_APPEND_DATE_TIME(&set, "updatedAt", now);
	if (admin_set(r, client, "branches", "branch", &id, &set, 0, &fresh) != 0)
		goto done;
	admin_invalidate();
	admin_respond(r, 200, fresh);
	admin_publish(client, "branch", &id);
done:
	if (fresh != NULL)
		bson_destroy(fresh);
	if (old != NULL)
		bson_destroy(old);
	bson_destroy(&set);
	db_push(client);
}

static const struct route admin_routes[] = {
    {HTTP_GET, "/api/admin/products", products_list},
    {HTTP_POST, "/api/admin/products", product_create},
    {HTTP_GET, "/api/admin/products/{id}", product_get},
    {HTTP_PATCH, "/api/admin/products/{id}", product_update},
    {HTTP_DELETE, "/api/admin/products/{id}", product_delete},
    {HTTP_PATCH, "/api/admin/products/{id}/availability", product_availability},
    {HTTP_GET, "/api/admin/categories", categories_list},
    {HTTP_POST, "/api/admin/categories", category_create},
    {HTTP_GET, "/api/admin/categories/{id}", category_get},
    {HTTP_PATCH, "/api/admin/categories/{id}", category_update},
    {HTTP_DELETE, "/api/admin/categories/{id}", category_delete},
    {HTTP_GET, "/api/admin/branches", branches_list},
    {HTTP_POST, "/api/admin/branches", branch_create},
    {HTTP_GET, "/api/admin/branches/{id}", branch_get},
    {HTTP_PATCH, "/api/admin/branches/{id}", branch_update},
    {HTTP_DELETE, "/api/admin/branches/{id}", branch_delete},
};

int
main(int argc, char **argv)
{
	static const struct app admin = {
	    .name = "admin",
	    .uses_db = 1,
	    .routes = admin_routes,
	    .nroutes = sizeof(admin_routes) / sizeof(admin_routes[0]),
	};

	return app_main(&admin, argc, argv);
}
