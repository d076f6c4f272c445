/*
 * test_jwt.c - HS256 tokens from lib/jwt.c: a vector made independently
 * (Python's hmac and base64), then every way a token must be refused.
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

#define SECRET "oshxona-test-secret-0123456789abcdef"
#define NOW    1700000100

/*
 * Made in Python, independently of this code base:
 *   b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
 *   h = b64(json.dumps({"alg":"HS256","typ":"JWT"}, separators=(",",":")).encode())
 *   p = b64(json.dumps({"sub":"65a1b2c3d4e5f60718293a4b","role":"manager",
 *       "branches":["65a1b2c3d4e5f60718293a4c","65a1b2c3d4e5f60718293a4d"],
 *       "iat":1700000000,"exp":1700003600}, separators=(",",":")).encode())
 *   s = b64(hmac.new(SECRET, (h+"."+p).encode(), hashlib.sha256).digest())
 */
static const char known_token[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiI2NWExYjJjM2Q0ZTVmNjA3MTgyOTNhNGIiLCJyb2xlIjoibWFuYWdlciIsImJyYW5jaGVzIjpbIjY1YT"
    "FiMmMzZDRlNWY2MDcxODI5M2E0YyIsIjY1YTFiMmMzZDRlNWY2MDcxODI5M2E0ZCJdLCJpYXQiOjE3MDAwMDAwMDAs"
    "ImV4cCI6MTcwMDAwMzYwMH0.w1zfw22F0Sa8RVVfClktpOGOg7QjDZECR4214ofSITk";

static const char std_header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

static void
known_claims(struct jwt_claims *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->sub, sizeof(c->sub), "%s", "65a1b2c3d4e5f60718293a4b");
	snprintf(c->role, sizeof(c->role), "%s", "manager");
	snprintf(c->branches[0], sizeof(c->branches[0]), "%s", "65a1b2c3d4e5f60718293a4c");
	snprintf(c->branches[1], sizeof(c->branches[1]), "%s", "65a1b2c3d4e5f60718293a4d");
	c->nbranches = 2;
	c->iat = 1700000000;
	c->exp = 1700003600;
}

/*
 * b64(header).b64(payload).b64(HMAC(secret)) into out, for tokens that
 * jwt_sign would never make. The MAC comes from our own hmac_sha256,
 * which test_crypto checks against RFC 4231.
 */
static void
forge(const char *header, const char *payload, const char *secret, char *out, size_t outlen)
{
	unsigned char mac[SHA256_LEN];
	size_t n;

	n = base64url_encode((const unsigned char *)header, strlen(header), out, outlen);
	assert_true(n > 0);
	out[n++] = '.';
	n += base64url_encode((const unsigned char *)payload, strlen(payload), out + n, outlen - n);
	hmac_sha256(secret, strlen(secret), out, n, mac);
	out[n++] = '.';
	assert_true(base64url_encode(mac, sizeof(mac), out + n, outlen - n) > 0);
}

/* jwt_verify of a forged token at NOW with SECRET. */
static int
verify_forged(const char *header, const char *payload)
{
	char tok[8192];
	struct jwt_claims c;

	forge(header, payload, SECRET, tok, sizeof(tok));
	return jwt_verify(tok, SECRET, NOW, &c);
}

#define P_SUB  "\"sub\":\"65a1b2c3d4e5f60718293a4b\""
#define P_ROLE "\"role\":\"owner\""
#define P_BR   "\"branches\":[\"65a1b2c3d4e5f60718293a4c\"]"
#define P_IAT  "\"iat\":1700000000"
#define P_EXP  "\"exp\":1700003600"
#define P_ALL  "{" P_SUB "," P_ROLE "," P_BR "," P_IAT "," P_EXP "}"

static void
test_known_vector(void **state)
{
	struct jwt_claims c, got;
	char tok[JWT_MAX_LEN + 1];

	(void)state;
	known_claims(&c);
	assert_int_equal(jwt_sign(&c, SECRET, tok, sizeof(tok)), (int)strlen(known_token));
	assert_string_equal(tok, known_token);

	memset(&got, 0xaa, sizeof(got));
	assert_int_equal(jwt_verify(known_token, SECRET, NOW, &got), 0);
	assert_string_equal(got.sub, "65a1b2c3d4e5f60718293a4b");
	assert_string_equal(got.role, "manager");
	assert_int_equal(got.nbranches, 2);
	assert_string_equal(got.branches[0], "65a1b2c3d4e5f60718293a4c");
	assert_string_equal(got.branches[1], "65a1b2c3d4e5f60718293a4d");
	assert_true(got.iat == 1700000000);
	assert_true(got.exp == 1700003600);
}

