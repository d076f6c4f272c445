/*
 * test_tgauth.c - Telegram Mini App initData and Login Widget checks from
 * lib/tgauth.c. Vectors made outside this code base come first (Python's
 * hmac module, and the published samples of the Telegram-Mini-Apps
 * init-data-golang library); samples built here with our own HMAC then
 * cover every way a payload must be refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "oshxona.h"

#define TOKEN  "123456789:AAFakeTokenForOshxonaUnitTests_xyz"
#define T0     1700000000
#define MAXAGE 86400

/*
 * Made with Python (urllib.parse.quote(v, safe=""), hmac, hashlib) from
 * query_id, user (Cyrillic and U+2018 in the names), auth_date and a
 * signature field; the data-check-string holds every field but hash:
 *   sk = hmac.new(b"WebAppData", TOKEN, sha256).digest()
 *   hash = hmac.new(sk, "\n".join(sorted "k=v"), sha256).hexdigest()
 */
static const char py_init[] =
    "query_id=AAHdF6IQAAAAAN0XohDhrOrc&user=%7B%22id%22%3A5012345678%2C%22first_name%22%3A%22%D2"
    "%B2%D0%B0%D1%81%D0%B0%D0%BD%22%2C%22last_name%22%3A%22O%E2%80%98ktam%22%2C%22username%22%3A"
    "%22hasan_o%22%2C%22language_code%22%3A%22uz%22%2C%22photo_url%22%3A%22https%3A%2F%2Ft.me%2Fi"
    "%2Fuserpic%2F320%2Fx.jpg%22%7D&auth_date=1700000000&signature=abc-_DEF&hash="
    "dfac2aacaae6a3246b52cbd3fcdd7e625c9f092936dfd1fddeb1fabec7d64861";

/* Published with init-data-golang (validate_test.go); bot token below. */
static const char pub_init_old[] =
    "query_id=AAHdF6IQAAAAAN0XohDhrOrc&user=%7B%22id%22%3A279058397%2C%22first_name%22%3A%22Vlad"
    "islav%22%2C%22last_name%22%3A%22Kibenko%22%2C%22username%22%3A%22vdkfrost%22%2C%22language_"
    "code%22%3A%22ru%22%2C%22is_premium%22%3Atrue%7D&auth_date=1662771648&hash=c501b71e775f74ce1"
    "0e377dea85a7ea24ecd640b223ea86dfe453e0eaed2e2b2";
#define PUB_TOKEN_OLD "5768337691:AAH5YkoiEuPk8-FZa32hStHTqXiLPtAEhx8"

/*
 * The newer published sample with Telegram's Ed25519 "signature" field:
 * it verifies only when signature is part of the data-check-string.
 */
static const char pub_init_sig[] =
    "user=%7B%22id%22%3A279058397%2C%22first_name%22%3A%22Vladislav%20%2B%20-%20%3F%20%5C%2F%22%2"
    "C%22last_name%22%3A%22Kibenko%22%2C%22username%22%3A%22vdkfrost%22%2C%22language_code%22%3A"
    "%22ru%22%2C%22is_premium%22%3Atrue%2C%22allows_write_to_pm%22%3Atrue%2C%22photo_url%22%3A%2"
    "2https%3A%5C%2F%5C%2Ft.me%5C%2Fi%5C%2Fuserpic%5C%2F320%5C%2F4FPEE4tmP3ATHa57u6MqTDih13LTOiMoK"
    "oLDRG4PnSA.svg%22%7D&chat_instance=8134722200314281151&chat_type=private&auth_date=173350968"
    "2&signature=TYJxVcisqbWjtodPepiJ6ghziUL94-KNpG8Pau-X7oNNLNBM72APCpi_RKiUlBvcqo5L-LAxIc3dnTzcZ"
    "X_PDg&hash=a433d8f9847bd6addcc563bff7cc82c89e97ea0d90c11fe5729cae6796a36d73";
#define PUB_TOKEN_SIG "7342037359:AAHI25ES9xCOMPokpYoz-p8XVrZUdygo2J4"

static struct telegram_user u;
static char hash[65], err[256];

