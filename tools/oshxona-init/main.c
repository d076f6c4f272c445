/*
 * oshxona-init - run once at start-up (by scripts/stack.sh and by a
 * deployment): waits for the database, creates the indexes, and loads the
 * demo data file named by DEMO_DATA into an empty catalogue. Safe to run
 * again: indexes are idempotent and a catalogue with data is left alone.
 *
 * On the embedded database (FerretDB on PostgreSQL; OSHXONA_PG_URL, set
 * by scripts/stack.sh, names that PostgreSQL) it also makes the GIN
 * expression indexes that let FerretDB's equality filters use an index
 * (lib/dbfields.c). Against MongoDB nothing of that happens.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "oshxona.h"

#define DB_WAIT_SECONDS 30

/* json (without the named key) to a new BSON document; NULL on error. */
static bson_t *
init_bson_without(json_object *obj, const char *skip_key)
{
	json_object *copy = NULL;
	bson_error_t error;
	bson_t *b;

	if (json_object_deep_copy(obj, &copy, NULL) != 0)
		return NULL;
	if (skip_key != NULL)
		json_object_object_del(copy, skip_key);
	b = bson_new_from_json(
	    (const uint8_t *)json_object_to_json_string_ext(copy, JSON_OUT_FLAGS), -1, &error);
	json_object_put(copy);
	if (b == NULL)
		log_error("demo data: %s", error.message);
	return b;
}

static int
init_insert(mongoc_client_t *client, const char *collection, bson_t **docs, size_t n)
{
	mongoc_collection_t *coll = db_collection(client, collection);
	bson_error_t error;
	bool ok = n == 0 ||
	          mongoc_collection_insert_many(coll, (const bson_t **)docs, n, NULL, NULL, &error);

	if (!ok)
		log_error("insert into %s: %s", collection, error.message);
	mongoc_collection_destroy(coll);
	return ok ? 0 : -1;
}

static int64_t
init_count(mongoc_client_t *client, const char *collection)
{
	mongoc_collection_t *coll = db_collection(client, collection);
	bson_t filter = BSON_INITIALIZER;
	bson_error_t error;
	int64_t n = mongoc_collection_count_documents(coll, &filter, NULL, NULL, NULL, &error);

	if (n < 0)
		log_error("count %s: %s", collection, error.message);
	mongoc_collection_destroy(coll);
	return n;
}

/*
 * Demo staff accounts ({login, name, password, role, branches: [branch
 * key]}), so a newcomer can log in to the admin panel. Never in
 * production: demo passwords are public.
 */
static int
init_demo_staff(mongoc_client_t *client, json_object *staff, json_object *branches,
                const bson_oid_t *branch_ids)
{
	size_t n = json_object_array_length(staff), nb = json_object_array_length(branches);
	bson_t **docs;
	int64_t now = (int64_t)time(NULL) * 1000;
	int rc = -1;
	size_t i;

	if (strcmp(getenv("NODE_ENV") ? getenv("NODE_ENV") : "", "production") == 0) {
		log_warn("NODE_ENV=production: demo staff accounts not created");
		return 0;
	}
	docs = xcalloc(n + 1, sizeof(*docs));
	for (i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(staff, i), *keys;
		const char *login = json_get_string(s, "login"), *name = json_get_string(s, "name");
		const char *password = json_get_string(s, "password"),
		           *role = json_get_string(s, "role");
		char hash[PASSWORD_HASH_MAX];
		bson_t arr;

		if (login == NULL || name == NULL || password == NULL || role == NULL ||
		    !json_object_object_get_ex(s, "branches", &keys) ||
		    password_hash(password, hash) != 0) {
			log_error("demo staff %zu: needs login, name, password, role, branches", i);
			goto done;
		}
		docs[i] =
		    BCON_NEW("login", BCON_UTF8(login), "name", BCON_UTF8(name), "passwordHash",
		             BCON_UTF8(hash), "role", BCON_UTF8(role), "isActive", BCON_BOOL(true),
		             "createdAt", BCON_DATE_TIME(now), "updatedAt", BCON_DATE_TIME(now));
		BSON_APPEND_ARRAY_BEGIN(docs[i], "branches", &arr);
		for (size_t k = 0; k < json_object_array_length(keys); k++) {
			const char *key =
			    json_object_get_string(json_object_array_get_idx(keys, k));
			size_t b;
			char idx[24];
			for (b = 0; b < nb; b++) {
				const char *bk =
				    json_get_string(json_object_array_get_idx(branches, b), "key");
				if (key != NULL && bk != NULL && strcmp(key, bk) == 0)
					break;
			}
			if (b == nb) {
				log_error("demo staff %s: unknown branch key", login);
				bson_append_array_end(docs[i], &arr);
				goto done;
			}
			snprintf(idx, sizeof(idx), "%zu", k);
			BSON_APPEND_OID(&arr, idx, &branch_ids[b]);
		}
		bson_append_array_end(docs[i], &arr);
	}
	rc = init_insert(client, "staff", docs, n);
	if (rc == 0)
		log_info("demo staff created: %zu accounts", n);
done:
	for (i = 0; i < n; i++) {
		if (docs[i] != NULL)
			bson_destroy(docs[i]);
	}
	free(docs);
	return rc;
}

