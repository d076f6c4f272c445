/*
 * outbox.c - what could not leave the host at once waits in the outbox
 * collection for the cron/outbox-retry job, with backoff. The job runs
 * under job_lock, so one runner owns every item it picked: no claims and
 * no conditional updates (FACTS.md: on FerretDB they do not serialize);
 * the only writes to a queued item are the runner's. Delivery is at least
 * once: a crash between a send and its delete sends that item again.
 *
 * An item: {_id, kind: "telegram" | "publish", chatId, text (telegram) |
 * channelKind, channelId, event, data (publish), attempts, nextAt,
 * createdAt, expiresAt (publish only), lastError}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oshxona.h"

#define OUTBOX_COLLECTION      "outbox"
#define OUTBOX_DEAD_COLLECTION "outbox_dead"
#define OUTBOX_BACKOFF_MS      ((int64_t)30 * 1000)     /* x 2^attempts */
#define OUTBOX_BACKOFF_MAX_MS  ((int64_t)3600 * 1000)   /* never longer than an hour */
#define OUTBOX_PUBLISH_TTL_MS  ((int64_t)5 * 60 * 1000) /* board events older are dropped */
#define OUTBOX_PUBLISH_ERROR   "Nchan did not accept the event"

/*
 * nextAt after a failure that brought the item to attempts tries:
 * now + min(30 s * 2^attempts, 1 h), or Telegram's retry_after when
 * that is longer.
 */
static int64_t
outbox_next_at(int64_t now, int64_t attempts, int64_t retry_after_s)
{
	int64_t delay = OUTBOX_BACKOFF_MS;

	for (int64_t i = 0; i < attempts && delay < OUTBOX_BACKOFF_MAX_MS; i++)
		delay *= 2;
	if (delay > OUTBOX_BACKOFF_MAX_MS)
		delay = OUTBOX_BACKOFF_MAX_MS;
	/* telegram_send_message clamps retry_after to a day: no overflow. */
	if (retry_after_s > 0 && retry_after_s * 1000 > delay)
		delay = retry_after_s * 1000;
	return now + delay;
}

/*
 * Appends v (any JSON value, not consumed) to doc under key as BSON, by
 * way of bson_new_from_json on {"v": v}. Returns 0, or -1 when the value
 * has no BSON form (a '$' key reads as extended JSON, for one).
 */
static int
outbox_append_json(bson_t *doc, const char *key, json_object *v)
{
	json_object *wrap = json_object_new_object();
	bson_error_t error;
	bson_iter_t it;
	bson_t *b;
	int rc = -1;

	json_object_object_add(wrap, "v", json_object_get(v));
	b = bson_new_from_json(
	    (const uint8_t *)json_object_to_json_string_ext(wrap, JSON_OUT_FLAGS), -1, &error);
	if (b == NULL)
		log_error("outbox: event data has no BSON form: %s", error.message);
	else if (bson_iter_init_find(&it, b, "v") && bson_append_iter(doc, key, -1, &it))
		rc = 0;
	bson_destroy(b);
	json_object_put(wrap);
	return rc;
}

/* The BSON value at it as a new JSON value (NULL for null). */
static json_object *
outbox_json_of(const bson_iter_t *it)
{
	bson_t tmp = BSON_INITIALIZER;
	json_object *obj, *v = NULL;

	bson_append_iter(&tmp, "v", -1, it);
	obj = json_from_bson(&tmp);
	if (json_object_object_get_ex(obj, "v", &v))
		json_object_get(v);
	json_object_put(obj);
	bson_destroy(&tmp);
	return v;
}

static int
outbox_insert(mongoc_client_t *client, const bson_t *doc, const char *what)
{
	mongoc_collection_t *coll = db_collection(client, OUTBOX_COLLECTION);
	bson_error_t error;
	int rc = 0;

	if (!mongoc_collection_insert_one(coll, doc, NULL, NULL, &error)) {
		log_error("outbox: cannot queue %s, dropped: %s", what, error.message);
		rc = -1;
	}
	mongoc_collection_destroy(coll);
	return rc;
}

