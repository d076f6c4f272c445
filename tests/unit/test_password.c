/*
 * test_password.c - Argon2id hashing and verification from lib/password.c.
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

static void
test_hash_and_verify(void **state)
{
	char h[PASSWORD_HASH_MAX], h2[PASSWORD_HASH_MAX];

	(void)state;
	assert_int_equal(password_hash("correct horse battery staple", h), 0);
	assert_true(strncmp(h, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
	assert_true(strlen(h) < PASSWORD_HASH_MAX);
	assert_int_equal(password_verify(h, "correct horse battery staple"), 0);
	/* A fresh salt every time. */
	assert_int_equal(password_hash("correct horse battery staple", h2), 0);
	assert_string_not_equal(h, h2);
	assert_int_equal(password_verify(h2, "correct horse battery staple"), 0);
}

static void
test_mismatch(void **state)
{
	char h[PASSWORD_HASH_MAX];

	(void)state;
	assert_int_equal(password_hash("s3cret-Пароль", h), 0);
	assert_int_equal(password_verify(h, "s3cret-Пароль"), 0);
	assert_int_equal(password_verify(h, "s3cret-пароль"), -1);
	assert_int_equal(password_verify(h, "s3cret-Пароль "), -1);
	assert_int_equal(password_verify(h, "s3cret"), -1);
	assert_int_equal(password_verify(h, ""), -1);
	assert_int_equal(password_verify(h, NULL), -1);
}

/* A hash made by the argon2 reference implementation, not by us. */
static void
test_known_hash(void **state)
{
	static const char known[] = "$argon2id$v=19$m=19456,t=2,p=1$b3NoeG9uYS1kdW1teS0xNg$"
	                            "8qEqHloa8Q4xu6RUfxAhb7rpsx1nj1ujcri0I/9hpoY";

	(void)state;
	assert_int_equal(password_verify(known, "not a real password, never matches"), 0);
	assert_int_equal(password_verify(known, "not a real password, never matche"), -1);
}

static void
test_malformed_hash(void **state)
{
	char h[PASSWORD_HASH_MAX], bad[PASSWORD_HASH_MAX + 8];
	const char *pw = "password1";

	(void)state;
	assert_int_equal(password_hash(pw, h), 0);
	assert_int_equal(password_verify(NULL, pw), -1);
	assert_int_equal(password_verify("", pw), -1);
	assert_int_equal(password_verify("plain text", pw), -1);
	assert_int_equal(
	    password_verify("$2b$12$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ012", pw), -1);
	/* argon2i and argon2d are not argon2id */
	snprintf(bad, sizeof(bad), "$argon2i%s", h + strlen("$argon2id"));
	assert_int_equal(password_verify(bad, pw), -1);
	/* cut short */
	snprintf(bad, sizeof(bad), "%.*s", (int)strlen(h) - 10, h);
	assert_int_equal(password_verify(bad, pw), -1);
	/* a flipped hash character */
	snprintf(bad, sizeof(bad), "%s", h);
	bad[strlen(bad) - 3] = bad[strlen(bad) - 3] == 'A' ? 'B' : 'A';
	assert_int_equal(password_verify(bad, pw), -1);
	/* absurd costs are refused before any work */
	assert_int_equal(password_verify("$argon2id$v=19$m=4194304,t=2,p=1$b3NoeG9uYS1kdW1teS0xNg$"
	                                 "8qEqHloa8Q4xu6RUfxAhb7rpsx1nj1ujcri0I/9hpoY",
	                                 pw),
	                 -1);
	assert_int_equal(password_verify("$argon2id$v=19$m=19456,t=1000,p=1$b3NoeG9uYS1kdW1teS0xNg$"
	                                 "8qEqHloa8Q4xu6RUfxAhb7rpsx1nj1ujcri0I/9hpoY",
	                                 pw),
	                 -1);
	assert_int_equal(password_verify("$argon2id$v=16$m=19456,t=2,p=1$b3NoeG9uYS1kdW1teS0xNg$"
	                                 "8qEqHloa8Q4xu6RUfxAhb7rpsx1nj1ujcri0I/9hpoY",
	                                 pw),
	                 -1);
	/* longer than any hash we store */
	memset(bad, 'a', sizeof(bad) - 1);
	bad[sizeof(bad) - 1] = '\0';
	memcpy(bad, h, strlen(h));
	assert_int_equal(password_verify(bad, pw), -1);
}

static void
test_length_limits(void **state)
{
	char h[PASSWORD_HASH_MAX], pw[PASSWORD_MAX_LEN + 2];

	(void)state;
	assert_int_equal(password_hash("", h), -1);
	assert_int_equal(password_hash(NULL, h), -1);
	memset(pw, 'p', PASSWORD_MAX_LEN);
	pw[PASSWORD_MAX_LEN] = '\0';
	assert_int_equal(password_hash(pw, h), 0);
	assert_int_equal(password_verify(h, pw), 0);
	pw[PASSWORD_MAX_LEN] = 'p';
	pw[PASSWORD_MAX_LEN + 1] = '\0';
	assert_int_equal(password_hash(pw, h), -1);
	assert_int_equal(password_verify(h, pw), -1);
	assert_int_equal(password_hash("x", h), 0);
	assert_int_equal(password_verify(h, "x"), 0);
}

static void
test_dummy(void **state)
{
	(void)state;
	/* Returns nothing; must not crash on any input. */
	password_verify_dummy("whatever");
	password_verify_dummy("");
	password_verify_dummy(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_and_verify), cmocka_unit_test(test_mismatch),
	    cmocka_unit_test(test_known_hash),      cmocka_unit_test(test_malformed_hash),
	    cmocka_unit_test(test_length_limits),   cmocka_unit_test(test_dummy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
