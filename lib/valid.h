/*
 * valid.h - JSON bodies checked against a declared, const table (kcgi's
 * way, for bodies): every accepted field with its kind, bounds and rules,
 * found from the handler in one jump.
 *
 * The checker never answers HTTP: it fills a struct valid_error (status,
 * field path, message) and the handler answers it (valid_answer). On
 * success the body itself is normalized in place - strings trimmed, the
 * defaults of absent fields filled in when creating - so the handler
 * reads typed values with the valid_get_* accessors, or turns the body
 * into a typed BSON document ($set or insert) with valid_to_bson.
 *
 *	enum { PF_NAME, PF_PRICE, PF__MAX };
 *	static const struct valid_field product_fields[PF__MAX] = {
 *	    [PF_NAME] = VALID_FIELD("name", VK_STRING, VALID_REQUIRED, .min = 2, .max = 100),
 *	    [PF_PRICE] = VALID_FIELD("price", VK_INT, VALID_REQUIRED, .min = 0, .max = PRICE_MAX),
 *	};
 *	static const struct valid_schema product_schema = VALID_SCHEMA(product_fields);
 *
 *	struct valid_error e;
 *	if (valid_body(&product_schema, body, VALID_CREATE, &e) < 0)
 *		return valid_answer(r, &e);           // 400 or 422, names the field
 *	price = valid_get_int(body, "price", 0);    // or valid_to_bson(..., &doc)
 */
#ifndef VALID_H
#define VALID_H

#include <stddef.h>
#include <stdint.h>

#include <json.h>
#include <mongoc/mongoc.h>

/* What a field must hold. */
enum valid_kind {
	VK_STRING,   /* one line of min..max code points (UTF-8), trimmed */
	VK_TEXT,     /* VK_STRING that may hold line breaks and tabs */
	VK_INT,      /* an integer (not a double, not a string) in min..max */
	VK_BOOL,     /* true or false */
	VK_ENUM,     /* one of the strings in values */
	VK_ID,       /* 24 hexadecimal digits; an ObjectId in BSON */
	VK_PHONE,    /* a phone number (valid_phone) */
	VK_HHMM,     /* "HH:MM", 00:00..23:59 (24:00 too with VALID_24H) */
	VK_LOCALDAY, /* "YYYY-MM-DD", a real calendar day from 1970 */
	VK_DIGITS,   /* a string of min..max ASCII digits (codes: MXIK, package) */
	VK_LOCATION, /* {"lat": -90..90, "lng": -180..180} */
	VK_OBJECT,   /* an object checked against schema; with no schema an
	                opaque object (any members; its .rule, if any, judges),
	                left out of valid_to_bson (added by v17-conv: Telegram's
	                signed widget payload, whose values are strings or numbers) */
	VK_ARRAY,    /* min..max objects, each checked against schema */
	VK_STRINGS,  /* min..max strings, each checked as item (a VK_* scalar) */
	/* Added by v17-tg (Telegram's Update, Payme's JSON-RPC envelope): */
	VK_REAL,  /* a number, whole or not, in min..max: Telegram's latitude */
	VK_RPCID, /* a JSON-RPC 2.0 request id: a string of min..max characters,
	             a number or null (null is a value of the kind, no flag) */
};

/* valid_field.flags */
#define VALID_REQUIRED 0x1 /* must be present when creating (VALID_CREATE) */
#define VALID_NULLABLE 0x2 /* null is accepted (and kept: $set null unsets) */
#define VALID_24H      0x4 /* VK_HHMM: "24:00" accepted (a closing time) */
/*
 * VK_STRING, VK_TEXT: kept byte for byte - not trimmed, control
 * characters allowed (still UTF-8 without NUL) - for values that are
 * compared or signed as sent: passwords, Telegram's signed fields.
 * (Added by v17-conv for fcgi-apps/auth.)
 */
#define VALID_VERBATIM 0x8
/*
 * VK_INT: a number that is not an integer (1.5, 1e3) is refused as a
 * wrong value (422) rather than a wrong type (400), for protocols that
 * tell the two apart: Payme answers a fractional amount -31001 but a
 * string amount -32600. (Added by v17-pay.)
 */
#define VALID_NUMBER 0x10
/*
 * VK_STRING, VK_TEXT: min..max count bytes, not code points - for a
 * protocol's limit in bytes (Telegram's callback_data is 1-64 bytes) or a
 * fixed buffer the value is copied into. (Added by v17-tg.)
 */
