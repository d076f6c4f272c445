/*
 * orders - the HTTP face of lib/order.c: place an order, read orders, move
 * an order through the kitchen. Each handler turns the request into the
 * library's input, calls it, answers with its result, and only then
 * announces the change (Nchan events, Telegram), so no client waits on
 * those and none of them can fail the request.
 */
#include <stdlib.h>
#include <string.h>

#include "analytics.h"
#include "oshxona.h"
#include "order.h"
#include "valid.h"

#define ORDER_BODY_MAX     (32 * 1024)
#define LIST_LIMIT_DEFAULT 20
#define LIST_LIMIT_MAX     100
#define LIST_OFFSET_MAX    10000
#define BOARD_DAYS         1  /* the board without from/to: today */
#define BOARD_SPAN_MAX     31 /* from..to, days: older history is a report's job */

/* ------------------------------------------------------------- helpers */

/* The order as the API shows it. */
static json_object *
order_json(const bson_t *order)
{
	return json_from_bson(order);
}

static void
order_respond(struct req *r, int status, const bson_t *order)
{
	resp_data(r, status, order_json(order));
}

/* A page of a list: {"success", "data", "total", "limit", "offset"}, no-store. */
static void
order_respond_page(struct req *r, json_object *data, int64_t total, int64_t limit, int64_t offset)
{
	json_object *o = resp_envelope(data);

	json_object_object_add(o, "total", json_object_new_int64(total));
	json_object_object_add(o, "limit", json_object_new_int64(limit));
	json_object_object_add(o, "offset", json_object_new_int64(offset));
	resp_header(r, "Cache-Control", "no-store");
	resp_json(r, 200, o);
	json_object_put(o);
}

/* A refusal of the library as {"success": false, "message"}. */
static void
order_refuse(struct req *r, const struct order_result *res)
{
	resp_error(r, res->status, "%s", res->message);
}

/* ------------------------------------------------------------- create */

/* POST /api/orders: the body is order_body_schema (lib/order.c). */
static void
order_create(struct req *r)
{
	struct order_input *in = NULL;
	struct order_result res = {0};
	json_object *body = NULL;
	mongoc_client_t *client = db_pop();
	struct who who;
	const char *key = req_header(r, "Idempotency-Key");
	char loc[64], hex[25];
	bson_oid_t id;

	if (authz(r, client, AUTHZ_CUSTOMER, NULL, &who) != 0)
		goto done;
	if (key != NULL && !order_idempotency_key_ok(key)) {
		resp_error(r, 400, "Idempotency-Key must be 1..%d visible ASCII characters",
		           ORDER_IDEM_KEY_MAX);
		goto done;
	}
	body = req_json(r, ORDER_BODY_MAX);
	if (body == NULL)
		goto done;
	in = xcalloc(1, sizeof(*in));
	if (order_input_from_json(body, in, &res) != 0) {
		order_refuse(r, &res);
		goto done;
	}
	in->idempotency_key = key;
	if (order_place(client, in, &who, &res) != 0) {
		order_refuse(r, &res);
		goto done;
	}
	if (res.replayed) {
		resp_header(r, "Idempotent-Replayed", "true");
		order_respond(r, 200, res.order);
		goto done;
	}
	db_doc_oid(res.order, "_id", &id);
	bson_oid_to_string(&id, hex);
	snprintf(loc, sizeof(loc), "/api/orders/%s", hex);
	resp_header(r, "Location", loc);
	order_respond(r, 201, res.order);
	order_announce_placed(client, res.order);
done:
	order_result_free(&res);
	free(in);
	json_object_put(body);
	db_push(client);
}

/* --------------------------------------------------------------- read */

/*
 * Loads the order named by the path for who. Returns 1 with res->order
 * set, or 0 after answering 400 (malformed id) or the library's refusal.
 */
static int
order_load_for(struct req *r, mongoc_client_t *client, const struct who *who,
               struct order_result *res)
{
	bson_oid_t id;

	if (parse_oid(r->params[0], &id) != 0) {
		resp_error(r, 400, "Malformed order id");
		return 0;
	}
	if (order_load(client, &id, who, res) != 0) {
		order_refuse(r, res);
		return 0;
	}
	return 1;
}

