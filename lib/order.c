/*
 * order.c - placing an order and moving it through the kitchen, for every
 * caller (the orders program, the Telegram bot): see order.h. The server
 * prices every line from the database; an order is in the database before
 * the caller hears 201; every write that must not be doubled is a claim on
 * a unique key (FACTS.md "Concurrency": order numbers, status versions,
 * idempotency keys), exact on FerretDB and on MongoDB alike.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "oshxona.h"
#include "order.h"
#include "bot.h"
#include "valid.h"

#define IDEM_TTL_MS        ((int64_t)24 * 3600 * 1000)
#define NUMBER_CLAIM_TRIES 1000
#define ROLL_FORWARD_MS    5000 /* a claim this old without its write: claimant died */
/*
 * An idempotency claim's lease: a retry after it takes the claim over. No
 * request holds a claim longer than nginx waits for it (20 s) in practice,
 * but correctness does not depend on this: a taken-over claim keeps its
 * order id, and the orders _id admits one order.
 */
#define ORDER_IDEM_LEASE_MS 10000

/* NULL-terminated: valid.h's enum lists. */
static const char *const order_types[] = {"delivery", "pickup", "dine_in", NULL};
static const char *const payment_methods[] = {"cash", "card", "click", "payme", NULL};
const char *const order_statuses[] = {"pending",    "confirmed", "preparing", "ready",
                                      "delivering", "completed", "cancelled", NULL};

/* ------------------------------------------------------------- helpers */

int
order_status_valid(const char *s)
{
	return valid_enum_index(s, order_statuses) >= 0;
}

int
order_type_valid(const char *s)
{
	return valid_enum_index(s, order_types) >= 0;
}

int
order_payment_valid(const char *s)
{
	return valid_enum_index(s, payment_methods) >= 0;
}

void
order_result_free(struct order_result *res)
{
	if (res->order != NULL)
		bson_destroy(res->order);
	res->order = NULL;
	if (res->rolled != NULL)
		bson_destroy(res->rolled);
	res->rolled = NULL;
}

/* Sets a refusal; always returns -1 so callers can `return order_fail(...)`. */
static int __attribute__((format(printf, 4, 5)))
order_fail(struct order_result *res, int status, enum order_reason reason, const char *fmt, ...)
{
	va_list ap;

	res->status = status;
	res->reason = reason;
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
	va_end(ap);
	return -1;
}

/* A failed database call: 503 when it cannot be reached, else 500; logged once. */
static int
order_db_fail(struct order_result *res, const bson_error_t *error)
{
	if (db_error_is_unavailable(error)) {
		log_warn("database unavailable: %s", error->message);
		return order_fail(res, 503, ORDER_DB_UNAVAILABLE,
		                  "Database unavailable, try again shortly");
	}
	log_error("database: %s", error->message);
	return order_fail(res, 500, ORDER_DB_ERROR, "Database error");
}

static void
order_result_init(struct order_result *res)
{
	memset(res, 0, sizeof(*res));
}

static void
order_delete(mongoc_client_t *client, const char *collection, const bson_t *filter)
{
	mongoc_collection_t *coll = db_collection(client, collection);
	bson_error_t error;

	if (!mongoc_collection_delete_one(coll, filter, NULL, NULL, &error))
		log_warn("cleanup in %s failed: %s", collection, error.message);
	mongoc_collection_destroy(coll);
}

/* --------------------------------------------------------- validation */

/*
 * The body of POST /api/orders, declared once (lib/valid.h). Both ways in
 * go through it: order_input_from_json checks the API's body against it,
 * and order_input_check turns an input built in C (the bot) into the same
 * JSON and checks that, so the two can never disagree.
 */

/*
 * A client's idea of a price or total: a whole number of so'm. Refused
 * with 400, as before the table (a number the client believes, not a
 * value out of some range it chose), hence a rule over the whole int64.
 */
static int
order_som_rule(json_object *v, const char *path, struct valid_error *e)
{
	int64_t n = json_object_get_int64(v);

	if (n < 0 || n == INT64_MAX)
		return valid_fail(e, 400, path, "%s must be an integer number of so'm", path);
	return 0;
}

enum { OL_PRODUCT, OL_QUANTITY, OL_NOTES, OL_PRICE, OL_NAME, OL__MAX };
static const struct valid_field order_line_fields[OL__MAX] = {
    [OL_PRODUCT] = VALID_FIELD("productId", VK_ID, VALID_REQUIRED),
    [OL_QUANTITY] = VALID_FIELD("quantity", VK_INT, VALID_REQUIRED, .min = 1, .max = ORDER_QTY_MAX),
    [OL_NOTES] = VALID_FIELD("notes", VK_TEXT, VALID_NULLABLE, .min = 0, .max = ORDER_NOTES_MAX),
    /* What the client believes the price is: checked against ours, never used. */
    [OL_PRICE] =
        VALID_FIELD("price", VK_INT, 0, .min = INT64_MIN, .max = INT64_MAX, .rule = order_som_rule),
    /* The name the client shows; accepted and ignored (the stored name is ours). */
    [OL_NAME] = VALID_FIELD("name", VK_TEXT, VALID_NULLABLE, .min = 0, .max = ORDER_NAME_MAX),
};
static const struct valid_schema order_line_schema = VALID_SCHEMA(order_line_fields);

/* What each order type needs besides the common fields (the body's rule). */
static int
order_type_rule(json_object *body, const char *path, struct valid_error *e)
{
	const char *type = valid_get_str(body, "orderType");

	(void)path;
	if (type == NULL) /* required: only a patch could lack it */
		return 0;
	if (strcmp(type, "delivery") == 0) {
		if (!valid_has(body, "address") && !valid_has(body, "location"))
			return valid_fail(e, 422, "address",
			                  "address or location is required for delivery");
		if (!valid_has(body, "phone"))
			return valid_fail(e, 422, "phone", "phone is required for delivery");
	}
	if (strcmp(type, "dine_in") == 0 && !valid_has(body, "tableNumber"))
		return valid_fail(e, 422, "tableNumber", "tableNumber is required for dine_in");
	return 0;
}

enum {
	OF_ITEMS,
	OF_TYPE,
	OF_PAYMENT,
	OF_BRANCH,
	OF_ADDRESS,
	OF_LOCATION,
	OF_PHONE,
	OF_COMMENT,
	OF_TABLE,
	OF_TOTAL,
	OF__MAX
};
static const struct valid_field order_fields[OF__MAX] = {
    [OF_ITEMS] = VALID_FIELD("items", VK_ARRAY, VALID_REQUIRED, .min = 1, .max = ORDER_ITEMS_MAX,
                             .schema = &order_line_schema),
    [OF_TYPE] = VALID_FIELD("orderType", VK_ENUM, VALID_REQUIRED, .values = order_types),
    [OF_PAYMENT] = VALID_FIELD("paymentMethod", VK_ENUM, VALID_REQUIRED, .values = payment_methods),
    [OF_BRANCH] = VALID_FIELD("branchId", VK_ID, VALID_REQUIRED),
    /* Text, not one line: an address may be typed over several. */
    [OF_ADDRESS] =
        VALID_FIELD("address", VK_TEXT, VALID_NULLABLE, .min = 5, .max = ORDER_ADDRESS_MAX),
    [OF_LOCATION] = VALID_FIELD("location", VK_LOCATION, VALID_NULLABLE),
    [OF_PHONE] = VALID_FIELD("phone", VK_PHONE, VALID_NULLABLE),
    [OF_COMMENT] =
        VALID_FIELD("comment", VK_TEXT, VALID_NULLABLE, .min = 0, .max = ORDER_COMMENT_MAX),
    [OF_TABLE] =
        VALID_FIELD("tableNumber", VK_INT, VALID_NULLABLE, .min = 1, .max = ORDER_TABLE_MAX),
    /* What the client believes the total is: checked against ours, never used. */
    [OF_TOTAL] =
        VALID_FIELD("total", VK_INT, 0, .min = INT64_MIN, .max = INT64_MAX, .rule = order_som_rule),
};
const struct valid_schema order_body_schema = VALID_SCHEMA_RULE(order_fields, order_type_rule);

