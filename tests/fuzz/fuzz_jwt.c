/*
 * fuzz_jwt.c - libFuzzer target for jwt_verify with a fixed secret. The
 * input is tried as a token; when it holds a newline it is also taken as
 * "header JSON\npayload JSON", encoded and signed here, so the fuzzer gets
 * past the signature into the header and claim checks. Any token that
 * verifies must re-sign and verify again, and never under another secret.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oshxona.h"

#define FUZZ_SECRET "fuzz-secret-0123456789abcdef0123456789"
#define FUZZ_NOW    1700000100

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_jwt_check(const char *token)
{
	struct jwt_claims c;
	char again[JWT_MAX_LEN + 1];

	if (jwt_verify(token, FUZZ_SECRET, FUZZ_NOW, &c) == 0) {
		if (c.nbranches > JWT_MAX_BRANCHES || strlen(c.sub) != JWT_ID_LEN ||
		    c.exp <= FUZZ_NOW)
			abort();
		if (jwt_sign(&c, FUZZ_SECRET, again, sizeof(again)) < 0 ||
		    jwt_verify(again, FUZZ_SECRET, FUZZ_NOW, &c) != 0)
			abort();
	}
	if (jwt_verify(token, "other", FUZZ_NOW, &c) == 0)
		abort();
}

/* header.payload signed with FUZZ_SECRET, from the two raw JSON texts. */
static void
fuzz_jwt_signed(const uint8_t *h, size_t hlen, const uint8_t *p, size_t plen)
{
	char tok[2 * JWT_MAX_LEN];
	unsigned char mac[SHA256_LEN];
	size_t n, k;

	n = base64url_encode(h, hlen, tok, sizeof(tok));
	if (n == 0 || sizeof(tok) - n < 2)
		return;
	tok[n++] = '.';
	k = base64url_encode(p, plen, tok + n, sizeof(tok) - n);
	if (k == 0)
		return;
	n += k;
	hmac_sha256(FUZZ_SECRET, strlen(FUZZ_SECRET), tok, n, mac);
	if (sizeof(tok) - n < 2)
		return;
	tok[n++] = '.';
	if (base64url_encode(mac, sizeof(mac), tok + n, sizeof(tok) - n) == 0)
		return;
	fuzz_jwt_check(tok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *token = xmalloc(size + 1);
	const uint8_t *nl;

	memcpy(token, data, size);
	token[size] = '\0';
	fuzz_jwt_check(token);
	free(token);
	nl = memchr(data, '\n', size);
	if (nl != NULL)
		fuzz_jwt_signed(data, (size_t)(nl - data), nl + 1, size - (size_t)(nl - data) - 1);
	return 0;
}