/* GET /api/orders/{id} */
static void
order_get(struct req *r)
{
	mongoc_client_t *client = db_pop();
	struct order_result res = {0};
	struct who who;

	if (authz(r, client, AUTHZ_ANY, NULL, &who) == 0 && order_load_for(r, client, &who, &res))
		order_respond(r, 200, res.order);
	order_result_free(&res);
	db_push(client);
}

/*
 * Runs filter with paging and answers {"data", "total", "limit", "offset"}.
 * One read of what the filter matches, counted here: FerretDB decodes
 * every matching document for a count just as for a find, so a separate
 * count would read them all twice.
 */
static void
order_list(struct req *r, mongoc_client_t *client, const bson_t *filter, int64_t limit,
           int64_t offset)
{
	mongoc_collection_t *coll = db_collection(client, "orders");
	bson_t *opts = BCON_NEW("sort", "{", "createdAt", BCON_INT32(-1), "}");
	mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	json_object *data = json_object_new_array();
	const bson_t *doc;
	bson_error_t error;
	int64_t total = 0;

	for (; mongoc_cursor_next(cursor, &doc); total++) {
		if (total >= offset && total < offset + limit)
			json_object_array_add(data, order_json(doc));
	}
	if (mongoc_cursor_error(cursor, &error)) {
		db_answer_error(r, &error);
		json_object_put(data);
	} else {
		order_respond_page(r, data, total, limit, offset);
	}
	mongoc_cursor_destroy(cursor);
	bson_destroy(opts);
	mongoc_collection_destroy(coll);
}

/* GET /api/orders?limit&offset: the customer's own, newest first. */
enum { MQ_LIMIT, MQ_OFFSET, MQ__MAX };
static const struct valid_field order_mine_query[MQ__MAX] = {
    [MQ_LIMIT] = VALID_FIELD("limit", VK_INT, 0, .min = 1, .max = LIST_LIMIT_MAX),
    [MQ_OFFSET] = VALID_FIELD("offset", VK_INT, 0, .min = 0, .max = LIST_OFFSET_MAX),
};

static void
order_mine(struct req *r)
{
	struct qs_value vals[MQ__MAX];
	struct qs q;
	mongoc_client_t *client = db_pop();
	struct who who;
	bson_t *filter;

	if (authz(r, client, AUTHZ_CUSTOMER, NULL, &who) != 0 ||
	    valid_query(r, &q, order_mine_query, MQ__MAX, vals) != 0)
		goto done;
	filter = BCON_NEW("user", BCON_OID(&who.id));
	order_list(r, client, filter,
	           vals[MQ_LIMIT].present ? vals[MQ_LIMIT].i : LIST_LIMIT_DEFAULT,
	           vals[MQ_OFFSET].present ? vals[MQ_OFFSET].i : 0);
	bson_destroy(filter);
done:
	db_push(client);
}

/* Newest first; _id (time-ordered) breaks ties. */
static int
order_newest_first(const void *a, const void *b)
{
	const bson_t *x = *(bson_t *const *)a, *y = *(bson_t *const *)b;
	bson_iter_t i, j;
	int64_t tx = 0, ty = 0;
	bson_oid_t ox, oy;

	if (bson_iter_init_find(&i, x, "createdAt") && BSON_ITER_HOLDS_DATE_TIME(&i))
		tx = bson_iter_date_time(&i);
	if (bson_iter_init_find(&j, y, "createdAt") && BSON_ITER_HOLDS_DATE_TIME(&j))
		ty = bson_iter_date_time(&j);
	if (tx != ty)
		return tx < ty ? 1 : -1;
	if (db_doc_oid(x, "_id", &ox) == 0 && db_doc_oid(y, "_id", &oy) == 0)
		return -bson_oid_compare(&ox, &oy);
	return 0;
}

/* What one board request asks for. */
struct board_query {
	const bson_oid_t *branches; /* NULL: every branch (owners) */
	size_t nbranches;
	const char *status;               /* NULL: any */
	char first_day[11], last_day[11]; /* local days, YYYY-MM-DD */
	int64_t limit, offset;
};

/* The filter of one (day, branch) query: equalities only (lib/dbfields.c). */
static void
order_board_filter(bson_t *filter, const struct board_query *q, const char *day, size_t b)
{
	bson_init(filter);
	if (q->branches != NULL)
		BSON_APPEND_OID(filter, "branch", &q->branches[b]);
	BSON_APPEND_UTF8(filter, "localDay", day);
	if (q->status != NULL)
		BSON_APPEND_UTF8(filter, "status", q->status);
}