/* status: one of the seven, else 422 (the status flow's own refusal). */
static int
order_status_rule(json_object *v, const char *path, struct valid_error *e)
{
	char list[160];

	if (!order_status_valid(json_object_get_string(v)))
		return valid_fail(e, 422, path, "%s must be one of %s", path,
		                  valid_enum_list(order_statuses, list, sizeof(list)));
	return 0;
}

enum { OS_STATUS, OS_MESSAGE, OS__MAX };
static const struct valid_field order_status_fields[OS__MAX] = {
    [OS_STATUS] = VALID_FIELD("status", VK_STRING, VALID_REQUIRED, .min = 0, .max = 32,
                              .rule = order_status_rule),
    [OS_MESSAGE] =
        VALID_FIELD("message", VK_TEXT, VALID_NULLABLE, .min = 0, .max = ORDER_MESSAGE_MAX),
};
const struct valid_schema order_status_schema = VALID_SCHEMA(order_status_fields);

/* A refusal of the checker as the library's result (400 or 422). */
static int
order_refused(struct order_result *res, const struct valid_error *e)
{
	return order_fail(res, e->status != 0 ? e->status : 400, ORDER_INVALID, "%s", e->message);
}

int
order_idempotency_key_ok(const char *key)
{
	size_t n = strlen(key);
	int ok = n >= 1 && n <= ORDER_IDEM_KEY_MAX;

	for (size_t i = 0; ok && i < n; i++)
		ok = key[i] > 0x20 && key[i] < 0x7f;
	return ok;
}

int
order_input_from_json(json_object *body, struct order_input *in, struct order_result *res)
{
	struct valid_error e;
	json_object *items;
	size_t n;

	memset(in, 0, sizeof(*in));
	if (valid_body(&order_body_schema, body, VALID_CREATE, &e) < 0)
		return order_refused(res, &e);
	/* Checked: every read below finds what the table promised. */
	items = valid_get_array(body, "items", &n);
	for (size_t i = 0; i < n; i++) {
		json_object *it = json_object_array_get_idx(items, i);
		struct order_input_line *l = &in->items[i];

		valid_get_id(it, "productId", &l->product);
		l->quantity = valid_get_int(it, "quantity", 0);
		l->notes = valid_get_str(it, "notes");
		l->has_price = valid_has(it, "price");
		l->price = valid_get_int(it, "price", 0);
	}
	in->nitems = n;
	in->order_type = valid_get_str(body, "orderType");
	in->payment_method = valid_get_str(body, "paymentMethod");
	valid_get_id(body, "branchId", &in->branch);
	in->address = valid_get_str(body, "address");
	in->has_location = valid_get_location(body, "location", &in->lat, &in->lng) == 0;
	in->phone = valid_get_str(body, "phone");
	in->comment = valid_get_str(body, "comment");
	in->table_number = valid_get_int(body, "tableNumber", 0);
	in->has_total = valid_has(body, "total");
	in->total = valid_get_int(body, "total", 0);
	return 0;
}

static void
order_add_str(json_object *o, const char *key, const char *s)
{
	if (s != NULL)
		json_object_object_add(o, key, json_object_new_string(s));
}

static void
order_add_oid(json_object *o, const char *key, const bson_oid_t *id)
{
	char hex[25];

	bson_oid_to_string(id, hex);
	json_object_object_add(o, key, json_object_new_string(hex));
}

/*
 * An input built in C as the body that would have asked for it. Lines
 * past ORDER_ITEMS_MAX (the struct holds no more) are nulls, so the
 * table's count refuses them.
 */
static json_object *
order_input_json(const struct order_input *in)
{
	json_object *o = json_object_new_object(), *items = json_object_new_array();

	for (size_t i = 0; i < in->nitems && i <= ORDER_ITEMS_MAX; i++) {
		const struct order_input_line *l = &in->items[i];
		json_object *it;

		if (i == ORDER_ITEMS_MAX) {
			json_object_array_add(items, NULL);
			break;
		}
		it = json_object_new_object();
		order_add_oid(it, "productId", &l->product);
		json_object_object_add(it, "quantity", json_object_new_int64(l->quantity));
		order_add_str(it, "notes", l->notes);
		if (l->has_price)
			json_object_object_add(it, "price", json_object_new_int64(l->price));
		json_object_array_add(items, it);
	}
	json_object_object_add(o, "items", items);
	order_add_str(o, "orderType", in->order_type);
	order_add_str(o, "paymentMethod", in->payment_method);
	order_add_oid(o, "branchId", &in->branch);
	order_add_str(o, "address", in->address);
	if (in->has_location) {
		json_object *loc = json_object_new_object();
		json_object_object_add(loc, "lat", json_object_new_double(in->lat));
		json_object_object_add(loc, "lng", json_object_new_double(in->lng));
		json_object_object_add(o, "location", loc);
	}
	order_add_str(o, "phone", in->phone);
	order_add_str(o, "comment", in->comment);
	/* 0 is the struct's "absent"; any other value is the client's. */
	if (in->table_number != 0)
		json_object_object_add(o, "tableNumber", json_object_new_int64(in->table_number));
	if (in->has_total)
		json_object_object_add(o, "total", json_object_new_int64(in->total));
	return o;
}

int
order_input_check(const struct order_input *in, struct order_result *res)
{
	json_object *body = order_input_json(in);
	struct valid_error e;
	int rc = valid_body(&order_body_schema, body, VALID_CREATE, &e);

	json_object_put(body);
	if (rc < 0)
		return order_refused(res, &e);
	if (in->idempotency_key != NULL && !order_idempotency_key_ok(in->idempotency_key))
		return order_fail(res, 400, ORDER_INVALID,
		                  "Idempotency-Key must be 1..%d visible ASCII characters",
		                  ORDER_IDEM_KEY_MAX);
	return 0;
}

/* The change order_change_status is asked for, against order_status_schema. */
static int
order_status_check(const char *to, const char *message, struct order_result *res)
{
	json_object *body = json_object_new_object();
	struct valid_error e;
	int rc;

	order_add_str(body, "status", to);
	order_add_str(body, "message", message);
	rc = valid_body(&order_status_schema, body, VALID_CREATE, &e);
	json_object_put(body);
	return rc < 0 ? order_refused(res, &e) : 0;
}

/* ------------------------------------------------------------- create */

/* A product as priced at order time. */
struct priced {
	bson_oid_t id;
	char name[256];
	char name_ru[256];
	int64_t price;
	int active;
	int available;
	int found;
};

/*
 * Loads the products of the order. Returns 0, or -1 with res set: 409
 * naming products that are unknown, hidden or out of stock (the customer
 * can drop them from the cart), 503/500 on a database error.
 */
static int
order_price_lines(mongoc_client_t *client, const struct order_input *in, struct priced *p,
                  struct order_result *res)
{
	char missing[1024] = "";
	size_t used = 0;

