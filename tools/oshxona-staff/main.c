/*
 * oshxona-staff - the operator's tool for staff accounts, so the first
 * owner can exist before anyone can log in.
 *
 *   oshxona-staff create LOGIN ROLE [BRANCH_ID...]   password on stdin
 *   oshxona-staff passwd LOGIN                       password on stdin
 *   oshxona-staff disable LOGIN | enable LOGIN
 *   oshxona-staff telegram LOGIN TELEGRAM_ID | telegram LOGIN --unlink
 *   oshxona-staff list
 *
 * ROLE is owner (every branch), manager or operator (the listed
 * branches). The password is read from the first line of standard input
 * so it never shows in the process list or the shell history.
 *
 * telegram links the staff member's Telegram account (the numeric user
 * id, e.g. from @userinfobot): the Confirm/Cancel buttons of a branch's
 * staff chat count only when pressed from a linked account of an active
 * staff member of that branch (lib/botstaff.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oshxona.h"

#define LOGIN_MAX_LEN 64

static int
staff_usage(void)
{
	fprintf(stderr,
	        "usage: oshxona-staff create LOGIN owner|manager|operator [BRANCH_ID...]\n"
	        "       oshxona-staff passwd LOGIN\n"
	        "       oshxona-staff disable|enable LOGIN\n"
	        "       oshxona-staff telegram LOGIN TELEGRAM_ID | telegram LOGIN --unlink\n"
	        "       oshxona-staff list\n"
	        "The password is read from the first line of standard input.\n");
	return 2;
}

/* Lower-cases login into out; -1 unless 1..64 of [a-z0-9._-]. */
static int
staff_login(const char *in, char out[LOGIN_MAX_LEN + 1])
{
	size_t n = strlen(in);

	if (n == 0 || n > LOGIN_MAX_LEN)
		return -1;
	for (size_t i = 0; i <= n; i++) {
		unsigned char c = (unsigned char)tolower((unsigned char)in[i]);
		if (c != '\0' && !isalnum(c) && c != '.' && c != '_' && c != '-')
			return -1;
		out[i] = (char)c;
	}
	return 0;
}

/* The password from stdin's first line into an Argon2id hash. */
static int
staff_read_password(char hash[PASSWORD_HASH_MAX])
{
	char line[PASSWORD_MAX_LEN + 2];
	size_t n;

	if (fgets(line, sizeof(line), stdin) == NULL) {
		fprintf(stderr, "oshxona-staff: no password on standard input\n");
		return -1;
	}
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	if (n < 8) {
		fprintf(stderr, "oshxona-staff: the password needs at least 8 characters\n");
		return -1;
	}
	if (password_hash(line, hash) != 0) {
		fprintf(stderr, "oshxona-staff: the password is too long\n");
		return -1;
	}
	explicit_bzero(line, sizeof(line));
	return 0;
}