/* Loads branches, categories and products from the demo file. */
static int
init_demo(mongoc_client_t *client, const char *path)
{
	json_object *root = json_object_from_file(path);
	json_object *branches, *categories, *products, *staff;
	bson_t **docs = NULL;
	bson_oid_t *cat_ids = NULL, *branch_ids = NULL;
	size_t nb, nc, np, i;
	int64_t now = (int64_t)time(NULL) * 1000;
	int rc = -1;

	if (root == NULL || !json_object_object_get_ex(root, "branches", &branches) ||
	    !json_object_object_get_ex(root, "categories", &categories) ||
	    !json_object_object_get_ex(root, "products", &products)) {
		log_error("demo data %s: unreadable or missing branches/categories/products", path);
		json_object_put(root);
		return -1;
	}
	nb = json_object_array_length(branches);
	nc = json_object_array_length(categories);
	np = json_object_array_length(products);
	docs = xcalloc(nb + nc + np + 1, sizeof(*docs));
	cat_ids = xcalloc(nc + 1, sizeof(*cat_ids));

	branch_ids = xcalloc(nb + 1, sizeof(*branch_ids));
	for (i = 0; i < nb; i++) {
		bson_t *b = init_bson_without(json_object_array_get_idx(branches, i), "key");
		if (b == NULL)
			goto done;
		bson_oid_init(&branch_ids[i], NULL);
		docs[i] = bson_new();
		BSON_APPEND_OID(docs[i], "_id", &branch_ids[i]);
		bson_concat(docs[i], b);
		BSON_APPEND_DATE_TIME(docs[i], "createdAt", now);
		bson_destroy(b);
	}
	if (init_insert(client, "branches", docs, nb) != 0)
		goto done;

	for (i = 0; i < nc; i++) {
		bson_t *b = init_bson_without(json_object_array_get_idx(categories, i), "key");
		if (b == NULL)
			goto done;
		bson_oid_init(&cat_ids[i], NULL);
		docs[nb + i] = bson_new();
		BSON_APPEND_OID(docs[nb + i], "_id", &cat_ids[i]);
		bson_concat(docs[nb + i], b);
		BSON_APPEND_DATE_TIME(docs[nb + i], "createdAt", now);
		bson_destroy(b);
	}
	if (init_insert(client, "categories", docs + nb, nc) != 0)
		goto done;

	for (i = 0; i < np; i++) {
		json_object *p = json_object_array_get_idx(products, i);
		const char *cat = json_get_string(p, "category");
		const char *texts[4] = {json_get_string(p, "name"), json_get_string(p, "nameRu"),
		                        json_get_string(p, "description"),
		                        json_get_string(p, "descriptionRu")};
		int64_t price;
		size_t k;
		bson_t prefixes;
		bson_t *b;

		for (k = 0; k < nc; k++)
			if (cat != NULL &&
			    strcmp(cat, json_get_string(json_object_array_get_idx(categories, k),
			                                "key")) == 0)
				break;
		if (k == nc || json_get_int64(p, "price", 0, INT64_MAX, &price) != 0) {
			log_error("demo product %zu: unknown category or price not an integer", i);
			goto done;
		}
		b = init_bson_without(p, "category");
		if (b == NULL)
			goto done;
		docs[nb + nc + i] = b;
		BSON_APPEND_OID(b, "categoryId", &cat_ids[k]);
		BSON_APPEND_ARRAY_BEGIN(b, "searchPrefixes", &prefixes);
		search_prefixes(texts, 4, &prefixes);
		bson_append_array_end(b, &prefixes);
		BSON_APPEND_DATE_TIME(b, "createdAt", now);
		BSON_APPEND_DATE_TIME(b, "updatedAt", now);
	}
	if (init_insert(client, "products", docs + nb + nc, np) != 0)
		goto done;
	log_info("demo data loaded: %zu branches, %zu categories, %zu products", nb, nc, np);
	rc = 0;
done:
	for (i = 0; i < nb + nc + np; i++)
		if (docs[i] != NULL)
			bson_destroy(docs[i]);
	if (rc == 0 && json_object_object_get_ex(root, "staff", &staff))
		rc = init_demo_staff(client, staff, branches, branch_ids);
	free(docs);
	free(cat_ids);
	free(branch_ids);
	json_object_put(root);
	return rc;
}

