/*
 * jwt.c - HS256 JSON Web Tokens for staff sessions (RFC 7519). Only one
 * algorithm exists here: a token that names any other is refused before
 * its signature is looked at, and every part is decoded strictly, so each
 * accepted token has exactly one spelling.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "oshxona.h"

#define JWT_SIG_B64_LEN 43 /* base64url of 32 bytes, unpadded */
#define JWT_SKEW        60 /* seconds an iat may lie in the future */

/* base64url of {"alg":"HS256","typ":"JWT"} */
static const char jwt_header_b64[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/* A string of exactly JWT_ID_LEN hex digits (either case, as parse_oid). */
static int
jwt_is_id(const char *s, size_t len)
{
	if (len != JWT_ID_LEN)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
		      (ch >= 'A' && ch <= 'F')))
			return 0;
	}
	return 1;
}

/* HMAC-SHA256 of the signing input [s, s+len) under secret. */
static void
jwt_mac(const char *secret, const char *s, size_t len, unsigned char mac[SHA256_LEN])
{
	hmac_sha256(secret, strlen(secret), s, len, mac);
}

int
jwt_sign(const struct jwt_claims *c, const char *secret, char *out, size_t outlen)
{
	json_object *payload, *branches;
	const char *json;
	size_t json_len, hlen = sizeof(jwt_header_b64) - 1, used, n;
	unsigned char mac[SHA256_LEN];
	int rc = -1;

	if (c->nbranches > JWT_MAX_BRANCHES)
		return -1;
	payload = json_object_new_object();
	json_object_object_add(
	    payload, "sub",
	    json_object_new_string_len(c->sub, (int)strnlen(c->sub, sizeof(c->sub))));
	json_object_object_add(
	    payload, "role",
	    json_object_new_string_len(c->role, (int)strnlen(c->role, sizeof(c->role))));
	branches = json_object_new_array();
	for (size_t i = 0; i < c->nbranches; i++)
		json_object_array_add(
		    branches,
		    json_object_new_string_len(
		        c->branches[i], (int)strnlen(c->branches[i], sizeof(c->branches[i]))));
	json_object_object_add(payload, "branches", branches);
	json_object_object_add(payload, "iat", json_object_new_int64(c->iat));
	json_object_object_add(payload, "exp", json_object_new_int64(c->exp));
	json = json_object_to_json_string_ext(payload, JSON_OUT_FLAGS);
	json_len = strlen(json);

	/* header "." payload "." signature NUL */
	if (outlen < hlen + 1)
		goto done;
	memcpy(out, jwt_header_b64, hlen);
	out[hlen] = '.';
	used = hlen + 1;
	n = base64url_encode((const unsigned char *)json, json_len, out + used, outlen - used);
	if (n == 0)
		goto done;
	used += n;
	jwt_mac(secret, out, used, mac);
	if (outlen - used < 2)
		goto done;
	out[used++] = '.';
	n = base64url_encode(mac, sizeof(mac), out + used, outlen - used);
	if (n == 0)
		goto done;
	used += n;
	if (used > INT32_MAX)
		goto done;
	rc = (int)used;
done:
	if (rc < 0 && outlen > 0)
		out[0] = '\0';
	OPENSSL_cleanse(mac, sizeof(mac));
	json_object_put(payload);
	return rc;
}

/*
 * Decodes one base64url part and parses it as a JSON object. Returns a
 * new object (the caller's) or NULL.
 */
static json_object *
jwt_part_json(const char *s, size_t len)
{
	unsigned char buf[JWT_MAX_LEN];
	char err[128];
	size_t n;
	json_object *v;

	if (base64url_decode(s, len, buf, sizeof(buf), &n) < 0 || n == 0)
		return NULL;
	v = json_parse((const char *)buf, n, err, sizeof(err));
	if (v != NULL && !json_object_is_type(v, json_type_object)) {
		json_object_put(v);
		v = NULL;
	}
	return v;
}

/*
 * 0 when the header has alg exactly "HS256", typ (if any) exactly "JWT"
 * and no crit; other members (kid, say) are ignored.
 */
