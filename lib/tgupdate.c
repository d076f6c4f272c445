/*
 * tgupdate.c - the Telegram Update: the bot's only way in from the
 * outside. Its shape is declared below as lib/valid tables (tg_update_schema
 * and the objects it nests), checked by valid_json; what passed is copied
 * into the caller's fixed buffers. See bot.h.
 *
 * Every table is open: Telegram adds fields to its objects, and the bot
 * ignores what it does not read (never stored, never looked at). Every
 * string is verbatim (texts are matched and shown as sent) and bounded in
 * bytes by the buffer it is copied into, via TG_CAP; display names longer
 * than their buffer are cut at a character boundary rather than refused.
 * Duplicate keys and keys holding NUL are refused by json_parse.
 */
#include <stdio.h>
#include <string.h>

#include "oshxona.h"
#include "bot.h"
#include "valid.h"

/* The bytes a string member of struct tg_update holds, its NUL aside. */
#define TG_CAP(member) VALID_BUFFER_MAX(struct tg_update, member)

/* A string Telegram sends, kept as sent: min_ bytes up to member's buffer. */
#define TG_STRING(name_, flags_, min_, member)                                                     \
	VALID_FIELD(name_, VK_STRING, VALID_VERBATIM | VALID_BYTES | (flags_), .min = (min_),      \
	            .max = TG_CAP(member))
/* A display name: cut to its buffer. */
#define TG_NAME(name_, member) TG_STRING(name_, VALID_NULLABLE | VALID_CUT, 0, member)
#define TG_ID_POSITIVE(name_)  VALID_FIELD(name_, VK_INT, VALID_REQUIRED, .min = 1, .max = INT64_MAX)

#define TG_OPEN(fields_) VALID_SCHEMA_FLAGS(fields_, NULL, VALID_OPEN)

/* Chat ids are negative for groups; 0 names no chat. */
static int
tgupdate_nonzero(json_object *v, const char *path, struct valid_error *e)
{
	if (json_object_get_int64(v) == 0)
		return valid_fail(e, 422, path, "%s must be a non-zero integer", path);
	return 0;
}

/* User: message.from, callback_query.from. */
static const struct valid_field tg_user_fields[] = {
    TG_ID_POSITIVE("id"),
    TG_NAME("first_name", first_name),
    TG_NAME("last_name", last_name),
    TG_NAME("username", username),
    TG_NAME("language_code", language_code),
};
static const struct valid_schema tg_user_schema = TG_OPEN(tg_user_fields);

/* Chat: message.chat. */
static const struct valid_field tg_chat_fields[] = {
    VALID_FIELD("id", VK_INT, VALID_REQUIRED, .min = INT64_MIN, .max = INT64_MAX,
                .rule = tgupdate_nonzero),
    TG_STRING("type", VALID_NULLABLE, 0, chat_type),
};
static const struct valid_schema tg_chat_schema = TG_OPEN(tg_chat_fields);

/* Contact: message.contact, a shared phone number. */
static const struct valid_field tg_contact_fields[] = {
    TG_STRING("phone_number", VALID_REQUIRED, 0, contact_phone),
    VALID_FIELD("user_id", VK_INT, 0, .min = INT64_MIN, .max = INT64_MAX),
};
static const struct valid_schema tg_contact_schema = TG_OPEN(tg_contact_fields);

/* Location: message.location; accuracy, heading... are ignored. */
static const struct valid_field tg_location_fields[] = {
    VALID_FIELD("latitude", VK_REAL, VALID_REQUIRED, .min = -90, .max = 90),
    VALID_FIELD("longitude", VK_REAL, VALID_REQUIRED, .min = -180, .max = 180),
};
static const struct valid_schema tg_location_schema = TG_OPEN(tg_location_fields);

/* WebAppData: message.web_app_data, what the Mini App sent back. */
static const struct valid_field tg_web_app_fields[] = {
    TG_STRING("data", VALID_REQUIRED, 0, web_app_data),
};
static const struct valid_schema tg_web_app_schema = TG_OPEN(tg_web_app_fields);

#define TG_MESSAGE_ID TG_ID_POSITIVE("message_id")
#define TG_CHAT       VALID_FIELD("chat", VK_OBJECT, VALID_REQUIRED, .schema = &tg_chat_schema)

/* Message: update.message. */
enum { TM_ID, TM_CHAT, TM_FROM, TM_TEXT, TM_CONTACT, TM_LOCATION, TM_WEB_APP, TM__MAX };
static const struct valid_field tg_message_fields[TM__MAX] = {
    [TM_ID] = TG_MESSAGE_ID,
    [TM_CHAT] = TG_CHAT,
    [TM_FROM] = VALID_FIELD("from", VK_OBJECT, VALID_NULLABLE, .schema = &tg_user_schema),
    [TM_TEXT] = VALID_FIELD("text", VK_TEXT, VALID_NULLABLE | VALID_VERBATIM | VALID_BYTES,
                            .min = 0, .max = TG_CAP(text)),
    [TM_CONTACT] = VALID_FIELD("contact", VK_OBJECT, VALID_NULLABLE, .schema = &tg_contact_schema),
    [TM_LOCATION] =
        VALID_FIELD("location", VK_OBJECT, VALID_NULLABLE, .schema = &tg_location_schema),
    [TM_WEB_APP] =
        VALID_FIELD("web_app_data", VK_OBJECT, VALID_NULLABLE, .schema = &tg_web_app_schema),
};
static const struct valid_schema tg_message_schema = TG_OPEN(tg_message_fields);