static int
staff_create(mongoc_client_t *client, int argc, char **argv)
{
	char login[LOGIN_MAX_LEN + 1], hash[PASSWORD_HASH_MAX];
	const char *role;
	mongoc_collection_t *coll;
	bson_t doc, branches;
	bson_error_t error;
	int64_t now = db_now_ms();
	bool ok;

	if (argc < 4 || staff_login(argv[2], login) != 0)
		return staff_usage();
	role = argv[3];
	if (strcmp(role, "owner") != 0 && strcmp(role, "manager") != 0 &&
	    strcmp(role, "operator") != 0)
		return staff_usage();
	if (strcmp(role, "owner") != 0 && argc == 4) {
		fprintf(stderr, "oshxona-staff: a %s needs at least one branch id\n", role);
		return 2;
	}
	if (staff_read_password(hash) != 0)
		return 1;
	bson_init(&doc);
	BSON_APPEND_UTF8(&doc, "login", login);
	BSON_APPEND_UTF8(&doc, "name", login);
	BSON_APPEND_UTF8(&doc, "passwordHash", hash);
	BSON_APPEND_UTF8(&doc, "role", role);
	BSON_APPEND_ARRAY_BEGIN(&doc, "branches", &branches);
	for (int i = 4; i < argc; i++) {
		bson_oid_t oid;
		char key[16];
		if (parse_oid(argv[i], &oid) != 0) {
			fprintf(stderr, "oshxona-staff: '%s' is not a branch id\n", argv[i]);
			bson_destroy(&doc);
			return 2;
		}
		snprintf(key, sizeof(key), "%d", i - 4);
		BSON_APPEND_OID(&branches, key, &oid);
	}
	bson_append_array_end(&doc, &branches);
	BSON_APPEND_BOOL(&doc, "isActive", true);
	BSON_APPEND_DATE_TIME(&doc, "createdAt", now);
	BSON_APPEND_DATE_TIME(&doc, "updatedAt", now);
	coll = db_collection(client, "staff");
	ok = mongoc_collection_insert_one(coll, &doc, NULL, NULL, &error);
	mongoc_collection_destroy(coll);
	bson_destroy(&doc);
	if (!ok) {
		fprintf(stderr, "oshxona-staff: %s\n",
		        db_error_is_duplicate(&error) ? "that login exists already"
		                                      : error.message);
		return 1;
	}
	printf("created %s '%s'\n", role, login);
	return 0;
}

/* Applies $set (and $unset, when given) to the staff member login. */
static int
staff_update(mongoc_client_t *client, const char *raw_login, bson_t *set, const bson_t *unset)
{
	char login[LOGIN_MAX_LEN + 1];
	mongoc_collection_t *coll;
	bson_t *filter, update, reply;
	bson_error_t error;
	bson_iter_t it;
	bool ok;
	int rc = 0;

	if (staff_login(raw_login, login) != 0)
		return staff_usage();
	BSON_APPEND_DATE_TIME(set, "updatedAt", db_now_ms());
	bson_init(&update);
	BSON_APPEND_DOCUMENT(&update, "$set", set);
	if (unset != NULL)
		BSON_APPEND_DOCUMENT(&update, "$unset", unset);
	filter = BCON_NEW("login", BCON_UTF8(login));
	coll = db_collection(client, "staff");
	ok = mongoc_collection_update_one(coll, filter, &update, NULL, &reply, &error);
	if (!ok) {
		fprintf(stderr, "oshxona-staff: %s\n", error.message);
		rc = 1;
	} else if (!bson_iter_init_find(&it, &reply, "matchedCount") ||
	           bson_iter_as_int64(&it) != 1) {
		fprintf(stderr, "oshxona-staff: no staff member '%s'\n", login);
		rc = 1;
	}
	bson_destroy(&reply);
	mongoc_collection_destroy(coll);
	bson_destroy(filter);
	bson_destroy(&update);
	return rc;
}

/*
 * Links (a positive Telegram user id) or unlinks (--unlink) the staff
 * member's Telegram account. One account belongs to one staff member: a
 * press is credited to whoever it links to.
 */
