/*
 * oshxona-backup - the database's backup and restore, for MongoDB and
 * FerretDB alike (Debian has no mongodump; this needs only libmongoc).
 *
 *   oshxona-backup dump DIR      every collection into DIR (must not exist)
 *   oshxona-backup restore DIR   every collection of DIR back, replacing it
 *
 * A dump is a directory: <collection>.jsonl holds one document a line as
 * canonical extended JSON (types kept: ObjectId, dates, 64-bit integers),
 * MANIFEST lists "<collection> <documents>" lines. It is written as
 * DIR.partial and renamed when complete, so a DIR that exists is whole.
 * Restore reads and checks every file first and changes nothing unless
 * all of it parses and the counts match; then, collection by collection,
 * drops, inserts, and finally creates the indexes the programs rely on.
 *
 * The dump is not a point-in-time snapshot across collections (FerretDB
 * has no snapshot reads): take it at a quiet hour, or stop the programs,
 * for an exact copy; the README says so.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "oshxona.h"

#define BACKUP_BATCH     1000
#define BACKUP_NAME_MAX  120
#define BACKUP_MAX_COLLS 256

static int
backup_usage(void)
{
	fprintf(stderr, "usage: oshxona-backup dump DIR | restore DIR\n"
	                "MONGODB_URI (or OSHXONA_ENV_FILE) names the database.\n");
	return 2;
}

/* A collection name we can use as a file name: 1..120 of [A-Za-z0-9._-]. */
static int
backup_name_ok(const char *n)
{
	size_t len = strlen(n);

	if (len == 0 || len > BACKUP_NAME_MAX || n[0] == '.')
		return 0;
	for (; *n != '\0'; n++)
		if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') ||
		      (*n >= '0' && *n <= '9') || *n == '.' || *n == '_' || *n == '-'))
			return 0;
	return 1;
}

/* Writes every document of one collection; returns the count or -1. */
static int64_t
backup_dump_collection(mongoc_client_t *client, const char *name, const char *path)
{
	mongoc_collection_t *coll = db_collection(client, name);
	bson_t filter = BSON_INITIALIZER;
	mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(coll, &filter, NULL, NULL);
	const bson_t *doc;
	bson_error_t error;
	int64_t n = 0;
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		fprintf(stderr, "oshxona-backup: %s: %s\n", path, strerror(errno));
		n = -1;
		goto done;
	}
	while (mongoc_cursor_next(cursor, &doc)) {
		size_t len;
		char *json = bson_as_canonical_extended_json(doc, &len);
		if (json == NULL || fwrite(json, 1, len, f) != len || fputc('\n', f) == EOF) {
			fprintf(stderr, "oshxona-backup: cannot write %s\n", path);
			bson_free(json);
			n = -1;
			goto done;
		}
		bson_free(json);
		n++;
	}
	if (mongoc_cursor_error(cursor, &error)) {
		fprintf(stderr, "oshxona-backup: reading %s: %s\n", name, error.message);
		n = -1;
	}
done:
	if (f != NULL && fclose(f) != 0 && n >= 0) {
		fprintf(stderr, "oshxona-backup: %s: %s\n", path, strerror(errno));
		n = -1;
	}
	mongoc_cursor_destroy(cursor);
	bson_destroy(&filter);
	mongoc_collection_destroy(coll);
	return n;
}

