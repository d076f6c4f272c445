/*
 * tgupdate.c - the Telegram Update parser: the bot's only way in from the
 * outside, so it checks every field it keeps (types, lengths, ranges) and
 * copies it into the caller's fixed buffers. See bot.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "oshxona.h"
#include "bot.h"

static int __attribute__((format(printf, 3, 4)))
tgupdate_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* obj[key] as an object, or NULL. */
static json_object *
tgupdate_object(json_object *obj, const char *key)
{
	json_object *v;

	if (json_object_object_get_ex(obj, key, &v) && json_object_is_type(v, json_type_object))
		return v;
	return NULL;
}

/*
 * Copies the string obj[key] into out. Returns 1 copied, 0 absent or
 * null, -1 not a string, not UTF-8, holding a NUL, or longer than
 * outlen - 1 bytes (when cut is 0; with cut, a long string is cut at a
 * character boundary instead: names are for display only).
 */
static int
tgupdate_string(json_object *obj, const char *key, char *out, size_t outlen, int cut)
{
	json_object *v;
	const char *s;
	size_t n;

	out[0] = '\0';
	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (memchr(s, '\0', n) != NULL || !utf8_valid(s, n))
		return -1;
	if (n >= outlen) {
		if (!cut)
			return -1;
		n = outlen - 1;
		/* Back up to the first byte of a character. */
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return 1;
}

/* obj[key] as an integer (json-c int, not a double); -1 when not. */
static int
tgupdate_int(json_object *obj, const char *key, int64_t *out)
{
	return json_get_int64(obj, key, INT64_MIN, INT64_MAX, out);
}

static int
tgupdate_number(json_object *obj, const char *key, double min, double max, double *out)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) ||
	    !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
		return -1;
	*out = json_object_get_double(v);
	return *out >= min && *out <= max ? 0 : -1;
}

/* The sender: from.id and the names the bot greets with. */
static int
tgupdate_from(json_object *from, struct tg_update *u, char *err, size_t errlen)
{
	if (from == NULL)
		return 0;
	if (tgupdate_int(from, "id", &u->from_id) != 0 || u->from_id <= 0)
		return tgupdate_fail(err, errlen, "from.id must be a positive integer");
	if (tgupdate_string(from, "first_name", u->first_name, sizeof(u->first_name), 1) < 0 ||
	    tgupdate_string(from, "last_name", u->last_name, sizeof(u->last_name), 1) < 0 ||
	    tgupdate_string(from, "username", u->username, sizeof(u->username), 1) < 0 ||
	    tgupdate_string(from, "language_code", u->language_code, sizeof(u->language_code), 1) <
	        0)
		return tgupdate_fail(err, errlen, "from has a malformed name field");
	return 0;
}

/* message.chat and message.message_id. */
static int
tgupdate_chat(json_object *msg, struct tg_update *u, char *err, size_t errlen)
{
	json_object *chat = tgupdate_object(msg, "chat");

	if (tgupdate_int(msg, "message_id", &u->message_id) != 0 || u->message_id <= 0)
		return tgupdate_fail(err, errlen, "message.message_id must be a positive integer");
	if (chat == NULL || tgupdate_int(chat, "id", &u->chat_id) != 0 || u->chat_id == 0)
		return tgupdate_fail(err, errlen, "message.chat.id must be a non-zero integer");
	if (tgupdate_string(chat, "type", u->chat_type, sizeof(u->chat_type), 0) < 0)
		return tgupdate_fail(err, errlen, "message.chat.type is malformed");
	return 0;
}

