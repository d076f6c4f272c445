/*
 * password.c - Argon2id password hashes (libargon2) with OWASP's minimum
 * parameters: t=2, m=19 MiB, p=1, a 16-byte salt and a 32-byte hash.
 */
#include <string.h>

#include <argon2.h>

#include "oshxona.h"

#define PASSWORD_T_COST   2
#define PASSWORD_M_COST   19456 /* KiB */
#define PASSWORD_PARALLEL 1
#define PASSWORD_SALT_LEN 16
#define PASSWORD_HASH_LEN 32

/*
 * Upper bounds on the parameters of a stored hash, so a corrupt or planted
 * hash cannot make one login allocate gigabytes or spin for minutes.
 */
#define PASSWORD_M_COST_MAX (256 * 1024) /* KiB */
#define PASSWORD_T_COST_MAX 16
#define PASSWORD_P_MAX      8

/*
 * A valid hash with the same parameters, of a password nobody types:
 * password_verify_dummy checks against it. Generated once with libargon2.
 */
static const char password_dummy_hash[] = "$argon2id$v=19$m=19456,t=2,p=1$b3NoeG9uYS1kdW1teS0xNg$"
                                          "8qEqHloa8Q4xu6RUfxAhb7rpsx1nj1ujcri0I/9hpoY";

/* Reads 1..7 decimal digits at *s (no leading zero) up to stop. */
static int
password_param(const char **s, char stop, unsigned long *out)
{
	const char *p = *s;
	unsigned long v = 0;
	size_t n = 0;

	if (*p == '0')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (++n > 7)
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (n == 0 || *p != stop)
		return -1;
	*s = p + 1;
	*out = v;
	return 0;
}

/* 0 when encoded is an argon2id v19 hash with sane cost parameters. */
static int
password_check_encoded(const char *encoded)
{
	static const char prefix[] = "$argon2id$v=19$m=";
	const char *p;
	unsigned long m, t, par;

	if (encoded == NULL || strnlen(encoded, PASSWORD_HASH_MAX) >= PASSWORD_HASH_MAX)
		return -1;
	if (strncmp(encoded, prefix, sizeof(prefix) - 1) != 0)
		return -1;
	p = encoded + sizeof(prefix) - 1;
	if (password_param(&p, ',', &m) < 0 || strncmp(p, "t=", 2) != 0)
		return -1;
	p += 2;
	if (password_param(&p, ',', &t) < 0 || strncmp(p, "p=", 2) != 0)
		return -1;
	p += 2;
	if (password_param(&p, '$', &par) < 0)
		return -1;
	if (m < 8 || m > PASSWORD_M_COST_MAX || t > PASSWORD_T_COST_MAX || par > PASSWORD_P_MAX)
		return -1;
	return 0;
}

int
password_hash(const char *password, char out[PASSWORD_HASH_MAX])
{
	unsigned char salt[PASSWORD_SALT_LEN];
	size_t len;
	int rc;

	if (password == NULL)
		return -1;
	len = strnlen(password, PASSWORD_MAX_LEN + 1);
	if (len == 0 || len > PASSWORD_MAX_LEN)
		return -1;
	random_bytes(salt, sizeof(salt));
	rc = argon2id_hash_encoded(PASSWORD_T_COST, PASSWORD_M_COST, PASSWORD_PARALLEL, password,
	                           len, salt, sizeof(salt), PASSWORD_HASH_LEN, out,
	                           PASSWORD_HASH_MAX);
	if (rc != ARGON2_OK) {
		log_error("argon2id_hash_encoded: %s", argon2_error_message(rc));
		out[0] = '\0';
		return -1;
	}
	return 0;
}

int
password_verify(const char *encoded, const char *password)
{
	size_t len;

	if (password == NULL || password_check_encoded(encoded) < 0)
		return -1;
	len = strnlen(password, PASSWORD_MAX_LEN + 1);
	if (len == 0 || len > PASSWORD_MAX_LEN)
		return -1;
	/* argon2id_verify compares the hashes in constant time. */
	return argon2id_verify(encoded, password, len) == ARGON2_OK ? 0 : -1;
}

void
password_verify_dummy(const char *password)
{
	/* The very code path of a real failed login, result thrown away. */
	(void)password_verify(password_dummy_hash, password);
}
