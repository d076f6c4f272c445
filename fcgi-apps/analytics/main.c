/*
 * analytics - the owners' and managers' figures, read from the daily
 * rollups cron/analytics writes (daily_stats, one document per branch and
 * Tashkent day); orders are never read here, so an answer costs the same
 * after years of history. Reads are equality filters an index serves:
 * {month[, branch]}, or {day[, branch]} for a few days of a month.
 *
 *   GET /api/admin/analytics/daily?date=YYYY-MM-DD        one day (today)
 *   GET /api/admin/analytics/top-products?days=7&limit=10
 *   GET /api/admin/analytics/peak-hours?days=30
 *   GET /api/admin/analytics/summary?from=&to=[&format=csv]
 *
 * Every endpoint takes branchId. Scope follows the admin order list: an
 * owner sees every branch (all together, or one with branchId); other
 * staff see their own branches together, or one of them with branchId;
 * another branch is 403. "days=N" is the N local days ending today.
 */
#include <stdlib.h>
#include <string.h>

#include "analytics.h"
#include "oshxona.h"
#include "valid.h"

#define PERIOD_DAYS_MAX 366
#define DAY_QUERIES_MAX 7 /* days of a month read one by one, not by month */
#define DAY_MS          ((int64_t)86400 * 1000)

/* Which branches an answer covers. */
struct scope {
	int all;                               /* owner without branchId */
	bson_oid_t branches[JWT_MAX_BRANCHES]; /* else these */
	size_t n;
	int single; /* branchId given: branches[0] */
};

/* --------------------------------------------------------- request */

/*
 * The start every endpoint shares: staff only, strict query against the
 * table (whose entry branch_field is branchId), scope. Returns 0, or -1
 * after answering 400, 401, 403 or 503.
 */
static int
an_begin(struct req *r, mongoc_client_t *client, const struct valid_field *fields, size_t n,
         size_t branch_field, struct qs *q, struct qs_value *vals, struct scope *scope)
{
	struct who who;

	memset(scope, 0, sizeof(*scope));
	if (authz(r, client, AUTHZ_STAFF, NULL, &who) != 0 ||
	    valid_query(r, q, fields, n, vals) != 0)
		return -1;
	if (vals[branch_field].present) {
		if (!authz_branch(&who, &vals[branch_field].oid)) {
			resp_error(r, 403, "Not allowed for this branch");
			return -1;
		}
		bson_oid_copy(&vals[branch_field].oid, &scope->branches[0]);
		scope->n = 1;
		scope->single = 1;
	} else if (strcmp(who.role, "owner") == 0) {
		scope->all = 1;
	} else {
		/* Everyone but owners sees only their own branches. */
		for (size_t i = 0; i < who.nbranches; i++)
			bson_oid_copy(&who.branches[i], &scope->branches[i]);
		scope->n = who.nbranches;
	}
	return 0;
}

static int
an_in_scope(const struct scope *s, const bson_t *doc)
{
	bson_oid_t b;

	if (s->all)
		return 1;
	if (db_doc_oid(doc, "branch", &b) != 0)
		return 0;
	for (size_t i = 0; i < s->n; i++)
		if (bson_oid_equal(&s->branches[i], &b))
			return 1;
	return 0;
}

typedef void (*an_visit)(const bson_t *doc, const char *day, void *arg);

/* One query, {key: value} (plus the branch when there is one), visited. */
static int
an_query(mongoc_collection_t *coll, const struct scope *s, const char *key, const char *value,
         const char *from, const char *to, an_visit visit, void *arg, bson_error_t *error)
{
	bson_t filter = BSON_INITIALIZER;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	int rc = 0;

	BSON_APPEND_UTF8(&filter, key, value);
	if (s->single)
		BSON_APPEND_OID(&filter, "branch", &s->branches[0]);
	cur = mongoc_collection_find_with_opts(coll, &filter, NULL, NULL);
	while (mongoc_cursor_next(cur, &doc)) {
		const char *d = db_doc_utf8(doc, "day");
		if (d != NULL && strcmp(d, from) >= 0 && strcmp(d, to) <= 0 && an_in_scope(s, doc))
			visit(doc, d, arg);
	}
	if (mongoc_cursor_error(cur, error))
		rc = -1;
	mongoc_cursor_destroy(cur);
	bson_destroy(&filter);
	return rc;
}