/*
 * The inline try is short, and after one that hung (a failure that took
 * most of the timeout) this process queues straight to the outbox for a
 * while: a Bot API that accepts and never answers must not hold a FastCGI
 * child on every status change (issue 12: 4 of 10 parallel changes got
 * 504). A fast failure (refused, 5xx) costs nothing and pauses nothing.
 * The retry job keeps the full timeout.
 */
#define NOTIFY_TELEGRAM_INLINE_MS 1500
#define NOTIFY_TELEGRAM_PAUSE_MS  30000
#define NOTIFY_TELEGRAM_HUNG_MS   1000 /* a failed try this slow pauses the inline tries */

static int64_t notify_telegram_paused_until; /* db_now_ms(); 0: not paused */

int
notify_telegram(mongoc_client_t *client, int64_t chat_id, const char *text)
{
	int64_t retry_after = 0, now = db_now_ms();
	char err[256], what[64];
	bson_oid_t oid;
	bson_t doc;
	int rc;

	if (now < notify_telegram_paused_until) {
		/* Queued as if tried: the same backoff as the try that hung. */
		snprintf(err, sizeof(err), "not tried: the Bot API hung moments ago");
	} else {
		switch (telegram_send_message_within(chat_id, text, NOTIFY_TELEGRAM_INLINE_MS,
		                                     &retry_after, err, sizeof(err))) {
		case TELEGRAM_SENT:
			notify_telegram_paused_until = 0;
			return 0;
		case TELEGRAM_PERMANENT:
			log_warn("telegram to chat %lld dropped: %s", (long long)chat_id, err);
			return -1;
		case TELEGRAM_RETRY:
			if (db_now_ms() - now >= NOTIFY_TELEGRAM_HUNG_MS)
				notify_telegram_paused_until =
				    db_now_ms() + NOTIFY_TELEGRAM_PAUSE_MS;
			break;
		}
	}
	now = db_now_ms();
	bson_oid_init(&oid, NULL);
	bson_init(&doc);
	BSON_APPEND_OID(&doc, "_id", &oid);
	BSON_APPEND_UTF8(&doc, "kind", "telegram");
	BSON_APPEND_INT64(&doc, "chatId", chat_id);
	BSON_APPEND_UTF8(&doc, "text", text);
	BSON_APPEND_INT32(&doc, "attempts", 1);
	BSON_APPEND_DATE_TIME(&doc, "nextAt", outbox_next_at(now, 1, retry_after));
	BSON_APPEND_DATE_TIME(&doc, "createdAt", now);
	BSON_APPEND_UTF8(&doc, "lastError", err);
	snprintf(what, sizeof(what), "telegram to chat %lld", (long long)chat_id);
	rc = outbox_insert(client, &doc, what);
	bson_destroy(&doc);
	if (rc != 0)
		return -1;
	log_info("telegram to chat %lld queued: %s", (long long)chat_id, err);
	return 1;
}

/* As publish.c checks a channel's kind and id: 1..64 bytes of [A-Za-z0-9_-]. */
static int
outbox_segment_ok(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (; s[n] != '\0'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
		      (s[n] >= '0' && s[n] <= '9') || s[n] == '_' || s[n] == '-'))
			return 0;
	return n > 0 && n <= 64;
}

