/*
 * menu - the public, read-only catalogue customers' apps read: branches,
 * categories, products and product search. Everything answers JSON with
 * an ETag; inactive things are never shown, out-of-stock products are
 * shown with isAvailable: false so a customer sees what exists.
 */
#include <string.h>

#include "oshxona.h"
#include "valid.h"

#define SEARCH_MAX_CHARS 100
#define LIMIT_DEFAULT    20
#define LIMIT_MAX        100
#define OFFSET_MAX       10000

static const char product_fields[] =
    "{\"_id\": 1, \"name\": 1, \"nameRu\": 1, \"description\": 1, "
    "\"descriptionRu\": 1, \"price\": 1, \"categoryId\": 1, \"image\": 1, "
    "\"isAvailable\": 1, \"sortOrder\": 1}";

/* Builds {"projection": fields, "sort": sort, "skip", "limit"}. */
static bson_t *
menu_find_opts(const char *fields, const char *sort, int64_t skip, int64_t limit)
{
	bson_t *opts = bson_new();
	bson_t *proj = bson_new_from_json((const uint8_t *)fields, -1, NULL);
	bson_t *order = sort != NULL ? bson_new_from_json((const uint8_t *)sort, -1, NULL) : NULL;

	BSON_APPEND_DOCUMENT(opts, "projection", proj);
	if (order != NULL)
		BSON_APPEND_DOCUMENT(opts, "sort", order);
	if (skip > 0)
		BSON_APPEND_INT64(opts, "skip", skip);
	if (limit > 0)
		BSON_APPEND_INT64(opts, "limit", limit);
	bson_destroy(proj);
	if (order != NULL)
		bson_destroy(order);
	return opts;
}

/*
 * Runs a find and appends every document to data. Returns 0, or -1 after
 * answering 503/500.
 */
static int
menu_find(struct req *r, mongoc_client_t *client, const char *collection, const bson_t *filter,
          const bson_t *opts, json_object *data)
{
	mongoc_collection_t *coll = db_collection(client, collection);
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	const bson_t *doc;
	bson_error_t error;
	int rc = 0;

	while (mongoc_cursor_next(cur, &doc))
		json_object_array_add(data, json_from_bson(doc));
	if (mongoc_cursor_error(cur, &error)) {
		db_answer_error(r, &error);
		rc = -1;
	}
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(coll);
	return rc;
}

/*
 * The generation the current request's data is read under: taken before
 * any query, so an invalidation during the query keeps its answer out of
 * the cache.
 */
static uint64_t menu_gen;

/*
 * Answers from the cache when it can (query URIs: this child's table; the
 * query-less ones normally never get here, nginx serves their files).
 * Returns 1 when it answered.
 */
static int
menu_cache_hit(struct req *r)
{
	char key[QS_MAX_LEN + 512];
	const char *body;
	size_t len;

	menu_gen = menucache_generation();
	if (r->query[0] == '\0' ||
	    snprintf(key, sizeof(key), "%s?%s", r->path, r->query) >= (int)sizeof(key))
		return 0;
	body = menucache_get(key, &len);
	if (body == NULL)
		return 0;
	resp_body_cached(r, body, len);
	return 1;
}

/* Sends a 200 answer and keeps it: as nginx's file, or in the table. */
static void
menu_answer(struct req *r, json_object *out)
{
	char key[QS_MAX_LEN + 512];
	size_t len;
	const char *s = json_object_to_json_string_length(out, JSON_OUT_FLAGS, &len);

	if (r->query[0] == '\0') {
		char etag[48];
		/* Stored: answer with the ETag nginx will serve the file with. */
		if (menucache_store_file(r->path, s, len, menu_gen) == 1) {
			menucache_file_etag(menu_gen, len, etag, sizeof(etag));
			resp_body_etag(r, s, len, etag);
			return;
		}
	} else if (snprintf(key, sizeof(key), "%s?%s", r->path, r->query) < (int)sizeof(key)) {
		menucache_put(key, s, len, menu_gen);
	}
	resp_body_cached(r, s, len);
}