static int
tgupdate_message(json_object *msg, struct tg_update *u, char *err, size_t errlen)
{
	json_object *o;
	int rc;

	u->kind = TG_MESSAGE;
	if (tgupdate_chat(msg, u, err, errlen) != 0 ||
	    tgupdate_from(tgupdate_object(msg, "from"), u, err, errlen) != 0)
		return -1;
	rc = tgupdate_string(msg, "text", u->text, sizeof(u->text), 0);
	if (rc < 0)
		return tgupdate_fail(err, errlen, "message.text is malformed or too long");
	u->has_text = rc;
	if ((o = tgupdate_object(msg, "contact")) != NULL) {
		if (tgupdate_string(o, "phone_number", u->contact_phone, sizeof(u->contact_phone),
		                    0) != 1)
			return tgupdate_fail(err, errlen, "contact.phone_number is malformed");
		if (json_object_object_get_ex(o, "user_id", NULL) &&
		    tgupdate_int(o, "user_id", &u->contact_user_id) != 0)
			return tgupdate_fail(err, errlen, "contact.user_id must be an integer");
		u->has_contact = 1;
	}
	if ((o = tgupdate_object(msg, "location")) != NULL) {
		if (tgupdate_number(o, "latitude", -90, 90, &u->lat) != 0 ||
		    tgupdate_number(o, "longitude", -180, 180, &u->lng) != 0)
			return tgupdate_fail(err, errlen, "location is malformed or out of range");
		u->has_location = 1;
	}
	if ((o = tgupdate_object(msg, "web_app_data")) != NULL) {
		if (tgupdate_string(o, "data", u->web_app_data, sizeof(u->web_app_data), 0) != 1)
			return tgupdate_fail(err, errlen, "web_app_data.data is malformed");
		u->has_web_app_data = 1;
	}
	return 0;
}

static int
tgupdate_callback(json_object *cq, struct tg_update *u, char *err, size_t errlen)
{
	json_object *msg = tgupdate_object(cq, "message");
	int rc;

	u->kind = TG_CALLBACK;
	if (tgupdate_string(cq, "id", u->callback_id, sizeof(u->callback_id), 0) != 1 ||
	    u->callback_id[0] == '\0')
		return tgupdate_fail(err, errlen, "callback_query.id must be a string");
	if (tgupdate_from(tgupdate_object(cq, "from"), u, err, errlen) != 0)
		return -1;
	if (u->from_id == 0)
		return tgupdate_fail(err, errlen, "callback_query.from is missing");
	/* Buttons on inline-mode messages come without the message: no chat. */
	if (msg != NULL && tgupdate_chat(msg, u, err, errlen) != 0)
		return -1;
	u->on_photo = msg != NULL && json_object_object_get_ex(msg, "photo", NULL);
	rc = tgupdate_string(cq, "data", u->callback_data, sizeof(u->callback_data), 0);
	if (rc < 0)
		return tgupdate_fail(err, errlen, "callback_query.data is malformed or too long");
	u->has_callback_data = rc;
	return 0;
}

int
tgupdate_parse(const char *buf, size_t len, struct tg_update *u, char *err, size_t errlen)
{
	json_object *root, *o;
	char perr[96];
	int rc = 0;

	memset(u, 0, sizeof(*u));
	if (len > TG_UPDATE_MAX)
		return tgupdate_fail(err, errlen, "update larger than %d bytes", TG_UPDATE_MAX);
	root = json_parse(buf, len, perr, sizeof(perr));
	if (root == NULL)
		return tgupdate_fail(err, errlen, "not JSON: %s", perr);
	if (!json_object_is_type(root, json_type_object)) {
		rc = tgupdate_fail(err, errlen, "an update must be a JSON object");
	} else if (tgupdate_int(root, "update_id", &u->update_id) != 0 || u->update_id < 0) {
		rc = tgupdate_fail(err, errlen, "update_id must be a non-negative integer");
	} else if ((o = tgupdate_object(root, "message")) != NULL) {
		rc = tgupdate_message(o, u, err, errlen);
	} else if ((o = tgupdate_object(root, "callback_query")) != NULL) {
		rc = tgupdate_callback(o, u, err, errlen);
	} else {
		u->kind = TG_OTHER;
	}
	json_object_put(root);
	return rc;
}
