/*
 * test_crypto.c - SHA-256, HMAC-SHA256 (RFC 4231), hex, strict base64url
 * and the random helpers from lib/crypto.c, plus bytes_equal_ct.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "oshxona.h"

/* hex of a digest, for comparing with published vectors */
static void
assert_digest(const unsigned char d[SHA256_LEN], const char *want)
{
	char hex[2 * SHA256_LEN + 1];

	hex_encode(d, SHA256_LEN, hex);
	assert_string_equal(hex, want);
}

static void
test_sha256_vectors(void **state)
{
	unsigned char d[SHA256_LEN];

	(void)state;
	sha256("", 0, d);
	assert_digest(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha256("abc", 3, d);
	assert_digest(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* RFC 4231 test cases 1-4, 6 and 7 (5 truncates the output). */
static void
test_hmac_rfc4231(void **state)
{
	unsigned char key[131], data[152], d[SHA256_LEN];
	static const char case6[] = "Test Using Larger Than Block-Size Key - Hash Key First";
	static const char case7[] =
	    "This is a test using a larger than block-size key and a larger than block-size "
	    "data. The key needs to be hashed before being used by the HMAC algorithm.";

	(void)state;
	memset(key, 0x0b, 20);
	hmac_sha256(key, 20, "Hi There", 8, d);
	assert_digest(d, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");

	hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
	assert_digest(d, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

	memset(key, 0xaa, 20);
	memset(data, 0xdd, 50);
	hmac_sha256(key, 20, data, 50, d);
	assert_digest(d, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");

	for (int i = 0; i < 25; i++)
		key[i] = (unsigned char)(i + 1);
	memset(data, 0xcd, 50);
	hmac_sha256(key, 25, data, 50, d);
	assert_digest(d, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");

	memset(key, 0xaa, 131);
	hmac_sha256(key, 131, case6, strlen(case6), d);
	assert_digest(d, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");

	hmac_sha256(key, 131, case7, strlen(case7), d);
	assert_digest(d, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

static void
test_hmac_empty_key(void **state)
{
	unsigned char a[SHA256_LEN], b[SHA256_LEN];

	(void)state;
	/* An empty key is the same as NULL, and HMAC of nothing is defined. */
	hmac_sha256("", 0, "x", 1, a);
	hmac_sha256(NULL, 0, "x", 1, b);
	assert_memory_equal(a, b, SHA256_LEN);
	/* Python: hmac.new(b"", b"x", hashlib.sha256).hexdigest() */
	assert_digest(a, "4cbc96099a6467ce002461f10549b4898265ebe6188b45efacc44293516e62c4");
}

static void
test_hex_encode(void **state)
{
	static const unsigned char in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
	char out[2 * sizeof(in) + 1];

	(void)state;
	hex_encode(in, sizeof(in), out);
	assert_string_equal(out, "00017f80abff");
	hex_encode(in, 0, out);
	assert_string_equal(out, "");
}

/* Encodes then decodes in, checking the expected text on the way. */
static void
roundtrip(const char *in, size_t len, const char *want)
{
	char enc[128];
	unsigned char dec[128];
	size_t n = 999;

	assert_int_equal(base64url_encode((const unsigned char *)in, len, enc, sizeof(enc)),
	                 strlen(want));
	assert_string_equal(enc, want);
	assert_int_equal(base64url_decode(enc, strlen(enc), dec, sizeof(dec), &n), 0);
	assert_int_equal(n, len);
	assert_memory_equal(dec, in, len);
}

static void
test_base64url_roundtrip(void **state)
{
	(void)state;
	/* RFC 4648 section 10, without padding. */
	roundtrip("f", 1, "Zg");
	roundtrip("fo", 2, "Zm8");
	roundtrip("foo", 3, "Zm9v");
	roundtrip("foob", 4, "Zm9vYg");
	roundtrip("fooba", 5, "Zm9vYmE");
	roundtrip("foobar", 6, "Zm9vYmFy");
	/* The two url characters. */
	roundtrip("\xfb\xff", 2, "-_8");
	roundtrip("\xff\xff\xff", 3, "____");
	roundtrip("\xfb\xef\xbe", 3, "----");
	roundtrip("\x00\x00\x00\x00", 4, "AAAAAA");

	/* Every byte value, every length up to 64. */
	unsigned char all[64], dec[64];
	char enc[100];
	for (size_t i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)(i * 37 + 11);
	for (size_t len = 0; len <= sizeof(all); len++) {
		size_t n = 999, e = base64url_encode(all, len, enc, sizeof(enc));
		assert_int_equal(e, strlen(enc));
		assert_int_equal(base64url_decode(enc, e, dec, sizeof(dec), &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(dec, all, len);
	}
}

static void
test_base64url_encode_small_out(void **state)
{
	char out[8];

	(void)state;
	/* "foobar" needs 8 characters plus the NUL. */
	assert_int_equal(base64url_encode((const unsigned char *)"foobar", 6, out, 8), 0);
	assert_int_equal(base64url_encode((const unsigned char *)"fooba", 5, out, 8), 7);
	assert_int_equal(base64url_encode((const unsigned char *)"f", 1, out, 2), 0);
	assert_int_equal(base64url_encode((const unsigned char *)"f", 1, out, 3), 2);
	assert_int_equal(base64url_encode((const unsigned char *)"", 0, out, 1), 0);
	assert_string_equal(out, "");
}

static int
dec(const char *s)
{
	unsigned char out[64];
	size_t n;

	return base64url_decode(s, strlen(s), out, sizeof(out), &n);
}

static void
test_base64url_rejects(void **state)
{
	unsigned char out[8];
	size_t n = 0;

	(void)state;
	assert_int_equal(dec(""), 0);
	assert_int_equal(dec("Zm9v"), 0);
	/* padding */
	assert_int_equal(dec("Zg=="), -1);
	assert_int_equal(dec("Zm8="), -1);
	assert_int_equal(dec("Zg="), -1);
	/* the standard alphabet's + and / */
	assert_int_equal(dec("+_8"), -1);
	assert_int_equal(dec("-/8"), -1);
	/* whitespace anywhere */
	assert_int_equal(dec("Zm9v "), -1);
	assert_int_equal(dec(" Zm9v"), -1);
	assert_int_equal(dec("Zm\n9v"), -1);
	assert_int_equal(dec("Zm9\tv"), -1);
	/* other bytes */
	assert_int_equal(dec("Zm9v."), -1);
	assert_int_equal(dec("Zm\xc3\xa9"), -1);
	assert_int_equal(base64url_decode("Zm\0v", 4, out, sizeof(out), &n), -1);
	/* a length of 4k+1 cannot be */
	assert_int_equal(dec("Z"), -1);
	assert_int_equal(dec("Zm9vY"), -1);
	/* non-zero unused bits: "Zh" and "Zm9" are spellings of "f" and "fo" */
	assert_int_equal(dec("Zh"), -1);
	assert_int_equal(dec("Zm9"), -1);
	assert_int_equal(dec("Zm-"), -1);
	assert_int_equal(dec("Zm8"), 0);
	/* out too small */
	assert_int_equal(base64url_decode("Zm9vYmFy", 8, out, 5, &n), -1);
	assert_int_equal(base64url_decode("Zm9vYmFy", 8, out, 6, &n), 0);
	assert_int_equal(n, 6);
}

static void
test_bytes_equal_ct(void **state)
{
	(void)state;
	assert_true(bytes_equal_ct("abc", 3, "abc", 3));
	assert_true(bytes_equal_ct("", 0, "", 0));
	assert_false(bytes_equal_ct("abc", 3, "abd", 3));
	assert_false(bytes_equal_ct("xbc", 3, "abc", 3));
	assert_false(bytes_equal_ct("ab", 2, "abc", 3));
	assert_false(bytes_equal_ct("abcd", 4, "abc", 3));
	assert_false(bytes_equal_ct("", 0, "a", 1));
	assert_false(bytes_equal_ct("a\0", 2, "a", 1));
}

static void
test_random(void **state)
{
	unsigned char a[32], b[32];
	char hex[2 * 100 + 1];

	(void)state;
	random_bytes(a, sizeof(a));
	random_bytes(b, sizeof(b));
	assert_memory_not_equal(a, b, sizeof(a));
	random_bytes(a, 0);

	memset(hex, 'Z', sizeof(hex));
	random_hex(hex, 100);
	assert_int_equal(strlen(hex), 200);
	assert_int_equal(strspn(hex, "0123456789abcdef"), 200);
	random_hex(hex, 0);
	assert_string_equal(hex, "");
	random_hex(hex, 16);
	assert_int_equal(strlen(hex), 32);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sha256_vectors),
	    cmocka_unit_test(test_hmac_rfc4231),
	    cmocka_unit_test(test_hmac_empty_key),
	    cmocka_unit_test(test_hex_encode),
	    cmocka_unit_test(test_base64url_roundtrip),
	    cmocka_unit_test(test_base64url_encode_small_out),
	    cmocka_unit_test(test_base64url_rejects),
	    cmocka_unit_test(test_bytes_equal_ct),
	    cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