static int
backup_dump(mongoc_client_t *client, const char *dir)
{
	const char *uri_db = db_database_name();
	mongoc_database_t *db = mongoc_client_get_database(client, uri_db);
	char partial[PATH_MAX], path[PATH_MAX];
	bson_error_t error;
	char **names = NULL;
	FILE *manifest = NULL;
	struct stat st;
	int rc = 1;

	if (stat(dir, &st) == 0) {
		fprintf(stderr, "oshxona-backup: %s exists: a dump never overwrites one\n", dir);
		goto done;
	}
	if ((size_t)snprintf(partial, sizeof(partial), "%s.partial", dir) >= sizeof(partial))
		goto done;
	names = mongoc_database_get_collection_names_with_opts(db, NULL, &error);
	if (names == NULL) {
		fprintf(stderr, "oshxona-backup: listing collections: %s\n", error.message);
		goto done;
	}
	if (mkdir(partial, 0700) != 0) {
		fprintf(stderr, "oshxona-backup: %s: %s\n", partial, strerror(errno));
		goto done;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/MANIFEST", partial) >= sizeof(path))
		goto done;
	manifest = fopen(path, "w");
	if (manifest == NULL) {
		fprintf(stderr, "oshxona-backup: %s: %s\n", path, strerror(errno));
		goto done;
	}
	for (size_t i = 0; names[i] != NULL; i++) {
		int64_t n;
		if (strncmp(names[i], "system.", 7) == 0)
			continue;
		if (!backup_name_ok(names[i])) {
			fprintf(stderr, "oshxona-backup: collection name '%s' is not dumpable\n",
			        names[i]);
			goto done;
		}
		if ((size_t)snprintf(path, sizeof(path), "%s/%s.jsonl", partial, names[i]) >=
		    sizeof(path))
			goto done;
		n = backup_dump_collection(client, names[i], path);
		if (n < 0)
			goto done;
		fprintf(manifest, "%s %lld\n", names[i], (long long)n);
		printf("%s: %lld documents\n", names[i], (long long)n);
	}
	if (fclose(manifest) != 0) {
		manifest = NULL;
		fprintf(stderr, "oshxona-backup: cannot write the manifest\n");
		goto done;
	}
	manifest = NULL;
	if (rename(partial, dir) != 0) {
		fprintf(stderr, "oshxona-backup: rename to %s: %s\n", dir, strerror(errno));
		goto done;
	}
	printf("dump of database %s complete in %s\n", uri_db, dir);
	rc = 0;
done:
	if (manifest != NULL)
		fclose(manifest);
	bson_strfreev(names);
	mongoc_database_destroy(db);
	return rc;
}

/* One collection of a dump, as the manifest names it. */
struct backup_entry {
	char name[BACKUP_NAME_MAX + 1];
	long long count;
};

/*
 * Reads the dump's file for e, calling insert (when not NULL) with
 * batches of parsed documents. Returns 0 when every line parsed and the
 * count matches, else -1 (reported).
 */
static int
backup_read_file(const char *dir, const struct backup_entry *e, mongoc_collection_t *insert)
{
	char path[PATH_MAX];
	bson_t *batch[BACKUP_BATCH];
	size_t nbatch = 0, cap = 0;
	char *line = NULL;
	long long n = 0;
	ssize_t len;
	int rc = 0;
	FILE *f;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s.jsonl", dir, e->name) >= sizeof(path))
		return -1;
	f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "oshxona-backup: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && (len = getline(&line, &cap, f)) > 0) {
		bson_error_t error;
		bson_t *doc;
		if (line[len - 1] != '\n') {
			fprintf(stderr, "oshxona-backup: %s:%lld: truncated line\n", path, n + 1);
			rc = -1;
			break;
		}
		doc = bson_new_from_json((const uint8_t *)line, len - 1, &error);
		if (doc == NULL) {
			fprintf(stderr, "oshxona-backup: %s:%lld: %s\n", path, n + 1,
			        error.message);
			rc = -1;
			break;
		}
		n++;
		if (insert == NULL) {
			bson_destroy(doc);
			continue;
		}
		batch[nbatch++] = doc;
		if (nbatch == BACKUP_BATCH) {
			if (!mongoc_collection_insert_many(insert, (const bson_t **)batch, nbatch,
			                                   NULL, NULL, &error)) {
				fprintf(stderr, "oshxona-backup: inserting into %s: %s\n", e->name,
				        error.message);
				rc = -1;
			}
			for (size_t i = 0; i < nbatch; i++)
				bson_destroy(batch[i]);
			nbatch = 0;
		}
	}
	if (rc == 0 && nbatch > 0) {
		bson_error_t error;
		if (!mongoc_collection_insert_many(insert, (const bson_t **)batch, nbatch, NULL,
		                                   NULL, &error)) {
			fprintf(stderr, "oshxona-backup: inserting into %s: %s\n", e->name,
			        error.message);
			rc = -1;
		}
	}
	for (size_t i = 0; i < nbatch; i++)
		bson_destroy(batch[i]);
	if (rc == 0 && n != e->count) {
		fprintf(stderr, "oshxona-backup: %s has %lld documents, the manifest says %lld\n",
		        path, n, e->count);
		rc = -1;
	}
	free(line);
	fclose(f);
	return rc;
}

