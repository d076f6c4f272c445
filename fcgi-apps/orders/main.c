/*
 * orders - the HTTP face of lib/order.c: place an order, read orders, move
 * an order through the kitchen. Each handler turns the request into the
 * library's input, calls it, answers with its result, and only then
 * announces the change (Nchan events, Telegram), so no client waits on
 * those and none of them can fail the request.
 */
#include <ctype.h>
#include <string.h>

#include "oshxona.h"
#include "order.h"

#define ORDER_BODY_MAX     (32 * 1024)
#define LIST_LIMIT_DEFAULT 20
#define LIST_LIMIT_MAX     100

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
	json_object *o = json_object_new_object();

	json_object_object_add(o, "success", json_object_new_boolean(1));
	json_object_object_add(o, "data", order_json(order));
	resp_header(r, "Cache-Control", "no-store");
	resp_json(r, status, o);
	json_object_put(o);
}

/* A refusal of the library as {"success": false, "message"}. */
static void
order_refuse(struct req *r, const struct order_result *res)
{
	resp_error(r, res->status, "%s", res->message);
}

/* ------------------------------------------------------------- create */

/* POST /api/orders */
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

/* Runs filter with paging and answers {"data", "total", "limit", "offset"}. */
static void
order_list(struct req *r, mongoc_client_t *client, const bson_t *filter, int64_t limit,
           int64_t offset)
{
	mongoc_collection_t *coll = db_collection(client, "orders");
	bson_t *opts = BCON_NEW("sort", "{", "createdAt", BCON_INT32(-1), "}", "skip",
	                        BCON_INT64(offset), "limit", BCON_INT64(limit));
	mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	json_object *o, *data = json_object_new_array();
	const bson_t *doc;
	bson_error_t error;
	int64_t total;

	while (mongoc_cursor_next(cursor, &doc))
		json_object_array_add(data, order_json(doc));
	if (mongoc_cursor_error(cursor, &error) ||
	    (total = mongoc_collection_count_documents(coll, filter, NULL, NULL, NULL, &error)) <
	        0) {
		db_answer_error(r, &error);
		json_object_put(data);
	} else {
		o = json_object_new_object();
		json_object_object_add(o, "success", json_object_new_boolean(1));
		json_object_object_add(o, "data", data);
		json_object_object_add(o, "total", json_object_new_int64(total));
		json_object_object_add(o, "limit", json_object_new_int64(limit));
		json_object_object_add(o, "offset", json_object_new_int64(offset));
		resp_header(r, "Cache-Control", "no-store");
		resp_json(r, 200, o);
		json_object_put(o);
	}
	mongoc_cursor_destroy(cursor);
	bson_destroy(opts);
	mongoc_collection_destroy(coll);
}

/* GET /api/orders?limit&offset: the customer's own, newest first. */
static void
order_mine(struct req *r)
{
	static const struct qs_field fields[] = {
	    {"limit", QS_INT, 1, LIST_LIMIT_MAX},
	    {"offset", QS_INT, 0, 10000},
	};
	struct qs_value vals[2];
	struct qs q;
	char err[160];
	mongoc_client_t *client = db_pop();
	struct who who;
	bson_t *filter;

	if (authz(r, client, AUTHZ_CUSTOMER, NULL, &who) != 0)
		goto done;
	if (qs_parse(r->query, &q, err, sizeof(err)) != 0 ||
	    qs_validate(&q, fields, 2, vals, err, sizeof(err)) != 0) {
		resp_error(r, 400, "%s", err);
		goto done;
	}
	filter = BCON_NEW("user", BCON_OID(&who.id));
	order_list(r, client, filter, vals[0].present ? vals[0].i : LIST_LIMIT_DEFAULT,
	           vals[1].present ? vals[1].i : 0);
	bson_destroy(filter);
done:
	db_push(client);
}

/* "YYYY-MM-DD" exactly. */
static int
order_is_day(const char *s)
{
	static const char shape[] = "dddd-dd-dd";

	if (strlen(s) != sizeof(shape) - 1)
		return 0;
	for (size_t i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != '-')
			return 0;
	}
	return 1;
}

