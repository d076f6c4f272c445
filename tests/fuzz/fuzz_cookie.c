/*
 * fuzz_cookie.c - libFuzzer target for cookie_get: the input, cut at its
 * first NUL, is a Cookie header looked up under a few names and buffer
 * sizes; then cookie_format with the first bytes as the value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oshxona.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"sid", "token", "a", "__Host-s", "x-y"};
	char *header = xmalloc(size + 1);
	char out[COOKIE_VALUE_MAX + 1], small[8], set[1024];

	memcpy(header, data, size);
	header[size] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (cookie_get(header, names[i], out, sizeof(out)) == 0) {
			if (strlen(out) >= sizeof(out))
				abort();
			/* what we read back is cookie-safe: it formats */
			if (cookie_format(set, sizeof(set), names[i], out, "/", 60, "Lax", true) <
			    0)
				abort();
		}
		if (cookie_get(header, names[i], small, sizeof(small)) == 0 &&
		    strlen(small) >= sizeof(small))
			abort();
	}
	(void)cookie_format(set, sizeof(set), "sid", header, "/", 0, "Strict", false);
	free(header);
	return 0;
}