/*
 * Calls visit for every rollup of [from, to] in scope. Per month of the
 * period: one query {month} when the period has more than
 * DAY_QUERIES_MAX of its days, else one {day} query per day. So a
 * request reads at most a month's rollups more than it reports, never
 * older history, in at most 13 + 2 * DAY_QUERIES_MAX equality queries
 * (each a full scan on FerretDB's SQLite backend, which serves no index:
 * fewer queries matter there). Returns 0, or -1 with error set.
 */
static int
an_each(mongoc_client_t *client, const struct scope *s, const char *from, const char *to,
        an_visit visit, void *arg, bson_error_t *error)
{
	mongoc_collection_t *coll;
	char day[ANALYTICS_DAY_LEN + 1], last[ANALYTICS_DAY_LEN + 1], next[ANALYTICS_DAY_LEN + 1],
	    month[8];
	int rc = 0;

	if (!s->all && s->n == 0)
		return 0; /* staff of no branch: nothing to read */
	coll = db_collection(client, "daily_stats");
	memcpy(day, from, ANALYTICS_DAY_LEN + 1);
	while (rc == 0 && strcmp(day, to) <= 0) {
		/* [day, last]: the period's days in day's month. */
		memcpy(last, day, ANALYTICS_DAY_LEN + 1);
		for (;;) {
			analytics_day_add(last, 1, next);
			if (strcmp(next, to) > 0 || strncmp(next, day, 7) != 0)
				break;
			memcpy(last, next, ANALYTICS_DAY_LEN + 1);
		}
		snprintf(month, sizeof(month), "%.7s", day);
		analytics_day_add(last, 1, next);
		if (analytics_day_diff(day, last) >= DAY_QUERIES_MAX) {
			rc = an_query(coll, s, "month", month, from, to, visit, arg, error);
		} else {
			char d[ANALYTICS_DAY_LEN + 1];

			memcpy(d, day, sizeof(d));
			while (rc == 0 && strcmp(d, last) <= 0) {
				rc = an_query(coll, s, "day", d, from, to, visit, arg, error);
				analytics_day_add(d, 1, d);
			}
		}
		analytics_day_add(last, 1, day);
	}
	mongoc_collection_destroy(coll);
	return rc;
}

/* --------------------------------------------------------- answers */

static void
an_count_json(json_object *parent, const char *key, const struct analytics_count *c)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "orders", json_object_new_int64(c->orders));
	json_object_object_add(o, "revenue", json_object_new_int64(c->revenue));
	json_object_object_add(parent, key, o);
}

/* The headline figures of a rollup into o. */
static void
an_totals_json(json_object *o, const struct analytics_rollup *t)
{
	json_object_object_add(o, "totalOrders", json_object_new_int64(t->total_orders));
	json_object_object_add(o, "totalRevenue", json_object_new_int64(t->total_revenue));
	json_object_object_add(
	    o, "avgOrderValue",
	    json_object_new_int64(analytics_avg(t->total_revenue, t->total_orders - t->cancelled)));
	json_object_object_add(o, "completedOrders", json_object_new_int64(t->completed));
	json_object_object_add(o, "cancelledOrders", json_object_new_int64(t->cancelled));
	json_object_object_add(o, "openOrders", json_object_new_int64(t->open));
}

/* Totals plus byOrderType and byPaymentMethod into o. */
static void
an_breakdown_json(json_object *o, const struct analytics_rollup *t)
{
	json_object *types = json_object_new_object(), *methods = json_object_new_object();

	an_totals_json(o, t);
	for (int i = 0; i < ANALYTICS_NTYPES; i++)
		an_count_json(types, analytics_types[i], &t->types[i]);
	for (int i = 0; i < ANALYTICS_NMETHODS; i++)
		an_count_json(methods, analytics_methods[i], &t->methods[i]);
	json_object_object_add(o, "byOrderType", types);
	json_object_object_add(o, "byPaymentMethod", methods);
}

/* {"success": true, "data": data, ...extra} with no-store; consumes both. */
static void
an_respond(struct req *r, json_object *data, const struct scope *s, const char *from,
           const char *to)
{
	json_object *o = resp_envelope(data);
	char hex[25];

	if (s->single) {
		bson_oid_to_string(&s->branches[0], hex);
		json_object_object_add(o, "branchId", json_object_new_string(hex));
	} else {
		json_object_object_add(o, "branchId", NULL);
	}
	json_object_object_add(o, "from", json_object_new_string(from));
	json_object_object_add(o, "to", json_object_new_string(to));
	json_object_object_add(o, "timezone", json_object_new_string("Asia/Tashkent"));
	resp_header(r, "Cache-Control", "private, no-store");
	resp_json(r, 200, o);
	json_object_put(o);
}