	/* Only what pricing needs: a product's searchPrefixes alone are ~2 KB. */
	static bson_t *price_fields;
	if (price_fields == NULL)
		price_fields = BCON_NEW("projection", "{", "name", BCON_INT32(1), "nameRu",
		                        BCON_INT32(1), "price", BCON_INT32(1), "isActive",
		                        BCON_INT32(1), "isAvailable", BCON_INT32(1), "}");
	/*
	 * One lookup by _id per distinct product: FerretDB answers an _id
	 * equality from its primary key, but scans the whole collection for
	 * an $in (measured: 0.5 ms against 19 ms for the demo menu).
	 */
	for (size_t i = 0; i < in->nitems; i++) {
		bson_t *filter, *doc = NULL;
		bson_error_t error;
		size_t k;
		int rc;

		memset(&p[i], 0, sizeof(p[i]));
		bson_oid_copy(&in->items[i].product, &p[i].id);
		for (k = 0; k < i && !bson_oid_equal(&p[k].id, &p[i].id); k++)
			;
		if (k < i) {
			p[i] = p[k];
			continue;
		}
		filter = BCON_NEW("_id", BCON_OID(&p[i].id));
		rc = db_find_one(client, "products", filter, price_fields, &doc, &error);
		bson_destroy(filter);
		if (rc < 0)
			return order_db_fail(res, &error);
		if (rc == 0)
			continue;
		p[i].found = 1;
		p[i].price = db_doc_int(doc, "price", -1);
		p[i].active = db_doc_bool(doc, "isActive");
		p[i].available = db_doc_bool(doc, "isAvailable");
		snprintf(p[i].name, sizeof(p[i].name), "%s",
		         db_doc_utf8(doc, "name") ? db_doc_utf8(doc, "name") : "");
		snprintf(p[i].name_ru, sizeof(p[i].name_ru), "%s",
		         db_doc_utf8(doc, "nameRu") ? db_doc_utf8(doc, "nameRu") : "");
		bson_destroy(doc);
	}

	for (size_t i = 0; i < in->nitems; i++) {
		char hex[25];
		int n;
		if (p[i].found && p[i].active && p[i].available && p[i].price >= 0)
			continue;
		bson_oid_to_string(&p[i].id, hex);
		n = snprintf(missing + used, sizeof(missing) - used, "%s%s", used ? ", " : "",
		             p[i].found ? p[i].name : hex);
		if (n > 0 && (size_t)n < sizeof(missing) - used)
			used += (size_t)n;
	}
	if (used > 0)
		return order_fail(res, 409, ORDER_UNAVAILABLE, "Not available now: %s", missing);
	return 0;
}

/*
 * What an order request asks for, as a hash: the same Idempotency-Key
 * with a different request is refused rather than answered with the first
 * order. Taken over the parsed input (BSON appended in a fixed order), so
 * spacing or key order in the JSON body does not matter.
 */
static void
order_input_hash(const struct order_input *in, char out[2 * SHA256_LEN + 1])
{
	bson_t b = BSON_INITIALIZER;
	unsigned char h[SHA256_LEN];

	for (size_t i = 0; i < in->nitems; i++) {
		BSON_APPEND_OID(&b, "p", &in->items[i].product);
		BSON_APPEND_INT64(&b, "q", in->items[i].quantity);
		BSON_APPEND_UTF8(&b, "n", in->items[i].notes ? in->items[i].notes : "\x1e");
		BSON_APPEND_INT64(&b, "c", in->items[i].has_price ? in->items[i].price : -1);
	}
	BSON_APPEND_UTF8(&b, "t", in->order_type ? in->order_type : "");
	BSON_APPEND_UTF8(&b, "m", in->payment_method ? in->payment_method : "");
	BSON_APPEND_OID(&b, "b", &in->branch);
	BSON_APPEND_UTF8(&b, "a", in->address ? in->address : "\x1e");
	BSON_APPEND_BOOL(&b, "l", in->has_location);
	BSON_APPEND_DOUBLE(&b, "x", in->has_location ? in->lat : 0);
	BSON_APPEND_DOUBLE(&b, "y", in->has_location ? in->lng : 0);
	BSON_APPEND_UTF8(&b, "f", in->phone ? in->phone : "\x1e");
	BSON_APPEND_UTF8(&b, "o", in->comment ? in->comment : "\x1e");
	BSON_APPEND_INT64(&b, "d", in->table_number);
	BSON_APPEND_INT64(&b, "s", in->has_total ? in->total : -1);
	sha256(bson_get_data(&b), b.len, h);
	hex_encode(h, SHA256_LEN, out);
	bson_destroy(&b);
}

/*
 * Takes over a claim whose lease ran out: its request died (killed, or
 * the database went away) before storing the order. Conditional on the
 * owner the claim had; on FerretDB two retries may both win that update,
 * which is harmless: they store the claim's one order id, and the orders
 * _id lets only one of them in. Returns 1 taken, 0 someone else took it,
 * -1 with res set to a database error.
 */
static int
order_take_over(mongoc_client_t *client, const char *claim_id, const bson_t *claim,
                const char *owner, int64_t now, struct order_result *res)
{
	mongoc_collection_t *coll = db_collection(client, "idempotency_keys");
	const char *was = db_doc_utf8(claim, "owner");
	bson_t *filter, *update, reply;
	bson_error_t error;
	bson_iter_t it;
	int rc = -1;

	filter = was != NULL ? BCON_NEW("_id", BCON_UTF8(claim_id), "owner", BCON_UTF8(was))
	                     : BCON_NEW("_id", BCON_UTF8(claim_id), "owner", "{", "$exists",
	                                BCON_BOOL(false), "}");
	update = BCON_NEW("$set", "{", "owner", BCON_UTF8(owner), "leaseUntil",
	                  BCON_DATE_TIME(now + ORDER_IDEM_LEASE_MS), "}");
	if (!mongoc_collection_update_one(coll, filter, update, NULL, &reply, &error))
		order_db_fail(res, &error);
	else
		rc =
		    bson_iter_init_find(&it, &reply, "matchedCount") && bson_iter_as_int64(&it) > 0;
	if (rc >= 0)
		log_warn("idempotency key %s: %s", claim_id,
		         rc ? "lease ran out, taken over" : "taken over by another retry");
	bson_destroy(&reply);
	bson_destroy(update);
	bson_destroy(filter);
	mongoc_collection_destroy(coll);
	return rc;
}

/*
 * Claims the idempotency key for this user: {_id: "<user>:<key>", order,
 * owner, leaseUntil, bodyHash}. Returns 1 claimed (go on, storing the
 * order under *order_id, which a take-over replaces with the claim's);
 * 0 with res holding the first request's order (200, replayed), 409
 * while that request's lease runs, or 422 for a different request under
 * the same key; -1 with res set to a database error.
 */
static int
order_claim_idempotency(mongoc_client_t *client, const bson_oid_t *user,
                        const struct order_input *in, bson_oid_t *order_id, char *claim_id,
                        size_t claim_len, const char *owner, struct order_result *res)
{
	char uhex[25], hash[2 * SHA256_LEN + 1];
	int64_t now = db_now_ms(), lease;
	bson_t *doc, *filter, *found = NULL, *order = NULL;
	const char *was_hash;
	bson_error_t error;
	bson_iter_t it;
	bson_oid_t first;
	int rc;

	order_input_hash(in, hash);
	bson_oid_to_string(user, uhex);
	snprintf(claim_id, claim_len, "%s:%s", uhex, in->idempotency_key);
	doc = BCON_NEW("_id", BCON_UTF8(claim_id), "order", BCON_OID(order_id), "owner",
	               BCON_UTF8(owner), "bodyHash", BCON_UTF8(hash), "createdAt",
	               BCON_DATE_TIME(now), "leaseUntil", BCON_DATE_TIME(now + ORDER_IDEM_LEASE_MS),
	               "expiresAt", BCON_DATE_TIME(now + IDEM_TTL_MS));
	rc = db_insert(client, "idempotency_keys", doc, &error);
	bson_destroy(doc);
	if (rc == 0)
		return 1;
	if (!db_error_is_duplicate(&error))
		return order_db_fail(res, &error);
	/* A retry: answer with the first request's order. */
	filter = BCON_NEW("_id", BCON_UTF8(claim_id));
	rc = db_find_one(client, "idempotency_keys", filter, NULL, &found, &error);
	bson_destroy(filter);
	if (rc < 0)
		return order_db_fail(res, &error);
	if (rc == 0) {
		/* Released between our insert and this read: the client tries again. */
		order_fail(res, 409, ORDER_IN_PROGRESS,
		           "A request with this Idempotency-Key is still in progress");
		return 0;
	}
	was_hash = db_doc_utf8(found, "bodyHash");
	if (was_hash != NULL && strcmp(was_hash, hash) != 0) {
		bson_destroy(found);
		order_fail(res, 422, ORDER_KEY_REUSED,
		           "This Idempotency-Key was used for a different order");
		return 0;
	}
	if (db_doc_oid(found, "order", &first) == 0) {
		filter = BCON_NEW("_id", BCON_OID(&first));
		rc = db_find_one(client, "orders", filter, NULL, &order, &error);
		bson_destroy(filter);
		if (rc < 0) {
			bson_destroy(found);
			return order_db_fail(res, &error);
		}
	}
	if (order != NULL) {
		bson_destroy(found);
		res->status = 200;
		res->reason = ORDER_OK;
		res->replayed = 1;
		res->order = order;
		return 0;
	}
	/* Claims from before leases: createdAt + the lease. */
	lease = 0;
	if (bson_iter_init_find(&it, found, "leaseUntil") && BSON_ITER_HOLDS_DATE_TIME(&it))
		lease = bson_iter_date_time(&it);
	else if (bson_iter_init_find(&it, found, "createdAt") && BSON_ITER_HOLDS_DATE_TIME(&it))
		lease = bson_iter_date_time(&it) + ORDER_IDEM_LEASE_MS;
	rc = 0;
	if (lease <= now && db_doc_oid(found, "order", &first) == 0)
		rc = order_take_over(client, claim_id, found, owner, now, res);
	bson_destroy(found);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		order_fail(res, 409, ORDER_IN_PROGRESS,
		           "A request with this Idempotency-Key is still in progress");
		return 0;
	}
	bson_oid_copy(&first, order_id);
	return 1;
}

