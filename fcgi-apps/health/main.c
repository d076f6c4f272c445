/*
 * health - liveness and readiness for load balancers and the operator.
 * /healthz says the process answers; /readyz says every FastCGI program
 * has a live child and the database answers a ping within 1 s. The pool's
 * short timeouts are this program's alone, so a dead database costs a
 * probe one second, never a hang.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oshxona.h"

#define HEALTH_PROGRAMS_MAX 512 /* bytes of the names in "program missing" */

/* True when pid runs: a zombie does not count. */
static int
health_pid_alive(long pid)
{
	char path[64], buf[256], *p;
	FILE *f;
	size_t n;

	if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno != EPERM))
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/*
 * 1 when the supervisor's file for program (tools/fcgi-supervisor -C)
 * names at least one live child.
 */
static int
health_program_live(const char *dir, const char *program)
{
	char path[1024];
	FILE *f;
	long pid;
	int live = 0;

	if (snprintf(path, sizeof(path), "%s/%s.children", dir, program) >= (int)sizeof(path))
		return 0;
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (!live && fscanf(f, "%ld", &pid) == 1)
		live = health_pid_alive(pid);
	fclose(f);
	return live;
}

/*
 * The programs in OSHXONA_PROGRAMS (names separated by spaces) with no
 * live child, listed into out; 0 when every one has one, or when the
 * operator configured no check (OSHXONA_RUN_DIR unset).
 */
static int
health_dead_programs(char *out, size_t outlen)
{
	const char *dir = getenv("OSHXONA_RUN_DIR"), *list = getenv("OSHXONA_PROGRAMS");
	char name[128];
	size_t off = 0;
	int dead = 0;

	out[0] = '\0';
	if (dir == NULL || *dir == '\0' || list == NULL)
		return 0;
	while (*list != '\0') {
		size_t n = strcspn(list, " ,");
		if (n > 0 && n < sizeof(name)) {
			memcpy(name, list, n);
			name[n] = '\0';
			if (!health_program_live(dir, name)) {
				int w = snprintf(out + off, outlen - off, "%s%s", dead ? ", " : "",
				                 name);
				if (w > 0 && (size_t)w < outlen - off)
					off += (size_t)w;
				dead++;
			}
		}
		list += n;
		list += strspn(list, " ,");
	}
	return dead;
}

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

/*
 * GET /readyz: 200, or 503 when a program has no live child (nginx would
 * answer its requests 502) or the database does not answer in time.
 */
static void
readyz(struct req *r)
{
	mongoc_client_t *client;
	bson_error_t error;
	char dead[HEALTH_PROGRAMS_MAX], msg[HEALTH_PROGRAMS_MAX + 64];

	if (health_dead_programs(dead, sizeof(dead)) > 0) {
		log_warn("readiness: no live process for %s", dead);
		snprintf(msg, sizeof(msg), "No live process for: %s", dead);
		health_status(r, 503, msg);
		return;
	}
	client = db_pop();
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
