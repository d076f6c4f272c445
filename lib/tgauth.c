/*
 * tgauth.c - Telegram sign-in signatures: Mini App initData
 * (core.telegram.org/bots/webapps, "Validating data received via the Mini
 * App") and the Login Widget (core.telegram.org/widgets/login, "Checking
 * authorization"). Both sign a data-check-string: every received field but
 * hash, sorted by key, "key=value" joined by '\n'. Fields Telegram adds
 * later (signature, chat_instance, ...) are part of it, as documented.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "oshxona.h"
#include "valid.h"

#define TG_INIT_MAX   4096 /* bytes of raw initData */
#define TG_MAX_FIELDS 32
#define TG_DCS_MAX    4096 /* bytes of a widget's data-check-string */
#define TG_SKEW       60   /* seconds auth_date may lie in the future */

struct tg_field {
	const char *key; /* decoded, NUL-terminated */
	const char *val; /* decoded, NUL-terminated */
	size_t klen;
	size_t vlen;
};

static void tg_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
tg_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Exactly 64 lower-case hex digits, as Telegram sends hash. */
static int
tg_is_hash(const char *s, size_t n)
{
	if (n != 2 * SHA256_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int
tg_field_cmp(const void *a, const void *b)
{
	const struct tg_field *x = a, *y = b;

	return strcmp(x->key, y->key);
}

/*
 * Builds the data-check-string of the n fields (sorted here) into dcs,
 * which holds cap bytes. Returns its length or -1 when it does not fit.
 */
static int
tg_dcs(struct tg_field *f, size_t n, char *dcs, size_t cap)
{
	size_t used = 0;

	qsort(f, n, sizeof(*f), tg_field_cmp);
	for (size_t i = 0; i < n; i++) {
		size_t need = (i > 0) + f[i].klen + 1 + f[i].vlen;
		if (need > cap - used)
			return -1;
		if (i > 0)
			dcs[used++] = '\n';
		memcpy(dcs + used, f[i].key, f[i].klen);
		used += f[i].klen;
		dcs[used++] = '=';
		memcpy(dcs + used, f[i].val, f[i].vlen);
		used += f[i].vlen;
	}
	return (int)used;
}

/* 1 when hex(HMAC-SHA256(key, dcs)) equals hash, compared in constant time. */
static int
tg_mac_matches(const unsigned char key[SHA256_LEN], const char *dcs, size_t dcslen,
               const char *hash)
{
	unsigned char mac[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];
	int ok;

	hmac_sha256(key, SHA256_LEN, dcs, dcslen, mac);
	hex_encode(mac, sizeof(mac), hex);
	ok = bytes_equal_ct(hash, strlen(hash), hex, 2 * SHA256_LEN);
	OPENSSL_cleanse(mac, sizeof(mac));
	OPENSSL_cleanse(hex, sizeof(hex));
	return ok;
}

/* auth_date no older than max_age and at most TG_SKEW s ahead of now. */
static int
tg_fresh(int64_t auth_date, int64_t now, int64_t max_age, char *err, size_t errlen)
{
	if (max_age < 0) {
		tg_err(err, errlen, "negative max_age");
		return -1;
	}
	/* Unsigned differences: exact whenever the larger minus the smaller. */
	if (auth_date > now) {
		if ((uint64_t)auth_date - (uint64_t)now > TG_SKEW) {
			tg_err(err, errlen, "auth_date is in the future");
			return -1;
		}
	} else if ((uint64_t)now - (uint64_t)auth_date > (uint64_t)max_age) {
		tg_err(err, errlen, "auth_date is too old");
		return -1;
	}
	return 0;
}

/* The bytes a string member of struct telegram_user holds, its NUL aside. */
#define TGU_CAP(member) VALID_BUFFER_MAX(struct telegram_user, member)
/* A name, only shown: cut at a character to fit. */
#define TGU_NAME(name_, member)                                                                    \
	VALID_FIELD(name_, VK_STRING, VALID_NULLABLE | VALID_BYTES | VALID_CUT, .min = 0,          \
	            .max = TGU_CAP(member))
/* Useless cut (a username, a URL): whole, or empty when it does not fit. */
#define TGU_WHOLE(name_, member)                                                                   \
	VALID_FIELD(name_, VK_STRING, VALID_NULLABLE | VALID_BYTES | VALID_DROP, .min = 0,         \
	            .max = TGU_CAP(member))
#define TGU_STRINGS                                                                                \
	TGU_NAME("first_name", first_name), TGU_NAME("last_name", last_name),                      \
	    TGU_WHOLE("username", username), TGU_WHOLE("language_code", language_code),            \
	    TGU_WHOLE("photo_url", photo_url)

/*
 * initData's user, a WebAppUser. Open: Telegram adds members (is_premium,
 * allows_write_to_pm...) that sign-in does not read. Checked after the
 * signature, so it is Telegram's data, but still not trusted to fit.
 */
static const struct valid_field tg_webapp_user_fields[] = {
    VALID_FIELD("id", VK_INT, VALID_REQUIRED, .min = 1, .max = INT64_MAX),
    TGU_STRINGS,
};
static const struct valid_schema tg_webapp_user_schema =
    VALID_SCHEMA_FLAGS(tg_webapp_user_fields, NULL, VALID_OPEN);

/*
 * The Login Widget's payload, for its strings: id and auth_date may be
 * numbers or decimal strings (tg_widget_int), hash is read with the
 * data-check-string (telegram_widget_verify).
 */
static const struct valid_field tg_widget_user_fields[] = {TGU_STRINGS};
static const struct valid_schema tg_widget_user_schema =
    VALID_SCHEMA_FLAGS(tg_widget_user_fields, NULL, VALID_OPEN);

/* Fills u's strings from obj by schema (obj's names cut in place); -1 refused. */
static int
tg_user_strings(const struct valid_schema *schema, json_object *obj, struct telegram_user *u)
{
	struct valid_error e;

	if (valid_body(schema, obj, VALID_CREATE, &e) < 0)
		return -1;
	valid_copy_str(obj, "first_name", u->first_name, sizeof(u->first_name));
	valid_copy_str(obj, "last_name", u->last_name, sizeof(u->last_name));
	valid_copy_str(obj, "username", u->username, sizeof(u->username));
	valid_copy_str(obj, "language_code", u->language_code, sizeof(u->language_code));
	valid_copy_str(obj, "photo_url", u->photo_url, sizeof(u->photo_url));
	return 0;
}

/* The secret of Mini App data: HMAC-SHA256 keyed "WebAppData" of the token. */
static void
tg_webapp_key(const char *bot_token, unsigned char key[SHA256_LEN])
{
	static const char label[] = "WebAppData";

	hmac_sha256(label, sizeof(label) - 1, bot_token, strlen(bot_token), key);
}

int
telegram_webapp_verify(const char *init_data, const char *bot_token, int64_t now, int64_t max_age,
                       struct telegram_user *u, char hash_hex[65], char *err, size_t errlen)
{
	char buf[TG_INIT_MAX + 2 * TG_MAX_FIELDS + 1];
	char dcs[TG_INIT_MAX + TG_MAX_FIELDS];
	struct tg_field f[TG_MAX_FIELDS];
	unsigned char key[SHA256_LEN];
	const char *hash = NULL, *auth = NULL, *user = NULL, *p;
	size_t len, n = 0, used = 0, hash_at = 0;
	int64_t auth_date;
	json_object *uo = NULL;
	char jerr[128];
	struct telegram_user tmp;
	int dcslen, rc = -1;

	if (init_data == NULL || bot_token == NULL || *bot_token == '\0') {
		tg_err(err, errlen, "no initData or no bot token");
		return -1;
	}
	len = strnlen(init_data, TG_INIT_MAX + 1);
	if (len > TG_INIT_MAX) {
		tg_err(err, errlen, "initData longer than %d bytes", TG_INIT_MAX);
		return -1;
	}

	/* Split on '&', decode each key and value into buf. */
	for (p = init_data; p < init_data + len;) {
		size_t seg = strcspn(p, "&");
		const char *eq = memchr(p, '=', seg);
		int kn, vn;

		if (seg == 0) {
			p++;
			continue;
		}
		if (eq == NULL || eq == p) {
			tg_err(err, errlen, "malformed initData field");
			return -1;
		}
		if (n == TG_MAX_FIELDS) {
			tg_err(err, errlen, "more than %d initData fields", TG_MAX_FIELDS);
			return -1;
		}
		kn = qs_url_decode(p, (size_t)(eq - p), buf + used);
		/* A key with '=' would make the check string ambiguous. */
		if (kn <= 0 || !qs_text_clean(buf + used, (size_t)kn) ||
		    memchr(buf + used, '=', (size_t)kn) != NULL) {
			tg_err(err, errlen, "malformed initData key");
			return -1;
		}
		f[n].key = buf + used;
		f[n].klen = (size_t)kn;
		used += (size_t)kn;
		buf[used++] = '\0';
		vn = qs_url_decode(eq + 1, seg - (size_t)(eq - p) - 1, buf + used);
		if (vn < 0 || !qs_text_clean(buf + used, (size_t)vn)) {
			tg_err(err, errlen, "malformed initData value of %s", f[n].key);
			return -1;
		}
		f[n].val = buf + used;
		f[n].vlen = (size_t)vn;
		used += (size_t)vn;
		buf[used++] = '\0';
		for (size_t i = 0; i < n; i++)
			if (strcmp(f[i].key, f[n].key) == 0) {
				tg_err(err, errlen, "duplicate initData key %s", f[n].key);
				return -1;
			}
		n++;
		p += seg;
	}

	/* Note the fields we need, then take hash out of the list. */
	for (size_t i = 0; i < n; i++) {
		if (strcmp(f[i].key, "hash") == 0) {
			hash = f[i].val;
			hash_at = i;
			if (!tg_is_hash(f[i].val, f[i].vlen)) {
				tg_err(err, errlen, "malformed hash");
				return -1;
			}
		} else if (strcmp(f[i].key, "auth_date") == 0) {
			auth = f[i].val;
		} else if (strcmp(f[i].key, "user") == 0) {
			user = f[i].val;
		}
	}
	if (hash == NULL || auth == NULL || user == NULL) {
		tg_err(err, errlen, "initData lacks %s",
		       hash == NULL   ? "hash"
		       : auth == NULL ? "auth_date"
		                      : "user");
		return -1;
	}

	f[hash_at] = f[--n];
	dcslen = tg_dcs(f, n, dcs, sizeof(dcs));
	if (dcslen < 0) {
		tg_err(err, errlen, "initData too long");
		return -1;
	}
	tg_webapp_key(bot_token, key);
	if (!tg_mac_matches(key, dcs, (size_t)dcslen, hash)) {
		tg_err(err, errlen, "initData signature mismatch");
		goto done;
	}
	if (parse_int64(auth, 0, INT64_MAX, &auth_date) < 0) {
		tg_err(err, errlen, "malformed auth_date");
		goto done;
	}
	if (tg_fresh(auth_date, now, max_age, err, errlen) < 0)
		goto done;

	uo = json_parse(user, strlen(user), jerr, sizeof(jerr));
	memset(&tmp, 0, sizeof(tmp));
	if (uo == NULL || !json_object_is_type(uo, json_type_object) ||
	    tg_user_strings(&tg_webapp_user_schema, uo, &tmp) < 0) {
		tg_err(err, errlen, "malformed user");
		goto done;
	}
	tmp.id = valid_get_int(uo, "id", 0);
	*u = tmp;
	memcpy(hash_hex, hash, 2 * SHA256_LEN + 1);
	rc = 0;
done:
	OPENSSL_cleanse(key, sizeof(key));
	json_object_put(uo);
	return rc;
}

/*
 * The decimal form of an integer or the text of a decimal string member:
 * the widget sends numbers, a redirect sends strings; both are signed as
 * the same digits.
 */
static int
tg_widget_int(json_object *payload, const char *key, int64_t min, int64_t *out)
{
	json_object *v;

	if (!json_object_object_get_ex(payload, key, &v) || v == NULL)
		return -1;
	if (json_object_is_type(v, json_type_string))
		return parse_int64(json_object_get_string(v), min, INT64_MAX, out);
	return json_get_int64(payload, key, min, INT64_MAX, out);
}

int
telegram_widget_verify(json_object *payload, const char *bot_token, int64_t now, int64_t max_age,
                       struct telegram_user *u, char hash_hex[65], char *err, size_t errlen)
{
	/* Numbers are printed here, one slot per field. */
	char nums[TG_MAX_FIELDS][24];
	char dcs[TG_DCS_MAX];
	struct tg_field f[TG_MAX_FIELDS];
	unsigned char key[SHA256_LEN];
	const char *hash = NULL;
	size_t n = 0;
	int64_t auth_date, id;
	struct telegram_user tmp;
	int dcslen, rc = -1;

	if (payload == NULL || !json_object_is_type(payload, json_type_object) ||
	    bot_token == NULL || *bot_token == '\0') {
		tg_err(err, errlen, "no payload object or no bot token");
		return -1;
	}
	json_object_object_foreach(payload, k, v)
	{
		size_t klen = strlen(k);

		if (klen == 0 || !qs_text_clean(k, klen) || strchr(k, '=') != NULL) {
			tg_err(err, errlen, "malformed key");
			return -1;
		}
		if (v == NULL) /* null members are not signed; treated as absent */
			continue;
		if (strcmp(k, "hash") == 0) {
			if (!json_object_is_type(v, json_type_string) ||
			    !tg_is_hash(json_object_get_string(v),
			                (size_t)json_object_get_string_len(v))) {
				tg_err(err, errlen, "malformed hash");
				return -1;
			}
			hash = json_object_get_string(v);
			continue;
		}
		if (n == TG_MAX_FIELDS) {
			tg_err(err, errlen, "more than %d fields", TG_MAX_FIELDS);
			return -1;
		}
		f[n].key = k;
		f[n].klen = klen;
		if (json_object_is_type(v, json_type_string)) {
			f[n].val = json_object_get_string(v);
			f[n].vlen = (size_t)json_object_get_string_len(v);
			if (strlen(f[n].val) != f[n].vlen || !qs_text_clean(f[n].val, f[n].vlen)) {
				tg_err(err, errlen, "malformed value of %s", k);
				return -1;
			}
		} else if (json_object_is_type(v, json_type_int)) {
			int64_t i;
			if (json_get_int64(payload, k, INT64_MIN, INT64_MAX, &i) < 0) {
				tg_err(err, errlen, "malformed value of %s", k);
				return -1;
			}
			snprintf(nums[n], sizeof(nums[n]), "%" PRId64, i);
			f[n].val = nums[n];
			f[n].vlen = strlen(nums[n]);
		} else {
			tg_err(err, errlen, "value of %s is neither a string nor an integer", k);
			return -1;
		}
		n++;
	}
	if (hash == NULL) {
		tg_err(err, errlen, "payload lacks hash");
		return -1;
	}
	if (tg_widget_int(payload, "id", 1, &id) < 0 ||
	    tg_widget_int(payload, "auth_date", 0, &auth_date) < 0) {
		tg_err(err, errlen, "payload lacks a valid id or auth_date");
		return -1;
	}
	dcslen = tg_dcs(f, n, dcs, sizeof(dcs));
	if (dcslen < 0) {
		tg_err(err, errlen, "payload too long");
		return -1;
	}
	sha256(bot_token, strlen(bot_token), key);
	if (!tg_mac_matches(key, dcs, (size_t)dcslen, hash)) {
		tg_err(err, errlen, "login signature mismatch");
		goto done;
	}
	if (tg_fresh(auth_date, now, max_age, err, errlen) < 0)
		goto done;
	memset(&tmp, 0, sizeof(tmp));
	if (tg_user_strings(&tg_widget_user_schema, payload, &tmp) < 0) {
		tg_err(err, errlen, "malformed user fields");
		goto done;
	}
	tmp.id = id;
	*u = tmp;
	memcpy(hash_hex, hash, 2 * SHA256_LEN + 1);
	rc = 0;
done:
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}
