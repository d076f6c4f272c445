/*
 * fuzz_tgupdate.c - libFuzzer target for tgupdate_parse, the Telegram
 * bot's only way in. Checks the parser's promises on every input: a
 * refusal always says why; an accepted update has NUL-terminated UTF-8
 * strings inside their buffers and coordinates in range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oshxona.h"
#include "bot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_string(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n >= cap || !utf8_valid(s, n))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tg_update u;
	char err[128];

	err[0] = '\0';
	if (tgupdate_parse((const char *)data, size, &u, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	fuzz_check_string(u.text, sizeof(u.text));
	fuzz_check_string(u.first_name, sizeof(u.first_name));
	fuzz_check_string(u.last_name, sizeof(u.last_name));
	fuzz_check_string(u.username, sizeof(u.username));
	fuzz_check_string(u.callback_data, sizeof(u.callback_data));
	fuzz_check_string(u.web_app_data, sizeof(u.web_app_data));
	fuzz_check_string(u.contact_phone, sizeof(u.contact_phone));
	if (strlen(u.callback_data) > TG_CALLBACK_MAX || u.update_id < 0)
		abort();
	if (u.has_location && (u.lat < -90 || u.lat > 90 || u.lng < -180 || u.lng > 180))
		abort();
	if (u.kind == TG_CALLBACK && (u.callback_id[0] == '\0' || u.from_id <= 0))
		abort();
	if (u.kind == TG_MESSAGE && (u.chat_id == 0 || u.message_id <= 0))
		abort();
	return 0;
}
