/*
 * attempts.c - sliding-window counters kept in the database, so a limit
 * holds across every process and every host (the login limit). Each
 * attempt is its own document: FerretDB makes no $inc atomic (FACTS.md),
 * but every insert counts, and a count over a window is exact.
 */
#include "oshxona.h"

int
attempts_check(mongoc_client_t *client, const char *key, int64_t limit, int64_t window_s,
               int64_t *retry_after, bson_error_t *error)
{
	int64_t now = db_now_ms(), n = 0, oldest = 0;
	mongoc_collection_t *coll = db_collection(client, "login_attempts");
	bson_t *filter = BCON_NEW("key", BCON_UTF8(key), "at", "{", "$gt",
	                          BCON_DATE_TIME(now - window_s * 1000), "}");
	bson_t *opts = BCON_NEW("sort", "{", "at", BCON_INT32(1), "}", "limit", BCON_INT64(limit),
	                        "projection", "{", "at", BCON_INT32(1), "}");
	mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	const bson_t *doc;
	bson_iter_t it;
	int rc = 0;

	*retry_after = 0;
	while (mongoc_cursor_next(cursor, &doc)) {
		if (n == 0 && bson_iter_init_find(&it, doc, "at") && BSON_ITER_HOLDS_DATE_TIME(&it))
			oldest = bson_iter_date_time(&it);
		n++;
	}
	if (mongoc_cursor_error(cursor, error)) {
		rc = -1;
	} else if (n >= limit) {
		/* The window frees a slot when its oldest attempt ages out. */
		*retry_after = (oldest + window_s * 1000 - now + 999) / 1000;
		if (*retry_after < 1)
			*retry_after = 1;
		rc = 1;
	}
	mongoc_cursor_destroy(cursor);
	bson_destroy(opts);
	bson_destroy(filter);
	mongoc_collection_destroy(coll);
	return rc;
}

int
attempts_add(mongoc_client_t *client, const char *key, int64_t window_s, bson_error_t *error)
{
	int64_t now = db_now_ms();
	mongoc_collection_t *coll = db_collection(client, "login_attempts");
	bson_t *doc = BCON_NEW("key", BCON_UTF8(key), "at", BCON_DATE_TIME(now), "expiresAt",
	                       BCON_DATE_TIME(now + window_s * 1000));
	bool ok = mongoc_collection_insert_one(coll, doc, NULL, NULL, error);

	bson_destroy(doc);
	mongoc_collection_destroy(coll);
	return ok ? 0 : -1;
}

int
attempts_clear(mongoc_client_t *client, const char *key, bson_error_t *error)
{
	mongoc_collection_t *coll = db_collection(client, "login_attempts");
	bson_t *filter = BCON_NEW("key", BCON_UTF8(key));
	bool ok = mongoc_collection_delete_many(coll, filter, NULL, NULL, error);

	bson_destroy(filter);
	mongoc_collection_destroy(coll);
	return ok ? 0 : -1;
}