static int
wa(const char *init, const char *token, int64_t now)
{
	memset(&u, 0, sizeof(u));
	memset(hash, 0, sizeof(hash));
	err[0] = '\0';
	int rc = telegram_webapp_verify(init, token, now, MAXAGE, &u, hash, err, sizeof(err));
	if (rc < 0)
		assert_true(err[0] != '\0');
	return rc;
}

static void
test_python_vector(void **state)
{
	(void)state;
	assert_int_equal(wa(py_init, TOKEN, T0 + 5), 0);
	assert_true(u.id == 5012345678LL);
	assert_string_equal(u.first_name, "\xd2\xb2\xd0\xb0\xd1\x81\xd0\xb0\xd0\xbd");
	assert_string_equal(u.last_name, "O\xe2\x80\x98ktam");
	assert_string_equal(u.username, "hasan_o");
	assert_string_equal(u.language_code, "uz");
	assert_string_equal(u.photo_url, "https://t.me/i/userpic/320/x.jpg");
	assert_string_equal(hash,
	                    "dfac2aacaae6a3246b52cbd3fcdd7e625c9f092936dfd1fddeb1fabec7d64861");
	assert_int_equal(wa(py_init, TOKEN "x", T0 + 5), -1);
	assert_int_equal(wa(py_init, "", T0 + 5), -1);
	assert_int_equal(wa(py_init, NULL, T0 + 5), -1);
	assert_int_equal(wa(NULL, TOKEN, T0 + 5), -1);
}

static void
test_published_vectors(void **state)
{
	(void)state;
	assert_int_equal(wa(pub_init_old, PUB_TOKEN_OLD, 1662771648 + 10), 0);
	assert_true(u.id == 279058397);
	assert_string_equal(u.first_name, "Vladislav");
	assert_string_equal(u.language_code, "ru");

	assert_int_equal(wa(pub_init_sig, PUB_TOKEN_SIG, 1733509682 + 20), 0);
	assert_true(u.id == 279058397);
	assert_string_equal(u.first_name, "Vladislav + - ? /");
	assert_string_equal(
	    u.photo_url,
	    "https://t.me/i/userpic/320/4FPEE4tmP3ATHa57u6MqTDih13LTOiMoKoLDRG4PnSA.svg");
	assert_string_equal(hash,
	                    "a433d8f9847bd6addcc563bff7cc82c89e97ea0d90c11fe5729cae6796a36d73");
	assert_int_equal(wa(pub_init_sig, PUB_TOKEN_OLD, 1733509682 + 20), -1);
}

static void
test_one_byte_changes(void **state)
{
	char buf[sizeof(py_init)];
	size_t hash_at = strlen(py_init) - 64;

	(void)state;
	/* Any change anywhere, in a key, a value or a separator. */
	for (size_t i = 0; i < strlen(py_init); i++) {
		memcpy(buf, py_init, sizeof(buf));
		buf[i] = buf[i] == 'A' ? 'B' : 'A';
		assert_int_equal(wa(buf, TOKEN, T0), -1);
		if (i >= hash_at) {
			/* every hash digit changed to another digit */
			buf[i] = py_init[i] == '0' ? '1' : '0';
			assert_int_equal(wa(buf, TOKEN, T0), -1);
		}
	}
	/* Upper-case hex is not how Telegram sends hash. */
	memcpy(buf, py_init, sizeof(buf));
	for (size_t i = hash_at; buf[i] != '\0'; i++)
		if (buf[i] >= 'a' && buf[i] <= 'f')
			buf[i] = (char)(buf[i] - 'a' + 'A');
	assert_int_equal(wa(buf, TOKEN, T0), -1);
	/* Truncated or lengthened hash. */
	memcpy(buf, py_init, sizeof(buf));
	buf[strlen(buf) - 1] = '\0';
	assert_int_equal(wa(buf, TOKEN, T0), -1);
	char longer[sizeof(py_init) + 2];
	snprintf(longer, sizeof(longer), "%s0", py_init);
	assert_int_equal(wa(longer, TOKEN, T0), -1);
	/* The same fields in another order are the same data. */
	char reordered[sizeof(py_init)];
	const char *amp = strstr(py_init, "&user=");
	snprintf(reordered, sizeof(reordered), "%s&%.*s", amp + 1, (int)(amp - py_init), py_init);
	assert_int_equal(wa(reordered, TOKEN, T0), 0);
	/* %-escapes of the same bytes in lower case decode the same. */
	char lower[sizeof(py_init)];
	memcpy(lower, py_init, sizeof(lower));
	char *p = strstr(lower, "%7B");
	p[2] = 'b';
	assert_int_equal(wa(lower, TOKEN, T0), 0);
}

