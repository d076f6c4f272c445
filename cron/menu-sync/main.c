/*
 * menu-sync - keeps this host's menu cache honest about writes made
 * through other hosts. Each host drops its own cache when it takes a
 * catalogue write (lib/menucache.c); a write through another host only
 * shows here as a change in the catalogue itself. Every minute this job
 * takes a fingerprint of branches, categories and products (how many, and
 * the newest updatedAt of each) and drops the cache when it moved: a write
 * anywhere is visible on every host within about a minute.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oshxona.h"

static const char *const sync_collections[] = {"branches", "categories", "products"};

/* Appends "<count>:<newest updatedAt>;" for one collection to fp. */
static int
sync_fingerprint_one(mongoc_client_t *client, const char *name, char *fp, size_t fplen)
{
	mongoc_collection_t *coll = db_collection(client, name);
	bson_t filter = BSON_INITIALIZER;
	bson_t *opts = BCON_NEW("sort", "{", "updatedAt", BCON_INT32(-1), "}", "limit",
	                        BCON_INT32(1), "projection", "{", "updatedAt", BCON_INT32(1), "}");
	mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(coll, &filter, opts, NULL);
	const bson_t *doc;
	bson_error_t error;
	bson_iter_t it;
	int64_t newest = 0, count;
	size_t used = strlen(fp);

	if (mongoc_cursor_next(cursor, &doc) && bson_iter_init_find(&it, doc, "updatedAt") &&
	    BSON_ITER_HOLDS_DATE_TIME(&it))
		newest = bson_iter_date_time(&it);
	count = mongoc_cursor_error(cursor, &error)
	            ? -1
	            : mongoc_collection_count_documents(coll, &filter, NULL, NULL, NULL, &error);
	mongoc_cursor_destroy(cursor);
	bson_destroy(opts);
	mongoc_collection_destroy(coll);
	if (count < 0) {
		log_error("%s: %s", name, error.message);
		return -1;
	}
	snprintf(fp + used, fplen - used, "%lld:%lld;", (long long)count, (long long)newest);
	return 0;
}

int
main(void)
{
	char fp[256] = "", last[256] = "", path[600];
	const char *dir = getenv("MENU_CACHE_DIR");
	mongoc_client_t *client;
	FILE *f;
	int rc = 0;

	if (dir == NULL || *dir == '\0') {
		fprintf(stderr, "menu-sync: MENU_CACHE_DIR is not set\n");
		return 1;
	}
	rc = job_start("menu-sync", &client);
	if (client == NULL)
		return rc;
	for (size_t i = 0; i < sizeof(sync_collections) / sizeof(sync_collections[0]); i++) {
		if (sync_fingerprint_one(client, sync_collections[i], fp, sizeof(fp)) != 0) {
			rc = 1;
			goto done;
		}
	}
	snprintf(path, sizeof(path), "%s/fingerprint", dir);
	f = fopen(path, "r");
	if (f != NULL) {
		if (fgets(last, sizeof(last), f) == NULL)
			last[0] = '\0';
		last[strcspn(last, "\n")] = '\0';
		fclose(f);
	}
	if (strcmp(fp, last) != 0) {
		/* First the drop, then the note: a crash between them only drops twice. */
		if (menucache_invalidate() != 0) {
			rc = 1;
			goto done;
		}
		f = fopen(path, "w");
		if (f == NULL || fprintf(f, "%s\n", fp) < 0 || fclose(f) != 0) {
			log_error("cannot write %s", path);
			rc = 1;
			goto done;
		}
		log_info("catalogue changed (%s): menu cache dropped", fp);
	}
done:
	job_end(client);
	return rc;
}
