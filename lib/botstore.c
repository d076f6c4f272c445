/*
 * botstore.c - the bot's inbox and job queue in MongoDB. Receiving an
 * update (the webhook program, or getUpdates) only stores it; the one
 * worker of the host handles stored updates in update_id order, so one
 * chat's updates are never handled concurrently and its state has a
 * single writer (FACTS.md: FerretDB updates are not atomic). The
 * update_id as _id makes a Telegram retry of an update a duplicate key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "oshxona.h"
#include "bot.h"

#define BOT_INBOX "tg_inbox"
#define BOT_JOBS  "tg_jobs"

int
bot_inbox_put(mongoc_client_t *client, int64_t update_id, const char *raw, size_t len,
              bson_error_t *error)
{
	bson_t doc = BSON_INITIALIZER;
	int rc;

	BSON_APPEND_INT64(&doc, "_id", update_id);
	bson_append_utf8(&doc, "raw", -1, raw, (int)len);
	BSON_APPEND_DATE_TIME(&doc, "at", db_now_ms());
	rc = db_insert(client, BOT_INBOX, &doc, error);
	bson_destroy(&doc);
	if (rc != 0 && db_error_is_duplicate(error))
		rc = 0; /* Telegram sent it again: stored already */
	return rc;
}

int
bot_job_new_order(mongoc_client_t *client, const bson_t *order)
{
	char id[32], hex[25];
	bson_t *filter, *doc = NULL;
	bson_error_t error;
	bson_oid_t oid, branch;
	int rc;

	if (db_doc_oid(order, "_id", &oid) != 0 || db_doc_oid(order, "branch", &branch) != 0)
		return 0;
	filter = BCON_NEW("_id", BCON_OID(&branch));
	rc = db_find_one(client, "branches", filter, NULL, &doc, &error);
	bson_destroy(filter);
	if (rc == 1 && db_doc_int(doc, "staffChatId", 0) == 0)
		rc = 0; /* no staff chat: nothing to tell */
	if (doc != NULL)
		bson_destroy(doc);
	if (rc <= 0) {
		if (rc < 0)
			log_error("bot: branches: %s", error.message);
		return rc;
	}
	bson_oid_to_string(&oid, hex);
	snprintf(id, sizeof(id), "new:%s", hex);
	doc = BCON_NEW("_id", BCON_UTF8(id), "order", BCON_OID(&oid), "at",
	               BCON_DATE_TIME(db_now_ms()));
	rc = db_insert(client, BOT_JOBS, doc, &error);
	bson_destroy(doc);
	if (rc != 0 && !db_error_is_duplicate(&error)) {
		log_error("bot: cannot queue the staff message for order %s: %s", hex,
		          error.message);
		return -1;
	}
	bot_wake();
	return 0;
}

static void
bot_delete(mongoc_collection_t *coll, const bson_t *doc)
{
	bson_t filter = BSON_INITIALIZER;
	bson_error_t error;
	bson_iter_t it;

	if (bson_iter_init_find(&it, doc, "_id"))
		bson_append_iter(&filter, "_id", -1, &it);
	if (!mongoc_collection_delete_one(coll, &filter, NULL, NULL, &error))
		log_error("bot: cannot delete a handled item: %s", error.message);
	bson_destroy(&filter);
}

static void
bot_delete_batch(mongoc_collection_t *coll, bson_t **docs, int n)
{
	bson_t filter = BSON_INITIALIZER, in, arr;
	bson_error_t error;
	bson_iter_t it;
	char k[24];

	BSON_APPEND_DOCUMENT_BEGIN(&filter, "_id", &in);
	BSON_APPEND_ARRAY_BEGIN(&in, "$in", &arr);
	for (int i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "%d", i);
		if (bson_iter_init_find(&it, docs[i], "_id"))
			bson_append_iter(&arr, k, -1, &it);
	}
	bson_append_array_end(&in, &arr);
	bson_append_document_end(&filter, &in);
	if (!mongoc_collection_delete_many(coll, &filter, NULL, NULL, &error))
		log_error("bot: cannot delete handled updates: %s", error.message);
	bson_destroy(&filter);
}

/* Copies up to limit documents of coll sorted by _id into docs; -1 on error. */
static int
bot_fetch(mongoc_collection_t *coll, int limit, bson_t **docs)
{
	bson_t *filter = bson_new();
	bson_t *opts = BCON_NEW("sort", "{", "_id", BCON_INT32(1), "}", "limit", BCON_INT64(limit));
	mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	const bson_t *doc;
	bson_error_t error;
	int n = 0;

	while (n < limit && mongoc_cursor_next(cursor, &doc))
		docs[n++] = bson_copy(doc);
	if (mongoc_cursor_error(cursor, &error)) {
		log_error("bot: cannot read the queue: %s", error.message);
		n = n > 0 ? n : -1;
	}
	mongoc_cursor_destroy(cursor);
	bson_destroy(opts);
	bson_destroy(filter);
	return n;
}

int
bot_drain(mongoc_client_t *client, int limit)
{
	mongoc_collection_t *jobs = db_collection(client, BOT_JOBS);
	mongoc_collection_t *inbox = db_collection(client, BOT_INBOX);
	bson_t **docs = xcalloc((size_t)limit, sizeof(*docs));
	struct tg_update *u = xmalloc(sizeof(*u));
	int n, handled = 0;

	n = bot_fetch(jobs, limit, docs);
	for (int i = 0; i < n; i++) {
		bson_oid_t order;
		if (db_doc_oid(docs[i], "order", &order) == 0)
			bot_staff_new_order(client, &order);
		bot_delete(jobs, docs[i]);
		bson_destroy(docs[i]);
		handled++;
	}
	if (n >= 0)
		n = bot_fetch(inbox, limit, docs);
	/*
	 * The batch leaves the inbox before any of it is handled: an update
	 * that crashes the worker is not tried again, so one bad update
	 * cannot block the rest (a crash costs the rest of its batch, which
	 * the customers tap again). One delete for the batch, not one per
	 * update: on FerretDB's SQLite backend every delete by _id scans.
	 */
	if (n > 0)
		bot_delete_batch(inbox, docs, n);
	for (int i = 0; i < n; i++) {
		uint32_t len = 0;
		bson_iter_t it;
		const char *raw = NULL;
		char err[160];

		if (bson_iter_init_find(&it, docs[i], "raw") && BSON_ITER_HOLDS_UTF8(&it))
			raw = bson_iter_utf8(&it, &len);
		if (raw == NULL || tgupdate_parse(raw, len, u, err, sizeof(err)) != 0)
			log_warn("bot: stored update dropped: %s", raw == NULL ? "no raw" : err);
		else
			bot_handle(client, u);
		bson_destroy(docs[i]);
		handled++;
	}
	free(u);
	free(docs);
	mongoc_collection_destroy(inbox);
	mongoc_collection_destroy(jobs);
	return n < 0 ? -1 : handled;
}

void
bot_wake(void)
{
	const char *path = getenv("BOT_WAKE_SOCKET");
	struct sockaddr_un sa;
	int fd;

	if (path == NULL || *path == '\0' || strlen(path) >= sizeof(sa.sun_path))
		return;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* No worker listening, or its queue full: it will poll anyway. */
	(void)sendto(fd, "w", 1, 0, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
}
