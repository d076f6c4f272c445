/*
 * bot.c - the customer's conversation with OshxonaBot: language, phone,
 * menu, cart, checkout and "my orders", with the state of each chat in
 * tg_chats {_id: chat id}. Orders are placed through lib/order.c, the
 * same code as POST /api/orders. Only the bot worker calls this (see
 * botstore.c), one update at a time, so a chat's state has one writer;
 * the state still carries a version and the last update_id handled, so a
 * second worker started by mistake loses its write instead of mixing two
 * carts, and an update handled once is never handled again.
 *
 * Callback data (at most 64 bytes; every id in it is checked against the
 * database on the way back, and a button for another step is "stale"):
 *   l:uz l:ru      language            C            categories
 *   c:<cat>        a category          p:<product>  a product card
 *   q:<p>:<n>      card with quantity  a:<p>:<n>    add n to the cart
 *   k kx ko        cart, clear, checkout; k+:<p> k-:<p> a line +/- 1
 *   b:<branch>     branch              t:d t:p t:i  delivery, pickup, dine-in
 *   m:<method>     payment             s            no comment
 *   y n            confirm, cancel     sl sp        settings: language, phone
 *   x              a label (no action) sc:/sx:<o>   staff (botstaff.c)
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oshxona.h"
#include "order.h"
#include "bot.h"
#include "payments.h"
#include "users.h"
#include "valid.h"

#define BOT_CHATS        "tg_chats"
#define BOT_ORDERS_SHOWN 5
#define BOT_TEXT_MAX     8192 /* bytes; Telegram's 4096 characters of Cyrillic */
#define BOT_LIST_MAX     60   /* categories or products shown in one keyboard */
#define BOT_ADDRESS_MIN  5

struct bot_line {
	bson_oid_t product;
	int64_t qty;
};

/* One chat's state, as stored in tg_chats. */
struct bot_chat {
	int64_t id;
	int exists;          /* 1 once stored */
	int64_t version;     /* of the stored document; a save writes version + 1 */
	int64_t last_update; /* the last update_id handled */
	char lang[3];        /* "uz" | "ru" | "" before the choice */
	char phone[24];      /* "+998..." once shared */
	int has_user;
	bson_oid_t user; /* users._id */
	char step[12];   /* lang phone menu branch type address table payment comment confirm */
	size_t nlines;
	struct bot_line lines[ORDER_ITEMS_MAX];
	/* checkout */
	int has_branch;
	bson_oid_t branch;
	char type[12]; /* delivery | pickup | dine_in */
	char address[4 * ORDER_ADDRESS_MAX + 1];
	int has_location;
	double lat, lng;
	int64_t table;
	char payment[8];
	int has_comment;
	char comment[4 * ORDER_COMMENT_MAX + 1];
	int64_t total; /* the total the customer was shown */
};

/* What one update's handling carries around. */
struct bot_ctx {
	mongoc_client_t *client;
	const struct tg_update *u;
	struct bot_chat *c;
	int answered; /* the callback query got its answer */
};

/* A bounded text being built; cut at a character boundary when full. */
struct bot_text {
	char buf[BOT_TEXT_MAX];
	size_t len;
};

