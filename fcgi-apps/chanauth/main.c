/*
 * chanauth - the authorizer nginx's auth_request asks before every
 * realtime subscription: /sub/branch/{id} is for staff of that branch
 * (owners: every branch), /sub/user/{id} for that customer alone. The
 * answer is 200, 401 or 403 with an empty body; nginx keeps the FastCGI
 * buffers of this answer for the life of the subscriber, so it stays tiny.
 */
#include <string.h>

#include "oshxona.h"

static void
chanauth_answer(struct req *r, int status)
{
	resp_header(r, "Cache-Control", "no-store");
	resp_send(r, status, "text/plain", "", 0);
}

/* GET /__oshxona_chanauth with ORIGINAL_URI = /sub/<kind>/<24 hex>[?...] */
static void
chanauth(struct req *r)
{
	const char *uri = FCGX_GetParam("ORIGINAL_URI", r->fcgx->envp);
	char kind[8], hex[25];
	bson_oid_t channel;
	mongoc_client_t *client;
	struct who who;
	bson_error_t error;
	int rc;

	if (uri == NULL) {
		chanauth_answer(r, 403);
		return;
	}
	/* nginx matched the channel pattern already; parse it again anyway. */
	if (strncmp(uri, "/sub/branch/", 12) == 0) {
		strcpy(kind, "branch");
		uri += 12;
	} else if (strncmp(uri, "/sub/user/", 10) == 0) {
		strcpy(kind, "user");
		uri += 10;
	} else {
		chanauth_answer(r, 403);
		return;
	}
	if (strspn(uri, "0123456789abcdef") != 24 || (uri[24] != '\0' && uri[24] != '?')) {
		chanauth_answer(r, 403);
		return;
	}
	memcpy(hex, uri, 24);
	hex[24] = '\0';
	if (parse_oid(hex, &channel) != 0) {
		chanauth_answer(r, 403);
		return;
	}
	client = db_pop();
	rc = authz_identify(r, client, &who, &error);
	db_push(client);
	if (rc < 0) {
		log_warn("channel authorization: database: %s", error.message);
		chanauth_answer(r, 503);
		return;
	}
	if (who.kind == WHO_NOBODY) {
		chanauth_answer(r, 401);
		return;
	}
	if (strcmp(kind, "branch") == 0
	        ? authz_branch(&who, &channel)
	        : who.kind == WHO_CUSTOMER && bson_oid_equal(&who.id, &channel))
		chanauth_answer(r, 200);
	else
		chanauth_answer(r, 403);
}

static const struct route chanauth_routes[] = {
    {HTTP_GET, "/__oshxona_chanauth", chanauth},
};

int
main(int argc, char **argv)
{
	static const struct app app = {
	    .name = "chanauth",
	    .uses_db = 1,
	    .routes = chanauth_routes,
	    .nroutes = sizeof(chanauth_routes) / sizeof(chanauth_routes[0]),
	};

	return app_main(&app, argc, argv);
}