/* Answers a list from one collection: the shape of branches and categories. */
static void
menu_list(struct req *r, const char *collection, const char *fields, const char *sort)
{
	struct qs_value none[1];
	struct qs q;
	mongoc_client_t *client;
	bson_t *filter, *opts;
	json_object *data, *out;

	if (valid_query(r, &q, NULL, 0, none) != 0)
		return;
	client = db_pop();
	filter = BCON_NEW("isActive", BCON_BOOL(true));
	opts = menu_find_opts(fields, sort, 0, 0);
	data = json_object_new_array();
	out = resp_envelope(data);
	if (menu_find(r, client, collection, filter, opts, data) == 0)
		menu_answer(r, out);
	json_object_put(out);
	bson_destroy(opts);
	bson_destroy(filter);
	db_push(client);
}

/* GET /api/branches */
static void
branches_list(struct req *r)
{
	if (menu_cache_hit(r))
		return;
	menu_list(r, "branches",
	          "{\"_id\": 1, \"name\": 1, \"nameRu\": 1, \"address\": 1, "
	          "\"addressRu\": 1, \"phone\": 1, \"location\": 1, "
	          "\"workingHours\": 1, \"deliveryFee\": 1, \"minOrder\": 1, "
	          "\"isOpen\": 1}",
	          "{\"name\": 1}");
}

/* GET /api/categories */
static void
categories_list(struct req *r)
{
	if (menu_cache_hit(r))
		return;
	menu_list(r, "categories",
	          "{\"_id\": 1, \"name\": 1, \"nameRu\": 1, \"sortOrder\": 1, \"image\": 1}",
	          "{\"sortOrder\": 1, \"name\": 1}");
}

/*
 * Parses the {id} capture; returns 0, or -1 after answering 400.
 */
static int
menu_id(struct req *r, const char *what, bson_oid_t *oid)
{
	if (parse_oid(r->params[0], oid) != 0) {
		resp_error(r, 400, "Malformed %s id: expected 24 hexadecimal digits", what);
		return -1;
	}
	return 0;
}

/* GET /api/categories/{id}/products */
static void
category_products(struct req *r)
{
	if (menu_cache_hit(r))
		return;
	struct qs_value none[1];
	struct qs q;
	mongoc_client_t *client;
	bson_oid_t oid;
	bson_t *filter, *opts;
	json_object *data, *out;

	if (menu_id(r, "category", &oid) != 0 || valid_query(r, &q, NULL, 0, none) != 0)
		return;
	client = db_pop();
	filter = BCON_NEW("_id", BCON_OID(&oid), "isActive", BCON_BOOL(true));
	opts = menu_find_opts("{\"_id\": 1}", NULL, 0, 1);
	data = json_object_new_array();
	out = resp_envelope(data);
	if (menu_find(r, client, "categories", filter, opts, data) != 0)
		goto done;
	if (json_object_array_length(data) == 0) {
		resp_error(r, 404, "Category not found");
		goto done;
	}
	json_object_array_del_idx(data, 0, 1);
	bson_destroy(filter);
	bson_destroy(opts);
	filter = BCON_NEW("categoryId", BCON_OID(&oid), "isActive", BCON_BOOL(true));
	opts = menu_find_opts(product_fields, "{\"sortOrder\": 1, \"name\": 1}", 0, 0);
	if (menu_find(r, client, "products", filter, opts, data) == 0)
		menu_answer(r, out);
done:
	json_object_put(out);
	bson_destroy(opts);
	bson_destroy(filter);
	db_push(client);
}