/* Creates the (dropped) collection name, empty. 0 or -1. */
static int
backup_create_empty(mongoc_client_t *client, const char *name)
{
	mongoc_database_t *db = mongoc_client_get_database(client, db_database_name());
	bson_error_t error;
	mongoc_collection_t *coll = mongoc_database_create_collection(db, name, NULL, &error);
	int rc = 0;

	if (coll == NULL) {
		fprintf(stderr, "oshxona-backup: creating %s: %s\n", name, error.message);
		rc = -1;
	}
	mongoc_collection_destroy(coll);
	mongoc_database_destroy(db);
	return rc;
}

static int
backup_restore(mongoc_client_t *client, const char *dir)
{
	static struct backup_entry entries[BACKUP_MAX_COLLS];
	char path[PATH_MAX], line[256];
	bson_error_t error;
	size_t n = 0;
	FILE *manifest;

	if ((size_t)snprintf(path, sizeof(path), "%s/MANIFEST", dir) >= sizeof(path))
		return 1;
	manifest = fopen(path, "r");
	if (manifest == NULL) {
		fprintf(stderr, "oshxona-backup: %s: %s\n", path, strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), manifest) != NULL) {
		struct backup_entry *e = &entries[n];
		char extra;
		if (n == BACKUP_MAX_COLLS ||
		    sscanf(line, "%120s %lld %c", e->name, &e->count, &extra) != 2 ||
		    !backup_name_ok(e->name) || e->count < 0) {
			fprintf(stderr, "oshxona-backup: %s: bad line '%s'\n", path, line);
			fclose(manifest);
			return 1;
		}
		n++;
	}
	fclose(manifest);
	/* Everything must read back before anything is dropped. */
	for (size_t i = 0; i < n; i++)
		if (backup_read_file(dir, &entries[i], NULL) != 0)
			return 1;
	for (size_t i = 0; i < n; i++) {
		mongoc_collection_t *coll = db_collection(client, entries[i].name);
		int rc = 0;
		if (!mongoc_collection_drop_with_opts(coll, NULL, &error) &&
		    strstr(error.message, "ns not found") == NULL && error.code != 26) {
			fprintf(stderr, "oshxona-backup: dropping %s: %s\n", entries[i].name,
			        error.message);
			rc = -1;
		}
		/* An empty collection comes back too (a dump of it holds no
		 * document whose insert would create it), so the restored
		 * database lists the same collections as the dumped one. */
		if (rc == 0 && entries[i].count == 0)
			rc = backup_create_empty(client, entries[i].name);
		if (rc == 0)
			rc = backup_read_file(dir, &entries[i], coll);
		mongoc_collection_destroy(coll);
		if (rc != 0)
			return 1;
		printf("%s: %lld documents restored\n", entries[i].name, entries[i].count);
	}
	if (db_ensure_indexes(client, &error) != 0) {
		fprintf(stderr, "oshxona-backup: indexes: %s\n", error.message);
		return 1;
	}
	printf("restore of %s into database %s complete\n", dir, db_database_name());
	return 0;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	char err[256];
	mongoc_client_t *client;
	int rc;

	if (argc != 3 || (strcmp(argv[1], "dump") != 0 && strcmp(argv[1], "restore") != 0))
		return backup_usage();
	log_init("oshxona-backup", getenv("LOG_LEVEL"), getenv("LOG_FILE"));
	if (config_load(&cfg, getenv("OSHXONA_ENV_FILE"), err, sizeof(err)) != 0) {
		fprintf(stderr, "oshxona-backup: %s\n", err);
		return 1;
	}
	db_library_init();
	if (db_init(cfg.mongodb_uri, "oshxona-backup", NULL) != 0)
		return 1;
	client = db_pop();
	rc = strcmp(argv[1], "dump") == 0 ? backup_dump(client, argv[2])
	                                  : backup_restore(client, argv[2]);
	db_push(client);
	db_cleanup();
	mongoc_cleanup();
	return rc;
}