/* Percent-encodes s (all but unreserved) onto w; returns the new end. */
static char *
enc(char *w, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || strchr("-_.~", ch) != NULL)
			*w++ = (char)ch;
		else
			w += snprintf(w, 4, "%%%02X", ch);
	}
	*w = '\0';
	return w;
}

struct kv {
	const char *k, *v;
};

static int
kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->k, ((const struct kv *)b)->k);
}

/*
 * initData of the fields (values raw; encoded here) signed with token, the
 * hash appended last.
 */
static void
build(const struct kv *fields, size_t n, const char *token, char *out, size_t outlen)
{
	struct kv sorted[40];
	char dcs[8192], hex[65];
	unsigned char key[SHA256_LEN], mac[SHA256_LEN];
	size_t used = 0;
	char *w = out;

	assert_true(n <= 40 && outlen > 8192);
	memcpy(sorted, fields, n * sizeof(*fields));
	qsort(sorted, n, sizeof(*sorted), kv_cmp);
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(dcs + used, sizeof(dcs) - used, "%s%s=%s", i ? "\n" : "",
		                         sorted[i].k, sorted[i].v);
	hmac_sha256("WebAppData", 10, token, strlen(token), key);
	hmac_sha256(key, sizeof(key), dcs, used, mac);
	hex_encode(mac, sizeof(mac), hex);
	for (size_t i = 0; i < n; i++) {
		w = enc(w, fields[i].k);
		*w++ = '=';
		w = enc(w, fields[i].v);
		*w++ = '&';
	}
	snprintf(w, outlen - (size_t)(w - out), "hash=%s", hex);
}

#define USER "{\"id\":42,\"first_name\":\"Ali\",\"username\":\"ali\"}"

static void
test_built_valid(void **state)
{
	static char raw[16384];
	const struct kv f[] = {
	    {"auth_date", "1700000000"}, {"user", USER}, {"chat_type", "private"}};

	(void)state;
	build(f, 3, TOKEN, raw, sizeof(raw));
	assert_int_equal(wa(raw, TOKEN, T0), 0);
	assert_true(u.id == 42);
	assert_string_equal(u.first_name, "Ali");
	assert_string_equal(u.last_name, "");
	assert_string_equal(u.username, "ali");
	assert_int_equal(strlen(hash), 64);
}

static void
test_times(void **state)
{
	static char raw[16384];
	const struct kv f[] = {{"auth_date", "1700000000"}, {"user", USER}};

	(void)state;
	build(f, 2, TOKEN, raw, sizeof(raw));
	assert_int_equal(wa(raw, TOKEN, T0), 0);
	assert_int_equal(wa(raw, TOKEN, T0 + MAXAGE), 0);
	assert_int_equal(wa(raw, TOKEN, T0 + MAXAGE + 1), -1);
	assert_string_equal(err, "auth_date is too old");
	assert_int_equal(wa(raw, TOKEN, T0 - 60), 0);
	assert_int_equal(wa(raw, TOKEN, T0 - 61), -1);
	assert_string_equal(err, "auth_date is in the future");
	assert_int_equal(wa(raw, TOKEN, INT64_MIN), -1);
	assert_int_equal(wa(raw, TOKEN, INT64_MAX), -1);
	assert_int_equal(telegram_webapp_verify(raw, TOKEN, T0, -1, &u, hash, err, sizeof(err)),
	                 -1);
	assert_int_equal(telegram_webapp_verify(raw, TOKEN, T0, 0, &u, hash, err, sizeof(err)), 0);
	/* NULL err is allowed */
	assert_int_equal(
	    telegram_webapp_verify(raw, TOKEN, T0 + MAXAGE + 1, MAXAGE, &u, hash, NULL, 0), -1);

	const struct kv bad[][2] = {
	    {{"auth_date", "-1"}, {"user", USER}},
	    {{"auth_date", "1700000000.5"}, {"user", USER}},
	    {{"auth_date", " 1700000000"}, {"user", USER}},
	    {{"auth_date", ""}, {"user", USER}},
	    {{"auth_date", "99999999999999999999"}, {"user", USER}},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		build(bad[i], 2, TOKEN, raw, sizeof(raw));
		assert_int_equal(wa(raw, TOKEN, T0), -1);
	}
}