static void
test_roundtrip(void **state)
{
	struct jwt_claims c, got;
	char tok[JWT_MAX_LEN + 1];
	int n;

	(void)state;
	memset(&c, 0, sizeof(c));
	snprintf(c.sub, sizeof(c.sub), "%s", "0123456789ABCDEFabcdef01");
	snprintf(c.role, sizeof(c.role), "%s", "operator");
	c.nbranches = 0;
	c.iat = NOW;
	c.exp = NOW + 1;
	n = jwt_sign(&c, SECRET, tok, sizeof(tok));
	assert_true(n > 0);
	assert_int_equal(jwt_verify(tok, SECRET, NOW, &got), 0);
	assert_int_equal(got.nbranches, 0);
	assert_string_equal(got.sub, c.sub);

	/* The most branches there can be. */
	for (size_t i = 0; i < JWT_MAX_BRANCHES; i++)
		snprintf(c.branches[i], sizeof(c.branches[i]), "%024zx", i + 1);
	c.nbranches = JWT_MAX_BRANCHES;
	n = jwt_sign(&c, SECRET, tok, sizeof(tok));
	assert_true(n > 0 && n <= JWT_MAX_LEN);
	assert_int_equal(jwt_verify(tok, SECRET, NOW, &got), 0);
	assert_int_equal(got.nbranches, JWT_MAX_BRANCHES);
	assert_string_equal(got.branches[31], "000000000000000000000020");

	/* The same claims forged with our helper are accepted too. */
	assert_int_equal(verify_forged(std_header, P_ALL), 0);
	/* typ is optional; other header members are ignored. */
	assert_int_equal(verify_forged("{\"alg\":\"HS256\"}", P_ALL), 0);
	assert_int_equal(verify_forged("{\"typ\":\"JWT\",\"alg\":\"HS256\",\"kid\":\"k1\"}", P_ALL),
	                 0);
}

static void
test_sign_small_out(void **state)
{
	struct jwt_claims c;
	char tok[JWT_MAX_LEN + 1];
	size_t len = strlen(known_token);

	(void)state;
	known_claims(&c);
	assert_int_equal(jwt_sign(&c, SECRET, tok, len), -1);
	assert_int_equal(jwt_sign(&c, SECRET, tok, len + 1), (int)len);
	assert_int_equal(jwt_sign(&c, SECRET, tok, 10), -1);
	assert_int_equal(jwt_sign(&c, SECRET, tok, 0), -1);
	c.nbranches = JWT_MAX_BRANCHES + 1;
	assert_int_equal(jwt_sign(&c, SECRET, tok, sizeof(tok)), -1);
}

static void
test_algorithms(void **state)
{
	char tok[4096];
	struct jwt_claims c;

	(void)state;
	assert_int_equal(verify_forged("{\"alg\":\"none\",\"typ\":\"JWT\"}", P_ALL), -1);
	assert_int_equal(verify_forged("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", P_ALL), -1);
	assert_int_equal(verify_forged("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", P_ALL), -1);
	assert_int_equal(verify_forged("{\"alg\":\"hs256\"}", P_ALL), -1);
	assert_int_equal(verify_forged("{\"alg\":\"HS256 \"}", P_ALL), -1);
	assert_int_equal(verify_forged("{\"alg\":[\"HS256\"]}", P_ALL), -1);
	assert_int_equal(verify_forged("{\"typ\":\"JWT\"}", P_ALL), -1);
	assert_int_equal(verify_forged("{}", P_ALL), -1);
	assert_int_equal(verify_forged("{\"alg\":\"HS256\",\"typ\":\"jwt+x\"}", P_ALL), -1);
	assert_int_equal(verify_forged("{\"alg\":\"HS256\",\"typ\":1}", P_ALL), -1);
	assert_int_equal(verify_forged("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", P_ALL), -1);
	assert_int_equal(verify_forged("[\"HS256\"]", P_ALL), -1);
	assert_int_equal(verify_forged("{\"alg\":\"HS256\"} x", P_ALL), -1);

	/* The classic "alg":"none" token with an empty signature. */
	size_t n =
	    base64url_encode((const unsigned char *)"{\"alg\":\"none\"}", 14, tok, sizeof(tok));
	tok[n++] = '.';
	n +=
	    base64url_encode((const unsigned char *)P_ALL, strlen(P_ALL), tok + n, sizeof(tok) - n);
	tok[n++] = '.';
	tok[n] = '\0';
	assert_int_equal(jwt_verify(tok, SECRET, NOW, &c), -1);
	tok[n - 1] = '\0';
	assert_int_equal(jwt_verify(tok, SECRET, NOW, &c), -1);
}

