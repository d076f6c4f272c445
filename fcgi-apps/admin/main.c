/*
 * admin - the catalogue as staff edit it: products (any staff member: the
 * menu is chain-wide), categories (owners), branches (owners create and
 * delete them; the owner or the staff of a branch edit its settings).
 *
 * Every body is checked against the resource's declared table (bodies.c,
 * lib/valid.h) before anything reaches the database. The three resources
 * share one path for create, get, update and delete, driven by a struct
 * resource (admin.h): what differs is in its hooks. Deleting is soft
 * (isActive false, deletedAt), so orders keep pointing at what they sold.
 *
 * Writes name only the fields the request names ($set): FerretDB runs no
 * update atomically and a whole document written back from a stale read
 * would undo a concurrent edit of another field (FACTS.md, "Concurrency");
 * for the catalogue the last writer of a field wins. After every
 * acknowledged write the menu's caches are dropped (menucache_invalidate)
 * before the answer goes out, so the very next public request reads the
 * database, and storefronts hear "menu-updated" on the channel menu/all.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"

#define SEARCH_MAX_CHARS   100
#define LIST_LIMIT_DEFAULT 50
#define LIST_LIMIT_MAX     100
#define LIST_OFFSET_MAX    100000

/* ------------------------------------------------------------ database */

/* The document with _id id; *out is a copy (the caller's). 1 found, 0 not, -1 error. */
static int
admin_find_id(mongoc_client_t *client, const char *collection, const bson_oid_t *id, bson_t **out,
              bson_error_t *error)
{
	bson_t *filter = BCON_NEW("_id", BCON_OID(id));
	int rc = db_find_one(client, collection, filter, NULL, out, error);

	bson_destroy(filter);
	return rc;
}

/*
 * Loads the document the path's {id} names into *out (the caller's).
 * Returns 0, or -1 after answering 400 (malformed id), 404 or 503/500.
 */
static int
admin_load(struct req *r, mongoc_client_t *client, const char *collection, const char *what,
           bson_oid_t *id, bson_t **out)
{
	bson_error_t error;
	int rc;

	*out = NULL;
	if (parse_oid(r->params[0], id) != 0) {
		resp_error(r, 400, "Malformed %s id: expected 24 hexadecimal digits", what);
		return -1;
	}
	rc = admin_find_id(client, collection, id, out, &error);
	if (rc < 0)
		db_answer_error(r, &error);
	else if (rc == 0)
		resp_error(r, 404, "%c%s not found", toupper((unsigned char)what[0]), what + 1);
	return rc == 1 ? 0 : -1;
}

/* Runs update on _id id: 1 when it matched, 0 when no such document, -1 on error. */
static int
admin_update(mongoc_client_t *client, const char *collection, const bson_oid_t *id,
             const bson_t *update, bson_error_t *error)
{
	mongoc_collection_t *coll = db_collection(client, collection);
	bson_t *filter = BCON_NEW("_id", BCON_OID(id));
	bson_t reply;
	bson_iter_t it;
	int rc = -1;

	if (mongoc_collection_update_one(coll, filter, update, NULL, &reply, error))
		rc =
		    bson_iter_init_find(&it, &reply, "matchedCount") && bson_iter_as_int64(&it) > 0;
	bson_destroy(&reply);
	bson_destroy(filter);
	mongoc_collection_destroy(coll);
	return rc;
}

/*
 * Writes {$set: set} (plus {$unset: {deletedAt}} when unset_deleted) to
 * the document and reads it back into *fresh (the caller's). Returns 0,
 * or -1 after answering 404 (gone meanwhile) or 503/500.
 */