static void
test_missing_fields(void **state)
{
	static char raw[16384];
	const struct kv no_user[] = {{"auth_date", "1700000000"}, {"query_id", "q"}};
	const struct kv no_date[] = {{"user", USER}, {"query_id", "q"}};

	(void)state;
	build(no_user, 2, TOKEN, raw, sizeof(raw));
	assert_int_equal(wa(raw, TOKEN, T0), -1);
	assert_string_equal(err, "initData lacks user");
	build(no_date, 2, TOKEN, raw, sizeof(raw));
	assert_int_equal(wa(raw, TOKEN, T0), -1);
	assert_string_equal(err, "initData lacks auth_date");
	/* no hash at all */
	assert_int_equal(wa("auth_date=1700000000&user=%7B%22id%22%3A1%7D", TOKEN, T0), -1);
	assert_string_equal(err, "initData lacks hash");
	assert_int_equal(wa("", TOKEN, T0), -1);
	/* an empty hash */
	assert_int_equal(wa("auth_date=1700000000&user=%7B%7D&hash=", TOKEN, T0), -1);
}

static void
test_bad_user(void **state)
{
	static char raw[16384];
	const char *users[] = {
	    "not json",
	    "{\"id\":42",
	    "[42]",
	    "{}",
	    "{\"id\":\"42\"}",
	    "{\"id\":42.0}",
	    "{\"id\":0}",
	    "{\"id\":-5}",
	    "{\"id\":null}",
	    "{\"id\":42,\"first_name\":7}",
	    "{\"id\":42,\"username\":[\"a\"]}",
	    "{\"id\":42} trailing",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		const struct kv f[] = {{"auth_date", "1700000000"}, {"user", users[i]}};
		build(f, 2, TOKEN, raw, sizeof(raw));
		assert_int_equal(wa(raw, TOKEN, T0), -1);
	}
}

static void
test_user_strings(void **state)
{
	static char raw[16384];
	char user[2048], name[300];

	(void)state;
	/* A name longer than the field is cut at a code point; a too long
	 * username or photo_url is left out rather than cut. */
	name[0] = 'x';
	for (size_t i = 1; i + 2 < sizeof(name); i += 2)
		memcpy(name + i, "\xd0\x96", 2);
	name[sizeof(name) - 1] = '\0';
	snprintf(
	    user, sizeof(user),
	    "{\"id\":7,\"first_name\":\"%s\",\"username\":\"%0100d\",\"photo_url\":\"https://t.me/"
	    "%0600d\",\"language_code\":\"en\",\"is_premium\":true}",
	    name, 0, 0);
	const struct kv f[] = {{"auth_date", "1700000000"}, {"user", user}};
	build(f, 2, TOKEN, raw, sizeof(raw));
	assert_int_equal(wa(raw, TOKEN, T0), 0);
	assert_int_equal(strlen(u.first_name), 127);
	assert_true(utf8_valid(u.first_name, strlen(u.first_name)));
	assert_string_equal(u.username, "");
	assert_string_equal(u.photo_url, "");
	assert_string_equal(u.language_code, "en");
}

static void
test_duplicates(void **state)
{
	static char raw[16384], twice[2 * 16384];
	const struct kv f[] = {{"auth_date", "1700000000"}, {"user", USER}, {"query_id", "q"}};
	const struct kv dup[] = {
	    {"auth_date", "1700000000"}, {"user", USER}, {"query_id", "q"}, {"query_id", "r"}};

	(void)state;
	build(f, 3, TOKEN, raw, sizeof(raw));
	assert_int_equal(wa(raw, TOKEN, T0), 0);
	/* a second auth_date, user, or hash, before or after */
	snprintf(twice, sizeof(twice), "auth_date=1600000000&%s", raw);
	assert_int_equal(wa(twice, TOKEN, T0), -1);
	assert_non_null(strstr(err, "duplicate"));
	snprintf(twice, sizeof(twice), "%s&user=%%7B%%22id%%22%%3A1%%7D", raw);
	assert_int_equal(wa(twice, TOKEN, T0), -1);
	snprintf(twice, sizeof(twice), "%s&%s", raw, strstr(raw, "hash="));
	assert_int_equal(wa(twice, TOKEN, T0), -1);
	/* the same key spelled with an escape is the same key */
	snprintf(twice, sizeof(twice), "%s&auth%%5Fdate=1700000000", raw);
	assert_int_equal(wa(twice, TOKEN, T0), -1);
	/* a duplicate even when signed that way */
	build(dup, 4, TOKEN, raw, sizeof(raw));
	assert_int_equal(wa(raw, TOKEN, T0), -1);
}