static void
an_today(char *out)
{
	analytics_day_of(db_now_ms(), out);
}

/* ----------------------------------------------------------- daily */

struct daily {
	struct analytics_rollup sum;
	int all_final;    /* every rollup read says final */
	int64_t computed; /* the newest computedAt, 0 when none */
};

static void
daily_visit(const bson_t *doc, const char *day, void *arg)
{
	struct daily *d = arg;
	bson_iter_t it;

	(void)day;
	analytics_add_rollup(&d->sum, doc);
	if (!db_doc_bool(doc, "final"))
		d->all_final = 0;
	if (bson_iter_init_find(&it, doc, "computedAt") && BSON_ITER_HOLDS_DATE_TIME(&it) &&
	    bson_iter_date_time(&it) > d->computed)
		d->computed = bson_iter_date_time(&it);
}

/* GET /api/admin/analytics/daily?date&branchId */
static void
an_daily(struct req *r)
{
	enum { F_DATE, F_BRANCH, F__MAX };
	static const struct valid_field fields[F__MAX] = {
	    [F_DATE] = VALID_FIELD("date", VK_LOCALDAY, 0),
	    [F_BRANCH] = VALID_FIELD("branchId", VK_ID, 0),
	};
	mongoc_client_t *client = db_pop();
	struct qs_value v[F__MAX];
	struct qs q;
	struct scope s;
	struct daily d;
	char day[ANALYTICS_DAY_LEN + 1];
	bson_error_t error;
	json_object *data, *hours;
	int64_t closes;

	memset(&d, 0, sizeof(d));
	analytics_rollup_init(&d.sum);
	d.all_final = 1;
	if (an_begin(r, client, fields, F__MAX, F_BRANCH, &q, v, &s) != 0)
		goto done;
	if (v[F_DATE].present) {
		memcpy(day, v[F_DATE].text, ANALYTICS_DAY_LEN + 1);
	} else {
		an_today(day);
	}
	if (an_each(client, &s, day, day, daily_visit, &d, &error) != 0) {
		db_answer_error(r, &error);
		goto done;
	}
	data = json_object_new_object();
	json_object_object_add(data, "date", json_object_new_string(day));
	an_breakdown_json(data, &d.sum);
	hours = json_object_new_array();
	for (int h = 0; h < ANALYTICS_HOURS; h++) {
		json_object *e = json_object_new_object();
		json_object_object_add(e, "hour", json_object_new_int(h));
		json_object_object_add(e, "orders", json_object_new_int64(d.sum.hours[h].orders));
		json_object_object_add(e, "revenue", json_object_new_int64(d.sum.hours[h].revenue));
		json_object_array_add(hours, e);
	}
	json_object_object_add(data, "hours", hours);
	/* Final: the day is over (plus grace) and no order of it can change. */
	closes = analytics_day_start_ms(day) + DAY_MS + ANALYTICS_GRACE_MS;
	json_object_object_add(data, "final",
	                       json_object_new_boolean(d.all_final && db_now_ms() >= closes));
	if (d.computed > 0) {
		bson_t *t = BCON_NEW("at", BCON_DATE_TIME(d.computed));
		json_object *j = json_from_bson(t), *at;
		json_object_object_get_ex(j, "at", &at);
		json_object_object_add(data, "computedAt", json_object_get(at));
		json_object_put(j);
		bson_destroy(t);
	} else {
		json_object_object_add(data, "computedAt", NULL);
	}
	an_respond(r, data, &s, day, day);
done:
	analytics_rollup_free(&d.sum);
	db_push(client);
}

/* The N days ending today; 400 when days is out of range was the table's. */
static void
an_last_days(int64_t days, char *from, char *to)
{
	an_today(to);
	analytics_day_add(to, (int)-(days - 1), from);
}

static void
sum_visit(const bson_t *doc, const char *day, void *arg)
{
	(void)day;
	analytics_add_rollup(arg, doc);
}

/* ---------------------------------------------------- top products */