/*
 * Where to start looking for the branch's next number: the hint document
 * order_counters {_id: branch, last}. It is read by _id (FerretDB scans a
 * collection for any other query, sort included: 21 ms at 720 claims and
 * growing) and may lag behind under concurrent writers, which only costs
 * a few extra claim attempts: the claim, not the hint, decides. Returns
 * the hinted last number (0 for none), or -1 on error.
 */
static int64_t
order_number_hint(mongoc_client_t *client, const bson_oid_t *branch, bson_error_t *error)
{
	bson_t *filter = BCON_NEW("_id", BCON_OID(branch)), *doc = NULL;
	int rc = db_find_one(client, "order_counters", filter, NULL, &doc, error);
	int64_t n = rc == 1 ? db_doc_int(doc, "last", 0) : rc;

	if (doc != NULL)
		bson_destroy(doc);
	bson_destroy(filter);
	return n;
}

/* Moves the hint up to n (never down); losing this write is harmless. */
static void
order_number_hint_set(mongoc_client_t *client, const bson_oid_t *branch, int64_t n)
{
	mongoc_collection_t *coll = db_collection(client, "order_counters");
	bson_t *filter = BCON_NEW("_id", BCON_OID(branch), "last", "{", "$lt", BCON_INT64(n), "}");
	bson_t *update = BCON_NEW("$set", "{", "last", BCON_INT64(n), "}");
	bson_t *opts = BCON_NEW("upsert", BCON_BOOL(true));
	bson_error_t error;

	/* A hint already >= n makes the upsert collide on _id: fine. */
	if (!mongoc_collection_update_one(coll, filter, update, opts, NULL, &error) &&
	    !db_error_is_duplicate(&error))
		log_warn("order number hint: %s", error.message);
	bson_destroy(opts);
	bson_destroy(update);
	bson_destroy(filter);
	mongoc_collection_destroy(coll);
}

/*
 * Claims the next human order number of the branch: an insert under the
 * unique _id "<branch>:<n>"; when a racing request took n, try n + 1.
 * Returns the number, or -1 (error set).
 */
static int64_t
order_claim_number(mongoc_client_t *client, const bson_oid_t *branch, const bson_oid_t *order,
                   bson_error_t *error)
{
	char bhex[25], id[48];
	int64_t n = order_number_hint(client, branch, error);

	bson_oid_to_string(branch, bhex);
	for (int tries = 0; n >= 0 && tries < NUMBER_CLAIM_TRIES; tries++) {
		bson_t *doc;
		int rc;

		n++;
		snprintf(id, sizeof(id), "%s:%lld", bhex, (long long)n);
		doc = BCON_NEW("_id", BCON_UTF8(id), "branch", BCON_OID(branch), "number",
		               BCON_INT64(n), "order", BCON_OID(order), "at",
		               BCON_DATE_TIME(db_now_ms()));
		rc = db_insert(client, "order_numbers", doc, error);
		bson_destroy(doc);
		if (rc == 0) {
			order_number_hint_set(client, branch, n);
			return n;
		}
		if (!db_error_is_duplicate(error))
			return -1;
		/* Every 8 collisions, catch up with the hint others left. */
		if (tries % 8 == 7) {
			int64_t hint = order_number_hint(client, branch, error);
			if (hint < 0)
				return -1;
			if (hint > n)
				n = hint;
		}
	}
	if (n >= 0)
		bson_set_error(error, 0, 0, "no free order number after %d tries",
		               NUMBER_CLAIM_TRIES);
	return -1;
}

json_object *
order_summary(const bson_t *order)
{
	static const char *const keep[] = {"_id",       "number",        "status",       "version",
	                                   "orderType", "paymentMethod", "total",        "items",
	                                   "customer",  "tableNumber",   "address",      "phone",
	                                   "createdAt", "updatedAt",     "paymentStatus"};

	return json_from_bson_pick(order, keep, sizeof(keep) / sizeof(keep[0]), NULL);
}

/*
 * The active branch of in, if it takes orders now. Returns 0 with *branch
 * set (the caller's), or -1 with res set (422 no such branch, 422 closed,
 * 500/503).
 */
static int
order_open_branch(mongoc_client_t *client, const bson_oid_t *id, int64_t now, bson_t **branch,
                  struct order_result *res)
{
	bson_t *filter = BCON_NEW("_id", BCON_OID(id), "isActive", BCON_BOOL(true));
	bson_error_t error;
	bson_iter_t it;
	bson_t hours;
	int rc, open;

	rc = db_find_one(client, "branches", filter, NULL, branch, &error);
	bson_destroy(filter);
	if (rc < 0)
		return order_db_fail(res, &error);
	if (rc == 0)
		return order_fail(res, 422, ORDER_NO_BRANCH, "branchId names no open branch");
	open = db_doc_bool(*branch, "isOpen");
	if (open && bson_iter_init_find(&it, *branch, "workingHours") &&
	    BSON_ITER_HOLDS_DOCUMENT(&it)) {
		const uint8_t *data;
		uint32_t len;
		bson_iter_document(&it, &len, &data);
		bson_init_static(&hours, data, len);
		open = tashkent_is_open(&hours, now);
	}
	if (!open) {
		bson_destroy(*branch);
		*branch = NULL;
		return order_fail(res, 422, ORDER_BRANCH_CLOSED, "The branch is closed now");
	}
	return 0;
}

/* What the server priced: each line (in->items' order), their sum, the fee. */
struct priced_order {
	const struct priced *lines;
	int64_t subtotal, fee;
};

/* What makes the document this order: its id, the branch's number, when. */
struct order_stamp {
	bson_oid_t id;
	int64_t number;
	int64_t now;
};

/*
 * Prices in against the products loaded in p and the branch: a client's
 * line price or total must be ours (409), a delivery must reach the
 * branch's minimum (422). Returns 0 with *po filled, or -1 with res set.
 */
static int
order_price_check(const struct order_input *in, const struct priced *p, const bson_t *branch,
                  struct priced_order *po, struct order_result *res)
{
	int64_t min_order;

