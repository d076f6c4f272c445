/*
 * db.c - one client pool per process, the seed's connection settings, and
 * the indexes every program relies on.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "oshxona.h"

static mongoc_client_pool_t *db_pool;
static char db_name[64] = "oshxona";

/*
 * During an outage every operation would wait serverSelectionTimeoutMS
 * (8 s) for a server, so a FastCGI child answers one request per 8 s and
 * the queue behind it ends in nginx's 504. Once the pool's monitor has
 * seen the server fail, db_pop hands out clients of a second pool whose
 * server selection gives up at once: the request answers 503 in
 * milliseconds (or from a cache), and when the monitor (every
 * DB_HEARTBEAT_MS) sees the server again the main pool is used again,
 * without a restart.
 */
#define DB_HEARTBEAT_MS   1000
#define DB_FAST_SELECT_MS 50
#define DB_FAST_MAX       16
static mongoc_uri_t *db_fast_uri;
static mongoc_client_pool_t *db_fast_pool;
static mongoc_client_t *db_fast_out[DB_FAST_MAX];
static int db_seen_up;  /* the monitor has reached a server once */
static int db_seen_err; /* an operation failed for want of a server */

static void
db_default_int32(mongoc_uri_t *uri, const char *option, int32_t value)
{
	/* What the operator wrote into MONGODB_URI wins over our defaults. */
	if (!mongoc_uri_has_option(uri, option))
		mongoc_uri_set_option_as_int32(uri, option, value);
}

/*
 * libmongoc logs to stderr by default; route its warnings and errors into
 * our JSON log (FerretDB's "no such command: endSessions" at pool shutdown
 * is expected and only worth a debug line).
 */
static void
db_log_handler(mongoc_log_level_t level, const char *domain, const char *message, void *data)
{
	(void)data;
	if (level <= MONGOC_LOG_LEVEL_CRITICAL)
		log_error("mongoc %s: %s", domain, message);
	else if (level == MONGOC_LOG_LEVEL_WARNING && strstr(message, "endSessions") == NULL)
		log_warn("mongoc %s: %s", domain, message);
	else if (level <= MONGOC_LOG_LEVEL_INFO)
		log_debug("mongoc %s: %s", domain, message);
}

/*
 * mongoc_init without the driver's shared-memory counters: nothing here
 * reads them, and a process killed with SIGKILL leaves its /dev/shm/mongoc-<pid>
 * behind, so a later process with that pid printed "Falling back to malloc
 * for counters" as plain text into logs that are JSON lines (seen breaking
 * test_ops on a machine with 580 such leftovers).
 */
void
db_library_init(void)
{
	setenv("MONGOC_DISABLE_SHM", "1", 0);
	mongoc_init();
}

