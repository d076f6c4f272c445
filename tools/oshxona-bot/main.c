/*
 * oshxona-bot - the Telegram bot's long-running worker and its set-up.
 *
 *   oshxona-bot register   setWebhook (TELEGRAM_MODE=webhook; URL
 *                          TELEGRAM_WEBHOOK_URL or API_BASE_URL +
 *                          /telegram/webhook, secret_token
 *                          TELEGRAM_WEBHOOK_SECRET, allowed_updates) or
 *                          deleteWebhook (polling); the command list in
 *                          Uzbek and Russian; the menu button that opens
 *                          USER_FRONTEND_URL as a Mini App.
 *   oshxona-bot run        handles stored updates and staff jobs, one at
 *                          a time (botstore.c); with TELEGRAM_MODE=polling
 *                          it also fetches updates with getUpdates and
 *                          stores them exactly as the webhook does, so
 *                          both modes feed the same handler.
 *
 * One worker per host (an exclusive lock): the sending limits are kept in
 * its memory and a chat's state has a single writer. BOT_WAKE_SOCKET
 * names the datagram socket the webhook program wakes it through.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "oshxona.h"
#include "bot.h"
#include "botspool.h"

#define BOT_DRAIN_BATCH      20
#define BOT_IDLE_POLL_MS     1000 /* webhook mode without a wake-up */
#define BOT_POLL_TIMEOUT_DEF 10   /* getUpdates long-poll seconds */
#define BOT_SECRET_MAX       256

static volatile sig_atomic_t bot_stopping;

static void
bot_on_term(int sig)
{
	(void)sig;
	bot_stopping = 1;
}

static int
bot_polling(void)
{
	const char *m = getenv("TELEGRAM_MODE");

	return m != NULL && strcmp(m, "polling") == 0;
}

static json_object *
bot_allowed_updates(void)
{
	json_object *a = json_object_new_array();

	json_object_array_add(a, json_object_new_string("message"));
	json_object_array_add(a, json_object_new_string("callback_query"));
	return a;
}

/* Telegram's rule for secret_token: 1..256 of A-Z a-z 0-9 _ -. */
static int
bot_secret_ok(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
		      (s[n] >= '0' && s[n] <= '9') || s[n] == '_' || s[n] == '-'))
			return 0;
	return n >= 1 && n <= BOT_SECRET_MAX;
}

static int
bot_register_call(const char *method, json_object *params)
{
	char err[256];
	enum telegram_result r = telegram_call(method, params, 10000, NULL, NULL, err, sizeof(err));

	json_object_put(params);
	if (r != TELEGRAM_SENT) {
		log_error("register: %s failed: %s", method, err);
		return -1;
	}
	log_info("register: %s done", method);
	return 0;
}

static json_object *
bot_commands(const char *lang)
{
	static const struct {
		const char *command;
		enum botmsg text;
	} list[] = {{"start", M_CMD_START},
	            {"menu", M_CMD_MENU},
	            {"cart", M_CMD_CART},
	            {"orders", M_CMD_ORDERS}};
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < sizeof(list) / sizeof(list[0]); i++) {
		json_object *c = json_object_new_object();
		json_object_object_add(c, "command", json_object_new_string(list[i].command));
		json_object_object_add(c, "description",
		                       json_object_new_string(botmsg(list[i].text, lang)));
		json_object_array_add(a, c);
	}
	return a;
}

