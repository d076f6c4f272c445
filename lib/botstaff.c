/*
 * botstaff.c - the branch side of the bot: each new order goes to the
 * branch's staff chat (branches.staffChatId, a group the owner sets up,
 * staffLanguage "uz" | "ru") with Confirm and Cancel buttons. A button
 * counts only from that chat and from a Telegram account linked to an
 * active staff member of the branch (staff.telegramId); the change goes
 * through order_change_status, the same claim and 409 rules as PUT
 * /api/orders/{id}/status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oshxona.h"
#include "order.h"
#include "bot.h"

/* The branch of order, when it has a staff chat: 1 with *branch set, else 0. */
static int
botstaff_branch(mongoc_client_t *client, const bson_t *order, bson_t **branch, int64_t *chat)
{
	bson_oid_t id;
	bson_t *filter;
	bson_error_t error;
	int rc;

	*branch = NULL;
	if (db_doc_oid(order, "branch", &id) != 0)
		return 0;
	filter = BCON_NEW("_id", BCON_OID(&id));
	rc = db_find_one(client, "branches", filter, NULL, branch, &error);
	bson_destroy(filter);
	if (rc < 0)
		log_error("bot: branches: %s", error.message);
	if (rc != 1)
		return 0;
	*chat = db_doc_int(*branch, "staffChatId", 0);
	return *chat != 0;
}

static const char *
botstaff_lang(const bson_t *branch)
{
	const char *l = db_doc_utf8(branch, "staffLanguage");

	return l != NULL && strcmp(l, "ru") == 0 ? "ru" : "uz";
}

/* The order as the staff chat shows it; a new string (free()). */
static char *
botstaff_text(const bson_t *order, const char *lang, const char *footer)
{
	char buf[8192], sum[32];
	size_t used = 0;
	bson_iter_t it, arr, line;
	const char *s;
	int n;

#define BOTSTAFF_ADD(...)                                                                          \
	do {                                                                                       \
		n = snprintf(buf + used, sizeof(buf) - used, __VA_ARGS__);                         \
		if (n > 0)                                                                         \
			used =                                                                     \
			    (size_t)n < sizeof(buf) - used ? used + (size_t)n : sizeof(buf) - 1;   \
	} while (0)

	buf[0] = '\0';
	{
		char head[128];
		botmsg_format(head, sizeof(head), S_NEW_ORDER, lang,
		              (long long)db_doc_int(order, "number", 0));
		BOTSTAFF_ADD("%s\n", head);
	}
	if (bson_iter_init_find(&it, order, "items") && BSON_ITER_HOLDS_ARRAY(&it) &&
	    bson_iter_recurse(&it, &arr)) {
		while (bson_iter_next(&arr)) {
			const uint8_t *data;
			uint32_t len;
			bson_t l;
			if (!BSON_ITER_HOLDS_DOCUMENT(&arr) || !bson_iter_recurse(&arr, &line))
				continue;
			bson_iter_document(&arr, &len, &data);
			bson_init_static(&l, data, len);
			s = strcmp(lang, "ru") == 0 && db_doc_utf8(&l, "nameRu") != NULL &&
			            *db_doc_utf8(&l, "nameRu") != '\0'
			        ? db_doc_utf8(&l, "nameRu")
			        : db_doc_utf8(&l, "name");
			botmsg_money(db_doc_int(&l, "total", 0), sum, sizeof(sum));
			BOTSTAFF_ADD("• %s × %lld = %s\n", s ? s : "?",
			             (long long)db_doc_int(&l, "quantity", 0), sum);
		}
	}
	s = db_doc_utf8(order, "orderType");
	BOTSTAFF_ADD("%s", botmsg(s && strcmp(s, "delivery") == 0  ? B_DELIVERY
	                          : s && strcmp(s, "dine_in") == 0 ? B_DINE_IN
	                                                           : B_PICKUP,
	                          lang));
	if (db_doc_int(order, "tableNumber", 0) > 0)
		BOTSTAFF_ADD(" #%lld", (long long)db_doc_int(order, "tableNumber", 0));
	BOTSTAFF_ADD("\n");
	if ((s = db_doc_utf8(order, "address")) != NULL)
		BOTSTAFF_ADD("📍 %s\n", s);
	if (bson_iter_init_find(&it, order, "location") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
		const uint8_t *data;
		uint32_t len;
		bson_t loc;
		bson_iter_t v;
		double lat = 0, lng = 0;
		bson_iter_document(&it, &len, &data);
		bson_init_static(&loc, data, len);
		if (bson_iter_init_find(&v, &loc, "lat"))
			lat = bson_iter_as_double(&v);
		if (bson_iter_init_find(&v, &loc, "lng"))
			lng = bson_iter_as_double(&v);
		BOTSTAFF_ADD("📍 https://maps.google.com/?q=%.6f,%.6f\n", lat, lng);
	}
	if ((s = db_doc_utf8(order, "phone")) != NULL)
		BOTSTAFF_ADD("📞 %s\n", s);
	if ((s = db_doc_utf8(order, "comment")) != NULL && *s != '\0')
		BOTSTAFF_ADD("💬 %s\n", s);
	botmsg_money(db_doc_int(order, "total", 0), sum, sizeof(sum));
	{
		char total[128], pay[128];
		botmsg_format(total, sizeof(total), M_TOTAL, lang, sum);
		s = db_doc_utf8(order, "paymentMethod");
		botmsg_format(pay, sizeof(pay), M_PAYMENT, lang, s ? s : "?");
		BOTSTAFF_ADD("%s\n%s", total, pay);
	}
	if (footer != NULL)
		BOTSTAFF_ADD("\n\n%s", footer);
#undef BOTSTAFF_ADD
	return xstrdup(buf);
}

