/*
 * purge-expired - deletes what has outlived its expiresAt: customer
 * sessions, login attempts, Telegram sign-in claims, idempotency keys. FerretDB has no TTL
 * index (FACTS.md), so this job is what keeps those collections small;
 * readers check expiresAt themselves, so a late run is never unsafe.
 * Runs from cron (cron/crontab) under a lock, so two runs never overlap.
 */
#include <stdio.h>
#include <stdlib.h>

#include "oshxona.h"

static const char *const purge_collections[] = {"sessions", "login_attempts",
                                                "telegram_auth_claims", "idempotency_keys"};

int
main(void)
{
	struct config cfg;
	char err[256];
	mongoc_client_t *client;
	int lock, rc = 0;

	log_init("purge-expired", getenv("LOG_LEVEL"), getenv("LOG_FILE"));
	lock = job_lock("purge-expired");
	if (lock < 0)
		return lock == -2 ? 0 : 1;
	if (config_load(&cfg, getenv("OSHXONA_ENV_FILE"), err, sizeof(err)) != 0) {
		log_error("configuration: %s", err);
		return 1;
	}
	mongoc_init();
	if (db_init(cfg.mongodb_uri, "purge-expired", NULL) != 0)
		return 1;
	client = db_pop();
	for (size_t i = 0; i < sizeof(purge_collections) / sizeof(purge_collections[0]); i++) {
		mongoc_collection_t *coll = db_collection(client, purge_collections[i]);
		bson_t *filter =
		    BCON_NEW("expiresAt", "{", "$lte", BCON_DATE_TIME(db_now_ms()), "}");
		bson_t reply;
		bson_error_t error;
		bson_iter_t it;

		if (mongoc_collection_delete_many(coll, filter, NULL, &reply, &error)) {
			int64_t n = bson_iter_init_find(&it, &reply, "deletedCount")
			                ? bson_iter_as_int64(&it)
			                : 0;
			log_info("%s: %lld expired documents deleted", purge_collections[i],
			         (long long)n);
		} else {
			log_error("%s: %s", purge_collections[i], error.message);
			rc = 1;
		}
		bson_destroy(&reply);
		bson_destroy(filter);
		mongoc_collection_destroy(coll);
	}
	db_push(client);
	db_cleanup();
	mongoc_cleanup();
	return rc;
}
