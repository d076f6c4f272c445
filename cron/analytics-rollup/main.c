/*
 * analytics-rollup - rolls each branch's orders of one Asia/Tashkent day into one
 * document of daily_stats, _id "<branchId>:<YYYY-MM-DD>", which the
 * analytics program merges on request (it never reads orders). Rolling a
 * day again replaces its documents, so every run is idempotent.
 *
 *   analytics-rollup                      cron, every 5 minutes: today;
 *                                         the days since the last run (less
 *                                         an hour); every day of the last 30
 *                                         whose rollup is not final yet
 *   analytics-rollup --date YYYY-MM-DD    one day
 *   analytics-rollup --backfill FROM TO   every day from FROM to TO,
 *                                         inclusive, one day after another
 *
 * (Not named "analytics": build/bin/analytics is the FastCGI program.)
 *
 * A rollup is final once its day ended more than ANALYTICS_GRACE_MS ago
 * and none of its orders is open (pending ... delivering). Only an open
 * order can still change (completed and cancelled are ends of the status
 * flow), so re-rolling every non-final day is what picks up late status
 * changes, with equality queries only, and a final day never changes
 * again. A day whose orders stay open for more than 30 days is left as
 * last rolled until someone runs --date for it.
 *
 * Exit codes: 0 done (or, from cron, another run holds the lock), 1 a
 * database or configuration error (nothing half-written: a day's
 * documents are written only after all its orders were read), 2 bad
 * arguments, 3 another run holds the lock (--date, --backfill).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analytics.h"
#include "oshxona.h"

#define OPEN_DAYS_MAX     30   /* how far back non-final days are re-rolled */
#define BACKFILL_DAYS_MAX 3700 /* ten years and a little */

enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 2, EXIT_LOCKED = 3 };

/* Branch names for the documents (and the CSV export). */
struct branch_name {
	bson_oid_t id;
	char *name; /* owned */
};

/* The rollups of one run, by branch and day (open addressing). */
struct rollups {
	struct analytics_rollup **slot; /* cap entries, NULL when empty */
	size_t cap, n;
	struct analytics_rollup **all; /* in creation order, n entries */
	size_t capall;
};

static int progress;  /* 1 when stderr is a terminal */
static double c_time; /* seconds spent adding orders in C, not waiting */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
rollups_hash(const bson_oid_t *branch, const char *day)
{
	char key[12 + ANALYTICS_DAY_LEN];

	memcpy(key, branch->bytes, 12);
	memcpy(key + 12, day, ANALYTICS_DAY_LEN);
	return hash_fnv1a64(key, sizeof(key));
}

static void
rollups_grow(struct rollups *t)
{
	size_t cap = t->cap ? t->cap * 2 : 256;
	struct analytics_rollup **slot = xcalloc(cap, sizeof(*slot));

	for (size_t i = 0; i < t->n; i++) {
		size_t j = rollups_hash(&t->all[i]->branch, t->all[i]->day) & (cap - 1);
		while (slot[j] != NULL)
			j = (j + 1) & (cap - 1);
		slot[j] = t->all[i];
	}
	free(t->slot);
	t->slot = slot;
	t->cap = cap;
}

/* The rollup of branch and day, made empty when new. */
static struct analytics_rollup *
rollups_get(struct rollups *t, const bson_oid_t *branch, const char *day)
{
	struct analytics_rollup *r;
	size_t j;

	if (2 * (t->n + 1) > t->cap)
		rollups_grow(t);
	j = rollups_hash(branch, day) & (t->cap - 1);
	while ((r = t->slot[j]) != NULL) {
		if (bson_oid_equal(&r->branch, branch) && strcmp(r->day, day) == 0)
			return r;
		j = (j + 1) & (t->cap - 1);
	}
	r = xmalloc(sizeof(*r));
	analytics_rollup_init(r);
	bson_oid_copy(branch, &r->branch);
	memcpy(r->day, day, ANALYTICS_DAY_LEN + 1);
	t->slot[j] = r;
	if (t->n == t->capall) {
		t->capall = t->capall ? t->capall * 2 : 256;
		t->all = xrealloc(t->all, t->capall * sizeof(*t->all));
	}
	t->all[t->n++] = r;
	return r;
}