/*
 * callback_query.message: the message the button is on, of which the bot
 * reads only where it is (and whether it has a "photo", left undeclared:
 * any value). Buttons on inline-mode messages come without it: no chat.
 */
static const struct valid_field tg_button_message_fields[] = {TG_MESSAGE_ID, TG_CHAT};
static const struct valid_schema tg_button_message_schema = TG_OPEN(tg_button_message_fields);

/* CallbackQuery: update.callback_query, an inline button pressed. */
static const struct valid_field tg_callback_fields[] = {
    TG_STRING("id", VALID_REQUIRED, 1, callback_id),
    VALID_FIELD("from", VK_OBJECT, VALID_REQUIRED, .schema = &tg_user_schema),
    VALID_FIELD("message", VK_OBJECT, VALID_NULLABLE, .schema = &tg_button_message_schema),
    TG_STRING("data", VALID_NULLABLE, 0, callback_data),
};
static const struct valid_schema tg_callback_schema = TG_OPEN(tg_callback_fields);

/* Update: message wins over callback_query (Telegram never sends both). */
static const struct valid_field tg_update_fields[] = {
    VALID_FIELD("update_id", VK_INT, VALID_REQUIRED, .min = 0, .max = INT64_MAX),
    VALID_FIELD("message", VK_OBJECT, VALID_NULLABLE, .schema = &tg_message_schema),
    VALID_FIELD("callback_query", VK_OBJECT, VALID_NULLABLE, .schema = &tg_callback_schema),
};
const struct valid_schema tg_update_schema = TG_OPEN(tg_update_fields);

/* ------------------------------------------- checked: copy into u */

static void
tgupdate_from(json_object *from, struct tg_update *u)
{
	if (from == NULL)
		return;
	u->from_id = valid_get_int(from, "id", 0);
	valid_copy_str(from, "first_name", u->first_name, sizeof(u->first_name));
	valid_copy_str(from, "last_name", u->last_name, sizeof(u->last_name));
	valid_copy_str(from, "username", u->username, sizeof(u->username));
	valid_copy_str(from, "language_code", u->language_code, sizeof(u->language_code));
}

/* msg's message_id and chat: a message, or the one a button is on. */
static void
tgupdate_where(json_object *msg, struct tg_update *u)
{
	json_object *chat = valid_get_object(msg, "chat");

	u->message_id = valid_get_int(msg, "message_id", 0);
	u->chat_id = valid_get_int(chat, "id", 0);
	valid_copy_str(chat, "type", u->chat_type, sizeof(u->chat_type));
}

static void
tgupdate_message(json_object *msg, struct tg_update *u)
{
	json_object *o;

	u->kind = TG_MESSAGE;
	tgupdate_where(msg, u);
	tgupdate_from(valid_get_object(msg, "from"), u);
	u->has_text = valid_copy_str(msg, "text", u->text, sizeof(u->text));
	if ((o = valid_get_object(msg, "contact")) != NULL) {
		u->has_contact = 1;
		valid_copy_str(o, "phone_number", u->contact_phone, sizeof(u->contact_phone));
		u->contact_user_id = valid_get_int(o, "user_id", 0);
	}
	if ((o = valid_get_object(msg, "location")) != NULL) {
		u->has_location = 1;
		u->lat = valid_get_real(o, "latitude", 0);
		u->lng = valid_get_real(o, "longitude", 0);
	}
	if ((o = valid_get_object(msg, "web_app_data")) != NULL)
		u->has_web_app_data =
		    valid_copy_str(o, "data", u->web_app_data, sizeof(u->web_app_data));
}

static void
tgupdate_callback(json_object *cq, struct tg_update *u)
{
	json_object *msg = valid_get_object(cq, "message");

	u->kind = TG_CALLBACK;
	valid_copy_str(cq, "id", u->callback_id, sizeof(u->callback_id));
	tgupdate_from(valid_get_object(cq, "from"), u);
	if (msg != NULL) {
		tgupdate_where(msg, u);
		u->on_photo = json_object_object_get_ex(msg, "photo", NULL);
	}
	u->has_callback_data =
	    valid_copy_str(cq, "data", u->callback_data, sizeof(u->callback_data));
}

int
tgupdate_parse(const char *buf, size_t len, struct tg_update *u, char *err, size_t errlen)
{
	struct valid_error e;
	json_object *root, *o;

	memset(u, 0, sizeof(*u));
	if (len > TG_UPDATE_MAX) {
		snprintf(err, errlen, "update larger than %d bytes", TG_UPDATE_MAX);
		return -1;
	}
	if (valid_json(&tg_update_schema, buf, len, VALID_CREATE, &root, &e) < 0) {
		snprintf(err, errlen, "%s", e.message);
		return -1;
	}
	u->update_id = valid_get_int(root, "update_id", 0);
	if ((o = valid_get_object(root, "message")) != NULL)
		tgupdate_message(o, u);
	else if ((o = valid_get_object(root, "callback_query")) != NULL)
		tgupdate_callback(o, u);
	else
		u->kind = TG_OTHER;
	json_object_put(root);
	return 0;
}