/* GET /api/admin/analytics/top-products?days=7&limit=10&branchId */
static void
an_top_products(struct req *r)
{
	enum { F_DAYS, F_LIMIT, F_BRANCH, F__MAX };
	static const struct valid_field fields[F__MAX] = {
	    [F_DAYS] = VALID_FIELD("days", VK_INT, 0, .min = 1, .max = PERIOD_DAYS_MAX),
	    [F_LIMIT] = VALID_FIELD("limit", VK_INT, 0, .min = 1, .max = 100),
	    [F_BRANCH] = VALID_FIELD("branchId", VK_ID, 0),
	};
	mongoc_client_t *client = db_pop();
	struct qs_value v[F__MAX];
	struct qs q;
	struct scope s;
	struct analytics_rollup sum;
	char from[ANALYTICS_DAY_LEN + 1], to[ANALYTICS_DAY_LEN + 1], hex[25];
	bson_error_t error;
	json_object *data;
	int64_t limit;

	analytics_rollup_init(&sum);
	if (an_begin(r, client, fields, F__MAX, F_BRANCH, &q, v, &s) != 0)
		goto done;
	an_last_days(v[F_DAYS].present ? v[F_DAYS].i : 7, from, to);
	limit = v[F_LIMIT].present ? v[F_LIMIT].i : 10;
	if (an_each(client, &s, from, to, sum_visit, &sum, &error) != 0) {
		db_answer_error(r, &error);
		goto done;
	}
	qsort(sum.products, sum.nproducts, sizeof(*sum.products), analytics_product_cmp);
	data = json_object_new_array();
	for (size_t i = 0; i < sum.nproducts && (int64_t)i < limit; i++) {
		const struct analytics_product *p = &sum.products[i];
		json_object *e = json_object_new_object(), *prod = json_object_new_object();

		if (p->quantity == 0)
			break;
		bson_oid_to_string(&p->id, hex);
		json_object_object_add(e, "_id", json_object_new_string(hex));
		json_object_object_add(e, "totalSold", json_object_new_int64(p->quantity));
		json_object_object_add(e, "totalRevenue", json_object_new_int64(p->revenue));
		json_object_object_add(prod, "_id", json_object_new_string(hex));
		json_object_object_add(prod, "name", json_object_new_string(p->name));
		json_object_object_add(prod, "nameRu", json_object_new_string(p->name_ru));
		json_object_object_add(e, "product", prod);
		json_object_array_add(data, e);
	}
	an_respond(r, data, &s, from, to);
done:
	analytics_rollup_free(&sum);
	db_push(client);
}

/* ------------------------------------------------------ peak hours */

/* GET /api/admin/analytics/peak-hours?days=30&branchId */
static void
an_peak_hours(struct req *r)
{
	enum { F_DAYS, F_BRANCH, F__MAX };
	static const struct valid_field fields[F__MAX] = {
	    [F_DAYS] = VALID_FIELD("days", VK_INT, 0, .min = 1, .max = PERIOD_DAYS_MAX),
	    [F_BRANCH] = VALID_FIELD("branchId", VK_ID, 0),
	};
	mongoc_client_t *client = db_pop();
	struct qs_value v[F__MAX];
	struct qs q;
	struct scope s;
	struct analytics_rollup sum;
	char from[ANALYTICS_DAY_LEN + 1], to[ANALYTICS_DAY_LEN + 1];
	bson_error_t error;
	json_object *data;

	analytics_rollup_init(&sum);
	if (an_begin(r, client, fields, F__MAX, F_BRANCH, &q, v, &s) != 0)
		goto done;
	an_last_days(v[F_DAYS].present ? v[F_DAYS].i : 30, from, to);
	if (an_each(client, &s, from, to, sum_visit, &sum, &error) != 0) {
		db_answer_error(r, &error);
		goto done;
	}
	/* All 24 hours, quiet ones too, in order: a chart's x axis. */
	data = json_object_new_array();
	for (int h = 0; h < ANALYTICS_HOURS; h++) {
		json_object *e = json_object_new_object();
		json_object_object_add(e, "_id", json_object_new_int(h));
		json_object_object_add(e, "hour", json_object_new_int(h));
		json_object_object_add(e, "orderCount", json_object_new_int64(sum.hours[h].orders));
		json_object_object_add(e, "totalRevenue",
		                       json_object_new_int64(sum.hours[h].revenue));
		json_object_array_add(data, e);
	}
	an_respond(r, data, &s, from, to);
done:
	analytics_rollup_free(&sum);
	db_push(client);
}

/* --------------------------------------------------------- summary */

/* One branch's day for the CSV export. */
struct csv_row {
	char day[ANALYTICS_DAY_LEN + 1];
	char branch[25];
	char *branch_name; /* owned */
	struct analytics_rollup r;
};

struct summary {
	const char *from;
	struct analytics_rollup total;
	struct analytics_rollup *days; /* one per day of the period */
	struct csv_row *rows;          /* only for CSV */
	size_t nrows, caprows;
	int csv;
};