/* A new formatted string; allocation failure aborts, as xmalloc does. */
static char *init_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *
init_fmt(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	return s;
}

/* 1 when the server is FerretDB (its buildInfo says so), 0 if not, -1 on error. */
static int
init_is_ferretdb(mongoc_client_t *client)
{
	bson_t *cmd = BCON_NEW("buildInfo", BCON_INT32(1));
	bson_t reply;
	bson_error_t error;
	bson_iter_t it;
	int rc = -1;

	if (mongoc_client_command_simple(client, "admin", cmd, NULL, &reply, &error))
		rc = bson_iter_init_find(&it, &reply, "ferretdbVersion") ? 1 : 0;
	else
		log_error("buildInfo: %s", error.message);
	bson_destroy(&reply);
	bson_destroy(cmd);
	return rc;
}

/* Creates the collection unless it exists: FerretDB's table must be there. */
static int
init_collection(mongoc_client_t *client, const char *name)
{
	mongoc_database_t *db = mongoc_client_get_database(client, db_database_name());
	bson_t *cmd = BCON_NEW("create", BCON_UTF8(name));
	bson_error_t error;
	/* 48: NamespaceExists. */
	bool ok = mongoc_database_write_command_with_opts(db, cmd, NULL, NULL, &error) ||
	          error.code == 48;

	if (!ok)
		log_error("create %s: %s", name, error.message);
	bson_destroy(cmd);
	mongoc_database_destroy(db);
	return ok ? 0 : -1;
}

/* "relation ... already exists, skipping": the re-run's normal case. */
static void
init_pg_notice(void *arg, const char *message)
{
	(void)arg;
	log_debug("PostgreSQL: %s", message);
}

/* Runs one SQL statement; the result (caller clears it), or NULL logged. */
static PGresult *
init_sql(PGconn *pg, const char *sql, int nparams, const char *const *params)
{
	PGresult *res = PQexecParams(pg, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		log_error("PostgreSQL: %s", PQerrorMessage(pg));
		PQclear(res);
		return NULL;
	}
	return res;
}

/*
 * FerretDB prepares its statements with the field name as a parameter
 * (_jsonb->$1 @> $2). After five runs PostgreSQL may switch a statement to
 * a generic plan, which cannot match the expression indexes, so it scans
 * the table: it does so whenever a scan looks cheap, e.g. daily_stats
 * (few rows, large TOASTed documents), where a read went from 4 to 26 ms.
 * Custom plans cost a fraction of a millisecond of planning per query.
 *
 * No parallel workers either: every query here reads a few rows by index,
 * but right after a burst of inserts, before autoanalyze, the row estimate
 * of a never-analysed table is large, and with containment priced (below)
 * a status change's {_id, version} read was planned on two workers: 7 ms
 * instead of 0.1 ms, the status change 20 ms instead of 10 at 100,000
 * orders. The settings apply to FerretDB's new connections (restart FerretDB
 * once); without ownership of the database it is a warning with the remedy.
 */
