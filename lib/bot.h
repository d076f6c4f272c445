/*
 * bot.h - the Telegram bot (OshxonaBot): the Update parser, the message
 * catalogue in Uzbek and Russian, the conversation kept per chat in
 * MongoDB, and the inbox that decouples receiving updates (the webhook
 * program, or getUpdates long polling) from handling them (one worker per
 * host, tools/oshxona-bot). Included by the programs that need it, after
 * oshxona.h.
 */
#ifndef OSHXONA_BOT_H
#define OSHXONA_BOT_H

#include <stdint.h>

#include <json.h>
#include <mongoc/mongoc.h>

/* tgupdate.c ---------------------------------------------------------- */

#define TG_UPDATE_MAX   (64 * 1024) /* bytes of one Update accepted */
#define TG_TEXT_MAX     (16 * 1024) /* a 4096-character message in UTF-8, and NUL */
#define TG_CALLBACK_MAX 64          /* Telegram's limit on callback_data, bytes */
#define TG_WEBAPP_MAX   4096        /* web_app_data.data, bytes */

enum tg_kind {
	TG_OTHER,    /* an update the bot does not handle (edited_message, ...) */
	TG_MESSAGE,  /* message: text, contact, location or web_app_data */
	TG_CALLBACK, /* callback_query from an inline button */
};

/* One Update, copied into fixed buffers: the parser never allocates. */
struct tg_update {
	int64_t update_id;
	enum tg_kind kind;
	int64_t chat_id;      /* 0 when the update names no chat */
	char chat_type[16];   /* private | group | supergroup | channel */
	int64_t from_id;      /* the user who sent it; 0 if none */
	char first_name[128]; /* from.first_name, cut at a character boundary */
	char last_name[128];
	char username[64];
	char language_code[16];
	int64_t message_id; /* the message, or the one the pressed button is on */
	int has_text;
	char text[TG_TEXT_MAX];
	int has_contact;
	char contact_phone[32];  /* as sent, e.g. "998901234567" or "+998..." */
	int64_t contact_user_id; /* 0 when the contact is not a Telegram user */
	int has_location;
	double lat, lng;
	int has_web_app_data;
	char web_app_data[TG_WEBAPP_MAX + 1];
	char callback_id[128];
	char callback_data[TG_CALLBACK_MAX + 1];
	int has_callback_data;
};

/*
 * Parses one Update (JSON, at most TG_UPDATE_MAX bytes). Returns 0 with
 * u filled (kind TG_OTHER for updates of other types), or -1 with a reason
 * in err: not a JSON object, no integer update_id, a message or
 * callback_query of the wrong shape, strings that are not UTF-8 or too
 * long for their buffer, coordinates out of range. Pure: no I/O.
 */
int tgupdate_parse(const char *buf, size_t len, struct tg_update *u, char *err, size_t errlen);

#endif