static void
test_encoding(void **state)
{
	static char raw[16384], buf[2 * 16384];

	(void)state;
	/* '+' is a space, as telegram-web-app.js and URLSearchParams read it */
	const struct kv sp[] = {
	    {"auth_date", "1700000000"}, {"user", USER}, {"start_param", "a b"}};
	build(sp, 3, TOKEN, raw, sizeof(raw));
	assert_non_null(strstr(raw, "a%20b"));
	assert_int_equal(wa(raw, TOKEN, T0), 0);
	char *p = strstr(raw, "a%20b");
	snprintf(buf, sizeof(buf), "%.*sa+b%s", (int)(p - raw), raw, p + 5);
	assert_int_equal(wa(buf, TOKEN, T0), 0);
	/* a literal %2B is a plus, not a space */
	snprintf(buf, sizeof(buf), "%.*sa%%2Bb%s", (int)(p - raw), raw, p + 5);
	assert_int_equal(wa(buf, TOKEN, T0), -1);

	/* bad escapes, control characters, invalid UTF-8 */
	const char *bad[] = {"%",   "%4",  "%G1", "%4g", "%0A",    "%00",
	                     "%7F", "%1F", "%FF", "%C3", "%C0%AF", "%ED%A0%80"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "start_param=x%s&%s", bad[i], raw);
		assert_int_equal(wa(buf, TOKEN, T0), -1);
		snprintf(buf, sizeof(buf), "x%s=1&%s", bad[i], raw);
		assert_int_equal(wa(buf, TOKEN, T0), -1);
	}
	/* raw control bytes and pairs without '=' or without a key */
	snprintf(buf, sizeof(buf), "a=\x01&%s", raw);
	assert_int_equal(wa(buf, TOKEN, T0), -1);
	snprintf(buf, sizeof(buf), "flag&%s", raw);
	assert_int_equal(wa(buf, TOKEN, T0), -1);
	snprintf(buf, sizeof(buf), "=1&%s", raw);
	assert_int_equal(wa(buf, TOKEN, T0), -1);
	/* empty segments carry nothing */
	snprintf(buf, sizeof(buf), "&&%s&", raw);
	assert_int_equal(wa(buf, TOKEN, T0), 0);
	/* a key holding '=' (even signed) would make the check string ambiguous */
	const struct kv eqkey[] = {{"auth_date", "1700000000"}, {"user", USER}, {"a=b", "c"}};
	build(eqkey, 3, TOKEN, raw, sizeof(raw));
	assert_non_null(strstr(raw, "a%3Db=c"));
	assert_int_equal(wa(raw, TOKEN, T0), -1);
	/* valid UTF-8 in a signed value is fine */
	const struct kv utf[] = {{"auth_date", "1700000000"}, {"user", USER}, {"x", "\xd0\x96"}};
	build(utf, 3, TOKEN, raw, sizeof(raw));
	assert_int_equal(wa(raw, TOKEN, T0), 0);
}