int
db_init(const char *uri_string, const char *appname, const struct db_options *opt)
{
	bson_error_t error;
	mongoc_uri_t *uri;
	const char *name;

	mongoc_log_set_handler(db_log_handler, NULL);
	uri = mongoc_uri_new_with_error(uri_string, &error);
	if (uri == NULL) {
		log_error("MONGODB_URI is not a valid MongoDB URI: %s", error.message);
		return -1;
	}
	db_default_int32(uri, MONGOC_URI_MAXPOOLSIZE, 15);
	db_default_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS,
	                 opt != NULL && opt->server_selection_ms ? opt->server_selection_ms : 8000);
	db_default_int32(uri, MONGOC_URI_SOCKETTIMEOUTMS,
	                 opt != NULL && opt->socket_ms ? opt->socket_ms : 60000);
	db_default_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS,
	                 opt != NULL && opt->connect_ms ? opt->connect_ms : 5000);
	db_default_int32(uri, MONGOC_URI_HEARTBEATFREQUENCYMS, DB_HEARTBEAT_MS);
	if (!mongoc_uri_has_option(uri, MONGOC_URI_RETRYWRITES))
		mongoc_uri_set_option_as_bool(uri, MONGOC_URI_RETRYWRITES, true);
	if (!mongoc_uri_has_option(uri, MONGOC_URI_W)) {
		/* FerretDB accepts and ignores it; MongoDB honours it. */
		mongoc_write_concern_t *wc = mongoc_write_concern_new();
		mongoc_write_concern_set_wmajority(wc, 0);
		mongoc_uri_set_write_concern(uri, wc);
		mongoc_write_concern_destroy(wc);
	}
	if (appname != NULL)
		mongoc_uri_set_appname(uri, appname);
	name = mongoc_uri_get_database(uri);
	if (name != NULL && *name != '\0') {
		if (strlen(name) >= sizeof(db_name)) {
			log_error("database name in MONGODB_URI is too long");
			mongoc_uri_destroy(uri);
			return -1;
		}
		strcpy(db_name, name);
	}
	db_pool = mongoc_client_pool_new_with_error(uri, &error);
	db_fast_uri = uri;
	mongoc_uri_set_option_as_int32(db_fast_uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS,
	                               DB_FAST_SELECT_MS);
	if (db_pool == NULL) {
		log_error("cannot create the database pool: %s", error.message);
		return -1;
	}
	mongoc_client_pool_set_error_api(db_pool, MONGOC_ERROR_API_VERSION_2);
	return 0;
}

void
db_cleanup(void)
{
	if (db_pool != NULL)
		mongoc_client_pool_destroy(db_pool);
	db_pool = NULL;
	if (db_fast_pool != NULL)
		mongoc_client_pool_destroy(db_fast_pool);
	db_fast_pool = NULL;
	if (db_fast_uri != NULL)
		mongoc_uri_destroy(db_fast_uri);
	db_fast_uri = NULL;
}

/*
 * 1 when the pool's monitor knows no reachable server now (a look at its
 * topology, which never waits). Before the monitor has reached a server
 * at all, only after an operation failed for want of one.
 */
static int
db_outage(mongoc_client_t *client)
{
	size_t n = 0, up = 0;
	mongoc_server_description_t **sds;

	sds = mongoc_client_get_server_descriptions(client, &n);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(mongoc_server_description_type(sds[i]), "Unknown") != 0)
			up++;
	}
	mongoc_server_descriptions_destroy_all(sds, n);
	if (up > 0) {
		db_seen_up = 1;
		db_seen_err = 0;
		return 0;
	}
	/* Unknown before the first look at the server is not an outage. */
	return db_seen_up || db_seen_err;
}

mongoc_client_t *
db_pop(void)
{
	mongoc_client_t *client = mongoc_client_pool_pop(db_pool);
	bson_error_t error;
	size_t i;

	if (!db_outage(client))
		return client;
	if (db_fast_pool == NULL) {
		db_fast_pool = mongoc_client_pool_new_with_error(db_fast_uri, &error);
		if (db_fast_pool == NULL) {
			log_warn("cannot create the outage pool: %s", error.message);
			return client;
		}
		mongoc_client_pool_set_error_api(db_fast_pool, MONGOC_ERROR_API_VERSION_2);
	}
	for (i = 0; i < DB_FAST_MAX && db_fast_out[i] != NULL; i++)
		;
	if (i == DB_FAST_MAX)
		return client;
	mongoc_client_pool_push(db_pool, client);
	db_fast_out[i] = mongoc_client_pool_pop(db_fast_pool);
	return db_fast_out[i];
}

void
db_push(mongoc_client_t *client)
{
	if (client == NULL)
		return;
	for (size_t i = 0; i < DB_FAST_MAX; i++) {
		if (db_fast_out[i] == client) {
			db_fast_out[i] = NULL;
			mongoc_client_pool_push(db_fast_pool, client);
			return;
		}
	}
	mongoc_client_pool_push(db_pool, client);
}

const char *
db_database_name(void)
{
	return db_name;
}

mongoc_collection_t *
db_collection(mongoc_client_t *client, const char *name)
{
	return mongoc_client_get_collection(client, db_name, name);
}