static int
bot_register(void)
{
	const char *secret = getenv("TELEGRAM_WEBHOOK_SECRET");
	const char *url = getenv("TELEGRAM_WEBHOOK_URL");
	json_object *p, *button, *app;
	char full[1024];
	int rc = 0;

	if (bot_polling()) {
		p = json_object_new_object();
		json_object_object_add(p, "drop_pending_updates", json_object_new_boolean(0));
		rc |= bot_register_call("deleteWebhook", p);
	} else {
		if (secret == NULL || !bot_secret_ok(secret)) {
			log_error(
			    "register: TELEGRAM_WEBHOOK_SECRET must be 1..256 of A-Z a-z 0-9 _ -");
			return 1;
		}
		if (url == NULL || *url == '\0') {
			snprintf(full, sizeof(full), "%s/telegram/webhook",
			         app_config.api_base_url);
			url = full;
		}
		if (strncmp(url, "https://", 8) != 0)
			log_warn("register: Telegram delivers webhooks only to https:// URLs (%s)",
			         url);
		p = json_object_new_object();
		json_object_object_add(p, "url", json_object_new_string(url));
		json_object_object_add(p, "secret_token", json_object_new_string(secret));
		json_object_object_add(p, "allowed_updates", bot_allowed_updates());
		json_object_object_add(p, "max_connections", json_object_new_int(40));
		rc |= bot_register_call("setWebhook", p);
	}
	p = json_object_new_object();
	json_object_object_add(p, "commands", bot_commands("uz"));
	rc |= bot_register_call("setMyCommands", p);
	p = json_object_new_object();
	json_object_object_add(p, "commands", bot_commands("ru"));
	json_object_object_add(p, "language_code", json_object_new_string("ru"));
	rc |= bot_register_call("setMyCommands", p);
	if (app_config.user_frontend_url != NULL &&
	    strncmp(app_config.user_frontend_url, "https://", 8) == 0) {
		app = json_object_new_object();
		json_object_object_add(app, "url",
		                       json_object_new_string(app_config.user_frontend_url));
		button = json_object_new_object();
		json_object_object_add(button, "type", json_object_new_string("web_app"));
		json_object_object_add(button, "text",
		                       json_object_new_string(botmsg(B_OPEN_APP, "uz")));
		json_object_object_add(button, "web_app", app);
		p = json_object_new_object();
		json_object_object_add(p, "menu_button", button);
		rc |= bot_register_call("setChatMenuButton", p);
	} else {
		/* Telegram opens Mini Apps from https:// only. */
		log_warn("register: USER_FRONTEND_URL is not https://; no menu button set");
	}
	return rc != 0;
}