/*
 * Appends to data the orders of one day at positions [offset, offset +
 * limit) of the whole list; *pos counts every order seen so far. FerretDB
 * decodes every document a filter matches (about 0.3 ms each), counting
 * or not: so a day is read once, and only counted once the page is full.
 */
static int
order_board_day(mongoc_collection_t *coll, const struct board_query *q, const char *day,
                int64_t *pos, json_object *data, bson_error_t *error)
{
	size_t nq = q->branches != NULL ? q->nbranches : 1, ndocs = 0, cap = 0;
	bson_t **docs = NULL;
	int rc = 0;

	if (*pos >= q->offset + q->limit) {
		for (size_t b = 0; b < nq; b++) {
			bson_t filter;
			int64_t n;
			order_board_filter(&filter, q, day, b);
			n = mongoc_collection_count_documents(coll, &filter, NULL, NULL, NULL,
			                                      error);
			bson_destroy(&filter);
			if (n < 0)
				return -1;
			*pos += n;
		}
		return 0;
	}
	for (size_t b = 0; b < nq && rc == 0; b++) {
		bson_t filter;
		mongoc_cursor_t *cursor;
		const bson_t *doc;

		order_board_filter(&filter, q, day, b);
		cursor = mongoc_collection_find_with_opts(coll, &filter, NULL, NULL);
		while (mongoc_cursor_next(cursor, &doc)) {
			if (ndocs == cap) {
				cap = cap ? 2 * cap : 64;
				docs = xrealloc(docs, cap * sizeof(*docs));
			}
			docs[ndocs++] = bson_copy(doc);
		}
		if (mongoc_cursor_error(cursor, error))
			rc = -1;
		mongoc_cursor_destroy(cursor);
		bson_destroy(&filter);
	}
	if (rc == 0) {
		if (ndocs > 1) /* qsort wants a real array, even for none */
			qsort(docs, ndocs, sizeof(*docs), order_newest_first);
		for (size_t i = 0; i < ndocs; i++, (*pos)++) {
			if (*pos >= q->offset && *pos < q->offset + q->limit)
				json_object_array_add(data, order_json(docs[i]));
		}
	}
	for (size_t i = 0; i < ndocs; i++)
		bson_destroy(docs[i]);
	free(docs);
	return rc;
}

/*
 * The board: one query per (local day, branch), newest day first, so the
 * cost follows the orders of the days asked for, never the history
 * (FerretDB sorts and counts in Go whatever the filter matches).
 */
static void
order_board(struct req *r, mongoc_client_t *client, const struct board_query *q)
{
	mongoc_collection_t *coll = db_collection(client, "orders");
	json_object *data = json_object_new_array();
	bson_error_t error;
	int64_t pos = 0;

	for (int64_t d = 0; d <= analytics_day_diff(q->first_day, q->last_day); d++) {
		char day[11];
		analytics_day_add(q->last_day, (int)-d, day);
		if (order_board_day(coll, q, day, &pos, data, &error) != 0) {
			db_answer_error(r, &error);
			json_object_put(data);
			mongoc_collection_destroy(coll);
			return;
		}
	}
	order_respond_page(r, data, pos, q->limit, q->offset);
	mongoc_collection_destroy(coll);
}

/*
 * GET /api/admin/orders?branch&status&from&to&limit&offset (staff): the
 * orders of the local days from..to (default: today; only `to`: that day;
 * only `from`: up to today), at most BOARD_SPAN_MAX days at once.
 */
enum { AQ_BRANCH, AQ_STATUS, AQ_FROM, AQ_TO, AQ_LIMIT, AQ_OFFSET, AQ__MAX };
static const struct valid_field order_admin_query[AQ__MAX] = {
    [AQ_BRANCH] = VALID_FIELD("branch", VK_ID, 0),
    [AQ_STATUS] = VALID_FIELD("status", VK_ENUM, 0, .values = order_statuses),
    [AQ_FROM] = VALID_FIELD("from", VK_LOCALDAY, 0),
    [AQ_TO] = VALID_FIELD("to", VK_LOCALDAY, 0),
    [AQ_LIMIT] = VALID_FIELD("limit", VK_INT, 0, .min = 1, .max = LIST_LIMIT_MAX),
    [AQ_OFFSET] = VALID_FIELD("offset", VK_INT, 0, .min = 0, .max = LIST_OFFSET_MAX),
};

