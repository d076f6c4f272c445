/*
 * users.c - the customer's users document by Telegram id (users.h): one
 * upsert for the Mini App's sign-in and for the bot.
 */
#include <string.h>

#include "oshxona.h"
#include "users.h"

static const char *
user_or_empty(const char *s)
{
	return s != NULL ? s : "";
}

/* The $set of an existing user: updatedAt and what this caller knows. */
static bson_t *
user_update(const struct user_telegram *u, int64_t now)
{
	bson_t *update = bson_new(), set;

	BSON_APPEND_DOCUMENT_BEGIN(update, "$set", &set);
	if (u->first_name != NULL)
		BSON_APPEND_UTF8(&set, "firstName", u->first_name);
	if (u->last_name != NULL)
		BSON_APPEND_UTF8(&set, "lastName", u->last_name);
	if (u->username != NULL)
		BSON_APPEND_UTF8(&set, "username", u->username);
	if (u->photo_url != NULL)
		BSON_APPEND_UTF8(&set, "photoUrl", u->photo_url);
	if (u->phone != NULL)
		BSON_APPEND_UTF8(&set, "phone", u->phone);
	if (u->language_chosen && u->language != NULL)
		BSON_APPEND_UTF8(&set, "language", u->language);
	BSON_APPEND_DATE_TIME(&set, "updatedAt", now);
	bson_append_document_end(update, &set);
	return update;
}

/* A new user's document. */
static bson_t *
user_new(const struct user_telegram *u, const bson_oid_t *id, int64_t now)
{
	bson_t *doc = BCON_NEW("_id", BCON_OID(id), "telegramId", BCON_INT64(u->telegram_id),
	                       "firstName", BCON_UTF8(user_or_empty(u->first_name)), "lastName",
	                       BCON_UTF8(user_or_empty(u->last_name)), "username",
	                       BCON_UTF8(user_or_empty(u->username)), "photoUrl",
	                       BCON_UTF8(user_or_empty(u->photo_url)), "language",
	                       BCON_UTF8(u->language != NULL ? u->language : "uz"));

	if (u->phone != NULL)
		BSON_APPEND_UTF8(doc, "phone", u->phone);
	BSON_APPEND_DATE_TIME(doc, "createdAt", now);
	BSON_APPEND_DATE_TIME(doc, "updatedAt", now);
	return doc;
}

int
user_upsert_telegram(mongoc_client_t *client, const struct user_telegram *u, bson_oid_t *id,
                     bson_error_t *error)
{
	mongoc_collection_t *coll = db_collection(client, "users");
	bson_t *filter = BCON_NEW("telegramId", BCON_INT64(u->telegram_id));
	int64_t now = db_now_ms();
	int rc = -1;

	/* Twice at most: a lost insert race finds the winner on the second pass. */
	for (int tries = 0; tries < 2 && rc < 0; tries++) {
		bson_t *doc = NULL, *write;
		int found = db_find_one(client, "users", filter, NULL, &doc, error);
		bool ok;

		if (found < 0)
			break;
		if (found) {
			write = user_update(u, now);
			ok = mongoc_collection_update_one(coll, filter, write, NULL, NULL, error);
			if (ok && db_doc_oid(doc, "_id", id) == 0)
				rc = 0;
			else if (ok)
				bson_set_error(error, 0, 0, "a users document without an ObjectId");
			bson_destroy(write);
			bson_destroy(doc);
			break;
		}
		bson_oid_init(id, NULL);
		write = user_new(u, id, now);
		ok = mongoc_collection_insert_one(coll, write, NULL, NULL, error);
		bson_destroy(write);
		if (ok)
			rc = 0;
		else if (!db_error_is_duplicate(error))
			break;
	}
	bson_destroy(filter);
	mongoc_collection_destroy(coll);
	return rc;
}
