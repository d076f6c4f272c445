/*
 * health - liveness and readiness for load balancers and the operator.
 * /healthz says the process answers; /readyz says the database answers a
 * ping within 1 s. The pool's short timeouts are this program's alone, so
 * a dead database costs a probe one second, never a hang.
 */
#include "oshxona.h"

static void
health_status(struct req *r, int status, const char *word)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "success", json_object_new_boolean(status == 200));
	json_object_object_add(o, status == 200 ? "status" : "message",
	                       json_object_new_string(word));
	resp_header(r, "Cache-Control", "no-store");
	resp_json(r, status, o);
	json_object_put(o);
}

/* GET /healthz */
static void
healthz(struct req *r)
{
	health_status(r, 200, "ok");
}

/* GET /readyz: 200, or 503 when the database does not answer in time. */
static void
readyz(struct req *r)
{
	mongoc_client_t *client = db_pop();
	bson_error_t error;

	if (db_ping(client, &error) == 0) {
		health_status(r, 200, "ready");
	} else {
		log_warn("readiness: database ping failed: %s", error.message);
		health_status(r, 503, "Database unavailable");
	}
	db_push(client);
}

static const struct route health_routes[] = {
    {HTTP_GET, "/healthz", healthz},
    {HTTP_GET, "/readyz", readyz},
};

int
main(int argc, char **argv)
{
	static const struct app health = {
	    .name = "health",
	    .uses_db = 1,
	    .db = {.server_selection_ms = 1000, .socket_ms = 1000, .connect_ms = 1000},
	    .routes = health_routes,
	    .nroutes = sizeof(health_routes) / sizeof(health_routes[0]),
	};

	return app_main(&health, argc, argv);
}
