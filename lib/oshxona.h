/*
 * oshxona.h - the one public header of lib/, shared by every FastCGI
 * program, cron job and tool.
 *
 * Conventions: functions return 0 on success and -1 on failure unless
 * stated otherwise; a function's prefix is the name of its file; memory a
 * function returns is owned by the caller unless the comment says otherwise.
 * Allocation failure aborts (xmalloc and friends), so callers never check
 * for NULL from them.
 */
#ifndef OSHXONA_H
#define OSHXONA_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <fcgiapp.h>
#include <json.h>
#include <mongoc/mongoc.h>

/* ---------------------------------------------------------------- util.c */

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/*
 * Strict decimal integer: optional '-', then 1..19 digits, nothing else (no
 * spaces, no '+', no exponent). Fails unless min <= value <= max.
 */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Exactly 24 hexadecimal digits, nothing else. */
int parse_oid(const char *s, bson_oid_t *out);

/* 1 if the len bytes are well-formed UTF-8 (no overlongs, no surrogates). */
int utf8_valid(const char *s, size_t len);

/* Number of code points in a valid UTF-8 string. */
size_t utf8_length(const char *s);

/*
 * The length of the longest prefix of valid UTF-8 s, at most n bytes, that
 * ends on a character boundary (s holds more than n bytes).
 */
size_t utf8_cut(const char *s, size_t n);

/* Constant-time comparison of two byte strings; 1 when equal. */
int bytes_equal_ct(const void *a, size_t alen, const void *b, size_t blen);

/* 64-bit FNV-1a; used for ETags, never for security. */
uint64_t hash_fnv1a64(const void *data, size_t len);

/* ---------------------------------------------------------------- log.c */

enum log_level { LOGL_DEBUG, LOGL_INFO, LOGL_WARN, LOGL_ERROR };

/*
 * prog names the program in every line; level is "debug", "info", "warn" or
 * "error" (anything else means info); file NULL or "" means stderr.
 */
void log_init(const char *prog, const char *level, const char *file);
int log_level_parse(const char *s);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOGL_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOGL_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOGL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOGL_ERROR, __VA_ARGS__)

/*
 * A line with structured fields: fields (borrowed, may be NULL) is written
 * as "fields":{...} beside the message.
 */