static void
test_limits(void **state)
{
	static char raw[16384];
	struct kv f[40];
	char keys[40][16];
	static char big[5000];

	(void)state;
	/* 31 fields plus hash: accepted; one more: refused */
	f[0] = (struct kv){"auth_date", "1700000000"};
	f[1] = (struct kv){"user", USER};
	for (int i = 2; i < 40; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		f[i] = (struct kv){keys[i], "v"};
	}
	build(f, 31, TOKEN, raw, sizeof(raw));
	assert_int_equal(wa(raw, TOKEN, T0), 0);
	build(f, 32, TOKEN, raw, sizeof(raw));
	assert_int_equal(wa(raw, TOKEN, T0), -1);

	/* 4096 bytes: accepted; 4097: refused */
	memset(big, 'p', sizeof(big));
	f[2] = (struct kv){"pad", big};
	big[0] = '\0';
	build(f, 3, TOKEN, raw, sizeof(raw));
	size_t base = strlen(raw);
	memset(big, 'p', sizeof(big));
	big[4096 - base] = '\0';
	build(f, 3, TOKEN, raw, sizeof(raw));
	assert_int_equal(strlen(raw), 4096);
	assert_int_equal(wa(raw, TOKEN, T0), 0);
	big[4096 - base] = 'p';
	big[4097 - base] = '\0';
	build(f, 3, TOKEN, raw, sizeof(raw));
	assert_int_equal(strlen(raw), 4097);
	assert_int_equal(wa(raw, TOKEN, T0), -1);
}

/* The widget payload Python signed: key SHA256(TOKEN), same string rule. */
static json_object *
widget_payload(void)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(5012345678LL));
	json_object_object_add(o, "first_name", json_object_new_string("Hasan"));
	json_object_object_add(o, "last_name", json_object_new_string("Oktam"));
	json_object_object_add(o, "username", json_object_new_string("hasan_o"));
	json_object_object_add(o, "photo_url",
	                       json_object_new_string("https://t.me/i/userpic/320/x.jpg"));
	json_object_object_add(o, "auth_date", json_object_new_int64(T0));
	json_object_object_add(
	    o, "hash",
	    json_object_new_string(
	        "8ee1546cf99915b8519e0708ab27f23e910e75d017723615e2e795191a0ac975"));
	return o;
}

static int
wd(json_object *o, int64_t now)
{
	memset(&u, 0, sizeof(u));
	err[0] = '\0';
	int rc = telegram_widget_verify(o, TOKEN, now, MAXAGE, &u, hash, err, sizeof(err));
	if (rc < 0)
		assert_true(err[0] != '\0');
	return rc;
}

/* Re-signs o in place with our own HMAC (for payloads Python did not make). */
static void
widget_resign(json_object *o)
{
	char dcs[4096], hex[65];
	const char *keys[40];
	size_t n = 0, used = 0;
	unsigned char key[SHA256_LEN], mac[SHA256_LEN];

	json_object_object_foreach(o, k, unused)
	{
		(void)unused;
		if (strcmp(k, "hash") != 0)
			keys[n++] = k;
	}
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
			const char *t = keys[j];
			keys[j] = keys[j - 1];
			keys[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		json_object *val = json_object_object_get(o, keys[i]);
		used += (size_t)snprintf(dcs + used, sizeof(dcs) - used, "%s%s=%s", i ? "\n" : "",
		                         keys[i], json_object_get_string(val));
	}
	sha256(TOKEN, strlen(TOKEN), key);
	hmac_sha256(key, sizeof(key), dcs, used, mac);
	hex_encode(mac, sizeof(mac), hex);
	json_object_object_add(o, "hash", json_object_new_string(hex));
}

static void
test_widget(void **state)
{
	json_object *o = widget_payload();

	(void)state;
	assert_int_equal(wd(o, T0 + 1), 0);
	assert_true(u.id == 5012345678LL);
	assert_string_equal(u.first_name, "Hasan");
	assert_string_equal(u.last_name, "Oktam");
	assert_string_equal(u.username, "hasan_o");
	assert_string_equal(u.photo_url, "https://t.me/i/userpic/320/x.jpg");
	assert_string_equal(hash,
	                    "8ee1546cf99915b8519e0708ab27f23e910e75d017723615e2e795191a0ac975");
	/* time rules */
	assert_int_equal(wd(o, T0 + MAXAGE), 0);
	assert_int_equal(wd(o, T0 + MAXAGE + 1), -1);
	assert_int_equal(wd(o, T0 - 61), -1);
	/* the Mini App key does not work here, nor another token */
	assert_int_equal(
	    telegram_widget_verify(o, TOKEN "x", T0, MAXAGE, &u, hash, err, sizeof(err)), -1);
	assert_int_equal(telegram_widget_verify(o, "", T0, MAXAGE, &u, hash, err, sizeof(err)), -1);
	/* id and auth_date sent as strings (the redirect form) sign the same */
	json_object_object_add(o, "id", json_object_new_string("5012345678"));
	json_object_object_add(o, "auth_date", json_object_new_string("1700000000"));
	assert_int_equal(wd(o, T0), 0);
	assert_true(u.id == 5012345678LL);
	/* a null member is not signed and ignored */
	json_object_object_add(o, "last_name", NULL);
	assert_int_equal(wd(o, T0), -1); /* last_name was signed */
	json_object_put(o);
	o = widget_payload();
	json_object_object_add(o, "extra", NULL);
	assert_int_equal(wd(o, T0), 0);
	json_object_put(o);
}