static void
rollups_free(struct rollups *t)
{
	for (size_t i = 0; i < t->n; i++) {
		analytics_rollup_free(t->all[i]);
		free(t->all[i]);
	}
	free(t->all);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

static int
load_branch_names(mongoc_client_t *client, struct branch_name **out, size_t *n)
{
	mongoc_collection_t *coll = db_collection(client, "branches");
	bson_t filter = BSON_INITIALIZER;
	bson_t *opts = BCON_NEW("projection", "{", "name", BCON_INT32(1), "}");
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, &filter, opts, NULL);
	const bson_t *doc;
	bson_error_t error;
	size_t cap = 0;
	int rc = 0;

	*out = NULL;
	*n = 0;
	while (mongoc_cursor_next(cur, &doc)) {
		bson_oid_t id;
		if (db_doc_oid(doc, "_id", &id) != 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*out = xrealloc(*out, cap * sizeof(**out));
		}
		bson_oid_copy(&id, &(*out)[*n].id);
		(*out)[*n].name = xstrdup(db_doc_utf8(doc, "name") ? db_doc_utf8(doc, "name") : "");
		(*n)++;
	}
	if (mongoc_cursor_error(cur, &error)) {
		log_error("branches: %s", error.message);
		rc = -1;
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(opts);
	bson_destroy(&filter);
	mongoc_collection_destroy(coll);
	return rc;
}

static const char *
branch_name_of(const struct branch_name *names, size_t n, const bson_oid_t *id)
{
	for (size_t i = 0; i < n; i++)
		if (bson_oid_equal(&names[i].id, id))
			return names[i].name;
	return "";
}

/*
 * Reads the orders filter selects and adds each to its branch and day in
 * t. Returns the number of orders read, or -1 on a database error.
 */
static int64_t
roll_orders(mongoc_client_t *client, const bson_t *filter, struct rollups *t)
{
	mongoc_collection_t *coll = db_collection(client, "orders");
	/* Only what a rollup needs: the customer, address and history stay. */
	bson_t *opts =
	    BCON_NEW("projection", "{", "branch", BCON_INT32(1), "localDay", BCON_INT32(1),
	             "createdAt", BCON_INT32(1), "status", BCON_INT32(1), "orderType",
	             BCON_INT32(1), "paymentMethod", BCON_INT32(1), "total", BCON_INT32(1), "items",
	             BCON_INT32(1), "}", "batchSize", BCON_INT32(2000));
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	const bson_t *doc;
	bson_error_t error;
	int64_t n = 0, skipped = 0;

	while (mongoc_cursor_next(cur, &doc)) {
		const char *day = db_doc_utf8(doc, "localDay");
		double c0 = now_s();
		bson_oid_t branch;
		int bad = db_doc_oid(doc, "branch", &branch) != 0 || !analytics_day_valid(day) ||
		          analytics_add_order(rollups_get(t, &branch, day), doc) != 0;

		c_time += now_s() - c0;
		if (bad) {
			skipped++;
			continue;
		}
		n++;
	}
	if (skipped > 0)
		log_warn("%lld orders without branch, localDay, createdAt, status or total "
		         "skipped",
		         (long long)skipped);
	if (mongoc_cursor_error(cur, &error)) {
		log_error("orders: %s", error.message);
		n = -1;
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(opts);
	mongoc_collection_destroy(coll);
	return n;
}

/* Replaces each rollup's document. Returns 0, or -1 on the first error. */
static int
write_rollups(mongoc_client_t *client, const struct rollups *t, const struct branch_name *names,
              size_t nnames, int64_t now)
{
	mongoc_collection_t *coll = db_collection(client, "daily_stats");
	bson_t *opts = BCON_NEW("upsert", BCON_BOOL(true));
	bson_error_t error;
	int rc = 0;

	for (size_t i = 0; i < t->n && rc == 0; i++) {
		const struct analytics_rollup *r = t->all[i];
		int64_t end = analytics_day_start_ms(r->day) + (int64_t)86400 * 1000;
		int final = now >= end + ANALYTICS_GRACE_MS && r->open == 0;
		bson_t doc = BSON_INITIALIZER, sel = BSON_INITIALIZER;
		bson_iter_t it;

		analytics_rollup_to_bson(r, branch_name_of(names, nnames, &r->branch), final, now,
		                         &doc);
		bson_iter_init_find(&it, &doc, "_id");
		BSON_APPEND_UTF8(&sel, "_id", bson_iter_utf8(&it, NULL));
		if (!mongoc_collection_replace_one(coll, &sel, &doc, opts, NULL, &error)) {
			log_error("daily_stats %s %s: %s", bson_iter_utf8(&it, NULL), r->day,
			          error.message);
			rc = -1;
		}
		bson_destroy(&sel);
		bson_destroy(&doc);
	}
	bson_destroy(opts);
	mongoc_collection_destroy(coll);
	return rc;
}

/*
 * Rolls the days of [from, to], one equality query {localDay} and one
 * write of its rollups per day: an index serves it (a range of days would
 * make FerretDB read every order, in and out of the period), memory stays
 * one day's, and an error leaves every day before it rolled and the
 * failing day as it was. Returns 0 or -1.
 */
static int
roll_days(mongoc_client_t *client, const char *from, const char *to,
          const struct branch_name *names, size_t nnames, int report)
{
	char day[ANALYTICS_DAY_LEN + 1];
	double t0 = now_s();
	int64_t n, total = 0;
	size_t rollups = 0;
	int rc = 0;

	memcpy(day, from, sizeof(day));
	while (rc == 0 && strcmp(day, to) <= 0) {
		struct rollups t = {0};
		bson_t filter = BSON_INITIALIZER;

		BSON_APPEND_UTF8(&filter, "localDay", day);
		n = roll_orders(client, &filter, &t);
		if (n < 0 || write_rollups(client, &t, names, nnames, db_now_ms()) != 0)
			rc = -1;
		else
			log_debug("%s: %lld orders into %zu rollups", day, (long long)n, t.n);
		total += n > 0 ? n : 0;
		rollups += t.n;
		bson_destroy(&filter);
		rollups_free(&t);
		if (progress && strcmp(from, to) != 0)
			fprintf(stderr, "\ranalytics-rollup: %s, %lld orders so far, %.0f/s   ",
			        day, (long long)total, (double)total / (now_s() - t0 + 1e-9));
		analytics_day_add(day, 1, day);
	}
	if (progress && strcmp(from, to) != 0)
		fputc('\n', stderr);
	if (rc == 0) {
		double dt = now_s() - t0;
		log_info("%s..%s: %lld orders into %zu rollups in %.2f s", from, to,
		         (long long)total, rollups, dt);
		/* The C part apart from the database's, to tell which one is slow. */
		if (report)
			printf("analytics-rollup: %s..%s: %lld orders, %zu rollups, %.2f s, %.0f "
			       "orders/s; in C %.3f s, %.0f orders/s\n",
			       from, to, (long long)total, rollups, dt,
			       (double)total / (dt > 0 ? dt : 1e-9), c_time,
			       (double)total / (c_time > 0 ? c_time : 1e-9));
	}
	return rc;
}

#define CRON_DAYS_MAX (2 * OPEN_DAYS_MAX + 2)

/* Adds day to the set unless there or the set is full. */
static void
day_set_add(char (*days)[ANALYTICS_DAY_LEN + 1], size_t *n, const char *day)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(days[i], day) == 0)
			return;
	if (*n < CRON_DAYS_MAX)
		memcpy(days[(*n)++], day, ANALYTICS_DAY_LEN + 1);
}