#define VALID_BYTES 0x20
/*
 * VK_STRING, VK_TEXT: a value longer than max is cut (in place, at a
 * character boundary) to at most max characters - or bytes, with
 * VALID_BYTES - instead of refused: text shown to people and never
 * compared, such as a Telegram user's display name. (Added by v17-tg.)
 */
#define VALID_CUT 0x40
/*
 * VK_STRING, VK_TEXT: a value longer than max is taken as empty ("")
 * instead of refused: for a signed value that is useless cut (a username,
 * a URL) but must not cost the sign-in it came with.
 */
#define VALID_DROP 0x80

struct valid_error;
struct valid_schema;

/*
 * An extra rule run after the kind's checks passed: v is the (normalized)
 * value, never JSON null; path names it in messages. Returns 0, or -1
 * after valid_fail(e, ...).
 */
typedef int (*valid_rule)(json_object *v, const char *path, struct valid_error *e);

/* One accepted field; written with VALID_FIELD (below). */
struct valid_field {
	const char *name;                  /* the key, in the body and in BSON */
	enum valid_kind kind;              /* what it must hold */
	unsigned flags;                    /* VALID_* */
	int64_t min, max;                  /* strings: code points; ints: value;
	                                      VK_DIGITS: digits; arrays: items */
	const char *const *values;         /* VK_ENUM: NULL-terminated */
	const struct valid_schema *schema; /* VK_OBJECT; VK_ARRAY's elements */
	const struct valid_field *item;    /* VK_STRINGS: each element's rule */
	const char *dflt;                  /* JSON text filled in on create when absent */
	valid_rule rule;                   /* NULL, or an extra check */
};

/*
 * A table entry: name, kind, flags, then designated members as needed
 * (.min, .max, .values, .schema, .item, .dflt, .rule). All designated, so
 * -Wmissing-field-initializers stays quiet whatever is left out.
 */
#define VALID_FIELD(name_, kind_, flags_, ...)                                                     \
	{                                                                                          \
		.name = (name_), .kind = (kind_), .flags = (flags_), __VA_ARGS__                   \
	}

/*
 * valid_schema.flags, for bodies whose shape a provider defines rather
 * than us (added by v17-pay for Payme's params and Click's form):
 * VALID_OPEN     keys not in the table are ignored (not checked, never
 *                read nor stored): providers add fields, and Payme's
 *                account carries merchant-configured ones.
 * VALID_IN_ORDER a missing required field is refused at its place in the
 *                table, not before every value: the first refusal then
 *                follows the table's order, as a protocol whose error code
 *                is that of its first failed check needs.
 */
#define VALID_OPEN     0x1
#define VALID_IN_ORDER 0x2

/* A body, or a nested object: its fields and an optional cross-field rule. */
struct valid_schema {
	const struct valid_field *fields;
	size_t nfields;
	valid_rule rule; /* NULL, or run on the object after all fields passed */
	unsigned flags;  /* VALID_OPEN, VALID_IN_ORDER */
};

#define VALID_SCHEMA(fields_)                                                                      \
	{                                                                                          \
		(fields_), sizeof(fields_) / sizeof((fields_)[0]), NULL, 0                         \
	}
#define VALID_SCHEMA_RULE(fields_, rule_)                                                          \
	{                                                                                          \
		(fields_), sizeof(fields_) / sizeof((fields_)[0]), (rule_), 0                      \
	}
#define VALID_SCHEMA_FLAGS(fields_, rule_, flags_)                                                 \
	{                                                                                          \
		(fields_), sizeof(fields_) / sizeof((fields_)[0]), (rule_), (flags_)               \
	}

#define VALID_PATH_MAX    128
#define VALID_MESSAGE_MAX 320

/* Why a body was refused. */
struct valid_error {
	int status;                      /* 400 shape/type/unknown/missing; 422 value */
	char field[VALID_PATH_MAX];      /* "items[2].quantity"; "" for the body */
	char message[VALID_MESSAGE_MAX]; /* the answer's message, naming field */
};

enum valid_mode {
	VALID_CREATE, /* required fields enforced, defaults filled in */
	VALID_PATCH,  /* only the fields present are checked */
};

