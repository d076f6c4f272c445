/*
 * session.c - customer sessions, as the seed's express-session with
 * connect-mongo kept them: an opaque random id in an HttpOnly cookie, 30
 * days of life, refreshed at most once a day (touchAfter). The database
 * holds only HMAC(SESSION_SECRET, id), so a copy of the sessions
 * collection lets nobody in, and rotating SESSION_SECRET ends every
 * session (as it does in express-session).
 */
#include <string.h>

#include "oshxona.h"

#define SESSION_ID_BYTES 32 /* 256 bits from getrandom */
#define SESSION_ID_HEX   (2 * SESSION_ID_BYTES)

/* The stored key of a session id: hex HMAC-SHA256 under SESSION_SECRET. */
static void
session_key(const char *sid, char out[2 * SHA256_LEN + 1])
{
	unsigned char mac[SHA256_LEN];

	hmac_sha256(app_config.session_secret, strlen(app_config.session_secret), sid, strlen(sid),
	            mac);
	hex_encode(mac, sizeof(mac), out);
}

static void
session_set_cookie(struct req *r, const char *value, int64_t max_age)
{
	char cookie[256];

	if (cookie_format(cookie, sizeof(cookie), SESSION_COOKIE, value, "/", max_age, "Lax",
	                  app_config.production) < 0)
		abort(); /* our own name and hex value always fit */
	resp_header(r, "Set-Cookie", cookie);
}

int
session_start(struct req *r, mongoc_client_t *client, const bson_oid_t *user, bson_error_t *error)
{
	char sid[SESSION_ID_HEX + 1], key[2 * SHA256_LEN + 1];
	int64_t now = db_now_ms();
	mongoc_collection_t *coll = db_collection(client, "sessions");
	bson_t *doc;
	bool ok;

	random_hex(sid, SESSION_ID_BYTES);
	session_key(sid, key);
	doc = BCON_NEW("_id", BCON_UTF8(key), "userId", BCON_OID(user), "createdAt",
	               BCON_DATE_TIME(now), "touchedAt", BCON_DATE_TIME(now), "expiresAt",
	               BCON_DATE_TIME(now + SESSION_LIFETIME_S * 1000), "touches", BCON_INT32(0));
	ok = mongoc_collection_insert_one(coll, doc, NULL, NULL, error);
	bson_destroy(doc);
	mongoc_collection_destroy(coll);
	if (!ok)
		return -1;
	session_set_cookie(r, sid, SESSION_LIFETIME_S);
	return 0;
}

/* The session id from the request's cookie into sid; -1 if none valid. */
static int
session_cookie(struct req *r, char sid[SESSION_ID_HEX + 1])
{
	const char *header = req_header(r, "Cookie");

	if (header == NULL || cookie_get(header, SESSION_COOKIE, sid, SESSION_ID_HEX + 1) != 0 ||
	    strlen(sid) != SESSION_ID_HEX)
		return -1;
	for (size_t i = 0; i < SESSION_ID_HEX; i++) {
		if (!((sid[i] >= '0' && sid[i] <= '9') || (sid[i] >= 'a' && sid[i] <= 'f')))
			return -1;
	}
	return 0;
}

int
session_find(struct req *r, mongoc_client_t *client, bson_oid_t *user, bson_error_t *error)
{
	char sid[SESSION_ID_HEX + 1], key[2 * SHA256_LEN + 1];
	mongoc_collection_t *coll = NULL;
	mongoc_cursor_t *cursor = NULL;
	const bson_t *doc;
	bson_t *filter = NULL;
	bson_iter_t it;
	int64_t now = db_now_ms(), expires = 0, touched = 0;
	int rc = 0;

	if (session_cookie(r, sid) != 0)
		return 0;
	session_key(sid, key);
	coll = db_collection(client, "sessions");
	filter = BCON_NEW("_id", BCON_UTF8(key));
	cursor = mongoc_collection_find_with_opts(coll, filter, NULL, NULL);
	if (!mongoc_cursor_next(cursor, &doc)) {
		rc = mongoc_cursor_error(cursor, error) ? -1 : 0;
		goto done;
	}
	if (bson_iter_init_find(&it, doc, "expiresAt") && BSON_ITER_HOLDS_DATE_TIME(&it))
		expires = bson_iter_date_time(&it);
	if (bson_iter_init_find(&it, doc, "touchedAt") && BSON_ITER_HOLDS_DATE_TIME(&it))
		touched = bson_iter_date_time(&it);
	if (!bson_iter_init_find(&it, doc, "userId") || !BSON_ITER_HOLDS_OID(&it))
		goto done;
	/* FerretDB has no TTL index: expiry is checked here, purged by cron. */
	if (expires <= now)
		goto done;
	bson_oid_copy(bson_iter_oid(&it), user);
	rc = 1;
	if (now - touched >= (int64_t)SESSION_TOUCH_AFTER_S * 1000) {
		/*
		 * A racing second touch writes the same values: harmless, so a
		 * plain update is enough here (no claim needed). "touches"
		 * counts refreshes for the operator and the tests.
		 */
		bson_t *update =
		    BCON_NEW("$set", "{", "touchedAt", BCON_DATE_TIME(now), "expiresAt",
		             BCON_DATE_TIME(now + SESSION_LIFETIME_S * 1000), "}", "$inc", "{",
		             "touches", BCON_INT32(1), "}");
		bson_error_t uerr;
		if (mongoc_collection_update_one(coll, filter, update, NULL, NULL, &uerr))
			session_set_cookie(r, sid, SESSION_LIFETIME_S);
		else
			log_warn("session touch failed: %s", uerr.message);
		bson_destroy(update);
	}
done:
	mongoc_cursor_destroy(cursor);
	bson_destroy(filter);
	mongoc_collection_destroy(coll);
	return rc;
}

int
session_end(struct req *r, mongoc_client_t *client, bson_error_t *error)
{
	char sid[SESSION_ID_HEX + 1], key[2 * SHA256_LEN + 1];
	mongoc_collection_t *coll;
	bson_t *filter;
	bool ok;

	session_set_cookie(r, "", 0);
	if (session_cookie(r, sid) != 0)
		return 0;
	session_key(sid, key);
	coll = db_collection(client, "sessions");
	filter = BCON_NEW("_id", BCON_UTF8(key));
	ok = mongoc_collection_delete_one(coll, filter, NULL, NULL, error);
	bson_destroy(filter);
	mongoc_collection_destroy(coll);
	return ok ? 0 : -1;
}