static void
test_widget_tampering(void **state)
{
	json_object *o;

	(void)state;
	o = widget_payload();
	json_object_object_add(o, "id", json_object_new_int64(5012345679LL));
	assert_int_equal(wd(o, T0), -1);
	json_object_put(o);

	o = widget_payload();
	json_object_object_add(o, "first_name", json_object_new_string("Hasa"));
	assert_int_equal(wd(o, T0), -1);
	json_object_put(o);

	/* an unknown key is part of the check string */
	o = widget_payload();
	json_object_object_add(o, "is_admin", json_object_new_string("true"));
	assert_int_equal(wd(o, T0), -1);
	widget_resign(o);
	assert_int_equal(wd(o, T0), 0);
	json_object_put(o);

	/* every hash digit */
	for (int i = 0; i < 64; i++) {
		char h[65];
		o = widget_payload();
		snprintf(h, sizeof(h), "%s",
		         json_object_get_string(json_object_object_get(o, "hash")));
		h[i] = h[i] == '0' ? '1' : '0';
		json_object_object_add(o, "hash", json_object_new_string(h));
		assert_int_equal(wd(o, T0), -1);
		json_object_put(o);
	}

	/* missing or malformed hash, id, auth_date */
	const char *drop[] = {"hash", "id", "auth_date"};
	for (size_t i = 0; i < 3; i++) {
		o = widget_payload();
		json_object_object_del(o, drop[i]);
		widget_resign(o);
		if (strcmp(drop[i], "hash") == 0)
			json_object_object_del(o, "hash");
		assert_int_equal(wd(o, T0), -1);
		json_object_put(o);
	}
	o = widget_payload();
	json_object_object_add(o, "hash", json_object_new_int(5));
	assert_int_equal(wd(o, T0), -1);
	json_object_put(o);

	/* values that are neither strings nor integers, even signed */
	json_object *vals[] = {json_object_new_boolean(1), json_object_new_double(1.5),
	                       json_object_new_object(), json_object_new_array()};
	for (size_t i = 0; i < 4; i++) {
		o = widget_payload();
		json_object_object_add(o, "x", vals[i]);
		widget_resign(o);
		assert_int_equal(wd(o, T0), -1);
		json_object_put(o);
	}
	/* a signed id that is not a positive integer */
	const char *ids[] = {"0", "-1", "12a", "", "1.0"};
	for (size_t i = 0; i < 5; i++) {
		o = widget_payload();
		json_object_object_add(o, "id", json_object_new_string(ids[i]));
		widget_resign(o);
		assert_int_equal(wd(o, T0), -1);
		json_object_put(o);
	}
	/* a control character in a signed value */
	o = widget_payload();
	json_object_object_add(o, "first_name", json_object_new_string("a\nid=1"));
	widget_resign(o);
	assert_int_equal(wd(o, T0), -1);
	json_object_put(o);
	/* not an object */
	o = json_object_new_array();
	assert_int_equal(wd(o, T0), -1);
	json_object_put(o);
	assert_int_equal(wd(NULL, T0), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_python_vector),
	    cmocka_unit_test(test_published_vectors),
	    cmocka_unit_test(test_one_byte_changes),
	    cmocka_unit_test(test_built_valid),
	    cmocka_unit_test(test_times),
	    cmocka_unit_test(test_missing_fields),
	    cmocka_unit_test(test_bad_user),
	    cmocka_unit_test(test_user_strings),
	    cmocka_unit_test(test_duplicates),
	    cmocka_unit_test(test_encoding),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_widget),
	    cmocka_unit_test(test_widget_tampering),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