/*
 * Checks body (a JSON object) against s; on success normalizes it in place
 * (see above). Refused: a key starting with '$' or holding '.', a key not
 * in the table, a key twice, a missing required field (create), a wrong
 * type (400), a value out of bounds (422). Returns the number of fields
 * the body named (defaults not counted), or -1 with e filled.
 */
int valid_body(const struct valid_schema *s, json_object *body, enum valid_mode mode,
               struct valid_error *e);

/*
 * Parses len bytes with json_parse (depth cap, duplicate and NUL keys
 * refused) then valid_body. *out is the body (the caller's) on success,
 * NULL on failure. Returns valid_body's count or -1.
 */
int valid_json(const struct valid_schema *s, const char *text, size_t len, enum valid_mode mode,
               json_object **out, struct valid_error *e);

/* Fills e (status, path, printf message) and returns -1. */
int valid_fail(struct valid_error *e, int status, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Appends every field present in the (validated) body to out, typed: ids
 * as ObjectIds, integers as int64, locations as {lat, lng} doubles, nested
 * objects and arrays by their schema, null as null. Table order.
 */
void valid_to_bson(const struct valid_schema *s, json_object *body, bson_t *out);

/* ---- typed reads of a validated body (no error cases left to handle) */

/* 1 when body holds name and it is not null. */
int valid_has(json_object *body, const char *name);
/* The string (trimmed), or NULL when absent or null; belongs to body. */
const char *valid_get_str(json_object *body, const char *name);
/*
 * The string into out[size] (a fixed buffer its table entry bounds, with
 * VALID_BYTES and max = size - 1); 1 copied, 0 absent or null (out as it was).
 */
int valid_copy_str(json_object *body, const char *name, char *out, size_t size);
/* The max (VALID_BYTES) of a string copied into type's member buffer: its size less the NUL. */
#define VALID_BUFFER_MAX(type, member) ((int64_t)sizeof(((type *)0)->member) - 1)
int64_t valid_get_int(json_object *body, const char *name, int64_t fallback);
/* VK_REAL: the number, or fallback when absent or null. */
double valid_get_real(json_object *body, const char *name, double fallback);
int valid_get_bool(json_object *body, const char *name, int fallback);
/* 0 and *out, or -1 when absent or null. */
int valid_get_id(json_object *body, const char *name, bson_oid_t *out);
/* VK_ENUM: the index in values, or -1 when absent or null. */
int valid_get_enum(json_object *body, const struct valid_field *f);
/* VK_HHMM: minutes since midnight, or -1 when absent or null. */
int valid_get_minutes(json_object *body, const char *name);
/* VK_LOCATION: 0 and the pair, or -1 when absent or null. */
int valid_get_location(json_object *body, const char *name, double *lat, double *lng);
/* VK_OBJECT or VK_ARRAY: the value (belongs to body) or NULL; *n items. */
json_object *valid_get_array(json_object *body, const char *name, size_t *n);
json_object *valid_get_object(json_object *body, const char *name);

/* ---- the kinds' rules, for query strings (qs.c) and stored data */

/*
 * The one phone rule: digits with optional spaces, '-', '(' and ')', an
 * optional leading '+', 9..15 digits in all, at most 30 bytes; a number
 * whose digits start with the country code 998 has exactly 12 digits
 * (+998 and the 9 digits of an Uzbek number). 1 if s[0..len) is one.
 */
int valid_phone(const char *s, size_t len);
/* "HH:MM" into minutes since midnight; "24:00" only with allow_24. -1 if not. */
int valid_hhmm(const char *s, int allow_24);
/* 1 if s is "YYYY-MM-DD", a real calendar day, year 1970..9999. */
int valid_localday(const char *s);
/* The index of s in the NULL-terminated values, or -1. */
int valid_enum_index(const char *s, const char *const *values);
/* "a, b or c" into buf (truncated to size); returns buf. */
const char *valid_enum_list(const char *const *values, char *buf, size_t size);

struct req;
struct qs;
struct qs_value;
/* Answers e as {"success": false, "message"} with e->status. */
void valid_answer(struct req *r, const struct valid_error *e);
/*
 * The request's query string against a table (NULL, 0: no parameter
 * accepted): qs_parse then qs_check. The texts in vals point into q.
 * Returns 0, or -1 after answering 400.
 */
int valid_query(struct req *r, struct qs *q, const struct valid_field *fields, size_t n,
                struct qs_value *vals);

#endif /* VALID_H */