static void
order_admin_list(struct req *r)
{
	struct qs_value v[AQ__MAX];
	struct qs q;
	mongoc_client_t *client = db_pop();
	struct who who;
	struct board_query bq = {0};
	struct tashkent_time today;

	if (authz(r, client, AUTHZ_STAFF, NULL, &who) != 0 ||
	    valid_query(r, &q, order_admin_query, AQ__MAX, v) != 0)
		goto done;
	tashkent_time(db_now_ms(), &today);
	snprintf(bq.last_day, sizeof(bq.last_day), "%s",
	         v[AQ_TO].present ? v[AQ_TO].text : today.day);
	if (v[AQ_FROM].present)
		snprintf(bq.first_day, sizeof(bq.first_day), "%s", v[AQ_FROM].text);
	else
		analytics_day_add(bq.last_day, -(BOARD_DAYS - 1), bq.first_day);
	if (analytics_day_diff(bq.first_day, bq.last_day) >= BOARD_SPAN_MAX) {
		resp_error(r, 400, "from..to may span at most %d days", BOARD_SPAN_MAX);
		goto done;
	}
	if (v[AQ_BRANCH].present) {
		if (!authz_branch(&who, &v[AQ_BRANCH].oid)) {
			resp_error(r, 403, "Not allowed for this branch");
			goto done;
		}
		bq.branches = &v[AQ_BRANCH].oid;
		bq.nbranches = 1;
	} else if (strcmp(who.role, "owner") != 0) {
		/* Everyone but owners sees only their own branches. */
		bq.branches = who.branches;
		bq.nbranches = who.nbranches;
	}
	bq.status = v[AQ_STATUS].present ? v[AQ_STATUS].text : NULL;
	bq.limit = v[AQ_LIMIT].present ? v[AQ_LIMIT].i : LIST_LIMIT_DEFAULT;
	bq.offset = v[AQ_OFFSET].present ? v[AQ_OFFSET].i : 0;
	order_board(r, client, &bq);
done:
	db_push(client);
}

/* ------------------------------------------------------------- status */

/* PUT /api/orders/{id}/status: the body is order_status_schema (lib/order.c). */
static void
order_set_status(struct req *r)
{
	mongoc_client_t *client = db_pop();
	struct order_result res = {0};
	struct valid_error e;
	struct who who;
	json_object *body = NULL;
	const char *to, *message;
	bson_oid_t id;

	if (authz(r, client, AUTHZ_ANY, NULL, &who) != 0)
		goto done;
	body = req_json(r, 4096);
	if (body == NULL)
		goto done;
	if (valid_body(&order_status_schema, body, VALID_CREATE, &e) < 0) {
		valid_answer(r, &e);
		goto done;
	}
	to = valid_get_str(body, "status");
	message = valid_get_str(body, "message");
	if (parse_oid(r->params[0], &id) != 0) {
		resp_error(r, 400, "Malformed order id");
		goto done;
	}
	if (order_change_status(client, &id, to, &who, message, &res) != 0) {
		order_refuse(r, &res);
		if (res.rolled != NULL) {
			resp_finish(r);
			order_announce_rolled(client, &res);
		}
		goto done;
	}
	order_respond(r, 200, res.order);
	order_announce_status_events(client, res.order, message);
	/* Answered before Telegram is tried: no change waits on the Bot API. */
	resp_finish(r);
	order_announce_status_telegram(client, res.order, message);
done:
	order_result_free(&res);
	json_object_put(body);
	db_push(client);
}

static const struct route order_routes[] = {
    {HTTP_POST, "/api/orders", order_create},
    {HTTP_GET, "/api/orders", order_mine},
    {HTTP_GET, "/api/orders/{id}", order_get},
    {HTTP_PUT, "/api/orders/{id}/status", order_set_status},
    {HTTP_GET, "/api/admin/orders", order_admin_list},
};

int
main(int argc, char **argv)
{
	static const struct app app = {
	    .name = "orders",
	    .uses_db = 1,
	    .routes = order_routes,
	    .nroutes = sizeof(order_routes) / sizeof(order_routes[0]),
	};

	return app_main(&app, argc, argv);
}