static void
test_tampering(void **state)
{
	char tok[JWT_MAX_LEN + 1];
	struct jwt_claims c;
	size_t len = strlen(known_token);
	const char *dot2 = strrchr(known_token, '.');
	size_t sig_at = (size_t)(dot2 + 1 - known_token);

	(void)state;
	/* Every single-character change in the payload. */
	for (size_t i = strlen("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."); i < sig_at - 1; i++) {
		snprintf(tok, sizeof(tok), "%s", known_token);
		tok[i] = tok[i] == 'A' ? 'B' : 'A';
		assert_int_equal(jwt_verify(tok, SECRET, NOW, &c), -1);
	}
	/* Every single-character change in the signature. */
	for (size_t i = sig_at; i < len; i++) {
		snprintf(tok, sizeof(tok), "%s", known_token);
		tok[i] = tok[i] == 'A' ? 'B' : 'A';
		assert_int_equal(jwt_verify(tok, SECRET, NOW, &c), -1);
	}
	/* And in the header. */
	snprintf(tok, sizeof(tok), "%s", known_token);
	tok[5] = tok[5] == 'A' ? 'B' : 'A';
	assert_int_equal(jwt_verify(tok, SECRET, NOW, &c), -1);

	assert_int_equal(jwt_verify(known_token, SECRET "x", NOW, &c), -1);
	assert_int_equal(jwt_verify(known_token, "another-secret", NOW, &c), -1);
	assert_int_equal(jwt_verify(known_token, "", NOW, &c), -1);
	assert_int_equal(jwt_verify(known_token, NULL, NOW, &c), -1);
	assert_int_equal(jwt_verify(NULL, SECRET, NOW, &c), -1);
}

static void
test_structure(void **state)
{
	char tok[JWT_MAX_LEN + 64];
	struct jwt_claims c;
	size_t len = strlen(known_token);
	const char *dot1 = strchr(known_token, '.'), *dot2 = strrchr(known_token, '.');

	(void)state;
	assert_int_equal(jwt_verify("", SECRET, NOW, &c), -1);
	assert_int_equal(jwt_verify("..", SECRET, NOW, &c), -1);
	assert_int_equal(jwt_verify("a.b", SECRET, NOW, &c), -1);
	/* extra dots */
	snprintf(tok, sizeof(tok), "%s.", known_token);
	assert_int_equal(jwt_verify(tok, SECRET, NOW, &c), -1);
	snprintf(tok, sizeof(tok), "%s.x", known_token);
	assert_int_equal(jwt_verify(tok, SECRET, NOW, &c), -1);
	snprintf(tok, sizeof(tok), ".%s", known_token);
	assert_int_equal(jwt_verify(tok, SECRET, NOW, &c), -1);
	/* empty parts */
	snprintf(tok, sizeof(tok), "%.*s%s", (int)(dot1 - known_token + 1), known_token, dot2);
	assert_int_equal(jwt_verify(tok, SECRET, NOW, &c), -1);
	snprintf(tok, sizeof(tok), "%s", dot1);
	assert_int_equal(jwt_verify(tok, SECRET, NOW, &c), -1);
	snprintf(tok, sizeof(tok), "%.*s", (int)(dot2 - known_token + 1), known_token);
	assert_int_equal(jwt_verify(tok, SECRET, NOW, &c), -1);
	/* padding on the signature */
	snprintf(tok, sizeof(tok), "%s=", known_token);
	assert_int_equal(jwt_verify(tok, SECRET, NOW, &c), -1);
	/* non-canonical last signature character (unused bits set): k -> l */
	snprintf(tok, sizeof(tok), "%s", known_token);
	assert_int_equal(tok[len - 1], 'k');
	tok[len - 1] = 'l';
	assert_int_equal(jwt_verify(tok, SECRET, NOW, &c), -1);
	/* signature one byte short and one byte long */
	snprintf(tok, sizeof(tok), "%.*s", (int)len - 2, known_token);
	assert_int_equal(jwt_verify(tok, SECRET, NOW, &c), -1);
	snprintf(tok, sizeof(tok), "%sAA", known_token);
	assert_int_equal(jwt_verify(tok, SECRET, NOW, &c), -1);
	/* whitespace around */
	snprintf(tok, sizeof(tok), " %s", known_token);
	assert_int_equal(jwt_verify(tok, SECRET, NOW, &c), -1);
	snprintf(tok, sizeof(tok), "%s\n", known_token);
	assert_int_equal(jwt_verify(tok, SECRET, NOW, &c), -1);
	/* trailing JSON whitespace is fine, trailing garbage is not */
	assert_int_equal(verify_forged(std_header, P_ALL " "), 0);
	assert_int_equal(verify_forged(std_header, P_ALL "x"), -1);
}