	po->lines = p;
	po->subtotal = po->fee = 0;
	for (size_t i = 0; i < in->nitems; i++) {
		if (in->items[i].has_price && in->items[i].price != p[i].price)
			return order_fail(res, 409, ORDER_PRICE_CHANGED,
			                  "The price of %s is now %lld so'm", p[i].name,
			                  (long long)p[i].price);
		po->subtotal += p[i].price * in->items[i].quantity;
	}
	if (strcmp(in->order_type, "delivery") == 0) {
		po->fee = db_doc_int(branch, "deliveryFee", 0);
		min_order = db_doc_int(branch, "minOrder", 0);
		if (po->subtotal < min_order)
			return order_fail(res, 422, ORDER_MIN_ORDER,
			                  "The minimum order for delivery is %lld so'm",
			                  (long long)min_order);
	}
	if (in->has_total && in->total != po->subtotal + po->fee)
		return order_fail(res, 409, ORDER_PRICE_CHANGED, "The total is now %lld so'm",
		                  (long long)(po->subtotal + po->fee));
	return 0;
}

/*
 * The order document as stored, into out (initialized, empty): the
 * request's choices, the server's prices, who placed it (user: their
 * users document, or NULL) and its stamp. The one place its shape is
 * written (the board, analytics and payments read it).
 */
static void
order_build_document(const struct order_input *in, const struct priced_order *po,
                     const struct order_stamp *st, const struct who *who, const bson_t *user,
                     bson_t *order)
{
	const struct priced *p = po->lines;
	bson_t arr, line, hist, entry, sub;
	struct tashkent_time lt;
	bson_iter_t it;
	char hkey[24];

	tashkent_time(st->now, &lt);
	BSON_APPEND_OID(order, "_id", &st->id);
	BSON_APPEND_INT64(order, "number", st->number);
	BSON_APPEND_OID(order, "branch", &in->branch);
	BSON_APPEND_OID(order, "user", &who->id);
	BSON_APPEND_DOCUMENT_BEGIN(order, "customer", &sub);
	if (user != NULL) {
		BSON_APPEND_UTF8(&sub, "firstName",
		                 db_doc_utf8(user, "firstName") ? db_doc_utf8(user, "firstName")
		                                                : "");
		BSON_APPEND_UTF8(&sub, "language",
		                 db_doc_utf8(user, "language") ? db_doc_utf8(user, "language")
		                                               : "uz");
		if (bson_iter_init_find(&it, user, "telegramId"))
			BSON_APPEND_INT64(&sub, "telegramId", bson_iter_as_int64(&it));
	}
	bson_append_document_end(order, &sub);
	BSON_APPEND_ARRAY_BEGIN(order, "items", &arr);
	for (size_t i = 0; i < in->nitems; i++) {
		snprintf(hkey, sizeof(hkey), "%zu", i);
		BSON_APPEND_DOCUMENT_BEGIN(&arr, hkey, &line);
		BSON_APPEND_OID(&line, "productId", &p[i].id);
		BSON_APPEND_UTF8(&line, "name", p[i].name);
		BSON_APPEND_UTF8(&line, "nameRu", p[i].name_ru);
		BSON_APPEND_INT64(&line, "price", p[i].price);
		BSON_APPEND_INT64(&line, "quantity", in->items[i].quantity);
		BSON_APPEND_INT64(&line, "total", p[i].price * in->items[i].quantity);
		if (in->items[i].notes != NULL)
			BSON_APPEND_UTF8(&line, "notes", in->items[i].notes);
		bson_append_document_end(&arr, &line);
	}
	bson_append_array_end(order, &arr);
	BSON_APPEND_INT64(order, "subtotal", po->subtotal);
	BSON_APPEND_INT64(order, "deliveryFee", po->fee);
	BSON_APPEND_INT64(order, "total", po->subtotal + po->fee);
	BSON_APPEND_UTF8(order, "orderType", in->order_type);
	BSON_APPEND_UTF8(order, "paymentMethod", in->payment_method);
	BSON_APPEND_UTF8(order, "paymentStatus", "pending");
	if (in->address != NULL)
		BSON_APPEND_UTF8(order, "address", in->address);
	if (in->has_location) {
		BSON_APPEND_DOCUMENT_BEGIN(order, "location", &sub);
		BSON_APPEND_DOUBLE(&sub, "lat", in->lat);
		BSON_APPEND_DOUBLE(&sub, "lng", in->lng);
		bson_append_document_end(order, &sub);
	}
	if (in->phone != NULL)
		BSON_APPEND_UTF8(order, "phone", in->phone);
	if (in->comment != NULL)
		BSON_APPEND_UTF8(order, "comment", in->comment);
	if (in->table_number > 0)
		BSON_APPEND_INT64(order, "tableNumber", in->table_number);
	BSON_APPEND_UTF8(order, "status", "pending");
	BSON_APPEND_INT64(order, "version", 0);
	BSON_APPEND_ARRAY_BEGIN(order, "statusHistory", &hist);
	BSON_APPEND_DOCUMENT_BEGIN(&hist, "0", &entry);
	BSON_APPEND_UTF8(&entry, "status", "pending");
	BSON_APPEND_NULL(&entry, "message");
	BSON_APPEND_DATE_TIME(&entry, "timestamp", st->now);
	BSON_APPEND_OID(&entry, "updatedBy", &who->id);
	bson_append_document_end(&hist, &entry);
	bson_append_array_end(order, &hist);
	BSON_APPEND_UTF8(order, "localDay", lt.day);
	BSON_APPEND_INT32(order, "localHour", lt.hour);
	if (in->idempotency_key != NULL)
		BSON_APPEND_UTF8(order, "idempotencyKey", in->idempotency_key);
	BSON_APPEND_DATE_TIME(order, "createdAt", st->now);
	BSON_APPEND_DATE_TIME(order, "updatedAt", st->now);
}

int
order_place(mongoc_client_t *client, const struct order_input *in, const struct who *who,
            struct order_result *res)
{
	struct priced *p = NULL;
	bson_t *filter = NULL, *branch = NULL, *user = NULL, *order = NULL;
	bson_error_t error;
	bson_oid_t order_id;
	char claim_id[200] = "", owner[17];
	int64_t now = db_now_ms();
	struct priced_order po;
	struct order_stamp st;
	int rc;

	order_result_init(res);
	if (order_input_check(in, res) != 0)
		return -1;
	/*
	 * The key first: a retry whose first answer was lost gets that order
	 * back even if the branch closed or a price changed since. Every
	 * refusal after this point releases the key (label release).
	 */
	bson_oid_init(&order_id, NULL);
	if (in->idempotency_key != NULL) {
		random_hex(owner, 8);
		rc = order_claim_idempotency(client, &who->id, in, &order_id, claim_id,
		                             sizeof(claim_id), owner, res);
		if (rc <= 0)
			return res->replayed ? 0 : -1;
	}

	if (order_open_branch(client, &in->branch, now, &branch, res) != 0)
		goto release;
	p = xcalloc(in->nitems, sizeof(*p));
	if (order_price_lines(client, in, p, res) != 0 ||
	    order_price_check(in, p, branch, &po, res) != 0)
		goto release;

	/* The customer's name and language for the board and the messages. */
	filter = BCON_NEW("_id", BCON_OID(&who->id));
	rc = db_find_one(client, "users", filter, NULL, &user, &error);
	bson_destroy(filter);
	filter = NULL;
	if (rc < 0) {
		order_db_fail(res, &error);
		goto release;
	}

	st.number = order_claim_number(client, &in->branch, &order_id, &error);
	if (st.number < 0) {
		order_db_fail(res, &error);
		goto release;
	}