static int
admin_set(struct req *r, mongoc_client_t *client, const char *collection, const char *what,
          const bson_oid_t *id, const bson_t *set, int unset_deleted, bson_t **fresh)
{
	bson_t update = BSON_INITIALIZER, unset;
	bson_error_t error;
	int rc;

	*fresh = NULL;
	BSON_APPEND_DOCUMENT(&update, "$set", set);
	if (unset_deleted) {
		BSON_APPEND_DOCUMENT_BEGIN(&update, "$unset", &unset);
		BSON_APPEND_UTF8(&unset, "deletedAt", "");
		bson_append_document_end(&update, &unset);
	}
	rc = admin_update(client, collection, id, &update, &error);
	bson_destroy(&update);
	if (rc == 1)
		rc = admin_find_id(client, collection, id, fresh, &error);
	if (rc < 0)
		db_answer_error(r, &error);
	else if (rc == 0)
		resp_error(r, 404, "%c%s not found", toupper((unsigned char)what[0]), what + 1);
	return rc == 1 ? 0 : -1;
}

/* A copy of doc's image.publicId (free()), or NULL when it has none. */
static char *
doc_image_id(const bson_t *doc)
{
	bson_iter_t it, sub;

	if (doc != NULL && bson_iter_init(&it, doc) &&
	    bson_iter_find_descendant(&it, "image.publicId", &sub) && BSON_ITER_HOLDS_UTF8(&sub))
		return xstrdup(bson_iter_utf8(&sub, NULL));
	return NULL;
}

/* -------------------------------------------------------------- output */

/* The document as the panel sees it (searchPrefixes are the server's). */
static void
admin_respond(struct req *r, int status, const bson_t *doc)
{
	json_object *data = json_from_bson(doc);

	json_object_object_del(data, "searchPrefixes");
	resp_data(r, status, data);
}

static void
admin_respond_created(struct req *r, const char *collection, const bson_oid_t *id,
                      const bson_t *doc)
{
	char hex[25], loc[96];

	bson_oid_to_string(id, hex);
	snprintf(loc, sizeof(loc), "/api/admin/%s/%s", collection, hex);
	resp_header(r, "Location", loc);
	admin_respond(r, 201, doc);
}

/*
 * Runs a find and answers {"data", "total", "limit", "offset"}; keep,
 * when set, drops documents it returns 0 for (after paging: only for
 * small collections such as branches).
 */