static json_object *
botstaff_buttons(const bson_oid_t *order, const char *lang)
{
	char hex[25], yes[32], no[32];
	json_object *rows = json_object_new_array();

	bson_oid_to_string(order, hex);
	snprintf(yes, sizeof(yes), "sc:%s", hex);
	snprintf(no, sizeof(no), "sx:%s", hex);
	json_object_array_add(rows, bot_row(bot_button(botmsg(B_CONFIRM, lang), yes),
	                                    bot_button(botmsg(B_CANCEL, lang), no), NULL));
	return bot_inline(rows);
}

void
bot_staff_new_order(mongoc_client_t *client, const bson_oid_t *id)
{
	bson_t *filter = BCON_NEW("_id", BCON_OID(id)), *order = NULL, *branch = NULL;
	bson_error_t error;
	json_object *p;
	int64_t chat = 0;
	char *text;

	if (db_find_one(client, "orders", filter, NULL, &order, &error) != 1 ||
	    !botstaff_branch(client, order, &branch, &chat))
		goto done;
	text = botstaff_text(order, botstaff_lang(branch), NULL);
	p = json_object_new_object();
	json_object_object_add(p, "chat_id", json_object_new_int64(chat));
	json_object_object_add(p, "text", json_object_new_string(text));
	json_object_object_add(p, "reply_markup", botstaff_buttons(id, botstaff_lang(branch)));
	bot_call("sendMessage", p, chat);
	free(text);
done:
	if (branch != NULL)
		bson_destroy(branch);
	if (order != NULL)
		bson_destroy(order);
	bson_destroy(filter);
}

/*
 * The staff member linked to the Telegram account, as struct who: 1 when
 * active, 0 when none, -1 on a database error.
 */
static int
botstaff_who(mongoc_client_t *client, int64_t telegram_id, struct who *who, char *name,
             size_t namelen)
{
	bson_t *filter =
	    BCON_NEW("telegramId", BCON_INT64(telegram_id), "isActive", BCON_BOOL(true));
	bson_t *doc = NULL;
	bson_error_t error;
	bson_iter_t it, arr;
	int rc = db_find_one(client, "staff", filter, NULL, &doc, &error);

	bson_destroy(filter);
	if (rc < 0)
		log_error("bot: staff: %s", error.message);
	if (rc != 1)
		return rc;
	memset(who, 0, sizeof(*who));
	who->kind = WHO_STAFF;
	db_doc_oid(doc, "_id", &who->id);
	snprintf(who->role, sizeof(who->role), "%s",
	         db_doc_utf8(doc, "role") ? db_doc_utf8(doc, "role") : "");
	snprintf(name, namelen, "%s",
	         db_doc_utf8(doc, "name")    ? db_doc_utf8(doc, "name")
	         : db_doc_utf8(doc, "login") ? db_doc_utf8(doc, "login")
	                                     : "");
	if (bson_iter_init_find(&it, doc, "branches") && BSON_ITER_HOLDS_ARRAY(&it) &&
	    bson_iter_recurse(&it, &arr)) {
		while (bson_iter_next(&arr) && who->nbranches < JWT_MAX_BRANCHES)
			if (BSON_ITER_HOLDS_OID(&arr))
				bson_oid_copy(bson_iter_oid(&arr),
				              &who->branches[who->nbranches++]);
	}
	bson_destroy(doc);
	return 1;
}