void log_fields(enum log_level level, json_object *fields, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The request every following line belongs to (nginx's X-Request-Id):
 * 1..64 of [A-Za-z0-9._:-], anything else (or NULL) clears it.
 */
void log_set_request_id(const char *id);
const char *log_get_request_id(void);
int log_request_id_valid(const char *id);

/*
 * For tests: the clock lines are stamped and files are named by (NULL:
 * the real one), and the rotation limits (0: 20 MB, 14 and 30 days).
 * LOG_DIR is read by log_init.
 */
void log_set_clock(int64_t (*now_ms)(void));
void log_set_limits(long max_bytes, int app_days, int error_days);

/* ------------------------------------------------------------- config.c */

/* Every setting the programs read; strings point into the environment. */
struct config {
	const char *mongodb_uri;       /* MONGODB_URI */
	const char *node_env;          /* NODE_ENV: "development" | "production" */
	int production;                /* NODE_ENV == production */
	const char *log_level;         /* LOG_LEVEL */
	const char *log_file;          /* LOG_FILE ("" = stderr) */
	const char *jwt_secret;        /* JWT_SECRET */
	const char *session_secret;    /* SESSION_SECRET */
	const char *bot_token;         /* BOT_TOKEN */
	const char *admin_panel_url;   /* ADMIN_PANEL_URL */
	const char *user_frontend_url; /* USER_FRONTEND_URL */
	const char *api_base_url;      /* API_BASE_URL */
	const char *company_name;      /* COMPANY_NAME */
	int64_t port;                  /* PORT */
};

/*
 * Reads KEY=VALUE lines of a .env file into the environment without
 * overriding variables already set (the process environment wins). A
 * missing file is not an error. Lines: comments (#), blank lines, optional
 * "export ", values optionally in single or double quotes.
 */
int config_read_envfile(const char *path);

/*
 * Fills cfg from the environment (after reading envfile, which may be
 * NULL for ".env" in the working directory). In production a missing or
 * short (< 32 bytes) JWT_SECRET or SESSION_SECRET is an error; in
 * development they are generated at random and a warning is logged.
 * Writes a reason into err on failure.
 */
int config_load(struct config *cfg, const char *envfile, char *err, size_t errlen);

/* ---------------------------------------------------------------- http.c */

enum http_method {
	HTTP_GET = 1 << 0,
	HTTP_HEAD = 1 << 1,
	HTTP_POST = 1 << 2,
	HTTP_PUT = 1 << 3,
	HTTP_PATCH = 1 << 4,
	HTTP_DELETE = 1 << 5,
	HTTP_OPTIONS = 1 << 6,
	HTTP_OTHER = 1 << 7
};

#define REQ_MAX_PARAMS       4
#define REQ_BODY_MAX_DEFAULT (64 * 1024)

/* One request in flight; everything in it is owned by it. */
struct req {
	FCGX_Request *fcgx;                 /* borrowed from the accept loop */
	enum http_method method;            /* parsed REQUEST_METHOD */
	char *path;                         /* normalized DOCUMENT_URI */
	char *query;                        /* raw QUERY_STRING, "" if none */
	char *body;                         /* NUL-terminated, after req_read_body */
	size_t body_len;                    /* bytes in body */
	const char *params[REQ_MAX_PARAMS]; /* {captures} of the matched route */
	char *param_buf;                    /* storage behind params */
	char *resp_headers;                 /* extra response header lines */
	size_t resp_headers_len;            /* bytes used in resp_headers */
	int status;                         /* status sent, 0 before */
};

enum http_method http_method_parse(const char *s);
const char *http_method_name(enum http_method m);
/* "Not Found" for 404 and so on; "Unknown" for codes we never send. */
const char *http_reason(int status);

/* Fills r from the FastCGI parameters; r->fcgx must be set. */
void req_init(struct req *r, FCGX_Request *fcgx);
void req_free(struct req *r);

/*
 * A request header by its HTTP name ("If-None-Match"); NULL if absent. The
 * string lives until FCGX_Finish_r.
 */
const char *req_header(const struct req *r, const char *name);

/*
 * Reads the body, at most max bytes. Returns 0, or the HTTP status to
 * answer: 400 (malformed Content-Length or short body), 411 (missing length
 * on a body-carrying method is fine: an empty body), 413 (too large).
 */
int req_read_body(struct req *r, size_t max);

/* Adds a response header; name and value must not hold CR or LF. */
void resp_header(struct req *r, const char *name, const char *value);

/* Sends the whole response; the body is left out for HEAD and 304. */
void resp_send(struct req *r, int status, const char *content_type, const char *body, size_t len);

/* Serializes obj (not consumed) and sends it as application/json. */
void resp_json(struct req *r, int status, json_object *obj);

/*
 * Like resp_json with status 200, but with a strong ETag computed over the
 * bytes, answering 304 when If-None-Match matches it.
 */
void resp_json_cached(struct req *r, json_object *obj);
/* The same for JSON bytes already serialized (a cached answer). */
void resp_body_cached(struct req *r, const char *body, size_t len);
/* The same with the ETag given (a quoted entity tag). */
void resp_body_etag(struct req *r, const char *body, size_t len, const char *etag);

/* {"success": false, "message": ...} with the given status. */
void resp_error(struct req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The one success envelope: {"success": true, "data": data}, a new object
 * (the caller's; json_object_put) that takes data over. Add siblings of
 * "data" (total, limit...) to it before sending.
 */
json_object *resp_envelope(json_object *data);
/* Sends resp_envelope(data) with status and Cache-Control: no-store; takes data. */
void resp_data(struct req *r, int status, json_object *data);

/*
 * Reads and parses a JSON object body of at most max bytes. Returns it
 * (the caller's, json_object_put), or NULL after answering 415 (not
 * application/json), 413, 400 (malformed, not an object, or a key that
 * starts with '$' or holds '.': never passed on to the database).
 */
json_object *req_json(struct req *r, size_t max);

/*
 * Answers a failed database call: 503 when the database cannot be reached
 * (the client may retry), else 500; logs the cause once.
 */
void db_answer_error(struct req *r, const bson_error_t *error);

/* 429 with Retry-After and {"success": false, "message", "retryAfter"}. */
void resp_rate_limited(struct req *r, int64_t retry_after, const char *message);

/*
 * Hands the answer already written to nginx now, before slow after-work
 * (announcements, Telegram), so the client never waits for it. After
 * this, nothing of r but the struct's own copies (path, query, body,
 * params) may be used: no header, no param, no further answer.
 */
void resp_finish(struct req *r);

/* 1 if an If-None-Match header value matches etag (weak comparison). */
int http_etag_matches(const char *if_none_match, const char *etag);

/* --------------------------------------------------------------- route.c */

typedef void (*route_handler)(struct req *r);

struct route {
	unsigned methods;      /* mask of enum http_method */
	const char *pattern;   /* "/api/products/{id}": {x} captures one segment */
	route_handler handler; /* called with r->params filled */
};

/*
 * Matches path against pattern, writing captures into r->params. Returns 1
 * on a match. Captures are never empty and never contain '/'.
 */
int route_match(struct req *r, const char *pattern);

/*
 * Runs the first route whose pattern and method match. A path that matches
 * with another method gives 405 with an Allow header; no match gives 404.
 * HEAD is allowed wherever GET is.
 */
void route_dispatch(struct req *r, const struct route *routes, size_t n);

/* ------------------------------------------------------------------ qs.c */

#define QS_MAX_LEN   1024
#define QS_MAX_PAIRS 16

struct qs_pair {
	const char *name;  /* percent-decoded, valid UTF-8, no control bytes */
	const char *value; /* same; "" when the pair has no '=' */
};

struct qs {
	struct qs_pair pairs[QS_MAX_PAIRS];
	size_t n;
	char buf[QS_MAX_LEN + 2 * QS_MAX_PAIRS + 1]; /* decoded names and values */
};

/*
 * Parses a raw query string. Rejects (-1, with a message in err): more than
 * QS_MAX_LEN bytes or QS_MAX_PAIRS pairs, bad %-escapes, decoded bytes that
 * are not UTF-8 or are control characters, an empty name, a repeated name.
 */
int qs_parse(const char *raw, struct qs *out, char *err, size_t errlen);

/*
 * URL-decodes [s, s+n) into w ('+' is a space, %XX a byte), as browsers'
 * URLSearchParams and Telegram's initData do. Returns the bytes written
 * (never more than n), or -1 on a bad escape.
 */
int qs_url_decode(const char *s, size_t n, char *w);
/* 1 when the n bytes are valid UTF-8 without control characters. */
int qs_text_clean(const char *s, size_t n);

/* One parameter's value after qs_check, by its field's valid.h kind. */
struct qs_value {
	int present;
	int64_t i;        /* VK_INT; VK_ENUM: the index in values; VK_HHMM: minutes */
	int b;            /* VK_BOOL */
	bson_oid_t oid;   /* VK_ID */
	const char *text; /* every kind: the value as sent, pointing into the struct qs */
};

struct valid_field;
struct valid_error;
/*
 * Checks every pair against a valid.h table - the same struct and kinds as
 * a body's (VK_INT, VK_ID, VK_STRING, VK_TEXT, VK_BOOL, VK_LOCALDAY,
 * VK_HHMM, VK_ENUM, VK_DIGITS); vals has nfields entries, in table order.
 * An unknown name or a value out of its kind or range is -1 with e: status
 * 400, the parameter in e->field and named in e->message.
 */
int qs_check(const struct qs *q, const struct valid_field *fields, size_t nfields,
             struct qs_value *vals, struct valid_error *e);

/* ---------------------------------------------------------------- json.c */

#define JSON_MAX_DEPTH 16

/* Serialization flags used everywhere: compact, '/' not escaped. */
#define JSON_OUT_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/*
 * Parses exactly one JSON value from len bytes with nesting capped at
 * JSON_MAX_DEPTH; trailing non-space bytes are an error. Returns NULL and
 * a message in err on failure; the result is the caller's (json_object_put).
 */
json_object *json_parse(const char *s, size_t len, char *err, size_t errlen);

/* obj[key] if it is a string, else NULL; the string belongs to obj. */
const char *json_get_string(json_object *obj, const char *key);

/*
 * obj[key] if it is an integer (not a double, not a numeric string) in
 * [min, max]. Returns 0, or -1 when missing or not such an integer.
 */
int json_get_int64(json_object *obj, const char *key, int64_t min, int64_t max, int64_t *out);
/* The same for a value v itself. */
int json_int64(json_object *v, int64_t min, int64_t max, int64_t *out);

/*
 * 1 if any object key anywhere in v starts with '$' or contains '.', or
 * any string holds a NUL: such input never reaches a query or an update.
 */
int json_has_operator_keys(json_object *v);

/*
 * Converts a BSON document to JSON: ObjectId becomes its 24-hex string,
 * dates become ISO-8601 UTC strings, int32/int64 stay integers. New object,
 * owned by the caller.
 */
json_object *json_from_bson(const bson_t *doc);

/*
 * json_from_bson keeping only the n keys (absent ones skipped): the public
 * view of a document. id_name, when given, renames "_id" (e.g. "id").
 */
json_object *json_from_bson_pick(const bson_t *doc, const char *const *keys, size_t n,
                                 const char *id_name);

/* ------------------------------------------------------------------ db.c */

struct db_options {
	int32_t server_selection_ms; /* 0 = the seed's 8000 */
	int32_t socket_ms;           /* 0 = the seed's 60000 */
	int32_t connect_ms;          /* 0 = 5000 */
};

/*
 * Creates the process's client pool from uri with the seed's settings
 * (maxPoolSize 15, serverSelectionTimeoutMS 8000, socketTimeoutMS 60000,
 * retryWrites, w:majority) unless the URI sets them itself. Call once per
 * process, after db_library_init.
 */
int db_init(const char *uri, const char *appname, const struct db_options *opt);
/* mongoc_init, without the driver's /dev/shm counters; call it instead. */
void db_library_init(void);
void db_cleanup(void);

/* A client from the pool; hand it back with db_push. Never NULL. */
mongoc_client_t *db_pop(void);
void db_push(mongoc_client_t *client);

/* The URI's database name (default "oshxona"), valid after db_init. */
const char *db_database_name(void);

/* The named collection in the URI's database (default "oshxona"). */
mongoc_collection_t *db_collection(mongoc_client_t *client, const char *name);

/* {ping: 1}; 0 when the server answered. */
int db_ping(mongoc_client_t *client, bson_error_t *error);

/* Creates every index the programs rely on; idempotent. */
int db_ensure_indexes(mongoc_client_t *client, bson_error_t *error);

/*
 * 1 when an error means "the database cannot be reached right now" (server
 * selection, socket, connection): the caller answers 503, not 500.
 */
int db_error_is_unavailable(const bson_error_t *error);

/* 1 when a write failed on a unique index (E11000): the claim was taken. */
int db_error_is_duplicate(const bson_error_t *error);

/* Wall-clock milliseconds since the epoch, as BSON dates hold them. */
int64_t db_now_ms(void);

/*
 * The first document filter finds, as a copy in *out (the caller's,
 * bson_destroy). Returns 1 found, 0 none, -1 on error. On FerretDB only a
 * filter on _id is answered without scanning the collection.
 */
int db_find_one(mongoc_client_t *client, const char *collection, const bson_t *filter,
                const bson_t *opts, bson_t **out, bson_error_t *error);
/* insert_one; 0, or -1 with error set (db_error_is_duplicate for claims). */
int db_insert(mongoc_client_t *client, const char *collection, const bson_t *doc,
              bson_error_t *error);

/* Typed fields of a document: NULL, the fallback, 0 or -1 when absent or of another type. */
const char *db_doc_utf8(const bson_t *doc, const char *key);
int64_t db_doc_int(const bson_t *doc, const char *key, int64_t fallback);
int db_doc_bool(const bson_t *doc, const char *key);
int db_doc_oid(const bson_t *doc, const char *key, bson_oid_t *out);

/* -------------------------------------------------------------- search.c */

#define SEARCH_PREFIX_MAX 24 /* code points kept of a word or a prefix */
#define SEARCH_WORDS_MAX  8  /* words of a query that count */

/*
 * Normalizes text for search: lower case (ASCII, Latin-1, Cyrillic), 'ё' as
 * 'е', Uzbek apostrophes (' ` ʻ ʼ ‘ ’) dropped, and every other non-letter,
 * non-digit as a word break. Calls cb once per word, in order, each word
 * cut to SEARCH_PREFIX_MAX code points. Returns the number of words.
 */
size_t search_words(const char *text, void (*cb)(const char *word, void *arg), void *arg);

/*
 * Appends to array every distinct prefix (1..SEARCH_PREFIX_MAX code points)
 * of every word of the n texts, sorted: the products' searchPrefixes field,
 * which an equality match on a query word then finds through an index.
 */
void search_prefixes(const char *const *texts, size_t n, bson_t *array);

/*
 * Appends to filter what finds the products matching every word of query
 * (at most SEARCH_WORDS_MAX): {"$and": [{"searchPrefixes": word}, ...]},
 * an exact match an index answers; a query without words matches nothing.
 */
void search_filter(bson_t *filter, const char *query);

/* ----------------------------------------------------------------- app.c */

struct app {
	const char *name;     /* program name for logs */
	int uses_db;          /* 1: create the pool at start-up */
	struct db_options db; /* pool settings when uses_db */
	const struct route *routes;
	size_t nroutes;
};

/* The process-wide configuration, valid after app_main started. */
extern struct config app_config;

/*
 * The FastCGI accept loop every program in fcgi-apps/ runs: loads the
 * configuration, sets up logging and the pool, then serves requests on fd
 * 0 (the socket spawn-fcgi hands over) until killed. Returns the exit code.
 */
int app_main(const struct app *app, int argc, char **argv);

/* ----------------------------------------------------------- menucache.c */

/*
 * The public menu's cache, for a FastCGI deployment where every child is
 * its own process. Two layers, both dropped by one call:
 *  - files under MENU_CACHE_DIR (the environment; stack.sh sets
 *    $STACK_DIR/cache, production /var/cache/oshxona/menu) holding the
 *    exact bytes of the query-less menu answers, which nginx serves itself
 *    (try_files) for GET and HEAD;
 *  - in each menu child, a table of answers to query URIs (search): at
 *    most 1000 entries, 5 minutes each (the seed's MemoryCache), valid only
 *    while the host's generation number is the one they were built under.
 * The generation is a 64-bit counter in MENU_CACHE_DIR/generation, shared
 * by mmap among all processes of the host.
 */

/*
 * After a catalogue write is acknowledged: bumps the generation, then
 * deletes every materialized file, so the very next menu request on this
 * host, in any process, reads the database. Returns 0, or -1 (logged; the
 * caller's write stands, and answers stay at most 5 minutes stale).
 */
int menucache_invalidate(void);

/* The host's current generation (0 when the cache is not configured). */
uint64_t menucache_generation(void);

/*
 * Materializes body as the file nginx serves for uri (a menu path without
 * query), built from data read under generation gen: written to a
 * temporary name, renamed into place, and removed again if the generation
 * moved meanwhile (an invalidation raced the build). Returns 1 when the
 * file stands, 0 when not (no cache configured, or the data was stale),
 * -1 on error.
 */
int menucache_store_file(const char *uri, const char *body, size_t len, uint64_t gen);
/*
 * The ETag nginx will give the file stored for (gen, len): its own
 * "<mtime hex>-<size hex>", so the program's first answer and nginx's
 * later ones agree and a client revalidates with 304 from the start.
 */
void menucache_file_etag(uint64_t gen, size_t len, char *out, size_t outlen);

/*
 * The in-process table: a copy of the cached body for key if it was built
 * under the current generation less than 5 minutes ago (NULL otherwise);
 * the pointer stays valid until the next menucache_* call.
 */
const char *menucache_get(const char *key, size_t *len);
void menucache_put(const char *key, const char *body, size_t len, uint64_t gen);

/* ------------------------------------------------------------ tashkent.c */

/* Local time in Asia/Tashkent (UTC+5, no daylight saving). */
struct tashkent_time {
	char day[11]; /* "2026-11-30": the order's local day for analytics */
	int hour;     /* 0..23 */
	int minute;   /* 0..59 */
	int wday;     /* 0 = Monday .. 6 = Sunday */
};

void tashkent_time(int64_t utc_ms, struct tashkent_time *t);

/*
 * 1 when a branch with these workingHours ({"mon": {"open": "10:00",
 * "close": "23:00"}, ...}) is open at utc_ms; closing times past midnight
 * (close < open) belong to the day the shift opened. A day without hours
 * is closed.
 */
int tashkent_is_open(const bson_t *hours, int64_t utc_ms);

/* --------------------------------------------------------------- httpc.c */

#include <curl/curl.h>

/*
 * The process's libcurl handle kept in *slot (a static of the caller, one
 * per purpose): made on first use after starting libcurl once, reset to
 * default options on every later use while keeping its open connection.
 * NULL when libcurl cannot start.
 */
CURL *httpc_handle(CURL **slot);

/* An answer captured by httpc_write: at most max bytes, NUL-terminated. */
struct httpc_reply {
	char *data;    /* xmalloc'ed; the caller frees it */
	size_t len;    /* bytes in data */
	size_t max;    /* cap, set by the caller */
	int truncated; /* 1 when more came than max */
};

/* CURLOPT_WRITEFUNCTION for a struct httpc_reply in CURLOPT_WRITEDATA. */
size_t httpc_write(char *ptr, size_t size, size_t nmemb, void *arg);

/* ----------------------------------------------------------------- job.c */

/*
 * Takes the cron job's exclusive lock ($OSHXONA_LOCK_DIR, default /tmp,
 * file oshxona-<name>.lock), held until the process exits. Returns the
 * lock's descriptor, -2 when another run holds it (skip quietly), -1 on
 * error.
 */
int job_lock(const char *name);

/*
 * A cron job's start: logging as name, its lock, the configuration, the
 * database. Returns 0 with *client set (go on; finish with job_end), or
 * the exit code with *client NULL: 0 when another run holds the lock, 1
 * on an error (logged).
 */
int job_start(const char *name, mongoc_client_t **client);
void job_end(mongoc_client_t *client);

/* ---------------------------------------------------------------- cors.c */

/*
 * CORS for the two front ends: when Origin is exactly ADMIN_PANEL_URL's or
 * USER_FRONTEND_URL's origin, adds Access-Control-Allow-Origin (that
 * origin) and -Allow-Credentials; any other origin gets no CORS headers.
 * A preflight (OPTIONS with Access-Control-Request-Method) is answered
 * here: 204 with the allowed methods and headers, or 403 for another
 * origin. Returns 1 when it answered the request, else 0.
 */
int cors_handle(struct req *r);
/* The origin ("scheme://host[:port]") of url into out; -1 if it has none. */
int cors_origin_of(const char *url, char *out, size_t outlen);

#include "auth.h"
#include "notify.h"

/* ------------------------------------------------------------- session.c */

#define SESSION_COOKIE        "oshxona_sid"
#define SESSION_LIFETIME_S    ((int64_t)30 * 24 * 3600) /* the seed's cookie maxAge */
#define SESSION_TOUCH_AFTER_S ((int64_t)24 * 3600)      /* the seed's touchAfter */

/*
 * Starts a customer session for user: stores HMAC(SESSION_SECRET, id) with
 * expiresAt now + 30 days and sets the HttpOnly, SameSite=Lax cookie
 * (Secure in production). Returns 0, or -1 with error set.
 */
int session_start(struct req *r, mongoc_client_t *client, const bson_oid_t *user,
                  bson_error_t *error);
/*
 * The user of the request's session cookie. Returns 1 and sets *user for a
 * live session (refreshing expiresAt and the cookie when the last refresh
 * is 24 h old or more), 0 for no, an unknown or an expired session, -1 on
 * a database error.
 */
int session_find(struct req *r, mongoc_client_t *client, bson_oid_t *user, bson_error_t *error);
/* Deletes the request's session (if any) and expires the cookie. */
int session_end(struct req *r, mongoc_client_t *client, bson_error_t *error);

/* ------------------------------------------------------------ attempts.c */

/*
 * 1 when key already has limit attempts in the last window_s seconds
 * (*retry_after: seconds until one ages out), 0 when another is allowed,
 * -1 on a database error.
 */
int attempts_check(mongoc_client_t *client, const char *key, int64_t limit, int64_t window_s,
                   int64_t *retry_after, bson_error_t *error);
/* Records one attempt under key (kept window_s seconds). */
int attempts_add(mongoc_client_t *client, const char *key, int64_t window_s, bson_error_t *error);
/* Forgets every attempt under key. */
int attempts_clear(mongoc_client_t *client, const char *key, bson_error_t *error);

/* --------------------------------------------------------------- authz.c */

#define STAFF_COOKIE      "oshxona_token"
#define STAFF_TOKEN_TTL_S ((int64_t)12 * 3600) /* one working day */

enum who_kind { WHO_NOBODY, WHO_CUSTOMER, WHO_STAFF };

/* Who is asking, as established by authz_identify. */
struct who {
	enum who_kind kind;
	bson_oid_t id;                         /* users._id (customer) or staff._id */
	char role[16];                         /* staff: owner | manager | operator */
	bson_oid_t branches[JWT_MAX_BRANCHES]; /* staff: where they work */
	size_t nbranches;
};

enum authz_rule {
	AUTHZ_PUBLIC,       /* anyone */
	AUTHZ_ANY,          /* any signed-in customer or staff member */
	AUTHZ_CUSTOMER,     /* a customer with a live session */
	AUTHZ_STAFF,        /* any active staff member */
	AUTHZ_BRANCH_STAFF, /* staff of the given branch, or an owner */
	AUTHZ_OWNER,        /* an owner */
};

/*
 * Establishes who is asking: a staff JWT (Bearer or cookie) checked against
 * the live staff record, else a customer session. Returns 1 when someone,
 * 0 when nobody (no or an invalid credential), -1 on a database error.
 */
int authz_identify(struct req *r, mongoc_client_t *client, struct who *who, bson_error_t *error);
/* 1 when who is staff who may act at branch (owners: every branch). */
int authz_branch(const struct who *who, const bson_oid_t *branch);
/*
 * The one line every endpoint starts with: checks rule (branch only for
 * AUTHZ_BRANCH_STAFF). Returns 0, or -1 after answering 401 (nobody),
 * 403 (not allowed) or 503 (database down).
 */
int authz(struct req *r, mongoc_client_t *client, enum authz_rule rule, const bson_oid_t *branch,
          struct who *who);

/* ------------------------------------------------------------ dbfields.c */

/* A field that hot queries filter on by equality, in a collection. */
struct db_field {
	const char *collection;
	const char *field;
};

/* Every such field (n set to their number); see dbfields.c. */
const struct db_field *db_equality_fields(size_t *n);

#include "upload.h"

#endif /* OSHXONA_H */
