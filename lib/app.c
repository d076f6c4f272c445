/*
 * app.c - the accept loop shared by every FastCGI program: start-up once
 * per process, then for each request: parse, dispatch, respond, free.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oshxona.h"

#define APP_DB_SOCKET_MS 10000

struct config app_config;

static volatile sig_atomic_t app_stopping;

static void
app_on_term(int sig)
{
	(void)sig;
	app_stopping = 1;
	/* libfcgi retries an interrupted accept unless told to stop. */
	FCGX_ShutdownPending();
}

int
app_main(const struct app *app, int argc, char **argv)
{
	FCGX_Request fcgx;
	char err[256];
	struct sigaction sa;

	(void)argc;
	(void)argv;
	log_init(app->name, getenv("LOG_LEVEL"), getenv("LOG_FILE"));
	if (config_load(&app_config, getenv("OSHXONA_ENV_FILE"), err, sizeof(err)) != 0) {
		log_error("configuration: %s", err);
		return 1;
	}
	/* A client that hangs up mid-answer must not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = app_on_term;
	/* No SA_RESTART: a blocked accept returns so the loop can end. */
	sigaction(SIGTERM, &sa, NULL);

	if (app->uses_db) {
		/*
		 * A database that accepts but never answers must end in our 503
		 * before nginx's fastcgi_read_timeout (20 s) ends it in a 504.
		 */
		struct db_options dbo = app->db;
		if (dbo.socket_ms == 0)
			dbo.socket_ms = APP_DB_SOCKET_MS;
		mongoc_init();
		if (db_init(app_config.mongodb_uri, app->name, &dbo) != 0)
			return 1;
	}
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fcgx, 0, 0) != 0) {
		log_error("FastCGI initialisation failed");
		return 1;
	}
	log_info("started (%s)", app_config.node_env);

	while (!app_stopping && FCGX_Accept_r(&fcgx) >= 0) {
		struct req r;
		req_init(&r, &fcgx);
		if (r.method == HTTP_OTHER) {
			resp_error(&r, 405, "Unsupported method");
		} else if (!cors_handle(&r)) {
			route_dispatch(&r, app->routes, app->nroutes);
			if (r.status == 0)
				resp_error(&r, 500, "No response");
		}
		req_free(&r);
		FCGX_Finish_r(&fcgx);
	}
	log_info("stopping");
	if (app->uses_db) {
		db_cleanup();
		mongoc_cleanup();
	}
	return 0;
}