static void
test_too_long(void **state)
{
	char payload[4096], tok[8192];
	struct jwt_claims c;
	size_t n;

	(void)state;
	/* A valid token whose padding pushes it past JWT_MAX_LEN. */
	n = (size_t)snprintf(payload, sizeof(payload),
	                     "{" P_SUB "," P_ROLE "," P_BR "," P_IAT "," P_EXP ",\"pad\":\"");
	while (n < 1600)
		payload[n++] = 'x';
	memcpy(payload + n, "\"}", 3);
	forge(std_header, payload, SECRET, tok, sizeof(tok));
	assert_true(strlen(tok) > JWT_MAX_LEN);
	assert_int_equal(jwt_verify(tok, SECRET, NOW, &c), -1);
	/* Shorter padding, same token shape: accepted. */
	memcpy(payload + 1000, "\"}", 3);
	forge(std_header, payload, SECRET, tok, sizeof(tok));
	assert_true(strlen(tok) <= JWT_MAX_LEN);
	assert_int_equal(jwt_verify(tok, SECRET, NOW, &c), 0);
}

static void
test_times(void **state)
{
	struct jwt_claims c;
	char tok[JWT_MAX_LEN + 1];

	(void)state;
	known_claims(&c);
	assert_true(jwt_sign(&c, SECRET, tok, sizeof(tok)) > 0);
	/* expired; exp == now is expired too */
	assert_int_equal(jwt_verify(tok, SECRET, c.exp + 1, &c), -1);
	assert_int_equal(jwt_verify(tok, SECRET, c.exp, &c), -1);
	assert_int_equal(jwt_verify(tok, SECRET, c.exp - 1, &c), 0);
	/* iat in the future: up to 60 s of skew */
	assert_int_equal(jwt_verify(tok, SECRET, c.iat - 60, &c), 0);
	assert_int_equal(jwt_verify(tok, SECRET, c.iat - 61, &c), -1);
	assert_int_equal(jwt_verify(tok, SECRET, INT64_MIN, &c), -1);

	/* Negative and huge values. */
	assert_int_equal(
	    verify_forged(std_header, "{" P_SUB "," P_ROLE "," P_BR ",\"iat\":-1," P_EXP "}"), -1);
	assert_int_equal(verify_forged(std_header, "{" P_SUB "," P_ROLE "," P_BR "," P_IAT
	                                           ",\"exp\":9223372036854775807}"),
	                 0);
	assert_int_equal(
	    verify_forged(std_header, "{" P_SUB "," P_ROLE "," P_BR "," P_IAT ",\"exp\":1e300}"),
	    -1);
	assert_int_equal(verify_forged(std_header, "{" P_SUB "," P_ROLE "," P_BR
	                                           ",\"iat\":9223372036854775807," P_EXP "}"),
	                 -1);
}

static void
test_missing_claims(void **state)
{
	(void)state;
	assert_int_equal(verify_forged(std_header, "{" P_ROLE "," P_BR "," P_IAT "," P_EXP "}"),
	                 -1);
	assert_int_equal(verify_forged(std_header, "{" P_SUB "," P_BR "," P_IAT "," P_EXP "}"), -1);
	assert_int_equal(verify_forged(std_header, "{" P_SUB "," P_ROLE "," P_IAT "," P_EXP "}"),
	                 -1);
	assert_int_equal(verify_forged(std_header, "{" P_SUB "," P_ROLE "," P_BR "," P_EXP "}"),
	                 -1);
	assert_int_equal(verify_forged(std_header, "{" P_SUB "," P_ROLE "," P_BR "," P_IAT "}"),
	                 -1);
	assert_int_equal(verify_forged(std_header, "{}"), -1);
	assert_int_equal(verify_forged(std_header, "[]"), -1);
	assert_int_equal(verify_forged(std_header, "null"), -1);
	assert_int_equal(verify_forged(std_header, ""), -1);
}

/* P_ALL with one member replaced. */
static int
with(const char *sub, const char *role, const char *br, const char *iat, const char *exp)
{
	char p[2048];

	snprintf(p, sizeof(p), "{\"sub\":%s,\"role\":%s,\"branches\":%s,\"iat\":%s,\"exp\":%s}",
	         sub, role, br, iat, exp);
	return verify_forged(std_header, p);
}

