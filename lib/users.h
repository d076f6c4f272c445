/*
 * users.h - the customer's users document, keyed by Telegram id: the one
 * record that the Mini App's sign-in (fcgi-apps/auth) and the bot
 * (lib/bot.c) both create on first contact and keep up to date.
 */
#ifndef OSHXONA_USERS_H
#define OSHXONA_USERS_H

#include <stdint.h>

#include <mongoc/mongoc.h>

/* What a caller knows about the customer; NULL: not known here. */
struct user_telegram {
	int64_t telegram_id;
	/* Telegram's profile: stored on creation ("" for NULL), set when given. */
	const char *first_name, *last_name, *username, *photo_url;
	const char *phone;    /* set when given; never stored as "" */
	const char *language; /* "uz" | "ru"; NULL: "uz" */
	/*
	 * 1: the customer chose language (the bot), so it replaces the stored
	 * one; 0: a guess from Telegram's language_code, only for a new user.
	 */
	int language_chosen;
};

/*
 * Creates the user of u->telegram_id or updates it (see struct
 * user_telegram for which fields), with updatedAt; *id gets its _id.
 * The unique index on telegramId makes a racing double creation one
 * user: the loser of the insert finds and updates the winner's document.
 * Returns 0, or -1 with error set.
 */
int user_upsert_telegram(mongoc_client_t *client, const struct user_telegram *u, bson_oid_t *id,
                         bson_error_t *error);

#endif