int
db_ping(mongoc_client_t *client, bson_error_t *error)
{
	bson_t *cmd = BCON_NEW("ping", BCON_INT32(1));
	bool ok = mongoc_client_command_simple(client, "admin", cmd, NULL, NULL, error);

	bson_destroy(cmd);
	return ok ? 0 : -1;
}

/* One index as {collection, name, keys, unique}. */
struct db_index {
	const char *collection;
	const char *name;
	const char *keys_json;
	int unique;
};

/*
 * Every query the programs run has its index here. FerretDB has no text
 * index, so search matches products.searchPrefixes by equality (search.c).
 * FerretDB admits many documents lacking a unique field: the programs
 * always write telegramId on users that are created through Telegram.
 */
static const struct db_index db_indexes[] = {
    {"users", "telegramId_1", "{\"telegramId\": 1}", 1},
    {"orders", "user_1_createdAt_-1", "{\"user\": 1, \"createdAt\": -1}", 0},
    {"products", "categoryId_1_isActive_1_isAvailable_1",
     "{\"categoryId\": 1, \"isActive\": 1, \"isAvailable\": 1}", 0},
    {"products", "searchPrefixes_1", "{\"searchPrefixes\": 1}", 0},
    {"categories", "isActive_1_sortOrder_1", "{\"isActive\": 1, \"sortOrder\": 1}", 0},
    {"staff", "login_1", "{\"login\": 1}", 1},
    {"sessions", "expiresAt_1", "{\"expiresAt\": 1}", 0},
    {"login_attempts", "key_1_at_1", "{\"key\": 1, \"at\": 1}", 0},
    {"login_attempts", "expiresAt_1", "{\"expiresAt\": 1}", 0},
    {"telegram_auth_claims", "expiresAt_1", "{\"expiresAt\": 1}", 0},
    {"orders", "branch_1_createdAt_-1", "{\"branch\": 1, \"createdAt\": -1}", 0},
    {"orders", "branch_1_localDay_1", "{\"branch\": 1, \"localDay\": 1}", 0},
    {"order_numbers", "branch_1_number_-1", "{\"branch\": 1, \"number\": -1}", 0},
    {"order_events", "order_1_version_1", "{\"order\": 1, \"version\": 1}", 0},
    {"idempotency_keys", "expiresAt_1", "{\"expiresAt\": 1}", 0},
    {"outbox", "nextAt_1", "{\"nextAt\": 1}", 0},
    /* The metrics program counts orders by status. */
    {"orders", "status_1", "{\"status\": 1}", 0},
    /* Payme's GetStatement (lib/payments.c). */
    {"payments", "provider_1_providerTime_1", "{\"provider\": 1, \"providerTime\": 1}", 0},
    /* Analytics: the job rolls a day's orders; the program reads months and days. */
    {"orders", "localDay_1", "{\"localDay\": 1}", 0},
    {"daily_stats", "month_1_branch_1", "{\"month\": 1, \"branch\": 1}", 0},
    {"daily_stats", "day_1_branch_1", "{\"day\": 1, \"branch\": 1}", 0},
    {"daily_stats", "final_1", "{\"final\": 1}", 0},
};

int
db_ensure_indexes(mongoc_client_t *client, bson_error_t *error)
{
	mongoc_database_t *db = mongoc_client_get_database(client, db_name);
	int rc = 0;

	for (size_t i = 0; i < sizeof(db_indexes) / sizeof(db_indexes[0]); i++) {
		const struct db_index *ix = &db_indexes[i];
		bson_t *keys = bson_new_from_json((const uint8_t *)ix->keys_json, -1, error);
		bson_t cmd, indexes, index;

		if (keys == NULL) {
			rc = -1;
			break;
		}
		bson_init(&cmd);
		BSON_APPEND_UTF8(&cmd, "createIndexes", ix->collection);
		BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &indexes);
		BSON_APPEND_DOCUMENT_BEGIN(&indexes, "0", &index);
		BSON_APPEND_DOCUMENT(&index, "key", keys);
		BSON_APPEND_UTF8(&index, "name", ix->name);
		if (ix->unique)
			BSON_APPEND_BOOL(&index, "unique", true);
		bson_append_document_end(&indexes, &index);
		bson_append_array_end(&cmd, &indexes);
		bool ok = mongoc_database_write_command_with_opts(db, &cmd, NULL, NULL, error);
		bson_destroy(&cmd);
		bson_destroy(keys);
		if (!ok) {
			log_error("createIndexes %s.%s: %s", ix->collection, ix->name,
			          error->message);
			rc = -1;
			break;
		}
	}
	mongoc_database_destroy(db);
	return rc;
}