static void
init_custom_plans(PGconn *pg)
{
	PGresult *res = init_sql(pg, "SELECT current_database()", 0, NULL);
	char *db, *sql;

	if (res == NULL)
		return;
	db = PQescapeIdentifier(pg, PQgetvalue(res, 0, 0), strlen(PQgetvalue(res, 0, 0)));
	PQclear(res);
	if (db == NULL)
		return;
	sql = init_fmt("ALTER DATABASE %s SET plan_cache_mode = force_custom_plan; "
	               "ALTER DATABASE %s SET max_parallel_workers_per_gather = 0",
	               db, db);
	PQfreemem(db);
	res = PQexec(pg, sql);
	free(sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		log_warn(
		    "PostgreSQL: cannot set plan_cache_mode and max_parallel_workers_per_gather "
		    "on FerretDB's database (%s): set plan_cache_mode = force_custom_plan and "
		    "max_parallel_workers_per_gather = 0 in postgresql.conf, or FerretDB's "
		    "equality filters may stop using their indexes or start parallel workers",
		    PQerrorMessage(pg));
	PQclear(res);
}

/*
 * A GIN index with fastupdate (PostgreSQL's default) queues new entries in a
 * pending list that every scan reads in full until (auto)vacuum merges it.
 * The planner prices those pages in, so right after a burst of inserts -
 * a backfill of daily_stats, a busy lunch of orders - a small table of
 * large documents looked cheaper to scan than to look up: 732 daily_stats
 * rows, seq scan 10 ms a read against 0.25 ms. Our indexes hold one key per
 * document, so inserting straight into the tree costs little. Indexes made
 * before this rule get it here, and their queued entries merged, once.
 */
static int
init_no_pending_list(PGconn *pg, const char *schema, const char *name, const char *raw_name)
{
	const char *params[2] = {raw_name, db_database_name()};
	PGresult *res = init_sql(pg,
	                         "SELECT oid::text FROM pg_class WHERE relname = $1 AND "
	                         "relnamespace = $2::regnamespace AND NOT "
	                         "'fastupdate=off' = ANY(coalesce(reloptions, '{}'))",
	                         2, params);
	char *sql, *oid;
	int rc = -1;

	if (res == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 0;
	}
	oid = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	sql = init_fmt("ALTER INDEX %s.%s SET (fastupdate = off)", schema, name);
	res = init_sql(pg, sql, 0, NULL);
	free(sql);
	if (res != NULL) {
		const char *merge[1] = {oid};
		PQclear(res);
		res = init_sql(pg, "SELECT gin_clean_pending_list($1::oid::regclass)", 1, merge);
	}
	if (res != NULL) {
		PQclear(res);
		log_info("GIN index %s: pending list off", raw_name);
		rc = 0;
	}
	free(oid);
	return rc;
}

/*
 * The planner prices `@>` like an integer comparison, but FerretDB's filter
 * `_jsonb->'day' @> ...` first unpacks each row's whole TOASTed document.
 * On 1,000,000 orders the year of daily_stats (732 rows, ~8.6 KB each) was
 * read by a seq scan planned at 15.26 that took 19.6 ms, against 0.3 ms by
 * the index: the 7-day top-products answer went from 16 to 177 ms. COST 100
 * (1 is the default) says what containment on a document really costs, so
 * equality filters keep to their index as history grows. The catalogue of
 * built-in functions is a superuser's: elsewhere this is a DBA step, warned.
 */
static void
init_containment_cost(PGconn *pg)
{
	PGresult *res =
	    init_sql(pg,
	             "SELECT procost < 100 FROM pg_proc "
	             "WHERE oid = 'pg_catalog.jsonb_contains(jsonb, jsonb)'::regprocedure",
	             0, NULL);
	int low;

	if (res == NULL)
		return;
	low = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!low)
		return;
	res = PQexec(pg, "ALTER FUNCTION pg_catalog.jsonb_contains(jsonb, jsonb) COST 100");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		log_warn("PostgreSQL: cannot set the cost of jsonb containment (%s): as a "
		         "superuser, run ALTER FUNCTION pg_catalog.jsonb_contains(jsonb, jsonb) "
		         "COST 100 in FerretDB's database, or reads of tables of large documents "
		         "(daily_stats) may scan instead of using their index",
		         PQerrorMessage(pg));
	else
		log_info("PostgreSQL: jsonb containment costed at 100");
	PQclear(res);
}

/*
 * For every field of lib/dbfields.c: CREATE INDEX IF NOT EXISTS ... USING
 * gin ((_jsonb->'field') jsonb_path_ops) on the table FerretDB keeps the
 * collection in (its metadata table names it; the schema is the database).
 */