/* GET /api/admin/orders?branch&status&from&to&limit&offset (staff). */
static void
order_admin_list(struct req *r)
{
	enum { F_BRANCH, F_STATUS, F_FROM, F_TO, F_LIMIT, F_OFFSET, F__MAX };
	static const struct qs_field fields[F__MAX] = {
	    [F_BRANCH] = {"branch", QS_OID, 0, 0},
	    [F_STATUS] = {"status", QS_TEXT, 1, 16},
	    [F_FROM] = {"from", QS_TEXT, 10, 10},
	    [F_TO] = {"to", QS_TEXT, 10, 10},
	    [F_LIMIT] = {"limit", QS_INT, 1, LIST_LIMIT_MAX},
	    [F_OFFSET] = {"offset", QS_INT, 0, 10000},
	};
	struct qs_value v[F__MAX];
	struct qs q;
	char err[160];
	mongoc_client_t *client = db_pop();
	struct who who;
	bson_t filter, in, arr, day;

	bson_init(&filter);
	if (authz(r, client, AUTHZ_STAFF, NULL, &who) != 0)
		goto done;
	if (qs_parse(r->query, &q, err, sizeof(err)) != 0 ||
	    qs_validate(&q, fields, F__MAX, v, err, sizeof(err)) != 0) {
		resp_error(r, 400, "%s", err);
		goto done;
	}
	if (v[F_STATUS].present && !order_status_valid(v[F_STATUS].text)) {
		resp_error(r, 400,
		           "status must be one of pending, confirmed, preparing, ready, "
		           "delivering, completed, cancelled");
		goto done;
	}
	if ((v[F_FROM].present && !order_is_day(v[F_FROM].text)) ||
	    (v[F_TO].present && !order_is_day(v[F_TO].text))) {
		resp_error(r, 400, "from and to must be local days, YYYY-MM-DD");
		goto done;
	}
	if (v[F_BRANCH].present) {
		if (!authz_branch(&who, &v[F_BRANCH].oid)) {
			resp_error(r, 403, "Not allowed for this branch");
			goto done;
		}
		BSON_APPEND_OID(&filter, "branch", &v[F_BRANCH].oid);
	} else if (strcmp(who.role, "owner") != 0) {
		/* Everyone but owners sees only their own branches. */
		BSON_APPEND_DOCUMENT_BEGIN(&filter, "branch", &in);
		BSON_APPEND_ARRAY_BEGIN(&in, "$in", &arr);
		for (size_t i = 0; i < who.nbranches; i++) {
			char k[24];
			snprintf(k, sizeof(k), "%zu", i);
			BSON_APPEND_OID(&arr, k, &who.branches[i]);
		}
		bson_append_array_end(&in, &arr);
		bson_append_document_end(&filter, &in);
	}
	if (v[F_STATUS].present)
		BSON_APPEND_UTF8(&filter, "status", v[F_STATUS].text);
	if (v[F_FROM].present || v[F_TO].present) {
		BSON_APPEND_DOCUMENT_BEGIN(&filter, "localDay", &day);
		if (v[F_FROM].present)
			BSON_APPEND_UTF8(&day, "$gte", v[F_FROM].text);
		if (v[F_TO].present)
			BSON_APPEND_UTF8(&day, "$lte", v[F_TO].text);
		bson_append_document_end(&filter, &day);
	}
	order_list(r, client, &filter, v[F_LIMIT].present ? v[F_LIMIT].i : LIST_LIMIT_DEFAULT,
	           v[F_OFFSET].present ? v[F_OFFSET].i : 0);
done:
	bson_destroy(&filter);
	db_push(client);
}

/* ------------------------------------------------------------- status */

/* PUT /api/orders/{id}/status {status, message?} */
static void
order_set_status(struct req *r)
{
	mongoc_client_t *client = db_pop();
	struct order_result res = {0};
	struct who who;
	json_object *body = NULL, *v;
	const char *to, *message = NULL;
	bson_oid_t id;

	if (authz(r, client, AUTHZ_ANY, NULL, &who) != 0)
		goto done;
	body = req_json(r, 4096);
	if (body == NULL)
		goto done;
	json_object_object_foreach(body, key, val)
	{
		(void)val;
		if (strcmp(key, "status") != 0 && strcmp(key, "message") != 0) {
			resp_error(r, 400, "%s is not a known field", key);
			goto done;
		}
	}
	to = json_get_string(body, "status");
	if (to == NULL) {
		resp_error(r, 400, "status must be a string");
		goto done;
	}
	if (json_object_object_get_ex(body, "message", &v) &&
	    !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_string)) {
			resp_error(r, 400, "message must be a string");
			goto done;
		}
		message = json_object_get_string(v);
	}
	if (parse_oid(r->params[0], &id) != 0) {
		resp_error(r, 400, "Malformed order id");
		goto done;
	}
	if (order_change_status(client, &id, to, &who, message, &res) != 0) {
		order_refuse(r, &res);
		goto done;
	}
	order_respond(r, 200, res.order);
	order_announce_status(client, res.order, message);
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
