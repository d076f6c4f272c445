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

static const char *const purge_collections[] = {"sessions", "login_attempts", "login_known",
                                                "telegram_auth_claims", "idempotency_keys"};

int
main(void)
{
	mongoc_client_t *client;
	int rc = 0;

	rc = job_start("purge-expired", &client);
	if (client == NULL)
		return rc;
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
	job_end(client);
	return rc;
}
