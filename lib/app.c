/*
 * app.c - the accept loop shared by every FastCGI program: start-up once
 * per process, then for each request: parse, dispatch, respond, free.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "oshxona.h"

#define APP_DB_SOCKET_MS 10000

struct config app_config;

/* A request slower than this is logged (the seed's slow-request warning). */
#define APP_SLOW_US (1000 * 1000)

static volatile sig_atomic_t app_stopping;

static void
app_on_term(int sig)
{
	(void)sig;
	app_stopping = 1;
	/* libfcgi retries an interrupted accept unless told to stop. */
	FCGX_ShutdownPending();
}

static int64_t
app_clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Counts the request, and logs it when it went wrong or slowly (nginx's
 * access log has every request; the program's log has the ones to read).
 */
static void
app_request_done(const struct req *r, int64_t usec)
{
	metrics_observe(r->status, usec);
	if (r->status >= 500 || usec >= APP_SLOW_US) {
		json_object *f = json_object_new_object();
		json_object_object_add(f, "method",
		                       json_object_new_string(http_method_name(r->method)));
		json_object_object_add(f, "path",
		                       json_object_new_string(r->path != NULL ? r->path : ""));
		json_object_object_add(f, "status", json_object_new_int(r->status));
		json_object_object_add(f, "durationMs", json_object_new_int64(usec / 1000));
		log_fields(r->status >= 500 ? LOGL_ERROR : LOGL_WARN, f,
		           r->status >= 500 ? "request failed" : "slow request");
		json_object_put(f);
	}
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
	/* The env file may name LOG_DIR or LOG_LEVEL: open the logs again. */
	log_init(app->name, getenv("LOG_LEVEL"), getenv("LOG_FILE"));
	metrics_open(app->name);
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
		db_library_init();
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
		int64_t started = app_clock_us();
		/* nginx sets X-Request-Id (its $request_id, or the caller's if sane). */
		log_set_request_id(FCGX_GetParam("HTTP_X_REQUEST_ID", fcgx.envp));
		req_init(&r, &fcgx);
		if (r.method == HTTP_OTHER) {
			resp_error(&r, 405, "Unsupported method");
		} else if (!cors_handle(&r)) {
			route_dispatch(&r, app->routes, app->nroutes);
			if (r.status == 0)
				resp_error(&r, 500, "No response");
		}
		app_request_done(&r, app_clock_us() - started);
		req_free(&r);
		FCGX_Finish_r(&fcgx);
		log_set_request_id(NULL);
	}
	log_info("stopping");
	if (app->uses_db) {
		db_cleanup();
		mongoc_cleanup();
	}
	return 0;
}