/*
 * When the last cron run that finished began (analytics_state "cron"):
 * 1 and *at, 0 when there was none, -1 on error.
 */
static int
cron_last_run(mongoc_client_t *client, int64_t *at)
{
	bson_t *filter = BCON_NEW("_id", BCON_UTF8("cron")), *doc = NULL;
	bson_error_t error;
	bson_iter_t it;
	int rc = db_find_one(client, "analytics_state", filter, NULL, &doc, &error);

	if (rc < 0)
		log_error("analytics_state: %s", error.message);
	if (rc == 1) {
		rc = bson_iter_init_find(&it, doc, "lastRunAt") && BSON_ITER_HOLDS_DATE_TIME(&it);
		if (rc == 1)
			*at = bson_iter_date_time(&it);
		bson_destroy(doc);
	}
	bson_destroy(filter);
	return rc;
}

static int
cron_mark_run(mongoc_client_t *client, int64_t at)
{
	mongoc_collection_t *coll = db_collection(client, "analytics_state");
	bson_t *sel = BCON_NEW("_id", BCON_UTF8("cron"));
	bson_t *doc = BCON_NEW("_id", BCON_UTF8("cron"), "lastRunAt", BCON_DATE_TIME(at));
	bson_t *opts = BCON_NEW("upsert", BCON_BOOL(true));
	bson_error_t error;
	int rc = 0;

	if (!mongoc_collection_replace_one(coll, sel, doc, opts, NULL, &error)) {
		log_error("analytics_state: %s", error.message);
		rc = -1;
	}
	bson_destroy(opts);
	bson_destroy(doc);
	bson_destroy(sel);
	mongoc_collection_destroy(coll);
	return rc;
}

