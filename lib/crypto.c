/*
 * crypto.c - SHA-256 and HMAC-SHA256 (OpenSSL libcrypto), hex, strict
 * base64url and the kernel's CSPRNG. Everything else in auth.h builds on
 * these.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "oshxona.h"

static const char crypto_hex_digits[] = "0123456789abcdef";
static const char crypto_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* libcrypto fails here only when it cannot allocate: like xmalloc, abort. */
static void
crypto_fail(const char *what)
{
	log_error("libcrypto %s failed", what);
	abort();
}

void
sha256(const void *data, size_t len, unsigned char out[SHA256_LEN])
{
	unsigned int n = 0;

	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != SHA256_LEN)
		crypto_fail("SHA-256");
}

void
hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
            unsigned char out[SHA256_LEN])
{
	static const unsigned char empty = 0;
	unsigned int n = 0;

	/* HMAC() with key NULL and keylen 0 is an error in OpenSSL 3. */
	if (key == NULL || keylen == 0) {
		key = &empty;
		keylen = 0;
	}
	if (keylen > INT32_MAX)
		crypto_fail("HMAC key length");
	if (data == NULL)
		data = &empty;
	if (HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &n) == NULL || n != SHA256_LEN)
		crypto_fail("HMAC-SHA256");
}

void
hex_encode(const unsigned char *in, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = crypto_hex_digits[in[i] >> 4];
		out[2 * i + 1] = crypto_hex_digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

size_t
base64url_encode(const unsigned char *in, size_t len, char *out, size_t outlen)
{
	size_t need, i, o = 0;

	if (len > (SIZE_MAX - 3) / 4 * 3)
		return 0;
	need = len / 3 * 4 + (len % 3 == 0 ? 0 : len % 3 + 1);
	if (outlen < need + 1)
		return 0;
	for (i = 0; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = crypto_b64url[v >> 18 & 0x3f];
		out[o++] = crypto_b64url[v >> 12 & 0x3f];
		out[o++] = crypto_b64url[v >> 6 & 0x3f];
		out[o++] = crypto_b64url[v & 0x3f];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = crypto_b64url[v >> 18 & 0x3f];
		out[o++] = crypto_b64url[v >> 12 & 0x3f];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = crypto_b64url[v >> 18 & 0x3f];
		out[o++] = crypto_b64url[v >> 12 & 0x3f];
		out[o++] = crypto_b64url[v >> 6 & 0x3f];
	}
	out[o] = '\0';
	return o;
}

/* The 6-bit value of a base64url character, or -1. */
static int
crypto_b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int
base64url_decode(const char *in, size_t len, unsigned char *out, size_t outlen, size_t *n)
{
	size_t rem = len % 4, need = len / 4 * 3 + (rem == 0 ? 0 : rem - 1);
	size_t i, o = 0;
	uint32_t acc = 0;
	int bits = 0;

	/* One leftover character carries 6 bits: less than a byte. */
	if (rem == 1 || outlen < need)
		return -1;
	for (i = 0; i < len; i++) {
		int v = crypto_b64url_value((unsigned char)in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	/* The 2 or 4 bits left over must be zero: one encoding per value. */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return -1;
	*n = o;
	return 0;
}

void
random_bytes(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t got = getrandom(p, len, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			log_error("getrandom: %s", strerror(errno));
			abort();
		}
		p += got;
		len -= (size_t)got;
	}
}

void
random_hex(char *out, size_t nbytes)
{
	unsigned char chunk[32];

	out[0] = '\0';
	for (size_t done = 0; done < nbytes;) {
		size_t k = nbytes - done < sizeof(chunk) ? nbytes - done : sizeof(chunk);
		random_bytes(chunk, k);
		hex_encode(chunk, k, out + 2 * done);
		done += k;
	}
	OPENSSL_cleanse(chunk, sizeof(chunk));
}
