/*
 * notify-probe - the operator's (and the black-box tests') way to drive
 * notify.h by hand: is the bot token right, does Nchan accept events,
 * does the outbox queue what fails?
 *
 *   notify-probe send CHAT_ID TEXT                 telegram_send_message only
 *   notify-probe telegram CHAT_ID TEXT             notify_telegram
 *   notify-probe publish KIND ID EVENT JSON        notify_publish
 *   notify-probe status LANG NUMBER STATUS [MSG]   prints telegram_status_text
 *
 * Settings come from the environment (and OSHXONA_ENV_FILE, as for the
 * cron jobs): MONGODB_URI, BOT_TOKEN, TELEGRAM_API_BASE,
 * NCHAN_PUBLISH_SOCKET. Prints one line: "sent", "queued", "dropped"
 * (telegram, publish), or "sent" / "retry <retry_after> <reason>" /
 * "permanent <reason>" (send). Exits 0 when the command ran, 1 on a
 * set-up error, 2 on a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oshxona.h"

static int
probe_usage(void)
{
	fprintf(stderr, "usage: notify-probe send CHAT_ID TEXT\n"
	                "       notify-probe telegram CHAT_ID TEXT\n"
	                "       notify-probe publish KIND ID EVENT JSON\n"
	                "       notify-probe status LANG NUMBER STATUS [MESSAGE]\n");
	return 2;
}

static const char *
probe_outcome(int rc)
{
	return rc == 0 ? "sent" : rc == 1 ? "queued" : "dropped";
}

static int
probe_send(int64_t chat_id, const char *text)
{
	int64_t retry_after = 0;
	char err[256];

	switch (telegram_send_message(chat_id, text, &retry_after, err, sizeof(err))) {
	case TELEGRAM_SENT:
		printf("sent\n");
		break;
	case TELEGRAM_RETRY:
		printf("retry %lld %s\n", (long long)retry_after, err);
		break;
	case TELEGRAM_PERMANENT:
		printf("permanent %s\n", err);
		break;
	}
	return 0;
}

/* Runs a command that needs the database. */
static int
probe_with_db(int argc, char **argv, const struct config *cfg)
{
	mongoc_client_t *client;
	json_object *data = NULL;
	char err[256];
	int64_t chat_id = 0;
	int publish = 0;

	if (strcmp(argv[1], "telegram") == 0) {
		if (argc != 4 || parse_int64(argv[2], INT64_MIN, INT64_MAX, &chat_id) != 0)
			return probe_usage();
	} else if (strcmp(argv[1], "publish") == 0) {
		if (argc != 6)
			return probe_usage();
		publish = 1;
		/* json_parse refuses a bare null; an event may carry one. */
		data = strcmp(argv[5], "null") == 0
		           ? NULL
		           : json_parse(argv[5], strlen(argv[5]), err, sizeof(err));
		if (data == NULL && strcmp(argv[5], "null") != 0) {
			fprintf(stderr, "notify-probe: JSON: %s\n", err);
			return 2;
		}
	} else {
		return probe_usage();
	}
	db_library_init();
	if (db_init(cfg->mongodb_uri, "notify-probe", NULL) != 0) {
		json_object_put(data);
		mongoc_cleanup();
		return 1;
	}
	client = db_pop();
	if (!publish)
		printf("%s\n", probe_outcome(notify_telegram(client, chat_id, argv[3])));
	else
		printf("%s\n",
		       probe_outcome(notify_publish(client, argv[2], argv[3], argv[4], data)));
	json_object_put(data);
	db_push(client);
	db_cleanup();
	mongoc_cleanup();
	return 0;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	char err[256];
	int64_t chat_id = 0, number = 0;

	log_init("notify-probe", getenv("LOG_LEVEL"), getenv("LOG_FILE"));
	if (argc < 2)
		return probe_usage();
	if (strcmp(argv[1], "status") == 0) {
		char *text;
		if ((argc != 5 && argc != 6) ||
		    parse_int64(argv[3], INT64_MIN, INT64_MAX, &number) != 0)
			return probe_usage();
		text = telegram_status_text(argv[2], number, argv[4], argc == 6 ? argv[5] : NULL);
		printf("%s\n", text);
		free(text);
		return 0;
	}
	if (config_load(&cfg, getenv("OSHXONA_ENV_FILE"), err, sizeof(err)) != 0) {
		log_error("configuration: %s", err);
		return 1;
	}
	if (strcmp(argv[1], "send") == 0) {
		if (argc != 4 || parse_int64(argv[2], INT64_MIN, INT64_MAX, &chat_id) != 0)
			return probe_usage();
		return probe_send(chat_id, argv[3]);
	}
	return probe_with_db(argc, argv, &cfg);
}