/*
 * The cron run: which days may still change, each rolled on its own:
 * today; every day since the last run began, less an hour (orders of
 * 23:59 may be written after midnight, and days missed while cron was
 * down come back); every day of the last OPEN_DAYS_MAX whose rollup is
 * not final.
 */
static int
roll_cron(mongoc_client_t *client, const struct branch_name *names, size_t nnames)
{
	char days[CRON_DAYS_MAX][ANALYTICS_DAY_LEN + 1], today[ANALYTICS_DAY_LEN + 1],
	    oldest[ANALYTICS_DAY_LEN + 1], day[ANALYTICS_DAY_LEN + 1];
	int64_t now = db_now_ms(), last = now;
	mongoc_collection_t *coll;
	bson_t *filter, *opts;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	bson_error_t error;
	size_t n = 0;
	int rc;

	analytics_day_of(now, today);
	analytics_day_add(today, -OPEN_DAYS_MAX, oldest);
	if (cron_last_run(client, &last) < 0)
		return -1;
	analytics_day_of((last < now ? last : now) - 3600 * 1000, day);
	if (strcmp(day, oldest) < 0)
		memcpy(day, oldest, sizeof(day));
	for (; strcmp(day, today) <= 0; analytics_day_add(day, 1, day))
		day_set_add(days, &n, day);

	coll = db_collection(client, "daily_stats");
	filter = BCON_NEW("final", BCON_BOOL(false));
	opts = BCON_NEW("projection", "{", "day", BCON_INT32(1), "}");
	cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	while (mongoc_cursor_next(cur, &doc)) {
		const char *d = db_doc_utf8(doc, "day");
		if (analytics_day_valid(d) && strcmp(d, oldest) >= 0 && strcmp(d, today) <= 0)
			day_set_add(days, &n, d);
	}
	rc = mongoc_cursor_error(cur, &error) ? -1 : 0;
	if (rc != 0)
		log_error("daily_stats: %s", error.message);
	mongoc_cursor_destroy(cur);
	bson_destroy(opts);
	bson_destroy(filter);
	mongoc_collection_destroy(coll);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = roll_days(client, days[i], days[i], names, nnames, 0);
	/* The start of this run: what was written during it is read next time. */
	return rc == 0 ? cron_mark_run(client, now) : -1;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: analytics-rollup                      (cron: today, days not final)\n"
	           "       analytics-rollup --date YYYY-MM-DD\n"
	           "       analytics-rollup --backfill FROM TO   (YYYY-MM-DD, inclusive)\n");
}

int
main(int argc, char **argv)
{
	const char *from = NULL, *to = NULL;
	struct branch_name *names = NULL;
	size_t nnames = 0;
	mongoc_client_t *client;
	int rc;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return EXIT_OK;
	}
	if (argc == 3 && strcmp(argv[1], "--date") == 0) {
		from = to = argv[2];
	} else if (argc == 4 && strcmp(argv[1], "--backfill") == 0) {
		from = argv[2];
		to = argv[3];
	} else if (argc != 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (from != NULL && (!analytics_day_valid(from) || !analytics_day_valid(to))) {
		fprintf(stderr, "analytics-rollup: days are YYYY-MM-DD calendar dates\n");
		return EXIT_USAGE;
	}
	if (from != NULL && (analytics_day_diff(from, to) < 0 ||
	                     analytics_day_diff(from, to) >= BACKFILL_DAYS_MAX)) {
		fprintf(stderr,
		        "analytics-rollup: FROM must not be after TO, and at most %d days apart\n",
		        BACKFILL_DAYS_MAX);
		return EXIT_USAGE;
	}
	progress = isatty(STDERR_FILENO);

	rc = job_start("analytics-rollup", &client);
	if (client == NULL) {
		if (rc == 0 && from != NULL) {
			fprintf(stderr,
			        "analytics-rollup: another run holds the lock; try again later\n");
			return EXIT_LOCKED;
		}
		return rc;
	}
	if (load_branch_names(client, &names, &nnames) != 0)
		rc = EXIT_ERROR;
	else if (from != NULL)
		rc = roll_days(client, from, to, names, nnames, 1) == 0 ? EXIT_OK : EXIT_ERROR;
	else
		rc = roll_cron(client, names, nnames) == 0 ? EXIT_OK : EXIT_ERROR;
	for (size_t i = 0; i < nnames; i++)
		free(names[i].name);
	free(names);
	job_end(client);
	return rc;
}
