/*
 * telegram - POST /telegram/webhook, where Telegram delivers the bot's
 * updates. It checks the secret Telegram echoes in
 * X-Telegram-Bot-Api-Secret-Token (set by tools/oshxona-bot register),
 * parses the update, makes it durable and answers 200 at once: the
 * conversation itself runs in the bot's worker (tools/oshxona-bot run),
 * which is woken by a datagram. Durable means the host's spool
 * (BOT_SPOOL_DIR, lib/botspool.c: one append and one fdatasync, no
 * database round trip, so the worker's database load does not reach this
 * answer) or, without a spool or when it fails, the inbox in the
 * database. A malformed update is logged and answered 200, so Telegram
 * does not redeliver it and block the updates behind it; only when the
 * update cannot be stored anywhere the answer is 503, so Telegram keeps
 * it and tries again.
 */
#include <stdlib.h>
#include <string.h>

#include "oshxona.h"
#include "bot.h"
#include "botspool.h"

static void
telegram_ok(struct req *r)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "success", json_object_new_boolean(1));
	resp_json(r, 200, o);
	json_object_put(o);
}

/* POST /telegram/webhook */
static void
telegram_webhook(struct req *r)
{
	const char *secret = getenv("TELEGRAM_WEBHOOK_SECRET");
	const char *got = req_header(r, "X-Telegram-Bot-Api-Secret-Token");
	struct tg_update *u;
	mongoc_client_t *client;
	bson_error_t error;
	char err[160];
	int status;

	/* No secret configured: nothing can prove a request came from Telegram. */
	if (secret == NULL || *secret == '\0' || got == NULL ||
	    !bytes_equal_ct(secret, strlen(secret), got, strlen(got))) {
		resp_error(r, 403, "Forbidden");
		return;
	}
	status = req_read_body(r, TG_UPDATE_MAX);
	if (status != 0) {
		log_warn("telegram: update refused unread (HTTP %d would be %s); dropped", status,
		         http_reason(status));
		telegram_ok(r);
		return;
	}
	u = xmalloc(sizeof(*u));
	/* The Update's shape: tg_update_schema (lib/tgupdate.c). */
	if (tgupdate_parse(r->body, r->body_len, u, err, sizeof(err)) != 0) {
		log_warn("telegram: malformed update dropped: %s", err);
		telegram_ok(r);
		free(u);
		return;
	}
	if (botspool_dir() != NULL &&
	    botspool_put(botspool_dir(), u->update_id, r->body, r->body_len) == 0) {
		telegram_ok(r);
		bot_wake();
		free(u);
		return;
	}
	client = db_pop();
	if (bot_inbox_put(client, u->update_id, r->body, r->body_len, &error) != 0) {
		db_answer_error(r, &error);
	} else {
		telegram_ok(r);
		bot_wake();
	}
	db_push(client);
	free(u);
}

static const struct route telegram_routes[] = {
    {HTTP_POST, "/telegram/webhook", telegram_webhook},
};

int
main(int argc, char **argv)
{
	static const struct app app = {
	    .name = "telegram",
	    .uses_db = 1,
	    .routes = telegram_routes,
	    .nroutes = sizeof(telegram_routes) / sizeof(telegram_routes[0]),
	};

	return app_main(&app, argc, argv);
}