static int
jwt_check_header(json_object *h)
{
	const char *alg = json_get_string(h, "alg");
	json_object *typ;

	if (alg == NULL || strcmp(alg, "HS256") != 0)
		return -1;
	if (json_object_object_get_ex(h, "typ", &typ)) {
		if (!json_object_is_type(typ, json_type_string) ||
		    strcmp(json_object_get_string(typ), "JWT") != 0)
			return -1;
	}
	/* RFC 7515 4.1.11: extensions we do not know must not be ignored. */
	if (json_object_object_get_ex(h, "crit", NULL))
		return -1;
	return 0;
}

/* Copies a JSON string of 1..cap-1 bytes with no NUL into dst. */
static int
jwt_copy_string(json_object *v, char *dst, size_t cap)
{
	size_t len;

	if (v == NULL || !json_object_is_type(v, json_type_string))
		return -1;
	len = (size_t)json_object_get_string_len(v);
	if (len == 0 || len >= cap || strlen(json_object_get_string(v)) != len)
		return -1;
	memcpy(dst, json_object_get_string(v), len + 1);
	return 0;
}

static int
jwt_claims_from(json_object *p, int64_t now, struct jwt_claims *c)
{
	json_object *v, *arr;
	size_t n;

	memset(c, 0, sizeof(*c));
	if (!json_object_object_get_ex(p, "sub", &v) ||
	    jwt_copy_string(v, c->sub, sizeof(c->sub)) < 0 || !jwt_is_id(c->sub, strlen(c->sub)))
		return -1;
	if (!json_object_object_get_ex(p, "role", &v) ||
	    jwt_copy_string(v, c->role, sizeof(c->role)) < 0)
		return -1;
	if (!json_object_object_get_ex(p, "branches", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return -1;
	n = json_object_array_length(arr);
	if (n > JWT_MAX_BRANCHES)
		return -1;
	for (size_t i = 0; i < n; i++) {
		v = json_object_array_get_idx(arr, i);
		if (jwt_copy_string(v, c->branches[i], sizeof(c->branches[i])) < 0 ||
		    !jwt_is_id(c->branches[i], strlen(c->branches[i])))
			return -1;
	}
	c->nbranches = n;
	if (json_get_int64(p, "iat", 0, INT64_MAX, &c->iat) < 0 ||
	    json_get_int64(p, "exp", 0, INT64_MAX, &c->exp) < 0)
		return -1;
	/* exp > now; iat <= now + JWT_SKEW, written so nothing overflows. */
	if (c->exp <= now)
		return -1;
	if (c->iat > now && (uint64_t)c->iat - (uint64_t)now > JWT_SKEW)
		return -1;
	return 0;
}

int
jwt_verify(const char *token, const char *secret, int64_t now, struct jwt_claims *c)
{
	const char *dot1, *dot2;
	size_t len, hlen, plen, slen;
	unsigned char sig[SHA256_LEN], mac[SHA256_LEN];
	size_t siglen;
	json_object *header = NULL, *payload = NULL;
	struct jwt_claims tmp;
	int rc = -1;

	if (token == NULL || secret == NULL)
		return -1;
	len = strnlen(token, JWT_MAX_LEN + 1);
	if (len > JWT_MAX_LEN)
		return -1;
	dot1 = memchr(token, '.', len);
	if (dot1 == NULL)
		return -1;
	dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token));
	if (dot2 == NULL || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL)
		return -1;
	hlen = (size_t)(dot1 - token);
	plen = (size_t)(dot2 - dot1 - 1);
	slen = len - (size_t)(dot2 + 1 - token);
	if (hlen == 0 || plen == 0 || slen != JWT_SIG_B64_LEN)
		return -1;
	if (base64url_decode(dot2 + 1, slen, sig, sizeof(sig), &siglen) < 0 || siglen != SHA256_LEN)
		return -1;

	header = jwt_part_json(token, hlen);
	if (header == NULL || jwt_check_header(header) < 0)
		goto done;
	jwt_mac(secret, token, (size_t)(dot2 - token), mac);
	if (!bytes_equal_ct(sig, sizeof(sig), mac, sizeof(mac)))
		goto done;
	payload = jwt_part_json(dot1 + 1, plen);
	if (payload == NULL || jwt_claims_from(payload, now, &tmp) < 0)
		goto done;
	*c = tmp;
	rc = 0;
done:
	OPENSSL_cleanse(mac, sizeof(mac));
	json_object_put(header);
	json_object_put(payload);
	return rc;
}