static void
admin_list(struct req *r, mongoc_client_t *client, const char *collection, const bson_t *filter,
           const char *sort, int64_t limit, int64_t offset, const struct who *who,
           int (*keep)(const struct who *, const bson_t *))
{
	mongoc_collection_t *coll = db_collection(client, collection);
	bson_t *order = bson_new_from_json((const uint8_t *)sort, -1, NULL);
	bson_t *opts = bson_new();
	mongoc_cursor_t *cur;
	json_object *o, *data = json_object_new_array();
	const bson_t *doc;
	bson_error_t error;
	int64_t total = 0;

	BSON_APPEND_DOCUMENT(opts, "sort", order);
	if (offset > 0)
		BSON_APPEND_INT64(opts, "skip", offset);
	if (limit > 0)
		BSON_APPEND_INT64(opts, "limit", limit);
	cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	while (mongoc_cursor_next(cur, &doc)) {
		json_object *item;
		if (keep != NULL && !keep(who, doc))
			continue;
		item = json_from_bson(doc);
		json_object_object_del(item, "searchPrefixes");
		json_object_array_add(data, item);
		total++;
	}
	if (mongoc_cursor_error(cur, &error) ||
	    (keep == NULL && (total = mongoc_collection_count_documents(coll, filter, NULL, NULL,
	                                                                NULL, &error)) < 0)) {
		db_answer_error(r, &error);
		json_object_put(data);
	} else {
		o = resp_envelope(data);
		json_object_object_add(o, "total", json_object_new_int64(total));
		json_object_object_add(o, "limit", json_object_new_int64(limit));
		json_object_object_add(o, "offset", json_object_new_int64(offset));
		resp_header(r, "Cache-Control", "no-store");
		resp_json(r, 200, o);
		json_object_put(o);
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(opts);
	bson_destroy(order);
	mongoc_collection_destroy(coll);
}

/*
 * What every acknowledged catalogue write does before it answers: drop
 * the menu's caches, so the next public request anywhere reads the write.
 */
static void
admin_invalidate(void)
{
	if (menucache_invalidate() != 0)
		log_warn("menu cache not invalidated: the public menu may lag up to 5 minutes");
}

/* ...and after it answered: tell the storefronts (best effort, outbox). */
static void
admin_publish(mongoc_client_t *client, const char *kind, const bson_oid_t *id)
{
	json_object *data = json_object_new_object();
	char hex[25];

	bson_oid_to_string(id, hex);
	json_object_object_add(data, "kind", json_object_new_string(kind));
	json_object_object_add(data, "id", json_object_new_string(hex));
	notify_publish(client, "menu", "all", "menu-updated", data);
	json_object_put(data);
}

/*
 * The image old_id may no longer be used (replaced, removed, or its owner
 * deleted): unless fresh (the document after the write) still shows it,
 * or another product or category does (a picture can be shared, and a
 * publicId typed into another product must not delete this one's), it
 * is deleted where it is stored, if this service stored it (asset_delete:
 * only recorded uploads). Best effort: a failure is logged.
 */
static void
admin_image_forget(mongoc_client_t *client, const char *old_id, const bson_t *fresh)
{
	static const char *const users[] = {"products", "categories"};
	char *keep = doc_image_id(fresh);
	bson_t *filter;
	bson_error_t error;
	int64_t n = 0;

	if (old_id == NULL || (keep != NULL && strcmp(keep, old_id) == 0)) {
		free(keep);
		return;
	}
	free(keep);
	filter = BCON_NEW("image.publicId", BCON_UTF8(old_id));
	for (size_t i = 0; i < 2 && n == 0; i++) {
		mongoc_collection_t *coll = db_collection(client, users[i]);
		n = mongoc_collection_count_documents(coll, filter, NULL, NULL, NULL, &error);
		mongoc_collection_destroy(coll);
		if (n < 0)
			log_warn("image %s kept: cannot tell whether it is used (%s)", old_id,
			         error.message);
	}
	bson_destroy(filter);
	if (n == 0 && asset_delete(client, old_id) < 0)
		log_warn("image %s is no longer used but could not be deleted", old_id);
}

/* ------------------------------------------------------------ products */

/* 1 when the body names one of the texts searchPrefixes are built from. */
static int
product_texts_named(json_object *body)
{
	for (size_t i = 0; i < PRODUCT_SEARCH_TEXTS; i++)
		if (json_object_object_get_ex(body, product_search_texts[i], NULL))
			return 1;
	return 0;
}

/*
 * Appends searchPrefixes to set, built from the search texts as they will
 * be after the write: set's where it names them, else old's (NULL on
 * create).
 */
static void
product_prefixes(bson_t *set, const bson_t *old)
{
	char *texts[PRODUCT_SEARCH_TEXTS];
	bson_t arr;

	/* Copies: appending to set may move the bytes its iterators point at. */
	for (size_t i = 0; i < PRODUCT_SEARCH_TEXTS; i++) {
		const char *name = product_search_texts[i];
		const char *s =
		    bson_has_field(set, name) ? db_doc_utf8(set, name) : db_doc_utf8(old, name);
		texts[i] = s != NULL ? xstrdup(s) : NULL;
	}
	BSON_APPEND_ARRAY_BEGIN(set, "searchPrefixes", &arr);
	search_prefixes((const char *const *)texts, PRODUCT_SEARCH_TEXTS, &arr);
	bson_append_array_end(set, &arr);
	for (size_t i = 0; i < PRODUCT_SEARCH_TEXTS; i++)
		free(texts[i]);
}

static void
product_derive(bson_t *doc, const bson_t *old, json_object *body)
{
	if (old == NULL || product_texts_named(body))
		product_prefixes(doc, old);
}

/*
 * Concurrent edits of two text fields can each build searchPrefixes from
 * the other's old text. Re-checks the stored document and rewrites its
 * prefixes when they do not match its texts (last writer repairs).
 */
static void
product_prefixes_repair(mongoc_client_t *client, const bson_oid_t *id, bson_t **fresh)
{
	bson_t want = BSON_INITIALIZER, update = BSON_INITIALIZER, *again = NULL;
	const uint8_t *have = NULL;
	uint32_t have_len = 0;
	bson_iter_t it, w;
	bson_error_t error;

	product_prefixes(&want, *fresh);
	if (bson_iter_init_find(&it, *fresh, "searchPrefixes") && BSON_ITER_HOLDS_ARRAY(&it))
		bson_iter_array(&it, &have_len, &have);
	if (!bson_iter_init_find(&w, &want, "searchPrefixes"))
		goto done;
	{
		const uint8_t *wdata;
		uint32_t wlen;
		bson_t a, b;
		bson_iter_array(&w, &wlen, &wdata);
		if (have != NULL && bson_init_static(&a, have, have_len) &&
		    bson_init_static(&b, wdata, wlen) && bson_compare(&a, &b) == 0)
			goto done;
	}
	log_warn("searchPrefixes of a product were stale after a concurrent edit: rebuilt");
	BSON_APPEND_DOCUMENT(&update, "$set", &want);
	if (admin_update(client, "products", id, &update, &error) < 0 ||
	    admin_find_id(client, "products", id, &again, &error) < 0) {
		log_error("searchPrefixes repair: %s", error.message);
	} else if (again != NULL) {
		bson_destroy(*fresh);
		*fresh = again;
	}
done:
	bson_destroy(&update);
	bson_destroy(&want);
}

static void
product_after_update(mongoc_client_t *client, const bson_oid_t *id, json_object *body,
                     bson_t **fresh)
{
	if (product_texts_named(body))
		product_prefixes_repair(client, id, fresh);
}

/*
 * The category a product is put in must exist and be active. Returns 0,
 * or -1 after answering 422 or 503/500.
 */
static int
product_check(struct req *r, mongoc_client_t *client, const struct who *who, json_object *body)
{
	bson_oid_t cat;
	bson_t *doc = NULL;
	bson_error_t error;
	int rc;

	(void)who;
	if (valid_get_id(body, "categoryId", &cat) != 0)
		return 0;
	rc = admin_find_id(client, "categories", &cat, &doc, &error);
	if (rc < 0) {
		db_answer_error(r, &error);
		return -1;
	}
	if (rc == 0 || !db_doc_bool(doc, "isActive")) {
		resp_error(r, 422, "categoryId names no active category");
		rc = -1;
	} else {
		rc = 0;
	}
	if (doc != NULL)
		bson_destroy(doc);
	return rc;
}

static const struct resource products = {
    .collection = "products",
    .kind = "product",
    .body = &product_body,
    .edit = AUTHZ_STAFF,
    .manage = AUTHZ_STAFF,
    .has_image = 1,
    .check = product_check,
    .derive = product_derive,
    .after_update = product_after_update,
};

/* ---------------------------------------------------------- categories */

/*
 * A category may be hidden only when no active product is left in it.
 * Returns 0, or -1 after answering 409 (naming how many) or 503/500.
 */
static int
category_empty(struct req *r, mongoc_client_t *client, const bson_oid_t *id)
{
	mongoc_collection_t *coll = db_collection(client, "products");
	bson_t *filter = BCON_NEW("categoryId", BCON_OID(id), "isActive", BCON_BOOL(true));
	bson_error_t error;
	int64_t n = mongoc_collection_count_documents(coll, filter, NULL, NULL, NULL, &error);

	bson_destroy(filter);
	mongoc_collection_destroy(coll);
	if (n < 0) {
		db_answer_error(r, &error);
		return -1;
	}
	if (n > 0) {
		resp_error(r, 409,
		           "The category still has %lld active product%s: move or delete %s "
		           "first",
		           (long long)n, n == 1 ? "" : "s", n == 1 ? "it" : "them");
		return -1;
	}
	return 0;
}

static const struct resource categories = {
    .collection = "categories",
    .kind = "category",
    .body = &category_body,
    .edit = AUTHZ_OWNER,
    .manage = AUTHZ_OWNER,
    .has_image = 1,
    .may_hide = category_empty,
};

/* ------------------------------------------------------------ branches */

/*
 * Opening and closing a branch for good is the owners' call. The staff
 * chat receives every order with the customer's phone and address, so an
 * operator may not point it elsewhere; the branch's manager may.
 */
static int
branch_check(struct req *r, mongoc_client_t *client, const struct who *who, json_object *body)
{
	(void)client;
	if (json_object_object_get_ex(body, "isActive", NULL) && strcmp(who->role, "owner") != 0) {
		resp_error(r, 403, "Only owners may activate or deactivate a branch");
		return -1;
	}
	if ((json_object_object_get_ex(body, "staffChatId", NULL) ||
	     json_object_object_get_ex(body, "staffLanguage", NULL)) &&
	    strcmp(who->role, "owner") != 0 && strcmp(who->role, "manager") != 0) {
		resp_error(r, 403, "Only owners and managers may set the branch's staff chat");
		return -1;
	}
	return 0;
}

static const struct resource branches = {
    .collection = "branches",
    .kind = "branch",
    .body = &branch_body,
    .edit = AUTHZ_STAFF,
    .manage = AUTHZ_OWNER,
    .per_branch = 1,
    .check = branch_check,
};

/* Staff see the branches they work at; owners see every branch. */
static int
branch_visible(const struct who *who, const bson_t *doc)
{
	bson_oid_t id;

	return db_doc_oid(doc, "_id", &id) == 0 && authz_branch(who, &id);
}

/* ------------------------------------------------- one path for all three */

/* 1 when set holds key with the boolean value want. */
static int
set_has_bool(const bson_t *set, const char *key, int want)
{
	bson_iter_t it;

	return bson_iter_init_find(&it, set, key) && BSON_ITER_HOLDS_BOOL(&it) &&
	       bson_iter_bool(&it) == (want != 0);
}

/*
 * Who may touch {id} (GET, PATCH): rule first (401/403), then the id
 * (400), then, for a per-branch resource, the branch: a member of another
 * branch gets 403 whether or not the id exists. Returns 0 or -1 (answered).
 */
static int
resource_open(struct req *r, mongoc_client_t *client, const struct resource *res, struct who *who,
              bson_oid_t *id)
{
	if (authz(r, client, res->edit, NULL, who) != 0)
		return -1;
	if (parse_oid(r->params[0], id) != 0) {
		resp_error(r, 400, "Malformed %s id: expected 24 hexadecimal digits", res->kind);
		return -1;
	}
	if (res->per_branch && !authz_branch(who, id)) {
		resp_error(r, 403, "Not allowed for this branch");
		return -1;
	}
	return 0;
}

/*
 * POST: the body against the table (defaults filled in), the resource's
 * check, derived fields and dates, insert; then the menu cache is
 * dropped, 201 answered and the storefronts told.
 */
static void
resource_create(struct req *r, const struct resource *res)
{
	mongoc_client_t *client = db_pop();
	struct who who;
	struct valid_error e;
	json_object *body = NULL;
	bson_t doc = BSON_INITIALIZER;
	bson_error_t error;
	bson_oid_t id;
	int64_t now = db_now_ms();

	if (authz(r, client, res->manage, NULL, &who) != 0 ||
	    (body = req_json(r, ADMIN_BODY_MAX)) == NULL)
		goto done;
	if (valid_body(res->body, body, VALID_CREATE, &e) < 0) {
		valid_answer(r, &e);
		goto done;
	}
	if (res->check != NULL && res->check(r, client, &who, body) != 0)
		goto done;
	bson_oid_init(&id, NULL);
	BSON_APPEND_OID(&doc, "_id", &id);
	valid_to_bson(res->body, body, &doc);
	if (res->derive != NULL)
		res->derive(&doc, NULL, body);
	BSON_APPEND_DATE_TIME(&doc, "createdAt", now);
	BSON_APPEND_DATE_TIME(&doc, "updatedAt", now);
	if (db_insert(client, res->collection, &doc, &error) != 0) {
		db_answer_error(r, &error);
		goto done;
	}
	admin_invalidate();
	admin_respond_created(r, res->collection, &id, &doc);
	admin_publish(client, res->kind, &id);
done:
	bson_destroy(&doc);
	json_object_put(body);
	db_push(client);
}

/* GET {id}: also inactive and deleted ones. */
static void
resource_get(struct req *r, const struct resource *res)
{
	mongoc_client_t *client = db_pop();
	struct who who;
	bson_t *doc = NULL;
	bson_oid_t id;

	if (resource_open(r, client, res, &who, &id) == 0 &&
	    admin_load(r, client, res->collection, res->kind, &id, &doc) == 0)
		admin_respond(r, 200, doc);
	if (doc != NULL)
		bson_destroy(doc);
	db_push(client);
}

/* PATCH {id}: the fields the body names, and what derives from them. */
static void
resource_update(struct req *r, const struct resource *res)
{
	mongoc_client_t *client = db_pop();
	struct who who;
	struct valid_error e;
	json_object *body = NULL;
	bson_t set = BSON_INITIALIZER, *old = NULL, *fresh = NULL;
	char *old_image = NULL;
	bson_oid_t id;
	int named;

	if (resource_open(r, client, res, &who, &id) != 0 ||
	    (body = req_json(r, ADMIN_BODY_MAX)) == NULL)
		goto done;
	named = valid_body(res->body, body, VALID_PATCH, &e);
	if (named < 0) {
		valid_answer(r, &e);
		goto done;
	}
	if (named == 0) {
		resp_error(r, 400, "Nothing to update: name at least one field");
		goto done;
	}
	valid_to_bson(res->body, body, &set);
	if ((res->check != NULL && res->check(r, client, &who, body) != 0) ||
	    admin_load(r, client, res->collection, res->kind, &id, &old) != 0)
		goto done;
	/* Hiding is deleting, with the same rule. */
	if (res->may_hide != NULL && set_has_bool(&set, "isActive", 0) &&
	    res->may_hide(r, client, &id) != 0)
		goto done;
	if (res->has_image && bson_has_field(&set, "image"))
		old_image = doc_image_id(old);
	if (res->derive != NULL)
		res->derive(&set, old, body);
	BSON_APPEND_DATE_TIME(&set, "updatedAt", db_now_ms());
	if (admin_set(r, client, res->collection, res->kind, &id, &set,
	              set_has_bool(&set, "isActive", 1), &fresh) != 0)
		goto done;
	if (res->after_update != NULL)
		res->after_update(client, &id, body, &fresh);
	admin_invalidate();
	admin_respond(r, 200, fresh);
	admin_publish(client, res->kind, &id);
	admin_image_forget(client, old_image, fresh);
done:
	free(old_image);
	if (fresh != NULL)
		bson_destroy(fresh);
	if (old != NULL)
		bson_destroy(old);
	bson_destroy(&set);
	json_object_put(body);
	db_push(client);
}

/*
 * DELETE {id}: hidden for good (isActive false, deletedAt kept from the
 * first delete), kept for the orders that name it; its picture goes
 * unless something else still shows it.
 */
static void
resource_delete(struct req *r, const struct resource *res)
{
	mongoc_client_t *client = db_pop();
	struct who who;
	bson_t set = BSON_INITIALIZER, *old = NULL, *fresh = NULL;
	char *old_image = NULL;
	int64_t now = db_now_ms();
	bson_oid_t id;

	if (authz(r, client, res->manage, NULL, &who) != 0 ||
	    admin_load(r, client, res->collection, res->kind, &id, &old) != 0 ||
	    (res->may_hide != NULL && res->may_hide(r, client, &id) != 0))
		goto done;
	BSON_APPEND_BOOL(&set, "isActive", false);
	if (res->has_image) {
		old_image = doc_image_id(old);
		BSON_APPEND_NULL(&set, "image");
	}
	if (!bson_has_field(old, "deletedAt")) /* deleting again keeps the first date */
		BSON_APPEND_DATE_TIME(&set, "deletedAt", now);
	BSON_APPEND_DATE_TIME(&set, "updatedAt", now);
	if (admin_set(r, client, res->collection, res->kind, &id, &set, 0, &fresh) != 0)
		goto done;
	admin_invalidate();
	admin_respond(r, 200, fresh);
	admin_publish(client, res->kind, &id);
	admin_image_forget(client, old_image, fresh);
done:
	free(old_image);
	if (fresh != NULL)
		bson_destroy(fresh);
	if (old != NULL)
		bson_destroy(old);
	bson_destroy(&set);
	db_push(client);
}

/* --------------------------------------------------------------- lists */

/* GET /api/admin/products?category=&active=&search=&limit=&offset= (staff) */
static void
products_list(struct req *r)
{
	enum { Q_CATEGORY, Q_ACTIVE, Q_SEARCH, Q_LIMIT, Q_OFFSET, Q__MAX };
	static const struct valid_field params[Q__MAX] = {
	    [Q_CATEGORY] = VALID_FIELD("category", VK_ID, 0),
	    [Q_ACTIVE] = VALID_FIELD("active", VK_BOOL, 0),
	    [Q_SEARCH] = VALID_FIELD("search", VK_STRING, 0, .max = SEARCH_MAX_CHARS),
	    [Q_LIMIT] = VALID_FIELD("limit", VK_INT, 0, .min = 1, .max = LIST_LIMIT_MAX),
	    [Q_OFFSET] = VALID_FIELD("offset", VK_INT, 0, .max = LIST_OFFSET_MAX),
	};
	struct qs_value v[Q__MAX];
	struct qs q;
	mongoc_client_t *client = db_pop();
	struct who who;
	bson_t filter = BSON_INITIALIZER;

	if (authz(r, client, AUTHZ_STAFF, NULL, &who) != 0 ||
	    valid_query(r, &q, params, Q__MAX, v) != 0)
		goto done;
	if (v[Q_CATEGORY].present)
		BSON_APPEND_OID(&filter, "categoryId", &v[Q_CATEGORY].oid);
	if (v[Q_ACTIVE].present)
		BSON_APPEND_BOOL(&filter, "isActive", v[Q_ACTIVE].b);
	if (v[Q_SEARCH].present)
		search_filter(&filter, v[Q_SEARCH].text);
	admin_list(r, client, "products", &filter, "{\"sortOrder\": 1, \"name\": 1, \"_id\": 1}",
	           v[Q_LIMIT].present ? v[Q_LIMIT].i : LIST_LIMIT_DEFAULT,
	           v[Q_OFFSET].present ? v[Q_OFFSET].i : 0, &who, NULL);
done:
	bson_destroy(&filter);
	db_push(client);
}

/* GET /api/admin/categories (owners): also inactive ones. */
static void
categories_list(struct req *r)
{
	mongoc_client_t *client = db_pop();
	struct who who;
	struct qs_value none[1];
	struct qs q;
	bson_t filter = BSON_INITIALIZER;

	if (authz(r, client, AUTHZ_OWNER, NULL, &who) == 0 &&
	    valid_query(r, &q, NULL, 0, none) == 0)
		admin_list(r, client, "categories", &filter,
		           "{\"sortOrder\": 1, \"name\": 1, \"_id\": 1}", 0, 0, &who, NULL);
	bson_destroy(&filter);
	db_push(client);
}

/* GET /api/admin/branches (staff): theirs, also inactive ones. */
static void
branches_list(struct req *r)
{
	mongoc_client_t *client = db_pop();
	struct who who;
	struct qs_value none[1];
	struct qs q;
	bson_t filter = BSON_INITIALIZER;

	if (authz(r, client, AUTHZ_STAFF, NULL, &who) == 0 &&
	    valid_query(r, &q, NULL, 0, none) == 0)
		admin_list(r, client, "branches", &filter, "{\"name\": 1, \"_id\": 1}", 0, 0, &who,
		           branch_visible);
	bson_destroy(&filter);
	db_push(client);
}

/* PATCH /api/admin/products/{id}/availability {"isAvailable"}: the stop-list. */
static void
product_availability(struct req *r)
{
	mongoc_client_t *client = db_pop();
	struct who who;
	struct valid_error e;
	json_object *body = NULL;
	bson_t set = BSON_INITIALIZER, *fresh = NULL;
	bson_oid_t id;

	if (resource_open(r, client, &products, &who, &id) != 0 ||
	    (body = req_json(r, 1024)) == NULL)
		goto done;
	if (valid_body(&availability_body, body, VALID_CREATE, &e) < 0) {
		valid_answer(r, &e);
		goto done;
	}
	valid_to_bson(&availability_body, body, &set);
	BSON_APPEND_DATE_TIME(&set, "updatedAt", db_now_ms());
	if (admin_set(r, client, "products", "product", &id, &set, 0, &fresh) != 0)
		goto done;
	admin_invalidate();
	admin_respond(r, 200, fresh);
	admin_publish(client, "product", &id);
done:
	if (fresh != NULL)
		bson_destroy(fresh);
	bson_destroy(&set);
	json_object_put(body);
	db_push(client);
}

/* ------------------------------------------------------------- routes */

/* The routes of the three resources: one handler per (method, resource). */
#define RESOURCE_HANDLERS(name_, res_)                                                             \
	static void name_##_create(struct req *r)                                                  \
	{                                                                                          \
		resource_create(r, &(res_));                                                       \
	}                                                                                          \
	static void name_##_get(struct req *r)                                                     \
	{                                                                                          \
		resource_get(r, &(res_));                                                          \
	}                                                                                          \
	static void name_##_update(struct req *r)                                                  \
	{                                                                                          \
		resource_update(r, &(res_));                                                       \
	}                                                                                          \
	static void name_##_delete(struct req *r)                                                  \
	{                                                                                          \
		resource_delete(r, &(res_));                                                       \
	}
RESOURCE_HANDLERS(product, products)
RESOURCE_HANDLERS(category, categories)
RESOURCE_HANDLERS(branch, branches)

static const struct route admin_routes[] = {
    {HTTP_GET, "/api/admin/products", products_list},
    {HTTP_POST, "/api/admin/products", product_create},
    {HTTP_GET, "/api/admin/products/{id}", product_get},
    {HTTP_PATCH, "/api/admin/products/{id}", product_update},
    {HTTP_DELETE, "/api/admin/products/{id}", product_delete},
    {HTTP_PATCH, "/api/admin/products/{id}/availability", product_availability},
    {HTTP_GET, "/api/admin/categories", categories_list},
    {HTTP_POST, "/api/admin/categories", category_create},
    {HTTP_GET, "/api/admin/categories/{id}", category_get},
    {HTTP_PATCH, "/api/admin/categories/{id}", category_update},
    {HTTP_DELETE, "/api/admin/categories/{id}", category_delete},
    {HTTP_GET, "/api/admin/branches", branches_list},
    {HTTP_POST, "/api/admin/branches", branch_create},
    {HTTP_GET, "/api/admin/branches/{id}", branch_get},
    {HTTP_PATCH, "/api/admin/branches/{id}", branch_update},
    {HTTP_DELETE, "/api/admin/branches/{id}", branch_delete},
};

int
main(int argc, char **argv)
{
	static const struct app admin = {
	    .name = "admin",
	    .uses_db = 1,
	    .routes = admin_routes,
	    .nroutes = sizeof(admin_routes) / sizeof(admin_routes[0]),
	};

	return app_main(&admin, argc, argv);
}