/* The wake-up socket, or -1 (then the worker polls every second). */
static int
bot_wake_socket(void)
{
	const char *path = getenv("BOT_WAKE_SOCKET");
	struct sockaddr_un sa;
	int fd;

	if (path == NULL || *path == '\0' || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		log_warn("BOT_WAKE_SOCKET %s: %s; polling instead", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * One getUpdates round: stores every update it got (malformed ones are
 * logged and skipped) and moves *offset past them. -1 when the call
 * failed (the caller pauses).
 */
static int
bot_poll_once(mongoc_client_t *client, int64_t *offset, int64_t timeout_s)
{
	json_object *p = json_object_new_object(), *result = NULL;
	struct tg_update *u = xmalloc(sizeof(*u));
	int64_t retry_after = 0;
	char err[256];
	size_t n;

	json_object_object_add(p, "offset", json_object_new_int64(*offset));
	json_object_object_add(p, "timeout", json_object_new_int64(timeout_s));
	json_object_object_add(p, "allowed_updates", bot_allowed_updates());
	if (telegram_call("getUpdates", p, (long)(timeout_s + 10) * 1000, &result, &retry_after,
	                  err, sizeof(err)) != TELEGRAM_SENT) {
		log_warn("getUpdates failed: %s", err);
		json_object_put(p);
		free(u);
		if (retry_after > 0)
			sleep((unsigned)(retry_after < 60 ? retry_after : 60));
		return -1;
	}
	json_object_put(p);
	n = result != NULL && json_object_is_type(result, json_type_array)
	        ? json_object_array_length(result)
	        : 0;
	for (size_t i = 0; i < n; i++) {
		json_object *one = json_object_array_get_idx(result, i), *id;
		const char *raw = json_object_to_json_string_ext(one, JSON_OUT_FLAGS);
		bson_error_t error;

		/* The offset moves past even a malformed update: it must not come back. */
		if (json_object_is_type(one, json_type_object) &&
		    json_object_object_get_ex(one, "update_id", &id) &&
		    json_object_is_type(id, json_type_int) && json_object_get_int64(id) >= *offset)
			*offset = json_object_get_int64(id) + 1;
		if (tgupdate_parse(raw, strlen(raw), u, err, sizeof(err)) != 0) {
			log_warn("telegram: malformed update dropped: %s", err);
			continue;
		}
		if (bot_inbox_put(client, u->update_id, raw, strlen(raw), &error) != 0)
			log_error("bot: update %lld not stored: %s", (long long)u->update_id,
			          error.message);
	}
	json_object_put(result);
	free(u);
	return 0;
}

/*
 * The worker gives way to the request path on the same cores: it is
 * batch work (SCHED_BATCH, nice 10), measured in updates a second, while
 * the webhook and the API are measured in milliseconds. Its database
 * queries run in FerretDB and PostgreSQL at their own priority.
 */
static void
bot_yield_cpu(void)
{
	struct sched_param sp = {0};

	if (sched_setscheduler(0, SCHED_BATCH, &sp) != 0)
		log_warn("bot: SCHED_BATCH: %s", strerror(errno));
	errno = 0;
	if (setpriority(PRIO_PROCESS, 0, 10) != 0)
		log_warn("bot: nice: %s", strerror(errno));
}

static int
bot_run(mongoc_client_t *client)
{
	int polling = bot_polling(), wake = bot_wake_socket();
	int64_t offset = 0, timeout_s = BOT_POLL_TIMEOUT_DEF;
	const char *t = getenv("TELEGRAM_POLL_TIMEOUT");
	struct sigaction sa;

	if (t != NULL && parse_int64(t, 0, 50, &timeout_s) != 0)
		timeout_s = BOT_POLL_TIMEOUT_DEF;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bot_on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	bot_yield_cpu();
	log_info("bot worker started (%s%s%s)", polling ? "polling" : "webhook",
	         botspool_dir() != NULL ? ", spool " : "",
	         botspool_dir() != NULL ? botspool_dir() : "");
	if (polling) {
		/* getUpdates answers 409 while a webhook is set. */
		json_object *p = json_object_new_object();
		char err[128];
		if (telegram_call("deleteWebhook", p, 10000, NULL, NULL, err, sizeof(err)) !=
		    TELEGRAM_SENT)
			log_warn("deleteWebhook: %s", err);
		json_object_put(p);
	}
	while (!bot_stopping) {
		int handled;

		if (polling && bot_poll_once(client, &offset, timeout_s) != 0 && !bot_stopping)
			sleep(1);
		/* The host's spool first: what the webhook took is in the inbox before it is read.
		 */
		if (botspool_dir() != NULL && botspool_drain(client, botspool_dir()) < 0)
			handled = -1;
		else
			handled = bot_drain(client, BOT_DRAIN_BATCH);
		if (handled < 0) {
			sleep(1);
		} else if (handled == 0 && !polling) {
			struct pollfd pfd = {wake, POLLIN, 0};
			char buf[64];
			if (wake >= 0) {
				if (poll(&pfd, 1, BOT_IDLE_POLL_MS) > 0)
					while (recv(wake, buf, sizeof(buf), 0) > 0)
						;
			} else {
				usleep(BOT_IDLE_POLL_MS * 1000);
			}
		}
	}
	if (wake >= 0) {
		close(wake);
		unlink(getenv("BOT_WAKE_SOCKET")); /* a stopped stack leaves no socket */
	}
	log_info("bot worker stopping");
	return 0;
}

int
main(int argc, char **argv)
{
	mongoc_client_t *client = NULL;
	char err[256];
	int rc;

	if (argc != 2 || (strcmp(argv[1], "run") != 0 && strcmp(argv[1], "register") != 0)) {
		fprintf(stderr, "usage: oshxona-bot run|register\n");
		return 2;
	}
	if (strcmp(argv[1], "register") == 0) {
		log_init("oshxona-bot", getenv("LOG_LEVEL"), getenv("LOG_FILE"));
		if (config_load(&app_config, getenv("OSHXONA_ENV_FILE"), err, sizeof(err)) != 0) {
			log_error("configuration: %s", err);
			return 1;
		}
		return bot_register();
	}
	rc = job_start("telegram-bot", &client);
	if (client == NULL)
		return rc;
	if (config_load(&app_config, getenv("OSHXONA_ENV_FILE"), err, sizeof(err)) != 0) {
		log_error("configuration: %s", err);
		job_end(client);
		return 1;
	}
	rc = bot_run(client);
	job_end(client);
	return rc;
}