int
notify_publish(mongoc_client_t *client, const char *kind, const char *id, const char *event,
               json_object *data)
{
	char what[256];
	int64_t now;
	bson_oid_t oid;
	bson_t doc;
	int rc;

	if (publish_event(kind, id, event, data) == 0)
		return 0;
	if (!outbox_segment_ok(kind) || !outbox_segment_ok(id) || event == NULL || *event == '\0')
		return -1; /* never deliverable; publish_event said why */
	now = db_now_ms();
	bson_oid_init(&oid, NULL);
	bson_init(&doc);
	BSON_APPEND_OID(&doc, "_id", &oid);
	BSON_APPEND_UTF8(&doc, "kind", "publish");
	BSON_APPEND_UTF8(&doc, "channelKind", kind);
	BSON_APPEND_UTF8(&doc, "channelId", id);
	BSON_APPEND_UTF8(&doc, "event", event);
	if (outbox_append_json(&doc, "data", data) != 0) {
		log_error("publish %s/%s %s dropped", kind, id, event);
		bson_destroy(&doc);
		return -1;
	}
	BSON_APPEND_INT32(&doc, "attempts", 1);
	BSON_APPEND_DATE_TIME(&doc, "nextAt", outbox_next_at(now, 1, 0));
	BSON_APPEND_DATE_TIME(&doc, "createdAt", now);
	BSON_APPEND_DATE_TIME(&doc, "expiresAt", now + OUTBOX_PUBLISH_TTL_MS);
	BSON_APPEND_UTF8(&doc, "lastError", OUTBOX_PUBLISH_ERROR);
	snprintf(what, sizeof(what), "publish %.64s/%.64s %.64s", kind, id, event);
	rc = outbox_insert(client, &doc, what);
	bson_destroy(&doc);
	if (rc != 0)
		return -1;
	log_info("%s queued", what);
	return 1;
}

/* ------------------------------------------------------------ the retry job */

/* One pass's state: both collections and the time the pass began. */
struct outbox_pass {
	mongoc_collection_t *coll; /* outbox */
	mongoc_collection_t *dead; /* outbox_dead */
	int64_t now;               /* db_now_ms() at the start of the pass */
};

/* What the runner read of one item; strings point into the item's BSON. */
struct outbox_item {
	const bson_t *doc;     /* the whole item */
	bson_t filter;         /* {_id: <the item's _id>} */
	char name[64];         /* for the log: "<kind> <_id>" */
	const char *kind;      /* "telegram" | "publish" | NULL */
	int64_t attempts;      /* tries so far */
	int64_t chat_id;       /* telegram */
	const char *text;      /* telegram */
	const char *chan_kind; /* publish */
	const char *chan_id;   /* publish */
	const char *event;     /* publish */
	bson_iter_t data;      /* publish: the data element, when has_data */
	int has_data;          /* publish */
	int64_t expires_at;    /* publish: ms, 0 when none */
};

/* Reads the fields of an item; -1 when it has no _id. */
static int
outbox_item_read(struct outbox_item *item, const bson_t *doc)
{
	bson_iter_t it;

	memset(item, 0, sizeof(*item));
	item->doc = doc;
	bson_init(&item->filter);
	if (!bson_iter_init_find(&it, doc, "_id"))
		return -1;
	bson_append_iter(&item->filter, "_id", 3, &it);
	if (BSON_ITER_HOLDS_OID(&it)) {
		char hex[25];
		bson_oid_to_string(bson_iter_oid(&it), hex);
		snprintf(item->name, sizeof(item->name), "%s", hex);
	} else {
		snprintf(item->name, sizeof(item->name), "(non-ObjectId _id)");
	}
	if (!bson_iter_init(&it, doc))
		return -1;
	while (bson_iter_next(&it)) {
		const char *key = bson_iter_key(&it);
		if (BSON_ITER_HOLDS_UTF8(&it)) {
			const char *s = bson_iter_utf8(&it, NULL);
			if (strcmp(key, "kind") == 0)
				item->kind = s;
			else if (strcmp(key, "text") == 0)
				item->text = s;
			else if (strcmp(key, "channelKind") == 0)
				item->chan_kind = s;
			else if (strcmp(key, "channelId") == 0)
				item->chan_id = s;
			else if (strcmp(key, "event") == 0)
				item->event = s;
		} else if (strcmp(key, "chatId") == 0 && BSON_ITER_HOLDS_NUMBER(&it)) {
			item->chat_id = bson_iter_as_int64(&it);
		} else if (strcmp(key, "attempts") == 0 && BSON_ITER_HOLDS_NUMBER(&it)) {
			item->attempts = bson_iter_as_int64(&it);
		} else if (strcmp(key, "expiresAt") == 0 && BSON_ITER_HOLDS_DATE_TIME(&it)) {
			item->expires_at = bson_iter_date_time(&it);
		}
		if (strcmp(key, "data") == 0) {
			item->data = it;
			item->has_data = 1;
		}
	}
	if (item->attempts < 0)
		item->attempts = 0;
	return 0;
}

