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
	int on_photo;       /* callback: the button is on a photo (edit its caption) */
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

/* The Update's shape as a lib/valid table (tgupdate.c): what tgupdate_parse checks. */
struct valid_schema;
extern const struct valid_schema tg_update_schema;

/* botmsg.c ------------------------------------------------------------ */

/* Every text the bot shows, each in Uzbek (Latin) and Russian. */
enum botmsg {
	M_CHOOSE_LANG,
	M_LANG_SET,
	M_ASK_PHONE,
	B_SEND_PHONE,
	M_OWN_PHONE,
	M_WELCOME,
	B_MENU,
	B_CART,
	B_ORDERS,
	B_BRANCHES,
	B_SETTINGS,
	M_CATEGORIES,
	M_MENU_EMPTY,
	M_PRODUCTS,
	B_BACK,
	M_PRICE,
	M_OUT_OF_STOCK,
	M_AVAILABLE,
	M_QTY,
	B_ADD,
	M_ADDED,
	M_CART_EMPTY,
	M_CART_TITLE,
	M_TOTAL,
	B_CLEAR,
	B_CHECKOUT,
	M_CART_FULL,
	M_CART_CLEARED,
	M_CHOOSE_BRANCH,
	M_BRANCH_CLOSED,
	M_CLOSED_MARK,
	M_CHOOSE_TYPE,
	B_DELIVERY,
	B_PICKUP,
	B_DINE_IN,
	M_ASK_ADDRESS,
	B_SEND_LOCATION,
	M_BAD_ADDRESS,
	M_ASK_TABLE,
	M_BAD_TABLE,
	M_CHOOSE_PAYMENT,
	B_CASH,
	B_CARD,
	B_CLICK,
	B_PAYME,
	M_ASK_COMMENT,
	B_SKIP,
	M_BAD_COMMENT,
	M_CONFIRM_TITLE,
	M_SUBTOTAL,
	M_DELIVERY_FEE,
	M_BRANCH,
	M_ADDRESS,
	M_PAYMENT,
	M_COMMENT,
	B_CONFIRM,
	B_CANCEL,
	M_PLACED,
	M_CHECKOUT_CANCELLED,
	M_UNAVAILABLE,
	M_PRICE_CHANGED,
	M_MIN_ORDER,
	M_NO_BRANCH,
	M_TRY_LATER,
	M_STALE,
	M_NO_ORDERS,
	M_ORDERS_TITLE,
	M_BRANCHES_TITLE,
	M_OPEN_NOW,
	M_CLOSED_NOW,
	M_SETTINGS,
	B_CHANGE_LANG,
	B_CHANGE_PHONE,
	M_USE_MENU,
	M_WEBAPP_UNKNOWN,
	M_CMD_START,
	M_CMD_MENU,
	M_CMD_CART,
	M_CMD_ORDERS,
	B_OPEN_APP,
	S_NEW_ORDER,
	S_CONFIRMED_BY,
	S_CANCELLED_BY,
	S_NOT_LINKED,
	S_NOW,
	B_PAY_PAYME,
	B_PAY_CLICK,
	B_PAY_ORDER,
	BOTMSG__MAX
};

/* The text of id in lang ("ru" for Russian, anything else Uzbek). */
const char *botmsg(enum botmsg id, const char *lang);
/*
 * The main-menu button (B_MENU .. B_SETTINGS) whose text in either
 * language is exactly text, or BOTMSG__MAX.
 */
enum botmsg botmsg_button(const char *text);
/* snprintf of the catalogue's format id in lang; returns what snprintf does. */
int botmsg_format(char *out, size_t outlen, enum botmsg id, const char *lang, ...);
/* "45 000" for 45000: so'm grouped by thousands, as menus print them. */
void botmsg_money(int64_t som, char *out, size_t outlen);

/* botapi.c ------------------------------------------------------------ */

/*
 * Calls a Bot API method for the bot (params consumed) under the sending
 * rules: at most BOT_GLOBAL_PER_S calls a second overall; sendMessage and
 * sendPhoto at most one a second per chat (chat 0: no chat rule); a 429
 * pauses every call for retry_after seconds and tries again (3 tries, a
 * pause longer than BOT_FLOOD_WAIT_MAX_S gives up); network errors and
 * 5xx are tried once more. Returns the answer's result (the caller's) or
 * NULL on failure (logged). The limits are per process: one worker per
 * host sends the bot's replies (tools/oshxona-bot).
 */
#define BOT_GLOBAL_PER_S     30
#define BOT_CHAT_GAP_MS      1000
#define BOT_FLOOD_WAIT_MAX_S 60
json_object *bot_api(const char *method, json_object *params, int64_t chat_id);
/* bot_api without the result: 0 sent, -1 failed. */
int bot_call(const char *method, json_object *params, int64_t chat_id);

/* Keyboard builders; each returns a new object owned by the caller. */
json_object *bot_button(const char *text, const char *data);
json_object *bot_row(json_object *b1, json_object *b2, json_object *b3);
json_object *bot_inline(json_object *rows); /* {"inline_keyboard": rows} */

/* botstore.c ---------------------------------------------------------- */

/*
 * The inbox: every update received (webhook or getUpdates) is stored as
 * tg_inbox {_id: update_id, raw, at} before the webhook answers 200; a
 * Telegram retry of the same update collides on _id and is stored once.
 * Returns 0 (stored or already there), -1 on a database error.
 */
int bot_inbox_put(mongoc_client_t *client, int64_t update_id, const char *raw, size_t len,
                  bson_error_t *error);
/*
 * Staff notifications waiting for the worker: tg_jobs {_id: "new:<order>",
 * order, at}, queued after an order is placed (order_announce_placed, in
 * whichever program placed it) when its branch has a staffChatId.
 * Returns 0 (queued or nothing to do) or -1 (logged).
 */
int bot_job_new_order(mongoc_client_t *client, const bson_t *order);
/*
 * The worker's pass: staff jobs, then stored updates in update_id order,
 * at most limit of each; each handled one at a time and deleted after.
 * Returns how many were handled, or -1 on a database error.
 */
int bot_drain(mongoc_client_t *client, int limit);
/*
 * Wakes the worker (a datagram to BOT_WAKE_SOCKET, if configured) so a
 * new update is handled at once instead of at its next poll. Best effort.
 */
void bot_wake(void);

/* bot.c --------------------------------------------------------------- */

/* Handles one parsed update: the customer conversation or a staff button. */
void bot_handle(mongoc_client_t *client, const struct tg_update *u);

/* botstaff.c ---------------------------------------------------------- */

/* Sends the new order to its branch's staff chat (branches.staffChatId), if any. */
void bot_staff_new_order(mongoc_client_t *client, const bson_oid_t *order);
/* A staff button (sc:/sx:<order>): 1 when u was one (handled), else 0. */
int bot_staff_callback(mongoc_client_t *client, const struct tg_update *u);

#endif
