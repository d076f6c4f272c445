/*
 * auth.h - the pure parts of "who is asking": hashes and MACs, random
 * tokens, passwords, JWT, cookies and Telegram sign-in signatures. Nothing
 * here touches the database or the request; lib/session.c and
 * lib/authz.c build on it. Included by oshxona.h.
 */
#ifndef OSHXONA_AUTH_H
#define OSHXONA_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json.h>

/* crypto.c ------------------------------------------------------------ */

#define SHA256_LEN 32

void sha256(const void *data, size_t len, unsigned char out[SHA256_LEN]);
void hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                 unsigned char out[SHA256_LEN]);
/* Lower-case hex of len bytes into out, which holds 2 * len + 1. */
void hex_encode(const unsigned char *in, size_t len, char *out);
/*
 * Base64url without padding (RFC 4648 section 5). Encode returns the
 * length written (NUL-terminated), or 0 when out is too small. Decode is
 * strict: no padding, no whitespace, only the url alphabet, and unused
 * trailing bits must be zero (one encoding per value); returns 0 and sets
 * *n, or -1.
 */
size_t base64url_encode(const unsigned char *in, size_t len, char *out, size_t outlen);
int base64url_decode(const char *in, size_t len, unsigned char *out, size_t outlen, size_t *n);
/* Bytes from the kernel's CSPRNG (getrandom); aborts if it fails. */
void random_bytes(void *buf, size_t len);
/* nbytes random bytes as lower-case hex into out (2 * nbytes + 1). */
void random_hex(char *out, size_t nbytes);

/* password.c ---------------------------------------------------------- */

#define PASSWORD_HASH_MAX 160
#define PASSWORD_MAX_LEN  256

/*
 * Argon2id (libargon2), encoded form "$argon2id$v=19$m=...,t=...,p=...$salt$hash"
 * with a fresh 16-byte salt. Returns 0, or -1 (password empty or longer
 * than PASSWORD_MAX_LEN).
 */
int password_hash(const char *password, char out[PASSWORD_HASH_MAX]);
/* 0 when password matches encoded; -1 on mismatch or a malformed hash. */
int password_verify(const char *encoded, const char *password);
/*
 * Spends the same time as a password_verify that fails, for unknown or
 * disabled accounts, so timing does not tell which logins exist.
 */
void password_verify_dummy(const char *password);

/* jwt.c --------------------------------------------------------------- */

#define JWT_MAX_LEN      2048
#define JWT_MAX_BRANCHES 32
#define JWT_ID_LEN       24 /* a hex ObjectId */

struct jwt_claims {
	char sub[JWT_ID_LEN + 1]; /* staff _id as 24 hex */
	char role[16];            /* owner | manager | operator */
	char branches[JWT_MAX_BRANCHES][JWT_ID_LEN + 1];
	size_t nbranches;
	int64_t iat; /* seconds since the epoch */
	int64_t exp;
};

/*
 * Writes header.payload.signature, HS256 over {"alg":"HS256","typ":"JWT"}
 * and {"sub","role","branches":[...],"iat","exp"}. Returns the token length,
 * or -1 when out is too small.
 */
int jwt_sign(const struct jwt_claims *c, const char *secret, char *out, size_t outlen);
/*
 * Accepts only a token whose header says exactly alg HS256 (not "none",
 * not HS512, not RS256; typ, if present, "JWT"), whose signature matches
 * (constant-time), whose payload is a JSON object with string sub and
 * role, an array of 24-hex branches, integer iat and exp, exp > now and
 * iat <= now + 60 (clock skew). Returns 0 and fills c, or -1.
 */
int jwt_verify(const char *token, const char *secret, int64_t now, struct jwt_claims *c);

/* cookie.c ------------------------------------------------------------ */

#define COOKIE_MAX_PAIRS 32
#define COOKIE_VALUE_MAX JWT_MAX_LEN /* a staff JWT travels in a cookie */

/*
 * Finds name in a Cookie request header ("a=1; b=2", RFC 6265 section
 * 5.4; surrounding double quotes of a value removed). Returns 0 and copies
 * the value into out, or -1 (absent, malformed header, more than
 * COOKIE_MAX_PAIRS pairs, or the value does not fit in outlen). When a name
 * appears twice, the first wins (browsers send the most specific first).
 */
int cookie_get(const char *header, const char *name, char *out, size_t outlen);

/*
 * Formats a Set-Cookie value: "name=value; Path=path; Max-Age=n; HttpOnly;
 * SameSite=samesite[; Secure]". max_age 0 expires the cookie (also adds
 * Expires in the past). name and value must be cookie-safe (token name,
 * value of RFC 6265 cookie-octets); returns the length, or -1 when they
 * are not or out is too small.
 */
int cookie_format(char *out, size_t outlen, const char *name, const char *value, const char *path,
                  int64_t max_age, const char *samesite, bool secure);

/* tgauth.c ------------------------------------------------------------ */

struct telegram_user {
	int64_t id;
	char first_name[128];
	char last_name[128];
	char username[64];
	char language_code[16];
	char photo_url[512];
};

/*
 * Checks Telegram Mini App initData (the raw query string the Mini App
 * got): HMAC-SHA256 of the data-check-string (every field but hash,
 * decoded, sorted by key, "k=v" joined by \n) keyed with
 * HMAC-SHA256(key "WebAppData", bot_token), compared in constant time with
 * hash; auth_date within max_age seconds before now (and not in the
 * future beyond 60 s); user a JSON object with an integer id. Returns 0,
 * fills u and hash_hex (the 64-hex hash, for replay claims), or -1 with a
 * reason in err.
 */
int telegram_webapp_verify(const char *init_data, const char *bot_token, int64_t now,
                           int64_t max_age, struct telegram_user *u, char hash_hex[65], char *err,
                           size_t errlen);
/*
 * Checks a Telegram Login Widget payload (a JSON object of id, first_name,
 * last_name, username, photo_url, auth_date, hash): HMAC-SHA256 of the
 * data-check-string keyed with SHA256(bot_token); same auth_date rule.
 * Unknown keys are part of the check string, as Telegram documents.
 * Returns 0 and fills u and hash_hex, or -1 with a reason in err.
 */
int telegram_widget_verify(json_object *payload, const char *bot_token, int64_t now,
                           int64_t max_age, struct telegram_user *u, char hash_hex[65], char *err,
                           size_t errlen);

#endif