	order = bson_new();
	bson_oid_copy(&order_id, &st.id);
	st.now = now;
	order_build_document(in, &po, &st, who, user, order);
	/* Acknowledged (w: majority on MongoDB) before the caller hears 201. */
	if (db_insert(client, "orders", order, &error) != 0) {
		bson_destroy(order);
		/*
		 * Only a taken-over claim's order id can be there already: the
		 * first request came back to life and stored it. One order.
		 */
		if (db_error_is_duplicate(&error) && claim_id[0] != '\0') {
			filter = BCON_NEW("_id", BCON_OID(&order_id));
			order = NULL;
			rc = db_find_one(client, "orders", filter, NULL, &order, &error);
			bson_destroy(filter);
			filter = NULL;
			if (rc == 1) {
				res->status = 200;
				res->reason = ORDER_OK;
				res->replayed = 1;
				res->order = order;
				goto done;
			}
		}
		order_db_fail(res, &error);
		goto release;
	}
	res->status = 201;
	res->reason = ORDER_OK;
	res->order = order;
	goto done;

release:
	/*
	 * The request failed after claiming its key: let a retry try again
	 * (if this delete fails too, the lease lets it in later).
	 */
	if (claim_id[0] != '\0') {
		filter = BCON_NEW("_id", BCON_UTF8(claim_id), "owner", BCON_UTF8(owner));
		order_delete(client, "idempotency_keys", filter);
		bson_destroy(filter);
	}
done:
	if (branch != NULL)
		bson_destroy(branch);
	if (user != NULL)
		bson_destroy(user);
	free(p);
	return res->status == 201 || res->replayed ? 0 : -1;
}

void
order_announce_placed(mongoc_client_t *client, const bson_t *order)
{
	json_object *summary = order_summary(order), *ev;
	char bhex[25], ohex[25], uhex[25];
	bson_oid_t branch, id, user;
	bson_iter_t it, sub;
	const char *language = NULL;
	int64_t number = db_doc_int(order, "number", 0);
	char *text;

	if (db_doc_oid(order, "branch", &branch) == 0) {
		bson_oid_to_string(&branch, bhex);
		notify_publish(client, "branch", bhex, "new-order", summary);
	}
	json_object_put(summary);
	/* The branch's staff chat in Telegram, through the bot's worker. */
	bot_job_new_order(client, order);
	/* The customer's other open pages learn of it too (the seed did so). */
	if (db_doc_oid(order, "_id", &id) != 0 || db_doc_oid(order, "user", &user) != 0)
		return;
	if (bson_iter_init_find(&it, order, "customer") && BSON_ITER_HOLDS_DOCUMENT(&it) &&
	    bson_iter_recurse(&it, &sub) && bson_iter_find(&sub, "language") &&
	    BSON_ITER_HOLDS_UTF8(&sub))
		language = bson_iter_utf8(&sub, NULL);
	text = telegram_status_text(language, number, "pending", NULL);
	ev = json_object_new_object();
	bson_oid_to_string(&id, ohex);
	bson_oid_to_string(&user, uhex);
	json_object_object_add(ev, "orderId", json_object_new_string(ohex));
	json_object_object_add(ev, "number", json_object_new_int64(number));
	json_object_object_add(ev, "status", json_object_new_string("pending"));
	json_object_object_add(ev, "message", json_object_new_string(text));
	notify_publish(client, "user", uhex, "status-updated", ev);
	json_object_put(ev);
	free(text);
}

/* ---------------------------------------------------------------- read */

int
order_load(mongoc_client_t *client, const bson_oid_t *id, const struct who *who,
           struct order_result *res)
{
	bson_oid_t owner, branch;
	bson_t *filter, *order = NULL;
	bson_error_t error;
	int rc;

	order_result_init(res);
	filter = BCON_NEW("_id", BCON_OID(id));
	rc = db_find_one(client, "orders", filter, NULL, &order, &error);
	bson_destroy(filter);
	if (rc < 0)
		return order_db_fail(res, &error);
	if (rc == 1 && who->kind == WHO_CUSTOMER && db_doc_oid(order, "user", &owner) == 0 &&
	    bson_oid_equal(&owner, &who->id))
		goto found;
	if (rc == 1 && who->kind == WHO_STAFF && db_doc_oid(order, "branch", &branch) == 0) {
		if (authz_branch(who, &branch))
			goto found;
		order_fail(res, 403, ORDER_FORBIDDEN, "This order belongs to another branch");
	} else {
		order_fail(res, 404, ORDER_NOT_FOUND, "Order not found");
	}
	if (order != NULL)
		bson_destroy(order);
	return -1;
found:
	res->status = 200;
	res->order = order;
	return 0;
}

/* ------------------------------------------------------------- status */

/* 1 when the kitchen flow allows from -> to for this order type. */
static int
order_transition_ok(const char *from, const char *to, const char *order_type)
{
	static const char *const flow[] = {"pending", "confirmed", "preparing", "ready"};
	int delivery = strcmp(order_type, "delivery") == 0;

	if (strcmp(to, "cancelled") == 0)
		return strcmp(from, "completed") != 0 && strcmp(from, "cancelled") != 0;
	for (size_t i = 0; i + 1 < sizeof(flow) / sizeof(flow[0]); i++) {
		if (strcmp(from, flow[i]) == 0)
			return strcmp(to, flow[i + 1]) == 0;
	}
	if (strcmp(from, "ready") == 0)
		return strcmp(to, delivery ? "delivering" : "completed") == 0;
	if (strcmp(from, "delivering") == 0)
		return strcmp(to, "completed") == 0;
	return 0;
}

/*
 * Writes the claimed change into the order. Every writer of one version
 * writes the same values, so a roll-forward racing the claimant is
 * harmless: statusHistory is set whole, never pushed.
 */
static int
order_apply(mongoc_client_t *client, const bson_t *order, int64_t version, const char *to,
            const char *message, const bson_oid_t *by, int64_t at, int *modified,
            bson_error_t *error)
{
	bson_t reply;
	mongoc_collection_t *coll = db_collection(client, "orders");
	bson_t filter = BSON_INITIALIZER, update = BSON_INITIALIZER, set, hist, entry;
	bson_iter_t it, h;
	bson_oid_t id;
	size_t n = 0;
	char k[24];
	bool ok;

	db_doc_oid(order, "_id", &id);
	BSON_APPEND_OID(&filter, "_id", &id);
	BSON_APPEND_INT64(&filter, "version", version - 1);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	BSON_APPEND_UTF8(&set, "status", to);
	BSON_APPEND_INT64(&set, "version", version);
	BSON_APPEND_DATE_TIME(&set, "updatedAt", at);
	BSON_APPEND_ARRAY_BEGIN(&set, "statusHistory", &hist);
	if (bson_iter_init_find(&it, order, "statusHistory") && BSON_ITER_HOLDS_ARRAY(&it) &&
	    bson_iter_recurse(&it, &h)) {
		while (bson_iter_next(&h)) {
			snprintf(k, sizeof(k), "%zu", n++);
			bson_append_iter(&hist, k, -1, &h);
		}
	}
	snprintf(k, sizeof(k), "%zu", n);
	BSON_APPEND_DOCUMENT_BEGIN(&hist, k, &entry);
	BSON_APPEND_UTF8(&entry, "status", to);
	if (message != NULL)
		BSON_APPEND_UTF8(&entry, "message", message);
	else
		BSON_APPEND_NULL(&entry, "message");
	BSON_APPEND_DATE_TIME(&entry, "timestamp", at);
	BSON_APPEND_OID(&entry, "updatedBy", by);
	bson_append_document_end(&hist, &entry);
	bson_append_array_end(&set, &hist);
	bson_append_document_end(&update, &set);
	ok = mongoc_collection_update_one(coll, &filter, &update, NULL, &reply, error);
	if (modified != NULL)
		*modified = ok && bson_iter_init_find(&it, &reply, "modifiedCount") &&
		            bson_iter_as_int64(&it) > 0;
	bson_destroy(&reply);
	bson_destroy(&update);
	bson_destroy(&filter);
	mongoc_collection_destroy(coll);
	return ok ? 0 : -1;
}

static int order_apply_payment(mongoc_client_t *client, const bson_t *order, const bson_t *ev,
                               bson_error_t *error);

/*
 * A claim exists for version but the order still shows version - 1: if
 * the claim is old, its claimant died between claim and write; finish its
 * write so the order is not stuck forever. Returns the order as completed
 * (the caller's, to announce), or NULL when nothing was written here.
 */