static int
staff_telegram(mongoc_client_t *client, const char *raw_login, const char *arg, bson_t *set)
{
	char login[LOGIN_MAX_LEN + 1];
	bson_t *filter, *other = NULL, unset = BSON_INITIALIZER;
	bson_error_t error;
	int64_t id;
	int rc;

	if (staff_login(raw_login, login) != 0)
		return staff_usage();
	if (strcmp(arg, "--unlink") == 0) {
		BSON_APPEND_UTF8(&unset, "telegramId", "");
		rc = staff_update(client, login, set, &unset);
		bson_destroy(&unset);
		if (rc == 0)
			printf("unlinked the Telegram account of '%s'\n", login);
		return rc;
	}
	bson_destroy(&unset);
	/* Telegram user ids are positive (group chats are the negative ones). */
	if (parse_int64(arg, 1, INT64_MAX, &id) != 0) {
		fprintf(stderr,
		        "oshxona-staff: '%s' is not a Telegram user id (a positive integer)\n",
		        arg);
		return 2;
	}
	filter = BCON_NEW("telegramId", BCON_INT64(id), "login", "{", "$ne", BCON_UTF8(login), "}");
	rc = db_find_one(client, "staff", filter, NULL, &other, &error);
	bson_destroy(filter);
	if (rc < 0) {
		fprintf(stderr, "oshxona-staff: %s\n", error.message);
		return 1;
	}
	if (rc == 1) {
		fprintf(stderr, "oshxona-staff: Telegram account %lld is linked to '%s' already\n",
		        (long long)id,
		        db_doc_utf8(other, "login") ? db_doc_utf8(other, "login") : "?");
		bson_destroy(other);
		return 1;
	}
	BSON_APPEND_INT64(set, "telegramId", id);
	rc = staff_update(client, login, set, NULL);
	if (rc == 0)
		printf("linked '%s' to Telegram account %lld\n", login, (long long)id);
	return rc;
}

static int
staff_list(mongoc_client_t *client)
{
	mongoc_collection_t *coll = db_collection(client, "staff");
	bson_t *opts = BCON_NEW("projection", "{", "passwordHash", BCON_INT32(0), "}", "sort", "{",
	                        "login", BCON_INT32(1), "}");
	bson_t filter = BSON_INITIALIZER;
	mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(coll, &filter, opts, NULL);
	const bson_t *doc;
	bson_error_t error;
	int rc = 0;

	while (mongoc_cursor_next(cursor, &doc)) {
		json_object *o = json_from_bson(doc);
		puts(json_object_to_json_string_ext(o, JSON_OUT_FLAGS));
		json_object_put(o);
	}
	if (mongoc_cursor_error(cursor, &error)) {
		fprintf(stderr, "oshxona-staff: %s\n", error.message);
		rc = 1;
	}
	mongoc_cursor_destroy(cursor);
	bson_destroy(opts);
	mongoc_collection_destroy(coll);
	return rc;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	char err[256], hash[PASSWORD_HASH_MAX];
	mongoc_client_t *client;
	bson_t set = BSON_INITIALIZER;
	int rc;

	if (argc < 2)
		return staff_usage();
	log_init("oshxona-staff", getenv("LOG_LEVEL"), getenv("LOG_FILE"));
	if (config_load(&cfg, getenv("OSHXONA_ENV_FILE"), err, sizeof(err)) != 0) {
		fprintf(stderr, "oshxona-staff: %s\n", err);
		return 1;
	}
	db_library_init();
	if (db_init(cfg.mongodb_uri, "oshxona-staff", NULL) != 0)
		return 1;
	client = db_pop();
	if (strcmp(argv[1], "create") == 0) {
		rc = staff_create(client, argc, argv);
	} else if (strcmp(argv[1], "passwd") == 0 && argc == 3) {
		rc = staff_read_password(hash);
		if (rc == 0) {
			BSON_APPEND_UTF8(&set, "passwordHash", hash);
			/* A new password ends every session of the old one. */
			BSON_APPEND_DATE_TIME(&set, "tokensValidAfter", db_now_ms());
			rc = staff_update(client, argv[2], &set, NULL);
		}
	} else if ((strcmp(argv[1], "disable") == 0 || strcmp(argv[1], "enable") == 0) &&
	           argc == 3) {
		BSON_APPEND_BOOL(&set, "isActive", strcmp(argv[1], "enable") == 0);
		rc = staff_update(client, argv[2], &set, NULL);
	} else if (strcmp(argv[1], "telegram") == 0 && argc == 4) {
		rc = staff_telegram(client, argv[2], argv[3], &set);
	} else if (strcmp(argv[1], "list") == 0 && argc == 2) {
		rc = staff_list(client);
	} else {
		rc = staff_usage();
	}
	bson_destroy(&set);
	db_push(client);
	db_cleanup();
	mongoc_cleanup();
	return rc;
}