static int
outbox_delete(struct outbox_pass *p, struct outbox_item *item)
{
	bson_error_t error;

	if (!mongoc_collection_delete_one(p->coll, &item->filter, NULL, NULL, &error)) {
		log_error("outbox: cannot delete %s: %s", item->name, error.message);
		return -1;
	}
	return 0;
}

/*
 * Moves an item that will never be delivered to outbox_dead (with its
 * final attempts and lastError, and deadAt), then deletes it. A copy left
 * there by an earlier run that could not delete the original is fine.
 */
static int
outbox_bury(struct outbox_pass *p, struct outbox_item *item, int64_t attempts, const char *why)
{
	bson_error_t error;
	bson_iter_t it;
	bson_t doc;
	int rc = 0;

	bson_init(&doc);
	if (bson_iter_init(&it, item->doc))
		while (bson_iter_next(&it)) {
			const char *key = bson_iter_key(&it);
			if (strcmp(key, "attempts") != 0 && strcmp(key, "lastError") != 0)
				bson_append_iter(&doc, key, -1, &it);
		}
	BSON_APPEND_INT64(&doc, "attempts", attempts);
	BSON_APPEND_UTF8(&doc, "lastError", why);
	BSON_APPEND_DATE_TIME(&doc, "deadAt", p->now);
	if (!mongoc_collection_insert_one(p->dead, &doc, NULL, NULL, &error) &&
	    !db_error_is_duplicate(&error)) {
		log_error("outbox: cannot move %s to %s: %s", item->name, OUTBOX_DEAD_COLLECTION,
		          error.message);
		rc = -1;
	}
	bson_destroy(&doc);
	if (rc == 0)
		rc = outbox_delete(p, item);
	if (rc == 0)
		log_error("outbox: %s %s given up after %lld attempts, moved to %s: %s",
		          item->kind ? item->kind : "item", item->name, (long long)attempts,
		          OUTBOX_DEAD_COLLECTION, why);
	return rc;
}

/* Records a failed try: reschedules, or buries after the last one. */
static int
outbox_failed(struct outbox_pass *p, struct outbox_item *item, int64_t retry_after, const char *why)
{
	int64_t attempts = item->attempts + 1, next;
	bson_error_t error;
	bson_t *update;
	int ok;

	if (attempts >= OUTBOX_MAX_ATTEMPTS)
		return outbox_bury(p, item, attempts, why);
	next = outbox_next_at(p->now, attempts, retry_after);
	if (item->expires_at != 0 && next >= item->expires_at) {
		log_warn("outbox: publish %s/%s %s (%s) expires before its next try, dropped: %s",
		         item->chan_kind, item->chan_id, item->event, item->name, why);
		return outbox_delete(p, item);
	}
	update = BCON_NEW("$set", "{", "attempts", BCON_INT64(attempts), "nextAt",
	                  BCON_DATE_TIME(next), "lastError", BCON_UTF8(why), "}");
	ok = mongoc_collection_update_one(p->coll, &item->filter, update, NULL, NULL, &error);
	bson_destroy(update);
	if (!ok) {
		log_error("outbox: cannot reschedule %s: %s", item->name, error.message);
		return -1;
	}
	log_info("outbox: %s %s failed (attempt %lld), next try in %lld s: %s", item->kind,
	         item->name, (long long)attempts, (long long)((next - p->now) / 1000), why);
	return 0;
}