static void
summary_visit(const bson_t *doc, const char *day, void *arg)
{
	struct summary *s = arg;
	int64_t i = analytics_day_diff(s->from, day);
	bson_oid_t b;

	analytics_add_rollup(&s->total, doc);
	analytics_add_rollup(&s->days[i], doc);
	if (!s->csv)
		return;
	if (s->nrows == s->caprows) {
		s->caprows = s->caprows ? s->caprows * 2 : 64;
		s->rows = xrealloc(s->rows, s->caprows * sizeof(*s->rows));
	}
	struct csv_row *row = &s->rows[s->nrows++];
	memset(row, 0, sizeof(*row));
	memcpy(row->day, day, ANALYTICS_DAY_LEN + 1);
	if (db_doc_oid(doc, "branch", &b) == 0)
		bson_oid_to_string(&b, row->branch);
	row->branch_name =
	    xstrdup(db_doc_utf8(doc, "branchName") ? db_doc_utf8(doc, "branchName") : "");
	analytics_rollup_init(&row->r);
	analytics_add_rollup(&row->r, doc);
}

static int
csv_row_cmp(const void *a, const void *b)
{
	const struct csv_row *ra = a, *rb = b;
	int c = strcmp(ra->day, rb->day);

	return c != 0 ? c : strcmp(ra->branch, rb->branch);
}

/* Growable text with a hard cap; allocation failure aborts. */
struct text {
	char *s;
	size_t len, cap;
};

static void
text_add(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		while (t->len + n + 1 > t->cap)
			t->cap = t->cap ? t->cap * 2 : 4096;
		t->s = xrealloc(t->s, t->cap);
	}
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
}

/*
 * One CSV text field: quoted when it holds a comma, quote or line break;
 * a leading = + - @ or tab gets a ' first, so a spreadsheet never runs a
 * branch name as a formula.
 */
static void
csv_field(struct text *t, const char *v)
{
	int quote = strpbrk(v, ",\"\r\n") != NULL;

	if (quote)
		text_add(t, "\"", 1);
	if (strchr("=+-@\t", v[0]) != NULL && v[0] != '\0')
		text_add(t, "'", 1);
	for (const char *p = v; *p; p++) {
		if (*p == '"')
			text_add(t, "\"", 1);
		text_add(t, p, 1);
	}
	if (quote)
		text_add(t, "\"", 1);
}

static void
csv_int(struct text *t, int64_t v)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), ",%lld", (long long)v);

	text_add(t, buf, (size_t)n);
}

static void
summary_csv(struct req *r, struct summary *s, const char *from, const char *to)
{
	static const char head[] =
	    "date,branchId,branchName,totalOrders,completedOrders,cancelledOrders,"
	    "totalRevenue,avgOrderValue,orders_delivery,orders_pickup,orders_dine_in,"
	    "revenue_cash,revenue_card,revenue_click,revenue_payme\r\n";
	struct text t = {0};
	char disp[128];

	qsort(s->rows, s->nrows, sizeof(*s->rows), csv_row_cmp);
	text_add(&t, head, sizeof(head) - 1);
	for (size_t i = 0; i < s->nrows; i++) {
		const struct analytics_rollup *x = &s->rows[i].r;

		text_add(&t, s->rows[i].day, ANALYTICS_DAY_LEN);
		text_add(&t, ",", 1);
		text_add(&t, s->rows[i].branch, strlen(s->rows[i].branch));
		text_add(&t, ",", 1);
		csv_field(&t, s->rows[i].branch_name);
		csv_int(&t, x->total_orders);
		csv_int(&t, x->completed);
		csv_int(&t, x->cancelled);
		csv_int(&t, x->total_revenue);
		csv_int(&t, analytics_avg(x->total_revenue, x->total_orders - x->cancelled));
		for (int k = 0; k < ANALYTICS_NTYPES; k++)
			csv_int(&t, x->types[k].orders);
		for (int k = 0; k < ANALYTICS_NMETHODS; k++)
			csv_int(&t, x->methods[k].revenue);
		text_add(&t, "\r\n", 2);
	}
	snprintf(disp, sizeof(disp), "attachment; filename=\"oshxona-analytics-%s-%s.csv\"", from,
	         to);
	resp_header(r, "Content-Disposition", disp);
	resp_header(r, "Cache-Control", "private, no-store");
	resp_send(r, 200, "text/csv; charset=utf-8", t.s, t.len);
	free(t.s);
}

