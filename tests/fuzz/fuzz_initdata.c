/*
 * fuzz_initdata.c - libFuzzer target for telegram_webapp_verify with a
 * fixed bot token and time. The corpus holds validly signed samples, so
 * the fuzzer also reaches the user parsing behind the signature check.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oshxona.h"

#define FUZZ_TOKEN "123456789:AAFakeTokenForOshxonaUnitTests_xyz"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *init = xmalloc(size + 1);
	struct telegram_user u;
	char hash[65], err[128];

	memcpy(init, data, size);
	init[size] = '\0';
	if (telegram_webapp_verify(init, FUZZ_TOKEN, 1700000000, 86400, &u, hash, err,
	                           sizeof(err)) == 0) {
		if (u.id < 1 || strlen(hash) != 64 || strlen(u.first_name) >= sizeof(u.first_name))
			abort();
	} else if (err[0] == '\0') {
		abort(); /* every refusal gives a reason */
	}
	free(init);
	return 0;
}