static void
botstaff_answer(const struct tg_update *u, const char *text)
{
	json_object *p = json_object_new_object();

	json_object_object_add(p, "callback_query_id", json_object_new_string(u->callback_id));
	if (text != NULL) {
		json_object_object_add(p, "text", json_object_new_string(text));
		json_object_object_add(p, "show_alert", json_object_new_boolean(1));
	}
	bot_call("answerCallbackQuery", p, 0);
}

/* Rewrites the staff message: the order as it is now, without buttons. */
static void
botstaff_edit(const struct tg_update *u, const bson_t *order, const char *lang, const char *footer)
{
	json_object *p = json_object_new_object();
	char *text = botstaff_text(order, lang, footer);

	json_object_object_add(p, "chat_id", json_object_new_int64(u->chat_id));
	json_object_object_add(p, "message_id", json_object_new_int64(u->message_id));
	json_object_object_add(p, "text", json_object_new_string(text));
	json_object_object_add(p, "reply_markup", bot_inline(json_object_new_array()));
	bot_call("editMessageText", p, u->chat_id);
	free(text);
}

int
bot_staff_callback(mongoc_client_t *client, const struct tg_update *u)
{
	const char *d = u->callback_data, *lang = "uz", *to;
	struct order_result res = {0};
	bson_t *filter = NULL, *order = NULL, *branch = NULL;
	bson_error_t error;
	bson_oid_t id;
	struct who who;
	int64_t chat = 0;
	char name[128], footer[256];
	int rc;

	if (strncmp(d, "sc:", 3) != 0 && strncmp(d, "sx:", 3) != 0)
		return 0;
	to = d[1] == 'c' ? "confirmed" : "cancelled";
	if (parse_oid(d + 3, &id) != 0 || u->chat_id == 0) {
		botstaff_answer(u, botmsg(M_STALE, lang));
		return 1;
	}
	filter = BCON_NEW("_id", BCON_OID(&id));
	if (db_find_one(client, "orders", filter, NULL, &order, &error) != 1 ||
	    !botstaff_branch(client, order, &branch, &chat) || chat != u->chat_id) {
		/* Not an order of this chat's branch: the button is not ours to honour. */
		botstaff_answer(u, botmsg(M_STALE, branch ? botstaff_lang(branch) : lang));
		goto done;
	}
	lang = botstaff_lang(branch);
	rc = botstaff_who(client, u->from_id, &who, name, sizeof(name));
	if (rc < 0) {
		botstaff_answer(u, botmsg(M_TRY_LATER, lang));
		goto done;
	}
	if (rc == 0) {
		botstaff_answer(u, botmsg(S_NOT_LINKED, lang));
		goto done;
	}
	if (order_change_status(client, &id, to, &who, NULL, &res) == 0) {
		botmsg_format(footer, sizeof(footer),
		              strcmp(to, "confirmed") == 0 ? S_CONFIRMED_BY : S_CANCELLED_BY, lang,
		              name[0] ? name : u->first_name);
		botstaff_answer(u, NULL);
		botstaff_edit(u, res.order, lang, footer);
		order_announce_status(client, res.order, NULL);
	} else if (res.reason == ORDER_CONFLICT) {
		/* Someone was first (the board, another button): show what it is now. */
		bson_t *fresh = NULL;
		char *now;
		if (db_find_one(client, "orders", filter, NULL, &fresh, &error) != 1) {
			botstaff_answer(u, botmsg(M_TRY_LATER, lang));
			goto done;
		}
		now = telegram_status_text(lang, db_doc_int(fresh, "number", 0),
		                           db_doc_utf8(fresh, "status"), NULL);
		botstaff_answer(u, now);
		botstaff_edit(u, fresh, lang, now);
		free(now);
		bson_destroy(fresh);
	} else if (res.reason == ORDER_FORBIDDEN) {
		botstaff_answer(u, botmsg(S_NOT_LINKED, lang));
	} else {
		botstaff_answer(u, botmsg(M_TRY_LATER, lang));
	}
	/* A dead claimant's change this call completed is announced (issue 12). */
	order_announce_rolled(client, &res);
done:
	order_result_free(&res);
	if (branch != NULL)
		bson_destroy(branch);
	if (order != NULL)
		bson_destroy(order);
	if (filter != NULL)
		bson_destroy(filter);
	return 1;
}