/* 1 when the client asked for CSV by Accept (text/csv listed, q not 0). */
static int
an_accepts_csv(const struct req *r)
{
	const char *a = req_header(r, "Accept");
	const char *p = a != NULL ? strstr(a, "text/csv") : NULL;

	if (p == NULL)
		return 0;
	p += strlen("text/csv");
	while (*p == ' ')
		p++;
	return strncmp(p, ";q=0", 4) != 0 || strncmp(p, ";q=0.", 5) == 0;
}

enum an_format { AN_JSON, AN_CSV };
static const char *const an_formats[] = {"json", "csv", NULL};

/* GET /api/admin/analytics/summary?from&to&branchId&format */
static void
an_summary(struct req *r)
{
	enum { F_FROM, F_TO, F_BRANCH, F_FORMAT, F__MAX };
	static const struct valid_field fields[F__MAX] = {
	    [F_FROM] = VALID_FIELD("from", VK_LOCALDAY, 0),
	    [F_TO] = VALID_FIELD("to", VK_LOCALDAY, 0),
	    [F_BRANCH] = VALID_FIELD("branchId", VK_ID, 0),
	    [F_FORMAT] = VALID_FIELD("format", VK_ENUM, 0, .values = an_formats),
	};
	mongoc_client_t *client = db_pop();
	struct qs_value v[F__MAX];
	struct qs q;
	struct scope sc;
	struct summary s;
	char from[ANALYTICS_DAY_LEN + 1], to[ANALYTICS_DAY_LEN + 1], day[ANALYTICS_DAY_LEN + 1];
	bson_error_t error;
	json_object *data, *days;
	int64_t n = 0;

	memset(&s, 0, sizeof(s));
	analytics_rollup_init(&s.total);
	if (an_begin(r, client, fields, F__MAX, F_BRANCH, &q, v, &sc) != 0)
		goto done;
	s.csv = v[F_FORMAT].present ? v[F_FORMAT].i == AN_CSV : an_accepts_csv(r);
	if (v[F_TO].present) {
		memcpy(to, v[F_TO].text, ANALYTICS_DAY_LEN + 1);
	} else {
		an_today(to);
	}
	if (v[F_FROM].present) {
		memcpy(from, v[F_FROM].text, ANALYTICS_DAY_LEN + 1);
	} else {
		analytics_day_add(to, -29, from);
	}
	n = analytics_day_diff(from, to) + 1;
	if (n < 1 || n > PERIOD_DAYS_MAX) {
		resp_error(r, 400, "from must not be after to, and the period at most %d days",
		           PERIOD_DAYS_MAX);
		goto done;
	}
	s.from = from;
	s.days = xcalloc((size_t)n, sizeof(*s.days));
	if (an_each(client, &sc, from, to, summary_visit, &s, &error) != 0) {
		db_answer_error(r, &error);
		goto done;
	}
	if (s.csv) {
		summary_csv(r, &s, from, to);
		goto done;
	}
	data = json_object_new_object();
	an_breakdown_json(data, &s.total);
	days = json_object_new_array();
	for (int64_t i = 0; i < n; i++) {
		json_object *e = json_object_new_object();
		analytics_day_add(from, (int)i, day);
		json_object_object_add(e, "date", json_object_new_string(day));
		an_totals_json(e, &s.days[i]);
		json_object_array_add(days, e);
	}
	json_object_object_add(data, "days", days);
	an_respond(r, data, &sc, from, to);
done:
	for (size_t i = 0; i < s.nrows; i++) {
		free(s.rows[i].branch_name);
		analytics_rollup_free(&s.rows[i].r);
	}
	free(s.rows);
	for (int64_t i = 0; s.days != NULL && i < n; i++)
		analytics_rollup_free(&s.days[i]);
	free(s.days);
	analytics_rollup_free(&s.total);
	db_push(client);
}

static const struct route an_routes[] = {
    {HTTP_GET, "/api/admin/analytics/daily", an_daily},
    {HTTP_GET, "/api/admin/analytics/top-products", an_top_products},
    {HTTP_GET, "/api/admin/analytics/peak-hours", an_peak_hours},
    {HTTP_GET, "/api/admin/analytics/summary", an_summary},
};

int
main(int argc, char **argv)
{
	static const struct app app = {
	    .name = "analytics",
	    .uses_db = 1,
	    .routes = an_routes,
	    .nroutes = sizeof(an_routes) / sizeof(an_routes[0]),
	};

	return app_main(&app, argc, argv);
}