static bson_t *
order_roll_forward(mongoc_client_t *client, const bson_t *order, const char *event_id,
                   int64_t version)
{
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(event_id)), *ev = NULL, *fresh = NULL;
	bson_error_t error;
	bson_iter_t it;
	bson_oid_t by, id;
	int modified = 0;

	if (db_find_one(client, "order_events", filter, NULL, &ev, &error) == 1 &&
	    bson_iter_init_find(&it, ev, "at") && BSON_ITER_HOLDS_DATE_TIME(&it) &&
	    db_now_ms() - bson_iter_date_time(&it) > ROLL_FORWARD_MS && db_doc_utf8(ev, "to") &&
	    db_doc_oid(ev, "byId", &by) == 0) {
		log_warn("rolling forward %s left half-done by its claimant", event_id);
		if (order_apply(client, order, version, db_doc_utf8(ev, "to"),
		                db_doc_utf8(ev, "message"), &by, bson_iter_date_time(&it),
		                &modified, &error) != 0)
			log_error("roll forward %s: %s", event_id, error.message);
	}
	/* A payment's write (order_record_payment) is in its event whole. */
	if (ev != NULL && db_doc_utf8(ev, "kind") != NULL &&
	    strcmp(db_doc_utf8(ev, "kind"), "payment") == 0 && bson_iter_init_find(&it, ev, "at") &&
	    BSON_ITER_HOLDS_DATE_TIME(&it) &&
	    db_now_ms() - bson_iter_date_time(&it) > ROLL_FORWARD_MS) {
		log_warn("rolling forward payment %s left half-done by its claimant", event_id);
		if (order_apply_payment(client, order, ev, &error) != 0)
			log_error("roll forward %s: %s", event_id, error.message);
	}
	/*
	 * The claimant died before announcing: whoever completed its write
	 * announces it (issue 12), once the write is there to read back.
	 */
	if (modified && db_doc_oid(order, "_id", &id) == 0) {
		bson_destroy(filter);
		filter = BCON_NEW("_id", BCON_OID(&id));
		if (db_find_one(client, "orders", filter, NULL, &fresh, &error) < 0)
			log_warn("rolled forward %s, not announced: %s", event_id, error.message);
	}
	if (ev != NULL)
		bson_destroy(ev);
	bson_destroy(filter);
	return fresh;
}

/* The status announcements: the Nchan events, the Telegram message, or both. */
static void
order_announce_status_parts(mongoc_client_t *client, const bson_t *order, const char *message,
                            int events, int telegram)
{
	json_object *summary = order_summary(order), *ev;
	char bhex[25], uhex[25], ohex[25];
	bson_oid_t branch, user, id;
	bson_iter_t it, sub;
	const char *language = "uz", *status = db_doc_utf8(order, "status");
	int64_t chat = 0, number = db_doc_int(order, "number", 0);
	char *text;

	db_doc_oid(order, "_id", &id);
	bson_oid_to_string(&id, ohex);
	if (events && db_doc_oid(order, "branch", &branch) == 0) {
		bson_oid_to_string(&branch, bhex);
		notify_publish(client, "branch", bhex, "order-updated", summary);
	}
	if (bson_iter_init_find(&it, order, "customer") && BSON_ITER_HOLDS_DOCUMENT(&it) &&
	    bson_iter_recurse(&it, &sub)) {
		while (bson_iter_next(&sub)) {
			if (strcmp(bson_iter_key(&sub), "language") == 0 &&
			    BSON_ITER_HOLDS_UTF8(&sub))
				language = bson_iter_utf8(&sub, NULL);
			else if (strcmp(bson_iter_key(&sub), "telegramId") == 0)
				chat = bson_iter_as_int64(&sub);
		}
	}
	text = telegram_status_text(language, number, status, message);
	if (events && db_doc_oid(order, "user", &user) == 0) {
		bson_oid_to_string(&user, uhex);
		ev = json_object_new_object();
		json_object_object_add(ev, "orderId", json_object_new_string(ohex));
		json_object_object_add(ev, "number", json_object_new_int64(number));
		json_object_object_add(ev, "status", json_object_new_string(status));
		json_object_object_add(ev, "message", json_object_new_string(text));
		notify_publish(client, "user", uhex, "status-updated", ev);
		json_object_put(ev);
	}
	if (telegram && chat != 0)
		notify_telegram(client, chat, text);
	free(text);
	json_object_put(summary);
}

void
order_announce_status(mongoc_client_t *client, const bson_t *order, const char *message)
{
	order_announce_status_parts(client, order, message, 1, 1);
}

void
order_announce_status_events(mongoc_client_t *client, const bson_t *order, const char *message)
{
	order_announce_status_parts(client, order, message, 1, 0);
}

void
order_announce_status_telegram(mongoc_client_t *client, const bson_t *order, const char *message)
{
	order_announce_status_parts(client, order, message, 0, 1);
}

void
order_announce_rolled(mongoc_client_t *client, const struct order_result *res)
{
	bson_iter_t it, h, e;
	const char *message = NULL;

	if (res->rolled == NULL)
		return;
	/* The change's own message: the last statusHistory entry's. */
	if (bson_iter_init_find(&it, res->rolled, "statusHistory") && BSON_ITER_HOLDS_ARRAY(&it) &&
	    bson_iter_recurse(&it, &h)) {
		while (bson_iter_next(&h)) {
			message = NULL;
			if (BSON_ITER_HOLDS_DOCUMENT(&h) && bson_iter_recurse(&h, &e) &&
			    bson_iter_find(&e, "message") && BSON_ITER_HOLDS_UTF8(&e))
				message = bson_iter_utf8(&e, NULL);
		}
	}
	order_announce_status(client, res->rolled, message);
}

int
order_change_status(mongoc_client_t *client, const bson_oid_t *id, const char *to,
                    const struct who *who, const char *message, struct order_result *res)
{
	bson_t *order = NULL, *event = NULL, *filter = NULL, *fresh = NULL;
	const char *from, *type;
	char ohex[25], event_id[48];
	int64_t version, now = db_now_ms();
	bson_error_t error;

	order_result_init(res);
	if (order_status_check(to, message, res) != 0)
		return -1;
	if (order_load(client, id, who, res) != 0)
		return -1;
	order = res->order;
	res->order = NULL;
	res->status = 0;
	from = db_doc_utf8(order, "status");
	type = db_doc_utf8(order, "orderType");
	version = db_doc_int(order, "version", 0);
	if (who->kind == WHO_CUSTOMER && strcmp(to, "cancelled") != 0) {
		order_fail(res, 403, ORDER_FORBIDDEN, "Customers may only cancel their orders");
		goto done;
	}
	if (who->kind == WHO_CUSTOMER && strcmp(from ? from : "", "pending") != 0) {
		order_fail(res, 409, ORDER_CONFLICT,
		           "The order is %s already; call the branch to cancel it", from);
		goto done;
	}
	if (from == NULL || type == NULL || !order_transition_ok(from, to, type)) {
		order_fail(res, 409, ORDER_CONFLICT, "The order is %s; it cannot become %s",
		           from ? from : "?", to);
		goto done;
	}

	/* The claim: exactly one writer gets version + 1 (FACTS.md). */
	bson_oid_to_string(id, ohex);
	snprintf(event_id, sizeof(event_id), "%s:%lld", ohex, (long long)(version + 1));
	event = BCON_NEW("_id", BCON_UTF8(event_id), "order", BCON_OID(id), "version",
	                 BCON_INT64(version + 1), "from", BCON_UTF8(from), "to", BCON_UTF8(to),
	                 "byKind", BCON_UTF8(who->kind == WHO_STAFF ? "staff" : "customer"), "byId",
	                 BCON_OID(&who->id), "at", BCON_DATE_TIME(now));
	if (message != NULL)
		BSON_APPEND_UTF8(event, "message", message);
	if (db_insert(client, "order_events", event, &error) != 0) {
		if (!db_error_is_duplicate(&error)) {
			order_db_fail(res, &error);
			goto done;
		}
		res->rolled = order_roll_forward(client, order, event_id, version + 1);
		order_fail(res, 409, ORDER_CONFLICT,
		           "The order was changed by someone else; reload it");
		goto done;
	}
	if (order_apply(client, order, version + 1, to, message, &who->id, now, NULL, &error) !=
	    0) {
		/* The claim stands; a later change rolls it forward. */
		order_db_fail(res, &error);
		goto done;
	}
	filter = BCON_NEW("_id", BCON_OID(id));
	if (db_find_one(client, "orders", filter, NULL, &fresh, &error) != 1) {
		order_fail(res, 500, ORDER_DB_ERROR,
		           "The order changed but could not be read back");
		goto done;
	}
	res->status = 200;
	res->reason = ORDER_OK;
	res->order = fresh;
done:
	if (filter != NULL)
		bson_destroy(filter);
	if (event != NULL)
		bson_destroy(event);
	bson_destroy(order);
	return res->status == 200 ? 0 : -1;
}