static int
init_gin_indexes(mongoc_client_t *client, const char *url)
{
	size_t n, made = 0;
	const struct db_field *f = db_equality_fields(&n);
	PGconn *pg = PQconnectdb(url);
	char *schema = NULL, *meta_sql = NULL;
	PGresult *res;
	int rc = -1;

	if (PQstatus(pg) != CONNECTION_OK) {
		log_error("OSHXONA_PG_URL: cannot connect: %s", PQerrorMessage(pg));
		goto done;
	}
	PQsetNoticeProcessor(pg, init_pg_notice, NULL);
	schema = PQescapeIdentifier(pg, db_database_name(), strlen(db_database_name()));
	if (schema == NULL)
		goto done;
	meta_sql = init_fmt("SELECT _jsonb->>'table' FROM %s._ferretdb_database_metadata "
	                    "WHERE _jsonb->>'_id' = $1",
	                    schema);
	for (size_t i = 0; i < n; i++) {
		const char *params[1] = {f[i].collection};
		char *table, *field, *name, *sql;
		char raw_name[128];

		if (init_collection(client, f[i].collection) != 0)
			goto done;
		res = init_sql(pg, meta_sql, 1, params);
		if (res == NULL)
			goto done;
		if (PQntuples(res) != 1) {
			/* FerretDB answers, but not from this PostgreSQL. */
			log_error("collection %s is not in %s._ferretdb_database_metadata: "
			          "OSHXONA_PG_URL is not FerretDB's PostgreSQL",
			          f[i].collection, db_database_name());
			PQclear(res);
			goto done;
		}
		table =
		    PQescapeIdentifier(pg, PQgetvalue(res, 0, 0), strlen(PQgetvalue(res, 0, 0)));
		snprintf(raw_name, sizeof(raw_name), "oshxona_gin_%s_%s", PQgetvalue(res, 0, 0),
		         f[i].field);
		PQclear(res);
		/* PostgreSQL names stop at 63 bytes; FerretDB's table names are short. */
		raw_name[63] = '\0';
		name = PQescapeIdentifier(pg, raw_name, strlen(raw_name));
		field = PQescapeLiteral(pg, f[i].field, strlen(f[i].field));
		if (table == NULL || name == NULL || field == NULL) {
			PQfreemem(table);
			PQfreemem(name);
			PQfreemem(field);
			goto done;
		}
		sql = init_fmt("CREATE INDEX IF NOT EXISTS %s ON %s.%s USING gin "
		               "((_jsonb->%s) jsonb_path_ops) WITH (fastupdate = off)",
		               name, schema, table, field);
		PQfreemem(table);
		PQfreemem(field);
		res = init_sql(pg, sql, 0, NULL);
		free(sql);
		if (res == NULL || init_no_pending_list(pg, schema, name, raw_name) != 0) {
			PQclear(res);
			PQfreemem(name);
			goto done;
		}
		PQfreemem(name);
		PQclear(res);
		made++;
	}
	log_info("FerretDB on PostgreSQL: %zu GIN expression indexes in place", made);
	init_custom_plans(pg);
	init_containment_cost(pg);
	rc = 0;
done:
	free(meta_sql);
	PQfreemem(schema);
	PQfinish(pg);
	return rc;
}

int
main(void)
{
	struct config cfg;
	char err[256];
	mongoc_client_t *client;
	bson_error_t error;
	const char *demo = getenv("DEMO_DATA");
	const char *pg_url = getenv("OSHXONA_PG_URL");
	int rc = 1, tries;

	log_init("oshxona-init", getenv("LOG_LEVEL"), getenv("LOG_FILE"));
	if (config_load(&cfg, getenv("OSHXONA_ENV_FILE"), err, sizeof(err)) != 0) {
		log_error("configuration: %s", err);
		return 1;
	}
	db_library_init();
	if (db_init(cfg.mongodb_uri, "oshxona-init",
	            &(struct db_options){.server_selection_ms = 1000}) != 0)
		return 1;
	client = db_pop();
	for (tries = 0; db_ping(client, &error) != 0; tries++) {
		if (tries == DB_WAIT_SECONDS) {
			log_error("database not reachable: %s", error.message);
			goto done;
		}
		sleep(1);
	}
	if (db_ensure_indexes(client, &error) != 0)
		goto done;
	if (pg_url != NULL && *pg_url != '\0') {
		int ferret = init_is_ferretdb(client);
		if (ferret < 0)
			goto done;
		if (ferret == 0)
			log_info("OSHXONA_PG_URL is set but the server is not FerretDB: ignored");
		else if (init_gin_indexes(client, pg_url) != 0)
			goto done;
	}
	if (demo != NULL && *demo != '\0') {
		int64_t branches = init_count(client, "branches");
		int64_t cats = init_count(client, "categories");
		int64_t prods = init_count(client, "products");
		if (branches < 0 || cats < 0 || prods < 0)
			goto done;
		if (branches == 0 && cats == 0 && prods == 0) {
			if (init_demo(client, demo) != 0)
				goto done;
		} else {
			log_info("catalogue has data; demo data not loaded");
		}
	}
	rc = 0;
done:
	db_push(client);
	db_cleanup();
	mongoc_cleanup();
	return rc;
}