/* GET /api/products/{id} */
static void
product_get(struct req *r)
{
	if (menu_cache_hit(r))
		return;
	struct qs_value none[1];
	struct qs q;
	mongoc_client_t *client;
	bson_oid_t oid;
	bson_t *filter, *opts;
	json_object *data, *out;

	if (menu_id(r, "product", &oid) != 0 || valid_query(r, &q, NULL, 0, none) != 0)
		return;
	client = db_pop();
	filter = BCON_NEW("_id", BCON_OID(&oid), "isActive", BCON_BOOL(true));
	opts = menu_find_opts(product_fields, NULL, 0, 1);
	data = json_object_new_array();
	if (menu_find(r, client, "products", filter, opts, data) == 0) {
		if (json_object_array_length(data) == 0) {
			resp_error(r, 404, "Product not found");
		} else {
			out = resp_envelope(json_object_get(json_object_array_get_idx(data, 0)));
			menu_answer(r, out);
			json_object_put(out);
		}
	}
	json_object_put(data);
	bson_destroy(opts);
	bson_destroy(filter);
	db_push(client);
}

enum product_param { PP_SEARCH, PP_CATEGORY, PP_LIMIT, PP_OFFSET, PP__MAX };

/* The query products_search accepts; anything else is 400. */
static const struct valid_field product_params[PP__MAX] = {
    [PP_SEARCH] = VALID_FIELD("search", VK_STRING, 0, .min = 0, .max = SEARCH_MAX_CHARS),
    [PP_CATEGORY] = VALID_FIELD("category", VK_ID, 0),
    [PP_LIMIT] = VALID_FIELD("limit", VK_INT, 0, .min = 1, .max = LIMIT_MAX),
    [PP_OFFSET] = VALID_FIELD("offset", VK_INT, 0, .min = 0, .max = OFFSET_MAX),
};

/* GET /api/products?search=&category=&limit=&offset= */
static void
products_search(struct req *r)
{
	if (menu_cache_hit(r))
		return;
	struct qs_value v[PP__MAX];
	struct qs q;
	mongoc_client_t *client;
	mongoc_collection_t *coll;
	bson_t filter;
	bson_t *opts;
	bson_error_t error;
	json_object *data, *out;
	int64_t limit, offset, total;

	if (valid_query(r, &q, product_params, PP__MAX, v) != 0)
		return;
	limit = v[PP_LIMIT].present ? v[PP_LIMIT].i : LIMIT_DEFAULT;
	offset = v[PP_OFFSET].present ? v[PP_OFFSET].i : 0;

	bson_init(&filter);
	BSON_APPEND_BOOL(&filter, "isActive", true);
	if (v[PP_CATEGORY].present)
		BSON_APPEND_OID(&filter, "categoryId", &v[PP_CATEGORY].oid);
	if (v[PP_SEARCH].present)
		search_filter(&filter, v[PP_SEARCH].text);
	out = NULL;
	client = db_pop();
	coll = db_collection(client, "products");
	opts = menu_find_opts(product_fields, "{\"sortOrder\": 1, \"name\": 1, \"_id\": 1}", offset,
	                      limit);
	total = mongoc_collection_count_documents(coll, &filter, NULL, NULL, NULL, &error);
	if (total < 0) {
		db_answer_error(r, &error);
		goto done;
	}
	data = json_object_new_array();
	out = resp_envelope(data);
	json_object_object_add(out, "total", json_object_new_int64(total));
	json_object_object_add(out, "limit", json_object_new_int64(limit));
	json_object_object_add(out, "offset", json_object_new_int64(offset));
	if (menu_find(r, client, "products", &filter, opts, data) == 0)
		menu_answer(r, out);
done:
	json_object_put(out);
	bson_destroy(opts);
	bson_destroy(&filter);
	mongoc_collection_destroy(coll);
	db_push(client);
}

static const struct route menu_routes[] = {
    {HTTP_GET, "/api/branches", branches_list},
    {HTTP_GET, "/api/categories", categories_list},
    {HTTP_GET, "/api/categories/{id}/products", category_products},
    {HTTP_GET, "/api/products", products_search},
    {HTTP_GET, "/api/products/{id}", product_get},
};

int
main(int argc, char **argv)
{
	static const struct app menu = {
	    .name = "menu",
	    .uses_db = 1,
	    .routes = menu_routes,
	    .nroutes = sizeof(menu_routes) / sizeof(menu_routes[0]),
	};

	return app_main(&menu, argc, argv);
}