static int
outbox_try_telegram(struct outbox_pass *p, struct outbox_item *item, int *sent)
{
	int64_t retry_after = 0;
	char err[256];

	switch (telegram_send_message(item->chat_id, item->text, &retry_after, err, sizeof(err))) {
	case TELEGRAM_SENT:
		if (outbox_delete(p, item) != 0)
			return -1;
		(*sent)++;
		return 0;
	case TELEGRAM_PERMANENT:
		log_warn("outbox: telegram %s to chat %lld dropped: %s", item->name,
		         (long long)item->chat_id, err);
		return outbox_delete(p, item);
	case TELEGRAM_RETRY:
		break;
	}
	return outbox_failed(p, item, retry_after, err);
}

static int
outbox_try_publish(struct outbox_pass *p, struct outbox_item *item, int *sent)
{
	json_object *data;
	int rc;

	if (item->expires_at != 0 && item->expires_at <= p->now) {
		log_warn("outbox: publish %s/%s %s (%s) expired after %lld attempts, dropped",
		         item->chan_kind, item->chan_id, item->event, item->name,
		         (long long)item->attempts);
		return outbox_delete(p, item);
	}
	data = item->has_data ? outbox_json_of(&item->data) : NULL;
	rc = publish_event(item->chan_kind, item->chan_id, item->event, data);
	json_object_put(data);
	if (rc != 0)
		return outbox_failed(p, item, 0, OUTBOX_PUBLISH_ERROR);
	if (outbox_delete(p, item) != 0)
		return -1;
	(*sent)++;
	return 0;
}

/* Tries one item once; -1 only on a database error. */
static int
outbox_try(struct outbox_pass *p, const bson_t *doc, int *sent)
{
	struct outbox_item item;
	int rc;

	if (outbox_item_read(&item, doc) != 0) {
		log_error("outbox: an item without _id, skipped");
		rc = 0;
	} else if (item.kind != NULL && strcmp(item.kind, "telegram") == 0 && item.text != NULL) {
		rc = outbox_try_telegram(p, &item, sent);
	} else if (item.kind != NULL && strcmp(item.kind, "publish") == 0 &&
	           item.chan_kind != NULL && item.chan_id != NULL && item.event != NULL) {
		rc = outbox_try_publish(p, &item, sent);
	} else {
		rc = outbox_bury(p, &item, item.attempts, "malformed outbox item");
	}
	bson_destroy(&item.filter);
	return rc;
}

int
outbox_run(mongoc_client_t *client, int limit)
{
	struct outbox_pass pass;
	mongoc_cursor_t *cursor;
	bson_t *filter, *opts, **docs;
	const bson_t *doc;
	bson_error_t error;
	size_t n = 0;
	int sent = 0, rc = 0;

	if (limit <= 0)
		return 0;
	pass.now = db_now_ms();
	pass.coll = db_collection(client, OUTBOX_COLLECTION);
	pass.dead = db_collection(client, OUTBOX_DEAD_COLLECTION);
	filter = BCON_NEW("nextAt", "{", "$lte", BCON_DATE_TIME(pass.now), "}");
	opts = BCON_NEW("sort", "{", "createdAt", BCON_INT32(1), "_id", BCON_INT32(1), "}", "limit",
	                BCON_INT64(limit));
	/*
	 * The due items are read first and tried afterwards, so no cursor
	 * stays open (and can time out) across slow sends and our deletes.
	 */
	docs = xcalloc((size_t)limit, sizeof(*docs));
	cursor = mongoc_collection_find_with_opts(pass.coll, filter, opts, NULL);
	while (n < (size_t)limit && mongoc_cursor_next(cursor, &doc))
		docs[n++] = bson_copy(doc);
	if (mongoc_cursor_error(cursor, &error)) {
		log_error("outbox: cannot read due items: %s", error.message);
		rc = -1;
	}
	mongoc_cursor_destroy(cursor);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (outbox_try(&pass, docs[i], &sent) != 0)
			rc = -1;
	for (size_t i = 0; i < n; i++)
		bson_destroy(docs[i]);
	free(docs);
	bson_destroy(opts);
	bson_destroy(filter);
	mongoc_collection_destroy(pass.dead);
	mongoc_collection_destroy(pass.coll);
	return rc == 0 ? sent : -1;
}
