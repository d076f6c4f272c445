/*
 * uploads - product images for the admin panel. POST /api/admin/uploads
 * takes one image as multipart/form-data (field "file"), decides its type
 * by its bytes alone, re-encodes it at most 800 x 600 without metadata,
 * and stores it under a random name: in MEDIA_DIR, which nginx serves as
 * /media/<name>, or at Cloudinary when CLOUDINARY_CLOUD_NAME, _API_KEY
 * and _API_SECRET are all set. The client's file name is never used.
 */
#include <string.h>

#include "oshxona.h"

/* The file's 5 MB plus room for the multipart framing of up to 4 parts. */
#define UPLOAD_BODY_MAX  (IMAGE_MAX_BYTES + 64 * 1024)
#define UPLOAD_FIELD     "file"
#define UPLOAD_TOO_LARGE "The image must be at most 5 MB"

static const char *upload_argv0;

/* 0 when the body's declared length is acceptable, else 413 was answered. */
static int
upload_check_length(struct req *r)
{
	const char *cl = req_header(r, "Content-Length");
	int64_t len;

	if (cl != NULL && *cl != '\0' && parse_int64(cl, 0, INT64_MAX, &len) == 0 &&
	    len > UPLOAD_BODY_MAX) {
		resp_error(r, 413, UPLOAD_TOO_LARGE);
		return -1;
	}
	return 0;
}

/*
 * The one file part: the only part with a filename, named "file". Returns
 * it, or NULL after answering 400.
 */
static const struct multipart_part *
upload_file_part(struct req *r, const struct multipart_part *parts, int n)
{
	const struct multipart_part *file = NULL;
	int nfiles = 0;

	for (int i = 0; i < n; i++) {
		if (parts[i].filename != NULL) {
			file = &parts[i];
			nfiles++;
		}
	}
	if (nfiles == 0) {
		resp_error(r, 400, "A file part named \"" UPLOAD_FIELD "\" is required");
		return NULL;
	}
	if (nfiles > 1) {
		resp_error(r, 400, "Exactly one file may be uploaded at a time");
		return NULL;
	}
	if (file->name_len != strlen(UPLOAD_FIELD) ||
	    memcmp(file->name, UPLOAD_FIELD, file->name_len) != 0) {
		resp_error(r, 400, "The file part must be named \"" UPLOAD_FIELD "\"");
		return NULL;
	}
	/*
	 * The name is never used for storage, but a browser sends a plain
	 * file name: one with a path in it ("../../x") or control bytes is a
	 * forged request, refused (and, like every name, not echoed).
	 */
	if (file->filename_len == 0 || file->filename_len > 255 ||
	    memchr(file->filename, '/', file->filename_len) != NULL ||
	    memchr(file->filename, '\\', file->filename_len) != NULL ||
	    memmem(file->filename, file->filename_len, "..", 2) != NULL) {
		resp_error(r, 400, "The file name must be a plain name, without a path");
		return NULL;
	}
	for (size_t i = 0; i < file->filename_len; i++) {
		if ((unsigned char)file->filename[i] < 0x20 || file->filename[i] == 0x7f) {
			resp_error(r, 400, "The file name must be a plain name, without a path");
			return NULL;
		}
	}
	return file;
}

/*
 * Records a stored image as ours (the only kind the admin may later
 * delete). When the record cannot be written the image is removed again
 * and 503 answered: an unrecorded image could never be cleaned up.
 * Returns 0, or -1 after answering.
 */
static int
upload_record(struct req *r, const char *public_id, const char *storage, const bson_oid_t *staff)
{
	mongoc_client_t *client = db_pop();
	bson_error_t error;
	int rc = asset_record(client, public_id, storage, staff, &error);

	db_push(client);
	if (rc == 0)
		return 0;
	log_error("upload %s not recorded: %s", public_id, error.message);
	if (upload_delete(public_id) != 0)
		log_error("unrecorded upload %s left in storage", public_id);
	resp_error(r, 503, "Database unavailable, try again shortly");
	return -1;
}

/* 201 {"success": true, "data": {url, publicId, width, height, format}}. */
static void
upload_created(struct req *r, const char *url, const char *public_id, int width, int height,
               const char *format)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, "url", json_object_new_string(url));
	json_object_object_add(d, "publicId", json_object_new_string(public_id));
	json_object_object_add(d, "width", json_object_new_int(width));
	json_object_object_add(d, "height", json_object_new_int(height));
	json_object_object_add(d, "format", json_object_new_string(format));
	resp_data(r, 201, d);
}

