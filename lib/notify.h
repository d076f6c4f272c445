/*
 * notify.h - what leaves the host after a write: events to Nchan channels
 * (the live order board, the customer's tracking page) and Telegram
 * messages to customers. Both are best effort inline, with a short
 * timeout; what fails goes to the outbox collection, which the
 * cron/outbox-retry job drains with backoff. A failure here never fails
 * the request that caused it. Included by oshxona.h.
 */
#ifndef OSHXONA_NOTIFY_H
#define OSHXONA_NOTIFY_H

#include <stdint.h>

#include <json.h>
#include <mongoc/mongoc.h>

/* publish.c ----------------------------------------------------------- */

/*
 * Publishes one event to the Nchan channel "<kind>/<id>" (kind "branch",
 * "user" or "menu"), as the JSON {"event": event, "data": data} (data not
 * consumed). The publisher is nginx's internal Nchan publisher location,
 * reached over the unix socket in NCHAN_PUBLISH_SOCKET (default
 * /run/oshxona/nchan-publish.sock) at http://localhost/pub/<kind>/<id>,
 * timeout 2 s. Returns 0 when Nchan accepted it (HTTP 201 or 202), -1
 * otherwise (logged).
 */
int publish_event(const char *kind, const char *id, const char *event, json_object *data);

/* telegram.c ---------------------------------------------------------- */

enum telegram_result {
	TELEGRAM_SENT,      /* Bot API answered ok: true */
	TELEGRAM_RETRY,     /* network error, timeout, 5xx, 429: try again later */
	TELEGRAM_PERMANENT, /* 400/403 (chat not found, bot blocked): never retry */
};

/*
 * Bot API sendMessage {chat_id, text} to TELEGRAM_API_BASE (default
 * https://api.telegram.org) + "/bot<BOT_TOKEN>/sendMessage", timeout 3 s.
 * On a 429, *retry_after gets parameters.retry_after (seconds), else 0.
 * err gets a short reason on failure. With no BOT_TOKEN: PERMANENT.
 */
enum telegram_result telegram_send_message(int64_t chat_id, const char *text, int64_t *retry_after,
                                           char *err, size_t errlen);

/* telegram_send_message with a timeout of the caller's (notify_telegram's inline try). */
enum telegram_result telegram_send_message_within(int64_t chat_id, const char *text,
                                                  long timeout_ms, int64_t *retry_after, char *err,
                                                  size_t errlen);

/*
 * Any Bot API method: POSTs params (a JSON object, not consumed) to
 * TELEGRAM_API_BASE + "/bot<BOT_TOKEN>/<method>", timeout timeout_ms (0:
 * 3 s). On TELEGRAM_SENT, *result (when result is not NULL) gets the
 * answer's "result" (the caller's, json_object_put; NULL if absent).
 * Failures are classified as for telegram_send_message.
 */
enum telegram_result telegram_call(const char *method, json_object *params, long timeout_ms,
                                   json_object **result, int64_t *retry_after, char *err,
                                   size_t errlen);

/*
 * The customer's status message, in their language ("uz" or "ru";
 * anything else: "uz"): e.g. "Buyurtma #17: tayyorlanmoqda" /
 * "Заказ №17: готовится", plus the staff message on a new line if any.
 * Returns a new string (free()).
 */
char *telegram_status_text(const char *language, int64_t number, const char *status,
                           const char *message);

/* outbox.c ------------------------------------------------------------ */

#define OUTBOX_MAX_ATTEMPTS 10 /* then the item moves to outbox_dead */

/*
 * Sends now, and on failure queues for the retry job:
 *   notify_telegram: the text to chat_id (PERMANENT failures are logged
 *     and dropped: retrying a blocked bot is pointless);
 *   notify_publish: the event to the channel (queued events expire after
 *     5 minutes: an old board event is worse than none, as boards re-sync
 *     from the REST API on every reconnect).
 * Never fails the caller; returns 0 sent, 1 queued, -1 dropped.
 */
int notify_telegram(mongoc_client_t *client, int64_t chat_id, const char *text);
int notify_publish(mongoc_client_t *client, const char *kind, const char *id, const char *event,
                   json_object *data);

/*
 * The retry job's pass: every outbox item whose nextAt has come, oldest
 * first (at most limit), is tried once; sent ones are deleted, failed ones
 * get attempts + 1 and nextAt = now + min(30 s * 2^attempts, 1 h) (or the
 * Telegram retry_after when longer); after OUTBOX_MAX_ATTEMPTS (about 4 h
 * in all) the item moves to outbox_dead with an error log line. Returns
 * the number sent, or -1 on a database error.
 */
int outbox_run(mongoc_client_t *client, int limit);

#endif