int
db_error_is_unavailable(const bson_error_t *error)
{
	/*
	 * Code 1 (InternalError) is how FerretDB reports that its own
	 * backend (the embedded PostgreSQL) cannot be reached; MongoDB uses
	 * it for internal failures, where "try again shortly" fits too.
	 */
	int down = error->domain == MONGOC_ERROR_SERVER_SELECTION ||
	           error->domain == MONGOC_ERROR_STREAM ||
	           (error->domain == MONGOC_ERROR_CLIENT &&
	            error->code == MONGOC_ERROR_CLIENT_AUTHENTICATE) ||
	           (error->domain == MONGOC_ERROR_SERVER && error->code == 1);

	/* Lets db_pop trust the monitor even if it never reached a server. */
	if (down)
		db_seen_err = 1;
	return down;
}

int
db_error_is_duplicate(const bson_error_t *error)
{
	return error->code == 11000;
}

int64_t
db_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
db_find_one(mongoc_client_t *client, const char *collection, const bson_t *filter,
            const bson_t *opts, bson_t **out, bson_error_t *error)
{
	mongoc_collection_t *coll = db_collection(client, collection);
	mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	const bson_t *doc;
	int rc = 0;

	*out = NULL;
	if (mongoc_cursor_next(cursor, &doc)) {
		*out = bson_copy(doc);
		rc = 1;
	} else if (mongoc_cursor_error(cursor, error)) {
		rc = -1;
	}
	mongoc_cursor_destroy(cursor);
	mongoc_collection_destroy(coll);
	return rc;
}

int
db_insert(mongoc_client_t *client, const char *collection, const bson_t *doc, bson_error_t *error)
{
	mongoc_collection_t *coll = db_collection(client, collection);
	bool ok = mongoc_collection_insert_one(coll, doc, NULL, NULL, error);

	mongoc_collection_destroy(coll);
	return ok ? 0 : -1;
}

void
db_answer_error(struct req *r, const bson_error_t *error)
{
	metrics_db_error(db_error_is_unavailable(error));
	if (db_error_is_unavailable(error)) {
		log_warn("database unavailable: %s", error->message);
		resp_error(r, 503, "Database unavailable, try again shortly");
	} else {
		log_error("database: %s", error->message);
		resp_error(r, 500, "Database error");
	}
}

const char *
db_doc_utf8(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	if (doc != NULL && bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it))
		return bson_iter_utf8(&it, NULL);
	return NULL;
}

int64_t
db_doc_int(const bson_t *doc, const char *key, int64_t fallback)
{
	bson_iter_t it;

	if (doc != NULL && bson_iter_init_find(&it, doc, key) &&
	    (BSON_ITER_HOLDS_INT32(&it) || BSON_ITER_HOLDS_INT64(&it)))
		return bson_iter_as_int64(&it);
	return fallback;
}

int
db_doc_bool(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	return doc != NULL && bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_BOOL(&it) &&
	       bson_iter_bool(&it);
}

int
db_doc_oid(const bson_t *doc, const char *key, bson_oid_t *out)
{
	bson_iter_t it;

	if (doc == NULL || !bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_OID(&it))
		return -1;
	bson_oid_copy(bson_iter_oid(&it), out);
	return 0;
}