/*
 * POST /api/admin/uploads (staff). In order: 415 (not multipart/form-data
 * with a boundary), 413 (declared length), 401/403/503 (authz), 400/413
 * (reading the body), 400 (malformed multipart, no or several file parts,
 * wrong field name), 413 (file over 5 MB), 415 (not JPEG, PNG or WebP by
 * its bytes), 422 (empty, undecodable or too large in pixels), 500 (local
 * storage failed), 502 (Cloudinary failed), else 201.
 */
static void
upload_create(struct req *r)
{
	struct multipart_part parts[MULTIPART_MAX_PARTS];
	const struct multipart_part *file;
	struct image_result img = {0};
	struct cloudinary_upload_result cres;
	const char *boundary;
	char err[160], name[IMAGE_NAME_LEN + 1], url[16 + IMAGE_NAME_LEN], staff[25];
	mongoc_client_t *client;
	struct who who;
	size_t blen;
	int n, status;

	if (multipart_boundary(req_header(r, "Content-Type"), &boundary, &blen) != 0) {
		resp_error(r, 415, "Content-Type must be multipart/form-data with a boundary");
		return;
	}
	if (upload_check_length(r) != 0)
		return;
	client = db_pop();
	status = authz(r, client, AUTHZ_STAFF, NULL, &who);
	db_push(client);
	if (status != 0)
		return;
	status = req_read_body(r, UPLOAD_BODY_MAX);
	if (status != 0) {
		resp_error(r, status, status == 413 ? UPLOAD_TOO_LARGE : "Malformed request body");
		return;
	}
	n = multipart_parse(r->body, r->body_len, boundary, blen, parts, MULTIPART_MAX_PARTS);
	if (n < 0) {
		resp_error(r, 400, "Malformed multipart/form-data body (at most %d parts)",
		           MULTIPART_MAX_PARTS);
		return;
	}
	file = upload_file_part(r, parts, n);
	if (file == NULL)
		return;
	if (file->data_len > IMAGE_MAX_BYTES) {
		resp_error(r, 413, UPLOAD_TOO_LARGE);
		return;
	}
	if (file->data_len == 0) {
		resp_error(r, 422, "The file is empty");
		return;
	}
	if (image_init(upload_argv0) != 0) {
		resp_error(r, 500, "Image processing is not available");
		return;
	}
	status = image_process(file->data, file->data_len, &img, err, sizeof(err));
	if (status != 0) {
		resp_error(r, status, "%s", err);
		return;
	}
	bson_oid_to_string(&who.id, staff);
	if (cloudinary_configured()) {
		if (cloudinary_upload(img.data, img.len, image_format_ext(img.format), &cres) !=
		    0) {
			resp_error(r, 502, "Image storage unavailable");
			goto done;
		}
		if (upload_record(r, cres.public_id, "cloudinary", &who.id) != 0)
			goto done;
		log_info("staff %s uploaded %s to Cloudinary (%dx%d)", staff, cres.public_id,
		         cres.width, cres.height);
		upload_created(r, cres.url, cres.public_id, cres.width, cres.height, cres.format);
	} else {
		if (image_store(&img, name) != 0) {
			resp_error(r, 500, "Could not store the image");
			goto done;
		}
		if (upload_record(r, name, "local", &who.id) != 0)
			goto done;
		snprintf(url, sizeof(url), "/media/%s", name);
		log_info("staff %s uploaded %s (%dx%d, %zu bytes)", staff, name, img.width,
		         img.height, img.len);
		upload_created(r, url, name, img.width, img.height, image_format_ext(img.format));
	}
done:
	image_result_free(&img);
}

static const struct route upload_routes[] = {
    {HTTP_POST, "/api/admin/uploads", upload_create},
};

int
main(int argc, char **argv)
{
	static const struct app uploads = {
	    .name = "uploads",
	    .uses_db = 1,
	    .routes = upload_routes,
	    .nroutes = sizeof(upload_routes) / sizeof(upload_routes[0]),
	};

	/* libvips starts on the first upload (image_init), once per process. */
	upload_argv0 = argc > 0 ? argv[0] : "uploads";
	return app_main(&uploads, argc, argv);
}
