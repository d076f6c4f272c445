/*
 * metrics - Prometheus text format for the operator, served only on the
 * loopback/ops server of nginx (never the public site):
 *  - requests and latency per program and status, database errors per
 *    program: the counters every program's children share through
 *    $METRICS_DIR/<program>.v1.metrics (lib/metrics.h);
 *  - orders by status, outbox depth and dead letters: counts in the
 *    database, each an indexed equality count or a collection count;
 *  - Nchan's channels, subscribers and messages: nchan_stub_status on
 *    the private publisher socket (NCHAN_PUBLISH_SOCKET).
 * A part that cannot be read is left out and oshxona_scrape_error says
 * which, so a database outage still shows the request counters.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "oshxona.h"

#define METRICS_NCHAN_MAX 4096

static const char *const order_statuses[] = {"pending",    "confirmed", "preparing", "ready",
                                             "delivering", "completed", "cancelled"};

/* A program's counters, read from its shared file. */
struct metrics_prog {
	char name[128];
	struct metrics_file m;
};

/*
 * Reads every program's file in METRICS_DIR into *progs (xmalloc'ed; the
 * caller frees). Returns how many, or -1 when the directory is unreadable.
 */
static int
metrics_load(struct metrics_prog **progs)
{
	const char *dir = getenv("METRICS_DIR");
	const char *suffix = ".v1.metrics";
	size_t slen = strlen(suffix);
	struct dirent *de;
	int n = 0, cap = 0;
	DIR *d;

	*progs = NULL;
	if (dir == NULL || *dir == '\0' || (d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		char path[1024];

		if (len <= slen || strcmp(de->d_name + len - slen, suffix) != 0 ||
		    len - slen >= sizeof((*progs)->name))
			continue;
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			*progs = xrealloc(*progs, (size_t)cap * sizeof(**progs));
		}
		memcpy((*progs)[n].name, de->d_name, len - slen);
		(*progs)[n].name[len - slen] = '\0';
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) < sizeof(path) &&
		    metrics_read(path, &(*progs)[n].m) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/*
 * Every program's shared counters, one metric family at a time (the text
 * format wants a family's samples together).
 */
static int
metrics_programs(FILE *out)
{
	struct metrics_prog *p;
	int n = metrics_load(&p);

	fputs("# HELP oshxona_http_requests_total Requests answered by the FastCGI programs.\n"
	      "# TYPE oshxona_http_requests_total counter\n",
	      out);
	for (int i = 0; i < n; i++)
		for (int st = METRICS_STATUS_MIN; st <= METRICS_STATUS_MAX; st++)
			if (p[i].m.status[st - METRICS_STATUS_MIN].count > 0)
				fprintf(out,
				        "oshxona_http_requests_total{program=\"%s\",status=\"%d\"} "
				        "%llu\n",
				        p[i].name, st,
				        (unsigned long long)p[i]
				            .m.status[st - METRICS_STATUS_MIN]
				            .count);

	fputs("# HELP oshxona_http_request_duration_seconds Time in the program per request.\n"
	      "# TYPE oshxona_http_request_duration_seconds histogram\n",
	      out);
	for (int i = 0; i < n; i++) {
		for (int st = METRICS_STATUS_MIN; st <= METRICS_STATUS_MAX; st++) {
			const struct metrics_status *s = &p[i].m.status[st - METRICS_STATUS_MIN];
			const char *prog = p[i].name;
			uint64_t cum = 0;
			if (s->count == 0)
				continue;
			for (int b = 0; b < METRICS_NBUCKETS; b++) {
				char le[16];
				cum += s->bucket[b];
				if (b < METRICS_NBOUNDS)
					snprintf(le, sizeof(le), "%g", metrics_bounds[b]);
				else
					snprintf(le, sizeof(le), "+Inf");
				fprintf(
				    out,
				    "oshxona_http_request_duration_seconds_bucket{program=\"%s\","
				    "status=\"%d\",le=\"%s\"} %llu\n",
				    prog, st, le, (unsigned long long)cum);
			}
			fprintf(out,
			        "oshxona_http_request_duration_seconds_sum{program=\"%s\",status="
			        "\"%d\"} "
			        "%.6f\n",
			        prog, st, (double)s->sum_us / 1e6);
			fprintf(out,
			        "oshxona_http_request_duration_seconds_count{program=\"%s\",status="
			        "\"%d\"} "
			        "%llu\n",
			        prog, st, (unsigned long long)cum);
		}
	}

	fputs("# HELP oshxona_db_errors_total Database errors: unavailable (503) or other (500).\n"
	      "# TYPE oshxona_db_errors_total counter\n",
	      out);
	for (int i = 0; i < n; i++) {
		fprintf(out, "oshxona_db_errors_total{program=\"%s\",kind=\"unavailable\"} %llu\n",
		        p[i].name, (unsigned long long)p[i].m.db_unavailable);
		fprintf(out, "oshxona_db_errors_total{program=\"%s\",kind=\"error\"} %llu\n",
		        p[i].name, (unsigned long long)p[i].m.db_errors);
	}
	free(p);
	return n < 0 ? -1 : 0;
}

static int64_t
metrics_count(mongoc_client_t *client, const char *collection, const bson_t *filter,
              bson_error_t *error)
{
	mongoc_collection_t *coll = db_collection(client, collection);
	int64_t n = mongoc_collection_count_documents(coll, filter, NULL, NULL, NULL, error);

	mongoc_collection_destroy(coll);
	return n;
}

/* Orders by status, the outbox and its dead letters. Returns 0 or -1. */
static int
metrics_database(FILE *out)
{
	mongoc_client_t *client = db_pop();
	char *text = NULL;
	size_t len = 0;
	FILE *part = open_memstream(&text, &len);
	bson_error_t error;
	int ok = 1;
	bson_t empty = BSON_INITIALIZER;

	fputs("# HELP oshxona_orders Orders in the database by status.\n"
	      "# TYPE oshxona_orders gauge\n",
	      part);
	for (size_t i = 0; ok && i < sizeof(order_statuses) / sizeof(order_statuses[0]); i++) {
		bson_t filter = BSON_INITIALIZER;
		int64_t n;
		BSON_APPEND_UTF8(&filter, "status", order_statuses[i]);
		n = metrics_count(client, "orders", &filter, &error);
		bson_destroy(&filter);
		if (n < 0)
			ok = 0;
		else
			fprintf(part, "oshxona_orders{status=\"%s\"} %lld\n", order_statuses[i],
			        (long long)n);
	}
	if (ok) {
		int64_t depth = metrics_count(client, "outbox", &empty, &error);
		int64_t dead =
		    depth < 0 ? -1 : metrics_count(client, "outbox_dead", &empty, &error);
		if (depth < 0 || dead < 0)
			ok = 0;
		else
			fprintf(
			    part,
			    "# HELP oshxona_outbox_depth Side effects waiting for a retry.\n"
			    "# TYPE oshxona_outbox_depth gauge\n"
			    "oshxona_outbox_depth %lld\n"
			    "# HELP oshxona_outbox_dead Side effects given up on (outbox_dead).\n"
			    "# TYPE oshxona_outbox_dead gauge\n"
			    "oshxona_outbox_dead %lld\n",
			    (long long)depth, (long long)dead);
	}
	fclose(part);
	db_push(client);
	if (ok) {
		fwrite(text, 1, len, out);
	} else {
		log_warn("metrics: database: %s", error.message);
		metrics_db_error(db_error_is_unavailable(&error));
	}
	free(text);
	return ok ? 0 : -1;
}

/*
 * nchan_stub_status lines ("subscribers: 3") as gauges and counters; the
 * names Nchan gives, with spaces as underscores.
 */
static int
metrics_nchan(FILE *out)
{
	static CURL *curl_slot;
	const char *sock = getenv("NCHAN_PUBLISH_SOCKET");
	struct httpc_reply reply = {NULL, 0, METRICS_NCHAN_MAX, 0};
	CURL *curl = httpc_handle(&curl_slot);
	long status = 0;
	char *line, *save = NULL;

	if (sock == NULL || *sock == '\0')
		sock = "/run/oshxona/nchan-publish.sock";
	if (curl == NULL)
		return -1;
	curl_easy_setopt(curl, CURLOPT_URL, "http://localhost/nchan_status");
	curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 1000L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, httpc_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
	if (curl_easy_perform(curl) != CURLE_OK ||
	    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200 ||
	    reply.data == NULL) {
		log_warn("metrics: nchan_stub_status on %s did not answer (HTTP %ld)", sock,
		         status);
		free(reply.data);
		return -1;
	}
	for (line = strtok_r(reply.data, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[96], *colon = strchr(line, ':');
		const char *type;
		size_t n = 0;
		long long v;
		char *end;

		if (colon == NULL)
			continue;
		v = strtoll(colon + 1, &end, 10);
		/* "shared memory used: 16K" and "nchan version: 1.3.6" are not counts. */
		if (end == colon + 1 || (*end != '\0' && *end != '\r'))
			continue;
		for (const char *p = line; p < colon && n + 1 < sizeof(name); p++)
			name[n++] = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ? *p : '_';
		name[n] = '\0';
		type = strncmp(name, "total_", 6) == 0 ? "counter" : "gauge";
		fprintf(out, "# TYPE oshxona_nchan_%s %s\noshxona_nchan_%s %lld\n", name, type,
		        name, v);
	}
	free(reply.data);
	return 0;
}

/* GET /metrics */
static void
metrics_get(struct req *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	int programs = metrics_programs(out);
	int database = metrics_database(out);
	int nchan = metrics_nchan(out);

	fprintf(out,
	        "# HELP oshxona_scrape_error 1 when a part of the metrics could not be read.\n"
	        "# TYPE oshxona_scrape_error gauge\n"
	        "oshxona_scrape_error{part=\"programs\"} %d\n"
	        "oshxona_scrape_error{part=\"database\"} %d\n"
	        "oshxona_scrape_error{part=\"nchan\"} %d\n",
	        programs != 0, database != 0, nchan != 0);
	fclose(out);
	resp_header(r, "Cache-Control", "no-store");
	resp_send(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
}

static const struct route metrics_routes[] = {
    {HTTP_GET, "/metrics", metrics_get},
};

int
main(int argc, char **argv)
{
	static const struct app metrics = {
	    .name = "metrics",
	    .uses_db = 1,
	    /* A scrape must not hang on a dead database. */
	    .db = {.server_selection_ms = 2000, .socket_ms = 5000, .connect_ms = 1000},
	    .routes = metrics_routes,
	    .nroutes = sizeof(metrics_routes) / sizeof(metrics_routes[0]),
	};

	return app_main(&metrics, argc, argv);
}