static void
test_wrong_types(void **state)
{
	const char *sub = "\"65a1b2c3d4e5f60718293a4b\"", *role = "\"owner\"", *br = "[]",
	           *iat = "1700000000", *exp = "1700003600";

	(void)state;
	assert_int_equal(with(sub, role, br, iat, exp), 0);
	/* sub */
	assert_int_equal(with("123", role, br, iat, exp), -1);
	assert_int_equal(with("null", role, br, iat, exp), -1);
	assert_int_equal(with("\"65a1b2c3d4e5f60718293a4\"", role, br, iat, exp), -1);
	assert_int_equal(with("\"65a1b2c3d4e5f60718293a4bc\"", role, br, iat, exp), -1);
	assert_int_equal(with("\"65a1b2c3d4e5f60718293a4g\"", role, br, iat, exp), -1);
	assert_int_equal(with("\"65a1b2c3d4e5f60718293a\\u0000b\"", role, br, iat, exp), -1);
	assert_int_equal(with("[\"65a1b2c3d4e5f60718293a4b\"]", role, br, iat, exp), -1);
	/* role */
	assert_int_equal(with(sub, "1", br, iat, exp), -1);
	assert_int_equal(with(sub, "\"\"", br, iat, exp), -1);
	assert_int_equal(with(sub, "\"0123456789abcdef\"", br, iat, exp), -1);
	assert_int_equal(with(sub, "\"0123456789abcde\"", br, iat, exp), 0);
	assert_int_equal(with(sub, "true", br, iat, exp), -1);
	/* branches */
	assert_int_equal(with(sub, role, "{}", iat, exp), -1);
	assert_int_equal(with(sub, role, "\"65a1b2c3d4e5f60718293a4b\"", iat, exp), -1);
	assert_int_equal(with(sub, role, "[1]", iat, exp), -1);
	assert_int_equal(with(sub, role, "[null]", iat, exp), -1);
	assert_int_equal(with(sub, role, "[\"x\"]", iat, exp), -1);
	assert_int_equal(with(sub, role, "[[\"65a1b2c3d4e5f60718293a4b\"]]", iat, exp), -1);
	assert_int_equal(with(sub, role, "null", iat, exp), -1);
	/* iat and exp */
	assert_int_equal(with(sub, role, br, "\"1700000000\"", exp), -1);
	assert_int_equal(with(sub, role, br, "1700000000.0", exp), -1);
	assert_int_equal(with(sub, role, br, "1.7e9", exp), -1);
	assert_int_equal(with(sub, role, br, iat, "\"1700003600\""), -1);
	assert_int_equal(with(sub, role, br, iat, "1700003600.5"), -1);
	assert_int_equal(with(sub, role, br, iat, "true"), -1);
	assert_int_equal(with(sub, role, br, iat, "null"), -1);
}

static void
test_branches_limit(void **state)
{
	char br[2048];
	size_t n = 0;

	(void)state;
	br[n++] = '[';
	for (int i = 0; i < JWT_MAX_BRANCHES; i++)
		n += (size_t)snprintf(br + n, sizeof(br) - n, "%s\"%024x\"", i ? "," : "", i);
	br[n] = ']';
	br[n + 1] = '\0';
	assert_int_equal(
	    with("\"65a1b2c3d4e5f60718293a4b\"", "\"owner\"", br, "1700000000", "1700003600"), 0);
	n += (size_t)snprintf(br + n, sizeof(br) - n, ",\"%024x\"]", 99);
	assert_int_equal(
	    with("\"65a1b2c3d4e5f60718293a4b\"", "\"owner\"", br, "1700000000", "1700003600"), -1);
}

static void
test_deep_json(void **state)
{
	char p[512];

	(void)state;
	snprintf(p, sizeof(p),
	         "{" P_SUB "," P_ROLE "," P_BR "," P_IAT "," P_EXP
	         ",\"x\":[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]}");
	assert_int_equal(verify_forged(std_header, p), -1);
	/* Invalid UTF-8 in a string. */
	assert_int_equal(
	    verify_forged(std_header, "{" P_SUB ",\"role\":\"\xff\"," P_BR "," P_IAT "," P_EXP "}"),
	    -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_vector),   cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_sign_small_out), cmocka_unit_test(test_algorithms),
	    cmocka_unit_test(test_tampering),      cmocka_unit_test(test_structure),
	    cmocka_unit_test(test_too_long),       cmocka_unit_test(test_times),
	    cmocka_unit_test(test_missing_claims), cmocka_unit_test(test_wrong_types),
	    cmocka_unit_test(test_branches_limit), cmocka_unit_test(test_deep_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