/* ------------------------------------------------------------ payments */

#define PAYMENT_WRITE_TRIES 12

/*
 * Writes a claimed payment event into the order: what the event says,
 * and a statusHistory entry when it changes the status. Every writer of
 * one version writes the same values (claimant or roll-forward).
 */
static int
order_apply_payment(mongoc_client_t *client, const bson_t *order, const bson_t *ev,
                    bson_error_t *error)
{
	mongoc_collection_t *coll;
	bson_t filter = BSON_INITIALIZER, update = BSON_INITIALIZER, set, hist, entry;
	const char *from = db_doc_utf8(order, "status"), *to = db_doc_utf8(ev, "to");
	int64_t version = db_doc_int(ev, "version", 0), at = 0;
	bson_iter_t it, h;
	bson_oid_t id;
	size_t n = 0;
	char k[24];
	bool ok;

	if (bson_iter_init_find(&it, ev, "at") && BSON_ITER_HOLDS_DATE_TIME(&it))
		at = bson_iter_date_time(&it);
	db_doc_oid(order, "_id", &id);
	BSON_APPEND_OID(&filter, "_id", &id);
	BSON_APPEND_INT64(&filter, "version", version - 1);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	BSON_APPEND_UTF8(&set, "paymentStatus",
	                 db_doc_utf8(ev, "paymentStatus") ? db_doc_utf8(ev, "paymentStatus") : "");
	if (bson_iter_init_find(&it, ev, "payment") && BSON_ITER_HOLDS_DOCUMENT(&it))
		bson_append_iter(&set, "payment", -1, &it);
	BSON_APPEND_INT64(&set, "version", version);
	BSON_APPEND_DATE_TIME(&set, "updatedAt", at);
	if (to != NULL && from != NULL && strcmp(to, from) != 0) {
		BSON_APPEND_UTF8(&set, "status", to);
		BSON_APPEND_ARRAY_BEGIN(&set, "statusHistory", &hist);
		if (bson_iter_init_find(&it, order, "statusHistory") &&
		    BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &h)) {
			while (bson_iter_next(&h)) {
				snprintf(k, sizeof(k), "%zu", n++);
				bson_append_iter(&hist, k, -1, &h);
			}
		}
		snprintf(k, sizeof(k), "%zu", n);
		BSON_APPEND_DOCUMENT_BEGIN(&hist, k, &entry);
		BSON_APPEND_UTF8(&entry, "status", to);
		if (db_doc_utf8(ev, "message") != NULL)
			BSON_APPEND_UTF8(&entry, "message", db_doc_utf8(ev, "message"));
		else
			BSON_APPEND_NULL(&entry, "message");
		BSON_APPEND_DATE_TIME(&entry, "timestamp", at);
		BSON_APPEND_NULL(&entry, "updatedBy");
		bson_append_document_end(&hist, &entry);
		bson_append_array_end(&set, &hist);
	}
	bson_append_document_end(&update, &set);
	coll = db_collection(client, "orders");
	ok = mongoc_collection_update_one(coll, &filter, &update, NULL, NULL, error);
	mongoc_collection_destroy(coll);
	bson_destroy(&update);
	bson_destroy(&filter);
	return ok ? 0 : -1;
}

/* One round: 1 written, 0 nothing to do, 2 lost the version, -1 error. */
static int
order_payment_round(mongoc_client_t *client, const bson_t *order, order_payment_decide decide,
                    void *arg, bson_error_t *error)
{
	struct order_payment p = {0};
	const char *from = db_doc_utf8(order, "status");
	int64_t version = db_doc_int(order, "version", 0);
	char ohex[25], event_id[48];
	bson_t event = BSON_INITIALIZER;
	bson_oid_t id;
	int rc;

	bson_init(&p.payment);
	rc = decide(client, order, arg, &p, error);
	if (rc != 1)
		goto done;
	db_doc_oid(order, "_id", &id);
	bson_oid_to_string(&id, ohex);
	snprintf(event_id, sizeof(event_id), "%s:%lld", ohex, (long long)(version + 1));
	BSON_APPEND_UTF8(&event, "_id", event_id);
	BSON_APPEND_OID(&event, "order", &id);
	BSON_APPEND_INT64(&event, "version", version + 1);
	BSON_APPEND_UTF8(&event, "kind", "payment");
	BSON_APPEND_UTF8(&event, "from", from ? from : "");
	BSON_APPEND_UTF8(&event, "to", p.status ? p.status : (from ? from : ""));
	BSON_APPEND_UTF8(&event, "paymentStatus", p.payment_status ? p.payment_status : "");
	BSON_APPEND_DOCUMENT(&event, "payment", &p.payment);
	if (p.message != NULL)
		BSON_APPEND_UTF8(&event, "message", p.message);
	BSON_APPEND_UTF8(&event, "byKind", p.by_kind ? p.by_kind : "payment");
	BSON_APPEND_DATE_TIME(&event, "at", db_now_ms());
	if (db_insert(client, "order_events", &event, error) != 0) {
		if (!db_error_is_duplicate(error)) {
			rc = -1;
			goto done;
		}
		order_roll_forward(client, order, event_id, version + 1);
		rc = 2;
		goto done;
	}
	rc = order_apply_payment(client, order, &event, error) == 0 ? 1 : -1;
done:
	bson_destroy(&event);
	bson_destroy(&p.payment);
	return rc;
}

int
order_record_payment(mongoc_client_t *client, const bson_oid_t *id, order_payment_decide decide,
                     void *arg, struct order_result *res)
{
	bson_t *filter = BCON_NEW("_id", BCON_OID(id)), *order = NULL;
	bson_error_t error;
	int rc = 2;

	order_result_init(res);
	for (int tries = 0; rc == 2 && tries < PAYMENT_WRITE_TRIES; tries++) {
		if (tries > 0) {
			/*
			 * Someone claimed the next version first; until they have
			 * written the order a re-read shows the old version: wait
			 * 5 ms, doubling to 80 ms, then read it again.
			 */
			struct timespec ts = {0,
			                      (long)(5 << (tries < 5 ? tries - 1 : 4)) * 1000000L};
			nanosleep(&ts, NULL);
		}
		rc = db_find_one(client, "orders", filter, NULL, &order, &error);
		if (rc < 0) {
			order_db_fail(res, &error);
			goto done;
		}
		if (rc == 0) {
			order_fail(res, 404, ORDER_NOT_FOUND, "Order not found");
			goto done;
		}
		rc = order_payment_round(client, order, decide, arg, &error);
		bson_destroy(order);
		order = NULL;
	}
	switch (rc) {
	case 0:
		res->status = 204;
		break;
	case 1:
		if (db_find_one(client, "orders", filter, NULL, &res->order, &error) != 1) {
			order_fail(res, 500, ORDER_DB_ERROR,
			           "The order changed but could not be read back");
			break;
		}
		res->status = 200;
		break;
	case 2:
		order_fail(res, 409, ORDER_CONFLICT, "The order keeps changing; try again");
		break;
	default:
		order_db_fail(res, &error);
		break;
	}
done:
	if (order != NULL)
		bson_destroy(order);
	bson_destroy(filter);
	return res->status == 200 || res->status == 204 ? 0 : -1;
}
