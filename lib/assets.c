/*
 * assets.c - the record of images this service stored (see upload.h):
 * deletion follows the record, never a publicId a client typed in.
 */
#include "oshxona.h"

int
asset_record(mongoc_client_t *client, const char *public_id, const char *storage,
             const bson_oid_t *staff, bson_error_t *error)
{
	mongoc_collection_t *coll = db_collection(client, "uploads");
	bson_t *doc = BCON_NEW("_id", BCON_UTF8(public_id), "storage", BCON_UTF8(storage), "by",
	                       BCON_OID(staff), "at", BCON_DATE_TIME(db_now_ms()));
	bool ok = mongoc_collection_insert_one(coll, doc, NULL, NULL, error);

	bson_destroy(doc);
	mongoc_collection_destroy(coll);
	return ok ? 0 : -1;
}

int
asset_delete(mongoc_client_t *client, const char *public_id)
{
	mongoc_collection_t *coll = db_collection(client, "uploads");
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(public_id));
	bson_error_t error;
	int64_t n;
	int rc = -1;

	n = mongoc_collection_count_documents(coll, filter, NULL, NULL, NULL, &error);
	if (n < 0) {
		log_warn("image %.64s kept: cannot read the upload record (%s)", public_id,
		         error.message);
	} else if (n == 0) {
		log_warn("image %.64s kept: it was not uploaded through this service", public_id);
		rc = 1;
	} else if (upload_delete(public_id) == 0) {
		if (!mongoc_collection_delete_one(coll, filter, NULL, NULL, &error))
			log_warn("image %.64s deleted, its record kept: %s", public_id,
			         error.message);
		rc = 0;
	}
	bson_destroy(filter);
	mongoc_collection_destroy(coll);
	return rc;
}
