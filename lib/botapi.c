/*
 * botapi.c - the bot's calls to the Bot API under Telegram's sending
 * rules (FACTS.md: about 1 message a second per chat, about 30 a second
 * overall, 429 with retry_after), and the inline keyboard builders. The
 * limits live in this process: the bot's replies all leave from the one
 * worker of the host (tools/oshxona-bot), which is what makes them exact.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oshxona.h"
#include "bot.h"

#define BOT_CHAT_SLOTS 1024 /* chats whose last message time is remembered */
#define BOT_TRIES      3

static struct {
	int64_t chat;
	int64_t last_ms; /* monotonic time of the last message to chat */
} bot_chats[BOT_CHAT_SLOTS];

static int64_t bot_bucket_at_ms; /* when the global bucket was last filled */
static double bot_bucket = BOT_GLOBAL_PER_S;
static int64_t bot_flood_until_ms; /* a 429 pauses every call until then */

static int64_t
bot_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
bot_sleep_ms(int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* The per-chat gap in ms: BOT_CHAT_GAP_MS unless BOT_CHAT_GAP_MS is set. */
static int64_t
bot_chat_gap(void)
{
	const char *s = getenv("BOT_CHAT_GAP_MS");
	int64_t v;

	if (s != NULL && parse_int64(s, 0, 60000, &v) == 0)
		return v;
	return BOT_CHAT_GAP_MS;
}

/* Waits until one more call may leave: flood pause, global bucket, chat gap. */
static void
bot_throttle(int64_t chat_id)
{
	int64_t now = bot_mono_ms();
	size_t slot = (size_t)((uint64_t)chat_id % BOT_CHAT_SLOTS);

	if (bot_flood_until_ms > now) {
		bot_sleep_ms(bot_flood_until_ms - now);
		now = bot_mono_ms();
	}
	/* A token bucket of BOT_GLOBAL_PER_S, refilled continuously. */
	bot_bucket += (double)(now - bot_bucket_at_ms) * BOT_GLOBAL_PER_S / 1000.0;
	if (bot_bucket > BOT_GLOBAL_PER_S)
		bot_bucket = BOT_GLOBAL_PER_S;
	bot_bucket_at_ms = now;
	if (bot_bucket < 1.0) {
		int64_t wait = (int64_t)((1.0 - bot_bucket) * 1000.0 / BOT_GLOBAL_PER_S) + 1;
		bot_sleep_ms(wait);
		now = bot_mono_ms();
		bot_bucket = 1.0;
		bot_bucket_at_ms = now;
	}
	bot_bucket -= 1.0;
	if (chat_id != 0) {
		int64_t gap = bot_chat_gap();
		if (bot_chats[slot].chat == chat_id && now - bot_chats[slot].last_ms < gap) {
			bot_sleep_ms(gap - (now - bot_chats[slot].last_ms));
			now = bot_mono_ms();
		}
		bot_chats[slot].chat = chat_id;
		bot_chats[slot].last_ms = now;
	}
}

/* 1 for the methods that put a new message into a chat. */
static int
bot_is_send(const char *method)
{
	return strcmp(method, "sendMessage") == 0 || strcmp(method, "sendPhoto") == 0;
}

json_object *
bot_api(const char *method, json_object *params, int64_t chat_id)
{
	json_object *result = NULL;
	int64_t retry_after = 0;
	char err[256];

	for (int tries = 0; tries < BOT_TRIES; tries++) {
		bot_throttle(bot_is_send(method) ? chat_id : 0);
		switch (telegram_call(method, params, 0, &result, &retry_after, err, sizeof(err))) {
		case TELEGRAM_SENT:
			json_object_put(params);
			/* ok: true with no result (answerCallbackQuery): a non-NULL answer. */
			return result != NULL ? result : json_object_new_boolean(1);
		case TELEGRAM_PERMANENT:
			/* "message is not modified" is an edit that changed nothing. */
			if (strstr(err, "message is not modified") == NULL)
				log_warn("bot: %s to chat %lld refused: %s", method,
				         (long long)chat_id, err);
			json_object_put(params);
			return NULL;
		case TELEGRAM_RETRY:
			break;
		}
		if (retry_after > BOT_FLOOD_WAIT_MAX_S) {
			log_warn("bot: %s to chat %lld dropped: flood wait %lld s", method,
			         (long long)chat_id, (long long)retry_after);
			break;
		}
		if (retry_after > 0)
			bot_flood_until_ms = bot_mono_ms() + retry_after * 1000;
		else
			bot_sleep_ms(200);
		log_info("bot: %s to chat %lld will be tried again: %s", method, (long long)chat_id,
		         err);
	}
	json_object_put(params);
	return NULL;
}

int
bot_call(const char *method, json_object *params, int64_t chat_id)
{
	json_object *r = bot_api(method, params, chat_id);

	json_object_put(r);
	return r != NULL ? 0 : -1;
}

json_object *
bot_button(const char *text, const char *data)
{
	json_object *b = json_object_new_object();

	json_object_object_add(b, "text", json_object_new_string(text));
	json_object_object_add(b, "callback_data", json_object_new_string(data));
	return b;
}

json_object *
bot_row(json_object *b1, json_object *b2, json_object *b3)
{
	json_object *row = json_object_new_array();

	if (b1 != NULL)
		json_object_array_add(row, b1);
	if (b2 != NULL)
		json_object_array_add(row, b2);
	if (b3 != NULL)
		json_object_array_add(row, b3);
	return row;
}

json_object *
bot_inline(json_object *rows)
{
	json_object *m = json_object_new_object();

	json_object_object_add(m, "inline_keyboard", rows);
	return m;
}