static void
bot_text_add(struct bot_text *t, const char *s)
{
	size_t n = strlen(s), room = sizeof(t->buf) - 1 - t->len;

	if (n > room)
		n = utf8_cut(s, room);
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

/* Appends the catalogue's text id, formatted with the arguments. */
static void
bot_text_msg(struct bot_text *t, const char *lang, enum botmsg id, ...)
{
	char tmp[BOT_TEXT_MAX];
	va_list ap;

	va_start(ap, id);
	vsnprintf(tmp, sizeof(tmp), botmsg(id, lang), ap);
	va_end(ap);
	bot_text_add(t, tmp);
}

static void __attribute__((format(printf, 2, 3)))
bot_text_fmt(struct bot_text *t, const char *fmt, ...)
{
	char tmp[BOT_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	bot_text_add(t, tmp);
}

static const char *
bot_lang(const struct bot_ctx *x)
{
	return x->c->lang[0] != '\0' ? x->c->lang : "uz";
}

/* -------------------------------------------------------------- state */

static void
bot_copy_utf8(const bson_t *doc, const char *key, char *out, size_t outlen)
{
	const char *s = db_doc_utf8(doc, key);

	snprintf(out, outlen, "%s", s != NULL ? s : "");
}

/* Loads the chat's state (a fresh one when none). -1 on a database error. */
static int
bot_chat_load(mongoc_client_t *client, int64_t chat_id, struct bot_chat *c)
{
	bson_t *filter = BCON_NEW("_id", BCON_INT64(chat_id)), *doc = NULL, co;
	bson_error_t error;
	bson_iter_t it, arr;
	int rc;

	memset(c, 0, sizeof(*c));
	c->id = chat_id;
	rc = db_find_one(client, BOT_CHATS, filter, NULL, &doc, &error);
	bson_destroy(filter);
	if (rc < 0) {
		log_error("bot: chat %lld: %s", (long long)chat_id, error.message);
		return -1;
	}
	if (rc == 0)
		return 0;
	c->exists = 1;
	c->version = db_doc_int(doc, "version", 0);
	c->last_update = db_doc_int(doc, "lastUpdate", -1);
	bot_copy_utf8(doc, "lang", c->lang, sizeof(c->lang));
	bot_copy_utf8(doc, "phone", c->phone, sizeof(c->phone));
	bot_copy_utf8(doc, "step", c->step, sizeof(c->step));
	c->has_user = db_doc_oid(doc, "user", &c->user) == 0;
	if (bson_iter_init_find(&it, doc, "cart") && BSON_ITER_HOLDS_ARRAY(&it) &&
	    bson_iter_recurse(&it, &arr)) {
		while (bson_iter_next(&arr) && c->nlines < ORDER_ITEMS_MAX) {
			const uint8_t *data;
			uint32_t len;
			bson_t line;
			if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
				continue;
			bson_iter_document(&arr, &len, &data);
			bson_init_static(&line, data, len);
			if (db_doc_oid(&line, "p", &c->lines[c->nlines].product) != 0)
				continue;
			c->lines[c->nlines].qty = db_doc_int(&line, "q", 0);
			if (c->lines[c->nlines].qty >= 1 &&
			    c->lines[c->nlines].qty <= ORDER_QTY_MAX)
				c->nlines++;
		}
	}
	if (bson_iter_init_find(&it, doc, "co") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
		const uint8_t *data;
		uint32_t len;
		bson_iter_document(&it, &len, &data);
		bson_init_static(&co, data, len);
		c->has_branch = db_doc_oid(&co, "branch", &c->branch) == 0;
		bot_copy_utf8(&co, "type", c->type, sizeof(c->type));
		bot_copy_utf8(&co, "address", c->address, sizeof(c->address));
		if (bson_iter_init_find(&it, &co, "lat") && BSON_ITER_HOLDS_DOUBLE(&it)) {
			c->lat = bson_iter_double(&it);
			if (bson_iter_init_find(&it, &co, "lng") && BSON_ITER_HOLDS_DOUBLE(&it)) {
				c->lng = bson_iter_double(&it);
				c->has_location = 1;
			}
		}
		c->table = db_doc_int(&co, "table", 0);
		bot_copy_utf8(&co, "payment", c->payment, sizeof(c->payment));
		c->has_comment = db_doc_utf8(&co, "comment") != NULL;
		bot_copy_utf8(&co, "comment", c->comment, sizeof(c->comment));
		c->total = db_doc_int(&co, "total", 0);
	}
	bson_destroy(doc);
	return 0;
}

/*
 * Claims version + 1 of the chat's state: an insert of
 * tg_chat_versions {_id: "<chat>:<version + 1>"}, exact on FerretDB and
 * MongoDB alike (FACTS.md: a conditional update is not). Returns 1 when
 * this writer won, 0 when another did, -1 on error. The claim of the
 * version before is dropped: one claim per chat remains.
 */
static int
bot_chat_claim(mongoc_client_t *client, const struct bot_chat *c)
{
	char id[48];
	bson_error_t error;
	bson_t *doc, *filter;
	int rc;

	snprintf(id, sizeof(id), "%lld:%lld", (long long)c->id, (long long)(c->version + 1));
	doc = BCON_NEW("_id", BCON_UTF8(id), "at", BCON_DATE_TIME(db_now_ms()));
	rc = db_insert(client, "tg_chat_versions", doc, &error);
	bson_destroy(doc);
	if (rc != 0) {
		if (db_error_is_duplicate(&error))
			return 0;
		log_error("bot: chat %lld: %s", (long long)c->id, error.message);
		return -1;
	}
	snprintf(id, sizeof(id), "%lld:%lld", (long long)c->id, (long long)c->version);
	filter = BCON_NEW("_id", BCON_UTF8(id));
	{
		mongoc_collection_t *coll = db_collection(client, "tg_chat_versions");
		if (!mongoc_collection_delete_one(coll, filter, NULL, NULL, &error))
			log_warn("bot: old claim of chat %lld stays: %s", (long long)c->id,
			         error.message);
		mongoc_collection_destroy(coll);
	}
	bson_destroy(filter);
	return 1;
}

/*
 * Writes the state as version + 1 after claiming that version: a writer
 * that loses the claim lost a race (a second worker, on another host) and
 * its write is dropped whole, so the stored cart is always one writer's.
 * The write itself filters on _id alone, which FerretDB answers without
 * decoding every chat.
 */
static void
bot_chat_save(mongoc_client_t *client, struct bot_chat *c)
{
	mongoc_collection_t *coll = db_collection(client, BOT_CHATS);
	bson_t doc = BSON_INITIALIZER, arr, line, co, reply;
	bson_t *filter;
	bson_error_t error;
	char k[24];
	int claimed;
	bool ok;

	BSON_APPEND_INT64(&doc, "_id", c->id);
	BSON_APPEND_INT64(&doc, "version", c->version + 1);
	BSON_APPEND_INT64(&doc, "lastUpdate", c->last_update);
	BSON_APPEND_UTF8(&doc, "lang", c->lang);
	BSON_APPEND_UTF8(&doc, "phone", c->phone);
	BSON_APPEND_UTF8(&doc, "step", c->step);
	if (c->has_user)
		BSON_APPEND_OID(&doc, "user", &c->user);
	BSON_APPEND_ARRAY_BEGIN(&doc, "cart", &arr);
	for (size_t i = 0; i < c->nlines; i++) {
		snprintf(k, sizeof(k), "%zu", i);
		BSON_APPEND_DOCUMENT_BEGIN(&arr, k, &line);
		BSON_APPEND_OID(&line, "p", &c->lines[i].product);
		BSON_APPEND_INT64(&line, "q", c->lines[i].qty);
		bson_append_document_end(&arr, &line);
	}
	bson_append_array_end(&doc, &arr);
	BSON_APPEND_DOCUMENT_BEGIN(&doc, "co", &co);
	if (c->has_branch)
		BSON_APPEND_OID(&co, "branch", &c->branch);
	BSON_APPEND_UTF8(&co, "type", c->type);
	BSON_APPEND_UTF8(&co, "address", c->address);
	if (c->has_location) {
		BSON_APPEND_DOUBLE(&co, "lat", c->lat);
		BSON_APPEND_DOUBLE(&co, "lng", c->lng);
	}
	BSON_APPEND_INT64(&co, "table", c->table);
	BSON_APPEND_UTF8(&co, "payment", c->payment);
	if (c->has_comment)
		BSON_APPEND_UTF8(&co, "comment", c->comment);
	BSON_APPEND_INT64(&co, "total", c->total);
	bson_append_document_end(&doc, &co);
	BSON_APPEND_DATE_TIME(&doc, "updatedAt", db_now_ms());

	if (!c->exists) {
		ok = mongoc_collection_insert_one(coll, &doc, NULL, NULL, &error);
		if (!ok && db_error_is_duplicate(&error))
			log_warn(
			    "bot: chat %lld was created by someone else; this write is dropped",
			    (long long)c->id);
		else if (!ok)
			log_error("bot: chat %lld not saved: %s", (long long)c->id, error.message);
	} else if ((claimed = bot_chat_claim(client, c)) == 0) {
		log_warn("bot: chat %lld changed meanwhile; this write is dropped",
		         (long long)c->id);
	} else if (claimed == 1) {
		filter = BCON_NEW("_id", BCON_INT64(c->id));
		ok = mongoc_collection_replace_one(coll, filter, &doc, NULL, &reply, &error);
		if (!ok)
			log_error("bot: chat %lld not saved: %s", (long long)c->id, error.message);
		bson_destroy(&reply);
		bson_destroy(filter);
	}
	bson_destroy(&doc);
	mongoc_collection_destroy(coll);
}

static void
bot_checkout_reset(struct bot_chat *c)
{
	c->has_branch = 0;
	c->type[0] = c->address[0] = c->payment[0] = c->comment[0] = '\0';
	c->has_location = c->has_comment = 0;
	c->table = c->total = 0;
	snprintf(c->step, sizeof(c->step), "menu");
}

static void
bot_step(struct bot_chat *c, const char *step)
{
	snprintf(c->step, sizeof(c->step), "%s", step);
}

/* ----------------------------------------------------------- sending */

static int64_t
bot_send(struct bot_ctx *x, const char *text, json_object *markup)
{
	json_object *p = json_object_new_object(), *r, *v;
	int64_t id = 0;

	json_object_object_add(p, "chat_id", json_object_new_int64(x->c->id));
	json_object_object_add(p, "text", json_object_new_string(text));
	if (markup != NULL)
		json_object_object_add(p, "reply_markup", markup);
	r = bot_api("sendMessage", p, x->c->id);
	if (r != NULL && json_object_object_get_ex(r, "message_id", &v))
		id = json_object_get_int64(v);
	json_object_put(r);
	return id;
}

/*
 * Replaces the message the pressed button is on (text and inline
 * keyboard), which keeps the chat tidy; a new message when there is
 * none to edit (a typed message, or a photo card).
 */
static void
bot_show(struct bot_ctx *x, const char *text, json_object *markup)
{
	json_object *p;

	if (x->u->kind != TG_CALLBACK || x->u->message_id == 0 || x->u->on_photo) {
		bot_send(x, text, markup);
		return;
	}
	p = json_object_new_object();
	json_object_object_add(p, "chat_id", json_object_new_int64(x->c->id));
	json_object_object_add(p, "message_id", json_object_new_int64(x->u->message_id));
	json_object_object_add(p, "text", json_object_new_string(text));
	if (markup != NULL)
		json_object_object_add(p, "reply_markup", markup);
	bot_call("editMessageText", p, x->c->id);
}

/* Answers the callback query (once); text NULL: just stop the spinner. */
static void
bot_answer(struct bot_ctx *x, const char *text, int alert)
{
	json_object *p;

	if (x->u->kind != TG_CALLBACK || x->answered)
		return;
	x->answered = 1;
	p = json_object_new_object();
	json_object_object_add(p, "callback_query_id", json_object_new_string(x->u->callback_id));
	if (text != NULL) {
		json_object_object_add(p, "text", json_object_new_string(text));
		if (alert)
			json_object_object_add(p, "show_alert", json_object_new_boolean(1));
	}
	bot_call("answerCallbackQuery", p, 0);
}

/* A reply-keyboard button: its text, and what it asks for ("request_contact", ...) or NULL. */
static json_object *
bot_reply_button(const char *text, const char *request)
{
	json_object *b = json_object_new_object();

	json_object_object_add(b, "text", json_object_new_string(text));
	if (request != NULL)
		json_object_object_add(b, request, json_object_new_boolean(1));
	return b;
}

/* reply_markup of a reply keyboard; one_time: hidden once used, else kept. */
static json_object *
bot_reply_markup(json_object *rows, int one_time)
{
	json_object *m = json_object_new_object();

	json_object_object_add(m, "keyboard", rows);
	json_object_object_add(m, "resize_keyboard", json_object_new_boolean(1));
	json_object_object_add(m, one_time ? "one_time_keyboard" : "is_persistent",
	                       json_object_new_boolean(1));
	return m;
}

/* The main menu as a reply keyboard. */
static json_object *
bot_main_keyboard(const char *lang)
{
	json_object *rows = json_object_new_array();

	json_object_array_add(rows,
	                      bot_row(bot_reply_button(botmsg(B_MENU, lang), NULL), NULL, NULL));
	json_object_array_add(rows, bot_row(bot_reply_button(botmsg(B_CART, lang), NULL),
	                                    bot_reply_button(botmsg(B_ORDERS, lang), NULL), NULL));
	json_object_array_add(rows,
	                      bot_row(bot_reply_button(botmsg(B_BRANCHES, lang), NULL),
	                              bot_reply_button(botmsg(B_SETTINGS, lang), NULL), NULL));
	return bot_reply_markup(rows, 0);
}

/* A one-button reply keyboard asking for the contact or the location. */
static json_object *
bot_request_keyboard(const char *text, const char *what)
{
	json_object *rows = json_object_new_array();

	json_object_array_add(rows, bot_row(bot_reply_button(text, what), NULL, NULL));
	return bot_reply_markup(rows, 1);
}

static void
bot_stale(struct bot_ctx *x)
{
	bot_answer(x, botmsg(M_STALE, bot_lang(x)), 0);
}

static void
bot_try_later(struct bot_ctx *x)
{
	if (x->u->kind == TG_CALLBACK)
		bot_answer(x, botmsg(M_TRY_LATER, bot_lang(x)), 1);
	else
		bot_send(x, botmsg(M_TRY_LATER, bot_lang(x)), NULL);
}

/* ------------------------------------------------------------ people */

static void
bot_ask_lang(struct bot_ctx *x)
{
	json_object *rows = json_object_new_array();

	json_object_array_add(rows, bot_row(bot_button("🇺🇿 O‘zbekcha", "l:uz"),
	                                    bot_button("🇷🇺 Русский", "l:ru"), NULL));
	bot_step(x->c, "lang");
	bot_show(x, botmsg(M_CHOOSE_LANG, "uz"), bot_inline(rows));
}

static void
bot_ask_phone(struct bot_ctx *x, enum botmsg why)
{
	bot_step(x->c, "phone");
	bot_send(x, botmsg(why, bot_lang(x)),
	         bot_request_keyboard(botmsg(B_SEND_PHONE, bot_lang(x)), "request_contact"));
}

static void
bot_main_menu(struct bot_ctx *x, enum botmsg why)
{
	bot_checkout_reset(x->c);
	bot_send(x, botmsg(why, bot_lang(x)), bot_main_keyboard(bot_lang(x)));
}

/*
 * The customer's users document, by telegramId (the same record the Mini
 * App's sign-in uses: user_upsert_telegram), created on first contact and
 * kept in step with the phone and language given here.
 */
static int
bot_user_sync(struct bot_ctx *x)
{
	const struct user_telegram u = {
	    .telegram_id = x->u->from_id,
	    .first_name = x->u->first_name,
	    .last_name = x->u->last_name,
	    .username = x->u->username,
	    .phone = x->c->phone,
	    .language = bot_lang(x),
	    .language_chosen = 1,
	};
	bson_error_t error;
	int rc = user_upsert_telegram(x->client, &u, &x->c->user, &error);

	if (rc != 0)
		log_error("bot: user of chat %lld not saved: %s", (long long)x->c->id,
		          error.message);
	x->c->has_user = rc == 0;
	return rc;
}

static void
bot_on_contact(struct bot_ctx *x)
{
	const char *p = x->u->contact_phone;
	char phone[24];
	size_t n = 0;

	/* Only the sender's own number, as the request_contact button sends it. */
	if (x->u->contact_user_id != x->u->from_id) {
		bot_ask_phone(x, M_OWN_PHONE);
		return;
	}
	if (*p == '+')
		p++;
	phone[n++] = '+';
	for (; *p != '\0' && n + 1 < sizeof(phone); p++) {
		if (*p >= '0' && *p <= '9')
			phone[n++] = *p;
		else if (*p != ' ' && *p != '-')
			break;
	}
	phone[n] = '\0';
	/* The one phone rule (the order's too: a number kept here must place one). */
	if (*p != '\0' || !valid_phone(phone, n)) {
		bot_ask_phone(x, M_OWN_PHONE);
		return;
	}
	snprintf(x->c->phone, sizeof(x->c->phone), "%s", phone);
	if (bot_user_sync(x) != 0) {
		bot_try_later(x);
		return;
	}
	bot_main_menu(x, M_WELCOME);
}

static void
bot_on_lang(struct bot_ctx *x, const char *lang)
{
	snprintf(x->c->lang, sizeof(x->c->lang), "%s", lang);
	bot_answer(x, NULL, 0);
	bot_show(x, botmsg(M_LANG_SET, lang), NULL);
	if (x->c->phone[0] == '\0') {
		bot_ask_phone(x, M_ASK_PHONE);
		return;
	}
	if (x->c->has_user)
		bot_user_sync(x);
	bot_main_menu(x, M_WELCOME);
}

/* ----------------------------------------------------------- catalogue */

/* The name of a catalogue document in the chat's language. */
static const char *
bot_name(const bson_t *doc, const char *lang)
{
	const char *ru = db_doc_utf8(doc, "nameRu"), *uz = db_doc_utf8(doc, "name");

	if (strcmp(lang, "ru") == 0 && ru != NULL && *ru != '\0')
		return ru;
	return uz != NULL ? uz : "?";
}

/*
 * Runs a find and calls cb for each document (at most limit). Returns the
 * count, or -1 on a database error.
 */
static int
bot_each(mongoc_client_t *client, const char *collection, const bson_t *filter, const bson_t *opts,
         void (*cb)(const bson_t *doc, void *arg), void *arg)
{
	mongoc_collection_t *coll = db_collection(client, collection);
	mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	const bson_t *doc;
	bson_error_t error;
	int n = 0;

	while (mongoc_cursor_next(cursor, &doc)) {
		cb(doc, arg);
		n++;
	}
	if (mongoc_cursor_error(cursor, &error)) {
		log_error("bot: %s: %s", collection, error.message);
		n = -1;
	}
	mongoc_cursor_destroy(cursor);
	mongoc_collection_destroy(coll);
	return n;
}

struct bot_list {
	const char *lang;
	json_object *rows;
};

static void
bot_list_category(const bson_t *doc, void *arg)
{
	struct bot_list *l = arg;
	char data[40], hex[25];
	bson_oid_t id;

	if (db_doc_oid(doc, "_id", &id) != 0)
		return;
	bson_oid_to_string(&id, hex);
	snprintf(data, sizeof(data), "c:%s", hex);
	json_object_array_add(l->rows,
	                      bot_row(bot_button(bot_name(doc, l->lang), data), NULL, NULL));
}

static void
bot_categories(struct bot_ctx *x)
{
	bson_t *filter = BCON_NEW("isActive", BCON_BOOL(true));
	bson_t *opts = BCON_NEW("sort", "{", "sortOrder", BCON_INT32(1), "}", "limit",
	                        BCON_INT64(BOT_LIST_MAX), "projection", "{", "name", BCON_INT32(1),
	                        "nameRu", BCON_INT32(1), "}");
	struct bot_list l = {bot_lang(x), json_object_new_array()};
	int n = bot_each(x->client, "categories", filter, opts, bot_list_category, &l);

	bson_destroy(opts);
	bson_destroy(filter);
	bot_answer(x, NULL, 0);
	if (n < 0) {
		json_object_put(l.rows);
		bot_try_later(x);
	} else if (n == 0) {
		json_object_put(l.rows);
		bot_show(x, botmsg(M_MENU_EMPTY, l.lang), NULL);
	} else {
		bot_show(x, botmsg(M_CATEGORIES, l.lang), bot_inline(l.rows));
	}
}

static void
bot_list_product(const bson_t *doc, void *arg)
{
	struct bot_list *l = arg;
	char data[40], hex[25], label[512], price[32];
	bson_oid_t id;

	if (db_doc_oid(doc, "_id", &id) != 0)
		return;
	bson_oid_to_string(&id, hex);
	snprintf(data, sizeof(data), "p:%s", hex);
	botmsg_money(db_doc_int(doc, "price", 0), price, sizeof(price));
	snprintf(label, sizeof(label), "%s%s — %s", db_doc_bool(doc, "isAvailable") ? "" : "❌ ",
	         bot_name(doc, l->lang), price);
	json_object_array_add(l->rows, bot_row(bot_button(label, data), NULL, NULL));
}

/* Loads the active document of collection whose id is hex: 1 found, 0 none, -1 error. */
static int
bot_load_active(struct bot_ctx *x, const char *collection, const char *hex, bson_oid_t *id,
                bson_t **doc)
{
	bson_t *filter;
	bson_error_t error;
	int rc;

	*doc = NULL;
	if (parse_oid(hex, id) != 0)
		return 0;
	filter = BCON_NEW("_id", BCON_OID(id), "isActive", BCON_BOOL(true));
	rc = db_find_one(x->client, collection, filter, NULL, doc, &error);
	bson_destroy(filter);
	if (rc < 0)
		log_error("bot: %s: %s", collection, error.message);
	return rc;
}

static void
bot_category(struct bot_ctx *x, const char *hex)
{
	bson_t *cat, *filter, *opts;
	struct bot_list l = {bot_lang(x), NULL};
	struct bot_text t = {.len = 0};
	bson_oid_t id;
	int rc = bot_load_active(x, "categories", hex, &id, &cat);

	if (rc <= 0) {
		if (rc < 0)
			bot_try_later(x);
		else
			bot_stale(x);
		return;
	}
	filter = BCON_NEW("categoryId", BCON_OID(&id), "isActive", BCON_BOOL(true));
	opts =
	    BCON_NEW("sort", "{", "sortOrder", BCON_INT32(1), "}", "limit",
	             BCON_INT64(BOT_LIST_MAX), "projection", "{", "name", BCON_INT32(1), "nameRu",
	             BCON_INT32(1), "price", BCON_INT32(1), "isAvailable", BCON_INT32(1), "}");
	l.rows = json_object_new_array();
	rc = bot_each(x->client, "products", filter, opts, bot_list_product, &l);
	bson_destroy(opts);
	bson_destroy(filter);
	if (rc < 0) {
		json_object_put(l.rows);
		bson_destroy(cat);
		bot_try_later(x);
		return;
	}
	json_object_array_add(l.rows, bot_row(bot_button(botmsg(B_BACK, l.lang), "C"), NULL, NULL));
	bot_text_msg(&t, l.lang, M_PRODUCTS, bot_name(cat, l.lang));
	bot_answer(x, NULL, 0);
	bot_show(x, t.buf, bot_inline(l.rows));
	bson_destroy(cat);
}

/* The product's photo as an absolute URL Telegram can fetch, or "" for none. */
static void
bot_photo_url(const bson_t *product, char *out, size_t outlen)
{
	const char *base = app_config.api_base_url;
	bson_iter_t it, sub;

	out[0] = '\0';
	if (!bson_iter_init_find(&it, product, "image") || !BSON_ITER_HOLDS_DOCUMENT(&it) ||
	    !bson_iter_recurse(&it, &sub) || !bson_iter_find(&sub, "url") ||
	    !BSON_ITER_HOLDS_UTF8(&sub))
		return;
	const char *url = bson_iter_utf8(&sub, NULL);
	if (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0)
		snprintf(out, outlen, "%s", url);
	else if (url[0] == '/' && base != NULL && *base != '\0')
		snprintf(out, outlen, "%s%s", base, url);
}

/* A product card: photo (when it has one), price, availability, quantity. */
static void
bot_product(struct bot_ctx *x, const char *hex, int64_t qty)
{
	const char *lang = bot_lang(x), *desc;
	struct bot_text t = {.len = 0};
	char price[32], data[64], photo[1024], n[8];
	bson_t *p;
	bson_oid_t id, cat;
	json_object *rows, *params;
	int rc = bot_load_active(x, "products", hex, &id, &p), available;

	if (rc <= 0) {
		if (rc < 0)
			bot_try_later(x);
		else
			bot_stale(x);
		return;
	}
	available = db_doc_bool(p, "isAvailable");
	desc = db_doc_utf8(p, strcmp(lang, "ru") == 0 ? "descriptionRu" : "description");
	botmsg_money(db_doc_int(p, "price", 0), price, sizeof(price));
	bot_text_fmt(&t, "%s\n", bot_name(p, lang));
	if (desc != NULL && *desc != '\0')
		bot_text_fmt(&t, "%.700s\n", desc);
	bot_text_msg(&t, lang, M_PRICE, price);
	bot_text_fmt(&t, "\n%s", botmsg(available ? M_AVAILABLE : M_OUT_OF_STOCK, lang));
	rows = json_object_new_array();
	if (available) {
		char minus[64], plus[64];
		snprintf(minus, sizeof(minus), "q:%s:%lld", hex,
		         (long long)(qty > 1 ? qty - 1 : 1));
		snprintf(plus, sizeof(plus), "q:%s:%lld", hex,
		         (long long)(qty < ORDER_QTY_MAX ? qty + 1 : ORDER_QTY_MAX));
		snprintf(n, sizeof(n), "%lld", (long long)qty);
		json_object_array_add(rows, bot_row(bot_button("➖", minus), bot_button(n, "x"),
		                                    bot_button("➕", plus)));
		snprintf(data, sizeof(data), "a:%s:%lld", hex, (long long)qty);
		json_object_array_add(rows,
		                      bot_row(bot_button(botmsg(B_ADD, lang), data), NULL, NULL));
	}
	if (db_doc_oid(p, "categoryId", &cat) == 0) {
		char chex[25];
		bson_oid_to_string(&cat, chex);
		snprintf(data, sizeof(data), "c:%s", chex);
		json_object_array_add(rows,
		                      bot_row(bot_button(botmsg(B_BACK, lang), data), NULL, NULL));
	}
	bot_answer(x, NULL, 0);
	bot_photo_url(p, photo, sizeof(photo));
	if (photo[0] == '\0') {
		bot_show(x, t.buf, bot_inline(rows));
	} else if (x->u->on_photo) {
		params = json_object_new_object();
		json_object_object_add(params, "chat_id", json_object_new_int64(x->c->id));
		json_object_object_add(params, "message_id",
		                       json_object_new_int64(x->u->message_id));
		json_object_object_add(params, "caption", json_object_new_string(t.buf));
		json_object_object_add(params, "reply_markup", bot_inline(rows));
		bot_call("editMessageCaption", params, x->c->id);
	} else {
		params = json_object_new_object();
		json_object_object_add(params, "chat_id", json_object_new_int64(x->c->id));
		json_object_object_add(params, "photo", json_object_new_string(photo));
		json_object_object_add(params, "caption", json_object_new_string(t.buf));
		json_object_object_add(params, "reply_markup", bot_inline(rows));
		bot_call("sendPhoto", params, x->c->id);
	}
	bson_destroy(p);
}

/* "<24 hex>:<n>" with n in 1..99. */
static int
bot_id_qty(const char *s, char hex[25], int64_t *qty)
{
	if (strlen(s) < 26 || s[24] != ':')
		return -1;
	memcpy(hex, s, 24);
	hex[24] = '\0';
	return parse_int64(s + 25, 1, ORDER_QTY_MAX, qty);
}

/* ---------------------------------------------------------------- cart */

static int
bot_cart_find(const struct bot_chat *c, const bson_oid_t *p)
{
	for (size_t i = 0; i < c->nlines; i++)
		if (bson_oid_equal(&c->lines[i].product, p))
			return (int)i;
	return -1;
}

static void
bot_add(struct bot_ctx *x, const char *arg)
{
	char hex[25];
	int64_t qty;
	bson_oid_t id;
	bson_t *p;
	int rc, i;

	if (bot_id_qty(arg, hex, &qty) != 0) {
		bot_stale(x);
		return;
	}
	rc = bot_load_active(x, "products", hex, &id, &p);
	if (rc <= 0) {
		if (rc < 0)
			bot_try_later(x);
		else
			bot_stale(x);
		return;
	}
	if (!db_doc_bool(p, "isAvailable")) {
		bot_answer(x, botmsg(M_OUT_OF_STOCK, bot_lang(x)), 1);
	} else if ((i = bot_cart_find(x->c, &id)) >= 0) {
		if (x->c->lines[i].qty + qty > ORDER_QTY_MAX) {
			bot_answer(x, botmsg(M_CART_FULL, bot_lang(x)), 1);
		} else {
			x->c->lines[i].qty += qty;
			bot_answer(x, botmsg(M_ADDED, bot_lang(x)), 0);
		}
	} else if (x->c->nlines >= ORDER_ITEMS_MAX) {
		bot_answer(x, botmsg(M_CART_FULL, bot_lang(x)), 1);
	} else {
		x->c->lines[x->c->nlines].product = id;
		x->c->lines[x->c->nlines].qty = qty;
		x->c->nlines++;
		bot_answer(x, botmsg(M_ADDED, bot_lang(x)), 0);
	}
	bson_destroy(p);
}

/* A cart line priced now from the database. */
struct bot_priced {
	char name[256];
	int64_t price;
	int ok; /* active and available */
};

/* Prices every line; -1 on a database error. */
static int
bot_price_cart(struct bot_ctx *x, struct bot_priced *pr, int64_t *subtotal)
{
	static bson_t *fields;

	if (fields == NULL)
		fields = BCON_NEW("projection", "{", "name", BCON_INT32(1), "nameRu", BCON_INT32(1),
		                  "price", BCON_INT32(1), "isActive", BCON_INT32(1), "isAvailable",
		                  BCON_INT32(1), "}");
	*subtotal = 0;
	for (size_t i = 0; i < x->c->nlines; i++) {
		bson_t *filter = BCON_NEW("_id", BCON_OID(&x->c->lines[i].product)), *doc = NULL;
		bson_error_t error;
		int rc = db_find_one(x->client, "products", filter, fields, &doc, &error);

		bson_destroy(filter);
		if (rc < 0) {
			log_error("bot: products: %s", error.message);
			return -1;
		}
		memset(&pr[i], 0, sizeof(pr[i]));
		snprintf(pr[i].name, sizeof(pr[i].name), "%s",
		         rc == 1 ? bot_name(doc, bot_lang(x)) : "?");
		pr[i].price = rc == 1 ? db_doc_int(doc, "price", 0) : 0;
		pr[i].ok =
		    rc == 1 && db_doc_bool(doc, "isActive") && db_doc_bool(doc, "isAvailable");
		if (pr[i].ok)
			*subtotal += pr[i].price * x->c->lines[i].qty;
		if (doc != NULL)
			bson_destroy(doc);
	}
	return 0;
}

/* "1. Toʻy oshi × 2 = 90 000 so'm" lines into t. */
static void
bot_cart_lines(struct bot_ctx *x, const struct bot_priced *pr, struct bot_text *t)
{
	for (size_t i = 0; i < x->c->nlines; i++) {
		char sum[32];
		botmsg_money(pr[i].price * x->c->lines[i].qty, sum, sizeof(sum));
		bot_text_fmt(t, "\n%zu. %s%s × %lld = %s", i + 1, pr[i].ok ? "" : "❌ ", pr[i].name,
		             (long long)x->c->lines[i].qty, sum);
	}
}

static void
bot_cart(struct bot_ctx *x)
{
	const char *lang = bot_lang(x);
	struct bot_priced *pr;
	struct bot_text *t;
	json_object *rows;
	int64_t subtotal;
	char sum[32];

	if (x->c->nlines == 0) {
		bot_answer(x, NULL, 0);
		bot_show(x, botmsg(M_CART_EMPTY, lang), NULL);
		return;
	}
	pr = xcalloc(x->c->nlines, sizeof(*pr));
	t = xcalloc(1, sizeof(*t));
	if (bot_price_cart(x, pr, &subtotal) != 0) {
		bot_try_later(x);
		goto done;
	}
	bot_text_add(t, botmsg(M_CART_TITLE, lang));
	bot_cart_lines(x, pr, t);
	botmsg_money(subtotal, sum, sizeof(sum));
	bot_text_add(t, "\n\n");
	bot_text_msg(t, lang, M_TOTAL, sum);
	rows = json_object_new_array();
	for (size_t i = 0; i < x->c->nlines; i++) {
		char hex[25], minus[40], plus[40], label[300];
		bson_oid_to_string(&x->c->lines[i].product, hex);
		snprintf(minus, sizeof(minus), "k-:%s", hex);
		snprintf(plus, sizeof(plus), "k+:%s", hex);
		snprintf(label, sizeof(label), "%.200s × %lld", pr[i].name,
		         (long long)x->c->lines[i].qty);
		json_object_array_add(rows, bot_row(bot_button("➖", minus), bot_button(label, "x"),
		                                    bot_button("➕", plus)));
	}
	json_object_array_add(rows, bot_row(bot_button(botmsg(B_CLEAR, lang), "kx"),
	                                    bot_button(botmsg(B_CHECKOUT, lang), "ko"), NULL));
	bot_answer(x, NULL, 0);
	bot_show(x, t->buf, bot_inline(rows));
done:
	free(t);
	free(pr);
}

/* k+:<p> / k-:<p>: one more or one less of a line already in the cart. */
static void
bot_cart_step(struct bot_ctx *x, const char *hex, int delta)
{
	bson_oid_t id;
	int i;

	if (parse_oid(hex, &id) != 0 || (i = bot_cart_find(x->c, &id)) < 0) {
		bot_stale(x);
		return;
	}
	if (x->c->lines[i].qty + delta > ORDER_QTY_MAX) {
		bot_answer(x, botmsg(M_CART_FULL, bot_lang(x)), 0);
		return;
	}
	x->c->lines[i].qty += delta;
	if (x->c->lines[i].qty <= 0) {
		memmove(&x->c->lines[i], &x->c->lines[i + 1],
		        (x->c->nlines - (size_t)i - 1) * sizeof(x->c->lines[0]));
		x->c->nlines--;
	}
	bot_cart(x);
}

/* ------------------------------------------------------------ checkout */

struct bot_branches {
	const char *lang;
	int64_t now;
	json_object *rows;
	struct bot_text *text; /* the Branches listing, or NULL for buttons */
};

/* 1 when the branch takes orders now (isOpen and its working hours). */
static int
bot_branch_open(const bson_t *b, int64_t now)
{
	bson_iter_t it;
	bson_t hours;

	if (!db_doc_bool(b, "isOpen"))
		return 0;
	if (bson_iter_init_find(&it, b, "workingHours") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
		const uint8_t *data;
		uint32_t len;
		bson_iter_document(&it, &len, &data);
		bson_init_static(&hours, data, len);
		return tashkent_is_open(&hours, now);
	}
	return 1;
}

static void
bot_list_branch(const bson_t *doc, void *arg)
{
	struct bot_branches *l = arg;
	int open = bot_branch_open(doc, l->now);
	char data[40], hex[25], label[400];
	bson_oid_t id;

	if (db_doc_oid(doc, "_id", &id) != 0)
		return;
	if (l->text != NULL) {
		const char *addr =
		    db_doc_utf8(doc, strcmp(l->lang, "ru") == 0 ? "addressRu" : "address");
		const char *phone = db_doc_utf8(doc, "phone");
		bot_text_fmt(l->text, "\n\n%s — %s\n%s%s%s", bot_name(doc, l->lang),
		             botmsg(open ? M_OPEN_NOW : M_CLOSED_NOW, l->lang), addr ? addr : "",
		             phone ? "\n" : "", phone ? phone : "");
		return;
	}
	bson_oid_to_string(&id, hex);
	snprintf(data, sizeof(data), "b:%s", hex);
	snprintf(label, sizeof(label), "%s%s%s", bot_name(doc, l->lang), open ? "" : " ",
	         open ? "" : botmsg(M_CLOSED_MARK, l->lang));
	json_object_array_add(l->rows, bot_row(bot_button(label, data), NULL, NULL));
}

static void
bot_branch_list(struct bot_ctx *x, struct bot_text *text)
{
	bson_t *filter = BCON_NEW("isActive", BCON_BOOL(true));
	bson_t *opts = BCON_NEW("limit", BCON_INT64(BOT_LIST_MAX));
	struct bot_branches l = {bot_lang(x), db_now_ms(), json_object_new_array(), text};
	int n = bot_each(x->client, "branches", filter, opts, bot_list_branch, &l);

	bson_destroy(opts);
	bson_destroy(filter);
	bot_answer(x, NULL, 0);
	if (n < 0) {
		json_object_put(l.rows);
		bot_try_later(x);
	} else if (text != NULL) {
		json_object_put(l.rows);
		bot_send(x, text->buf, NULL);
	} else {
		bot_step(x->c, "branch");
		bot_show(x, botmsg(M_CHOOSE_BRANCH, l.lang), bot_inline(l.rows));
	}
}

static void
bot_checkout(struct bot_ctx *x)
{
	if (x->c->nlines == 0) {
		bot_answer(x, botmsg(M_CART_EMPTY, bot_lang(x)), 0);
		return;
	}
	bot_checkout_reset(x->c);
	bot_branch_list(x, NULL);
}

static void
bot_choose_branch(struct bot_ctx *x, const char *hex)
{
	const char *lang = bot_lang(x);
	json_object *rows;
	bson_oid_t id;
	bson_t *b;
	int rc;

	if (strcmp(x->c->step, "branch") != 0) {
		bot_stale(x);
		return;
	}
	rc = bot_load_active(x, "branches", hex, &id, &b);
	if (rc < 0) {
		bot_try_later(x);
		return;
	}
	if (rc == 0) {
		bot_answer(x, botmsg(M_NO_BRANCH, lang), 1);
		return;
	}
	if (!bot_branch_open(b, db_now_ms())) {
		bot_answer(x, botmsg(M_BRANCH_CLOSED, lang), 1);
		bson_destroy(b);
		return;
	}
	bson_destroy(b);
	x->c->branch = id;
	x->c->has_branch = 1;
	bot_step(x->c, "type");
	rows = json_object_new_array();
	json_object_array_add(rows,
	                      bot_row(bot_button(botmsg(B_DELIVERY, lang), "t:d"), NULL, NULL));
	json_object_array_add(rows, bot_row(bot_button(botmsg(B_PICKUP, lang), "t:p"),
	                                    bot_button(botmsg(B_DINE_IN, lang), "t:i"), NULL));
	bot_answer(x, NULL, 0);
	bot_show(x, botmsg(M_CHOOSE_TYPE, lang), bot_inline(rows));
}

static void
bot_ask_payment(struct bot_ctx *x)
{
	const char *lang = bot_lang(x);
	json_object *rows = json_object_new_array();

	json_object_array_add(rows, bot_row(bot_button(botmsg(B_CASH, lang), "m:cash"),
	                                    bot_button(botmsg(B_CARD, lang), "m:card"), NULL));
	json_object_array_add(rows, bot_row(bot_button(botmsg(B_CLICK, lang), "m:click"),
	                                    bot_button(botmsg(B_PAYME, lang), "m:payme"), NULL));
	bot_step(x->c, "payment");
	bot_show(x, botmsg(M_CHOOSE_PAYMENT, lang), bot_inline(rows));
}

static void
bot_choose_type(struct bot_ctx *x, const char *t)
{
	const char *lang = bot_lang(x);

	if (strcmp(x->c->step, "type") != 0 || t[0] == '\0' || t[1] != '\0' ||
	    strchr("dpi", t[0]) == NULL) {
		bot_stale(x);
		return;
	}
	bot_answer(x, NULL, 0);
	x->c->address[0] = '\0';
	x->c->has_location = 0;
	x->c->table = 0;
	switch (t[0]) {
	case 'd':
		snprintf(x->c->type, sizeof(x->c->type), "delivery");
		bot_step(x->c, "address");
		bot_show(x, botmsg(B_DELIVERY, lang), NULL);
		bot_send(x, botmsg(M_ASK_ADDRESS, lang),
		         bot_request_keyboard(botmsg(B_SEND_LOCATION, lang), "request_location"));
		break;
	case 'p':
		snprintf(x->c->type, sizeof(x->c->type), "pickup");
		bot_ask_payment(x);
		break;
	default:
		snprintf(x->c->type, sizeof(x->c->type), "dine_in");
		bot_step(x->c, "table");
		bot_show(x, botmsg(M_ASK_TABLE, lang), NULL);
		break;
	}
}

static void
bot_on_address(struct bot_ctx *x)
{
	const struct tg_update *u = x->u;
	size_t n;

	if (u->has_location) {
		x->c->has_location = 1;
		x->c->lat = u->lat;
		x->c->lng = u->lng;
		x->c->address[0] = '\0';
	} else {
		n = u->has_text ? utf8_length(u->text) : 0;
		if (n < BOT_ADDRESS_MIN || n > ORDER_ADDRESS_MAX || u->text[0] == '/') {
			bot_send(x, botmsg(M_BAD_ADDRESS, bot_lang(x)), NULL);
			return;
		}
		snprintf(x->c->address, sizeof(x->c->address), "%.*s",
		         (int)sizeof(x->c->address) - 1, u->text);
	}
	/* The location keyboard gives way to the main menu again. */
	bot_send(x, botmsg(B_DELIVERY, bot_lang(x)), bot_main_keyboard(bot_lang(x)));
	bot_ask_payment(x);
}

static void
bot_on_table(struct bot_ctx *x)
{
	if (!x->u->has_text || parse_int64(x->u->text, 1, 999, &x->c->table) != 0) {
		bot_send(x, botmsg(M_BAD_TABLE, bot_lang(x)), NULL);
		return;
	}
	bot_ask_payment(x);
}

static void bot_confirm(struct bot_ctx *x, enum botmsg lead);

static void
bot_choose_payment(struct bot_ctx *x, const char *m)
{
	json_object *rows;

	if (strcmp(x->c->step, "payment") != 0 || !order_payment_valid(m)) {
		bot_stale(x);
		return;
	}
	snprintf(x->c->payment, sizeof(x->c->payment), "%s", m);
	bot_step(x->c, "comment");
	rows = json_object_new_array();
	json_object_array_add(rows,
	                      bot_row(bot_button(botmsg(B_SKIP, bot_lang(x)), "s"), NULL, NULL));
	bot_answer(x, NULL, 0);
	bot_show(x, botmsg(M_ASK_COMMENT, bot_lang(x)), bot_inline(rows));
}

static void
bot_on_comment(struct bot_ctx *x)
{
	if (!x->u->has_text || utf8_length(x->u->text) > ORDER_COMMENT_MAX) {
		bot_send(x, botmsg(M_BAD_COMMENT, bot_lang(x)), NULL);
		return;
	}
	snprintf(x->c->comment, sizeof(x->c->comment), "%.*s", (int)sizeof(x->c->comment) - 1,
	         x->u->text);
	x->c->has_comment = 1;
	bot_confirm(x, M_CONFIRM_TITLE);
}

static enum botmsg
bot_payment_label(const char *m)
{
	if (strcmp(m, "card") == 0)
		return B_CARD;
	if (strcmp(m, "click") == 0)
		return B_CLICK;
	if (strcmp(m, "payme") == 0)
		return B_PAYME;
	return B_CASH;
}

/*
 * The confirmation: every line priced by the server now, the delivery
 * fee, and the total the order must then have (a price changed between
 * this screen and the button is a 409 and a new screen, never a surprise).
 */
static void
bot_confirm(struct bot_ctx *x, enum botmsg lead)
{
	const char *lang = bot_lang(x);
	struct bot_priced *pr = xcalloc(x->c->nlines ? x->c->nlines : 1, sizeof(*pr));
	struct bot_text *t = xcalloc(1, sizeof(*t));
	bson_t *branch = NULL, *filter;
	bson_error_t error;
	int64_t subtotal, fee = 0;
	char sum[32];
	json_object *rows;
	int rc;

	if (x->c->nlines == 0 || !x->c->has_branch) {
		bot_checkout_reset(x->c);
		bot_stale(x);
		goto done;
	}
	filter = BCON_NEW("_id", BCON_OID(&x->c->branch));
	rc = db_find_one(x->client, "branches", filter, NULL, &branch, &error);
	bson_destroy(filter);
	if (rc < 0 || bot_price_cart(x, pr, &subtotal) != 0) {
		bot_try_later(x);
		goto done;
	}
	if (strcmp(x->c->type, "delivery") == 0 && branch != NULL)
		fee = db_doc_int(branch, "deliveryFee", 0);
	x->c->total = subtotal + fee;
	bot_text_add(t, botmsg(lead, lang));
	if (lead != M_CONFIRM_TITLE) {
		bot_text_add(t, "\n");
		bot_text_add(t, botmsg(M_CONFIRM_TITLE, lang));
	}
	bot_cart_lines(x, pr, t);
	bot_text_add(t, "\n\n");
	if (branch != NULL) {
		bot_text_msg(t, lang, M_BRANCH, bot_name(branch, lang));
		bot_text_add(t, "\n");
	}
	bot_text_add(t, botmsg(strcmp(x->c->type, "delivery") == 0 ? B_DELIVERY
	                       : strcmp(x->c->type, "pickup") == 0 ? B_PICKUP
	                                                           : B_DINE_IN,
	                       lang));
	if (x->c->table > 0)
		bot_text_fmt(t, " #%lld", (long long)x->c->table);
	bot_text_add(t, "\n");
	if (x->c->address[0] != '\0') {
		bot_text_msg(t, lang, M_ADDRESS, x->c->address);
		bot_text_add(t, "\n");
	} else if (x->c->has_location) {
		char loc[64];
		snprintf(loc, sizeof(loc), "📍 %.5f, %.5f", x->c->lat, x->c->lng);
		bot_text_msg(t, lang, M_ADDRESS, loc);
		bot_text_add(t, "\n");
	}
	bot_text_msg(t, lang, M_PAYMENT, botmsg(bot_payment_label(x->c->payment), lang));
	if (x->c->has_comment && x->c->comment[0] != '\0') {
		bot_text_add(t, "\n");
		bot_text_msg(t, lang, M_COMMENT, x->c->comment);
	}
	botmsg_money(subtotal, sum, sizeof(sum));
	bot_text_add(t, "\n\n");
	bot_text_msg(t, lang, M_SUBTOTAL, sum);
	if (fee > 0) {
		botmsg_money(fee, sum, sizeof(sum));
		bot_text_add(t, "\n");
		bot_text_msg(t, lang, M_DELIVERY_FEE, sum);
	}
	botmsg_money(x->c->total, sum, sizeof(sum));
	bot_text_add(t, "\n");
	bot_text_msg(t, lang, M_TOTAL, sum);
	rows = json_object_new_array();
	json_object_array_add(rows, bot_row(bot_button(botmsg(B_CONFIRM, lang), "y"),
	                                    bot_button(botmsg(B_CANCEL, lang), "n"), NULL));
	bot_step(x->c, "confirm");
	bot_answer(x, NULL, 0);
	bot_show(x, t->buf, bot_inline(rows));
done:
	if (branch != NULL)
		bson_destroy(branch);
	free(t);
	free(pr);
}

/* Drops the buttons of the message the customer pressed (a finished step). */
static void
bot_drop_buttons(struct bot_ctx *x)
{
	json_object *p;

	if (x->u->kind != TG_CALLBACK || x->u->message_id == 0)
		return;
	p = json_object_new_object();
	json_object_object_add(p, "chat_id", json_object_new_int64(x->c->id));
	json_object_object_add(p, "message_id", json_object_new_int64(x->u->message_id));
	json_object_object_add(p, "reply_markup", bot_inline(json_object_new_array()));
	bot_call("editMessageReplyMarkup", p, x->c->id);
}

/* What the refusal of order_place tells the customer, and where it leaves them. */
static void
bot_place_refused(struct bot_ctx *x, const struct order_result *res)
{
	const char *lang = bot_lang(x), *names;
	struct bot_text t = {.len = 0};

	switch (res->reason) {
	case ORDER_UNAVAILABLE:
		names = strchr(res->message, ':');
		bot_text_msg(&t, lang, M_UNAVAILABLE, names != NULL ? names + 2 : "");
		bot_answer(x, t.buf, 1);
		bot_checkout_reset(x->c);
		bot_cart(x);
		break;
	case ORDER_PRICE_CHANGED:
		bot_confirm(x, M_PRICE_CHANGED);
		break;
	case ORDER_BRANCH_CLOSED:
	case ORDER_NO_BRANCH:
		bot_answer(
		    x, botmsg(res->reason == ORDER_NO_BRANCH ? M_NO_BRANCH : M_BRANCH_CLOSED, lang),
		    1);
		bot_checkout_reset(x->c);
		bot_branch_list(x, NULL);
		break;
	case ORDER_MIN_ORDER: {
		char min[32];
		const char *digits = strpbrk(res->message, "0123456789");
		int64_t v = 0;
		/* The message names the branch's minimum: "... is 50000 so'm". */
		if (digits != NULL)
			v = strtoll(digits, NULL, 10);
		botmsg_money(v, min, sizeof(min));
		bot_text_msg(&t, lang, M_MIN_ORDER, min);
		bot_answer(x, t.buf, 1);
		bot_checkout_reset(x->c);
		bot_cart(x);
		break;
	}
	case ORDER_IN_PROGRESS:
		bot_answer(x, NULL, 0);
		break;
	default:
		log_warn("bot: order from chat %lld refused: %d %s", (long long)x->c->id,
		         res->status, res->message);
		bot_try_later(x);
		break;
	}
}

/*
 * An inline URL button to the provider's checkout page for an order to be
 * paid with Payme or Click and not paid yet (the pay endpoint's checks
 * and link builder, lib/payments.c); NULL for any other order or when the
 * provider is not configured. numbered: the order's number on the button
 * ("My orders" lists several).
 */
static json_object *
bot_pay_button(const bson_t *order, const char *lang, int numbered)
{
	const char *method = db_doc_utf8(order, "paymentMethod");
	struct payments_config cfg;
	char url[1024], text[160];
	json_object *b;

	if (method == NULL || payments_order_state(order, method, -1) != PAYMENTS_ORDER_OK)
		return NULL;
	if (strcmp(method, "payme") != 0 && strcmp(method, "click") != 0)
		return NULL;
	payments_config_load(&cfg);
	if (payments_checkout_url(&cfg, method, order, url, sizeof(url)) < 0)
		return NULL;
	if (numbered)
		botmsg_format(
		    text, sizeof(text), B_PAY_ORDER, lang,
		    botmsg(strcmp(method, "payme") == 0 ? B_PAY_PAYME : B_PAY_CLICK, lang),
		    (long long)db_doc_int(order, "number", 0));
	else
		snprintf(text, sizeof(text), "%s",
		         botmsg(strcmp(method, "payme") == 0 ? B_PAY_PAYME : B_PAY_CLICK, lang));
	b = json_object_new_object();
	json_object_object_add(b, "text", json_object_new_string(text));
	json_object_object_add(b, "url", json_object_new_string(url));
	return b;
}

static void
bot_place(struct bot_ctx *x)
{
	struct order_input *in;
	struct order_result res = {0};
	struct who who;
	char key[40], sum[32];
	struct bot_text t = {.len = 0};

	if (strcmp(x->c->step, "confirm") != 0 || x->c->nlines == 0 || !x->c->has_branch ||
	    !x->c->has_user) {
		bot_stale(x);
		return;
	}
	in = xcalloc(1, sizeof(*in));
	in->nitems = x->c->nlines;
	for (size_t i = 0; i < x->c->nlines; i++) {
		in->items[i].product = x->c->lines[i].product;
		in->items[i].quantity = x->c->lines[i].qty;
	}
	in->order_type = x->c->type;
	in->payment_method = x->c->payment;
	in->branch = x->c->branch;
	in->address = x->c->address[0] != '\0' ? x->c->address : NULL;
	in->has_location = x->c->has_location;
	in->lat = x->c->lat;
	in->lng = x->c->lng;
	in->phone = x->c->phone[0] != '\0' ? x->c->phone : NULL;
	in->comment = x->c->has_comment ? x->c->comment : NULL;
	in->table_number = x->c->table;
	in->has_total = 1;
	in->total = x->c->total;
	/* The button's update: a redelivered press finds the order it made. */
	snprintf(key, sizeof(key), "tg:%lld", (long long)x->u->update_id);
	in->idempotency_key = key;
	memset(&who, 0, sizeof(who));
	who.kind = WHO_CUSTOMER;
	who.id = x->c->user;

	if (order_place(x->client, in, &who, &res) != 0) {
		bot_place_refused(x, &res);
	} else {
		int64_t number = db_doc_int(res.order, "number", 0);
		botmsg_money(db_doc_int(res.order, "total", 0), sum, sizeof(sum));
		json_object *pay = bot_pay_button(res.order, bot_lang(x), 0);
		bot_text_msg(&t, bot_lang(x), M_PLACED, (long long)number, sum);
		x->c->nlines = 0;
		bot_answer(x, NULL, 0);
		bot_drop_buttons(x);
		/*
		 * One message: the order's number, with the main menu back as the
		 * keyboard; an order paid online carries its pay button instead (a
		 * message has one keyboard; the persistent main menu stays shown).
		 */
		bot_checkout_reset(x->c);
		if (pay != NULL) {
			json_object *rows = json_object_new_array();
			json_object_array_add(rows, bot_row(pay, NULL, NULL));
			bot_send(x, t.buf, bot_inline(rows));
		} else {
			bot_send(x, t.buf, bot_main_keyboard(bot_lang(x)));
		}
		if (!res.replayed)
			order_announce_placed(x->client, res.order);
	}
	order_result_free(&res);
	free(in);
}

/* -------------------------------------------------------------- others */

static void
bot_list_order(const bson_t *doc, void *arg)
{
	struct bot_text *t = ((struct bot_text **)arg)[0];
	const char *lang = (const char *)((void **)arg)[1];
	json_object *rows = (json_object *)((void **)arg)[2];
	char *line = telegram_status_text(lang, db_doc_int(doc, "number", 0),
	                                  db_doc_utf8(doc, "status"), NULL);
	json_object *pay = bot_pay_button(doc, lang, 1);
	char sum[32];

	botmsg_money(db_doc_int(doc, "total", 0), sum, sizeof(sum));
	bot_text_fmt(t, "\n• %s — %s", line, sum);
	if (pay != NULL)
		json_object_array_add(rows, bot_row(pay, NULL, NULL));
	free(line);
}

static void
bot_my_orders(struct bot_ctx *x)
{
	struct bot_text *t = xcalloc(1, sizeof(*t));
	json_object *rows = json_object_new_array(); /* pay buttons of unpaid online orders */
	void *arg[3] = {t, (void *)bot_lang(x), rows};
	bson_t *filter, *opts;
	int n = 0;

	if (x->c->has_user) {
		filter = BCON_NEW("user", BCON_OID(&x->c->user));
		opts =
		    BCON_NEW("sort", "{", "createdAt", BCON_INT32(-1), "}", "limit",
		             BCON_INT64(BOT_ORDERS_SHOWN), "projection", "{", "number",
		             BCON_INT32(1), "status", BCON_INT32(1), "total", BCON_INT32(1),
		             "paymentMethod", BCON_INT32(1), "paymentStatus", BCON_INT32(1), "}");
		bot_text_add(t, botmsg(M_ORDERS_TITLE, bot_lang(x)));
		n = bot_each(x->client, "orders", filter, opts, bot_list_order, arg);
		bson_destroy(opts);
		bson_destroy(filter);
	}
	if (n < 0) {
		bot_try_later(x);
		json_object_put(rows);
	} else if (n > 0 && json_object_array_length(rows) > 0) {
		bot_send(x, t->buf, bot_inline(rows));
	} else {
		json_object_put(rows);
		bot_send(x, n > 0 ? t->buf : botmsg(M_NO_ORDERS, bot_lang(x)), NULL);
	}
	free(t);
}

static void
bot_settings(struct bot_ctx *x)
{
	const char *lang = bot_lang(x);
	struct bot_text t = {.len = 0};
	json_object *rows = json_object_new_array();

	bot_text_msg(&t, lang, M_SETTINGS, x->c->phone);
	json_object_array_add(rows,
	                      bot_row(bot_button(botmsg(B_CHANGE_LANG, lang), "sl"), NULL, NULL));
	json_object_array_add(rows,
	                      bot_row(bot_button(botmsg(B_CHANGE_PHONE, lang), "sp"), NULL, NULL));
	bot_send(x, t.buf, bot_inline(rows));
}

/*
 * The Mini App's sendData: {"orderId": "<24 hex>"} of an order it placed.
 * Open, for what a later shop may add; only a signed-in customer's own
 * order is reported (order_load checks who).
 */
static const struct valid_field bot_webapp_fields[] = {
    VALID_FIELD("orderId", VK_ID, VALID_REQUIRED),
};
static const struct valid_schema bot_webapp_schema =
    VALID_SCHEMA_FLAGS(bot_webapp_fields, NULL, VALID_OPEN);

static void
bot_on_webapp(struct bot_ctx *x)
{
	const char *data = x->u->web_app_data;
	struct order_result res = {0};
	json_object *o = NULL;
	struct valid_error e;
	bson_oid_t oid;
	struct who who;

	memset(&who, 0, sizeof(who));
	who.kind = WHO_CUSTOMER;
	who.id = x->c->user;
	if (x->c->has_user &&
	    valid_json(&bot_webapp_schema, data, strlen(data), VALID_CREATE, &o, &e) >= 0 &&
	    valid_get_id(o, "orderId", &oid) == 0 && order_load(x->client, &oid, &who, &res) == 0) {
		char *text = telegram_status_text(bot_lang(x), db_doc_int(res.order, "number", 0),
		                                  db_doc_utf8(res.order, "status"), NULL);
		bot_send(x, text, NULL);
		free(text);
	} else {
		bot_send(x, botmsg(M_WEBAPP_UNKNOWN, bot_lang(x)), NULL);
	}
	order_result_free(&res);
	json_object_put(o);
}

/* -------------------------------------------------------------- dispatch */

static void
bot_on_message(struct bot_ctx *x)
{
	const struct tg_update *u = x->u;
	struct bot_chat *c = x->c;
	const char *text = u->has_text ? u->text : "";
	enum botmsg button = botmsg_button(text);

	if (strcmp(text, "/start") == 0 || strncmp(text, "/start ", 7) == 0) {
		if (c->lang[0] == '\0')
			bot_ask_lang(x);
		else if (c->phone[0] == '\0' || !c->has_user)
			bot_ask_phone(x, M_ASK_PHONE);
		else
			bot_main_menu(x, M_WELCOME);
		return;
	}
	if (c->lang[0] == '\0') {
		bot_ask_lang(x);
		return;
	}
	if (u->has_contact) {
		bot_on_contact(x);
		return;
	}
	if (c->phone[0] == '\0' || !c->has_user) {
		bot_ask_phone(x, strcmp(c->step, "phone") == 0 ? M_OWN_PHONE : M_ASK_PHONE);
		return;
	}
	if (u->has_web_app_data) {
		bot_on_webapp(x);
		return;
	}
	if (button == B_MENU || strcmp(text, "/menu") == 0) {
		bot_checkout_reset(c);
		bot_categories(x);
	} else if (button == B_CART || strcmp(text, "/cart") == 0) {
		bot_checkout_reset(c);
		bot_cart(x);
	} else if (button == B_ORDERS || strcmp(text, "/orders") == 0) {
		bot_my_orders(x);
	} else if (button == B_BRANCHES) {
		struct bot_text *t = xcalloc(1, sizeof(*t));
		bot_text_add(t, botmsg(M_BRANCHES_TITLE, bot_lang(x)));
		bot_branch_list(x, t);
		free(t);
	} else if (button == B_SETTINGS) {
		bot_settings(x);
	} else if (strcmp(c->step, "address") == 0 && (u->has_location || u->has_text)) {
		bot_on_address(x);
	} else if (strcmp(c->step, "table") == 0) {
		bot_on_table(x);
	} else if (strcmp(c->step, "comment") == 0 && u->has_text) {
		bot_on_comment(x);
	} else {
		bot_send(x, botmsg(M_USE_MENU, bot_lang(x)), bot_main_keyboard(bot_lang(x)));
	}
}

static void
bot_on_callback(struct bot_ctx *x)
{
	const char *d = x->u->callback_data;
	char hex[25];
	int64_t qty;

	if (strcmp(d, "l:uz") == 0 || strcmp(d, "l:ru") == 0) {
		bot_on_lang(x, d + 2);
		return;
	}
	if (x->c->lang[0] == '\0' || x->c->phone[0] == '\0' || !x->c->has_user) {
		/* Buttons from before /start finished: begin again. */
		bot_stale(x);
		if (x->c->lang[0] == '\0')
			bot_ask_lang(x);
		else
			bot_ask_phone(x, M_ASK_PHONE);
		return;
	}
	if (strcmp(d, "x") == 0)
		bot_answer(x, NULL, 0);
	else if (strcmp(d, "C") == 0)
		bot_categories(x);
	else if (strncmp(d, "c:", 2) == 0)
		bot_category(x, d + 2);
	else if (strncmp(d, "p:", 2) == 0)
		bot_product(x, d + 2, 1);
	else if (strncmp(d, "q:", 2) == 0 && bot_id_qty(d + 2, hex, &qty) == 0)
		bot_product(x, hex, qty);
	else if (strncmp(d, "a:", 2) == 0)
		bot_add(x, d + 2);
	else if (strcmp(d, "k") == 0)
		bot_cart(x);
	else if (strncmp(d, "k+:", 3) == 0)
		bot_cart_step(x, d + 3, 1);
	else if (strncmp(d, "k-:", 3) == 0)
		bot_cart_step(x, d + 3, -1);
	else if (strcmp(d, "kx") == 0) {
		x->c->nlines = 0;
		bot_checkout_reset(x->c);
		bot_answer(x, botmsg(M_CART_CLEARED, bot_lang(x)), 0);
		bot_show(x, botmsg(M_CART_EMPTY, bot_lang(x)), NULL);
	} else if (strcmp(d, "ko") == 0)
		bot_checkout(x);
	else if (strncmp(d, "b:", 2) == 0)
		bot_choose_branch(x, d + 2);
	else if (strncmp(d, "t:", 2) == 0)
		bot_choose_type(x, d + 2);
	else if (strncmp(d, "m:", 2) == 0)
		bot_choose_payment(x, d + 2);
	else if (strcmp(d, "s") == 0 && strcmp(x->c->step, "comment") == 0) {
		x->c->has_comment = 0;
		bot_confirm(x, M_CONFIRM_TITLE);
	} else if (strcmp(d, "y") == 0)
		bot_place(x);
	else if (strcmp(d, "n") == 0 && strcmp(x->c->step, "menu") != 0) {
		bot_checkout_reset(x->c);
		bot_answer(x, NULL, 0);
		bot_show(x, botmsg(M_CHECKOUT_CANCELLED, bot_lang(x)), NULL);
	} else if (strcmp(d, "sl") == 0) {
		bot_answer(x, NULL, 0);
		bot_ask_lang(x);
	} else if (strcmp(d, "sp") == 0) {
		bot_answer(x, NULL, 0);
		bot_ask_phone(x, M_ASK_PHONE);
	} else
		bot_stale(x);
}

void
bot_handle(mongoc_client_t *client, const struct tg_update *u)
{
	struct bot_chat *c;
	struct bot_ctx x = {client, u, NULL, 0};

	if (u->kind == TG_OTHER)
		return;
	if (u->kind == TG_CALLBACK && bot_staff_callback(client, u))
		return;
	c = xcalloc(1, sizeof(*c));
	x.c = c;
	c->id = u->chat_id;
	/* The conversation is private; in groups only staff buttons count. */
	if (u->chat_id == 0 || strcmp(u->chat_type, "private") != 0 || u->from_id == 0) {
		if (u->kind == TG_CALLBACK)
			bot_stale(&x);
		goto done;
	}
	if (bot_chat_load(client, u->chat_id, c) != 0) {
		bot_try_later(&x);
		goto done;
	}
	if (c->exists && u->update_id <= c->last_update) {
		/* Handled before (a redelivery): answered then, not again. */
		bot_answer(&x, NULL, 0);
		goto done;
	}
	c->last_update = u->update_id;
	if (u->kind == TG_MESSAGE)
		bot_on_message(&x);
	else
		bot_on_callback(&x);
	bot_answer(&x, NULL, 0); /* every callback is answered, whatever happened */
	bot_chat_save(client, c);
done:
	free(c);
}
