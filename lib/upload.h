/*
 * upload.h - image uploads: the multipart/form-data parser, image
 * checking and re-encoding (libvips), local storage under MEDIA_DIR and
 * the Cloudinary backend. Included by oshxona.h; libvips stays inside
 * lib/image.c, so nothing else needs its headers.
 */
#ifndef OSHXONA_UPLOAD_H
#define OSHXONA_UPLOAD_H

#include <stddef.h>

/* ----------------------------------------------------------- multipart.c */

#define MULTIPART_MAX_PARTS    4    /* body parts in one request */
#define MULTIPART_HEADER_MAX   1024 /* bytes of one part's header block */
#define MULTIPART_BOUNDARY_MAX 70   /* RFC 2046 section 5.1.1 */

/*
 * One body part. Every pointer points into the parsed body (or is NULL),
 * so a part lives as long as the body; nothing is NUL-terminated.
 */
struct multipart_part {
	const char *name;         /* Content-Disposition name="..." (never NULL) */
	size_t name_len;          /* bytes in name */
	const char *filename;     /* filename="...", raw bytes between the quotes; */
	size_t filename_len;      /* NULL when absent (filename* is ignored) */
	const char *content_type; /* the part's Content-Type value, NULL when absent */
	size_t content_type_len;  /* bytes in content_type */
	const char *data;         /* the part's content */
	size_t data_len;          /* bytes in data, 0 allowed */
};

/*
 * The boundary parameter of a request's Content-Type, which must be
 * multipart/form-data (case-insensitive) with a boundary of 1..70 RFC 2046
 * characters, quoted or not. Returns 0 with *boundary pointing into
 * content_type (*len bytes, quotes excluded), or -1.
 */
int multipart_boundary(const char *content_type, const char **boundary, size_t *len);

/*
 * Parses a multipart/form-data body in the picohttpparser manner: the
 * caller supplies parts[max_parts], nothing is allocated. The body must
 * be exactly "--boundary" CRLF, then parts separated by CRLF "--boundary"
 * CRLF, ending in CRLF "--boundary--" with at most a CRLF after it (no
 * preamble, no epilogue; transport padding of spaces and tabs after a
 * delimiter is allowed). Each part: CRLF-terminated header lines (token
 * name, colon, value without control bytes; no folding) totalling at most
 * MULTIPART_HEADER_MAX bytes, then an empty line. Content-Disposition is
 * required, once, as form-data with a name parameter; Content-Type at most
 * once; other headers are ignored. Returns the number of parts (>= 1), or
 * -1 on any malformation or when there are more than max_parts (or more
 * than MULTIPART_MAX_PARTS) parts.
 */
int multipart_parse(const char *body, size_t len, const char *boundary, size_t boundary_len,
                    struct multipart_part *parts, size_t max_parts);

/* --------------------------------------------------------------- image.c */

#define IMAGE_MAX_BYTES  (5 * 1024 * 1024) /* file content accepted */
#define IMAGE_FIT_WIDTH  800               /* stored images fit in 800 x 600 */
#define IMAGE_FIT_HEIGHT 600
#define IMAGE_MAX_SIDE   10000    /* header dimensions above this: refused undecoded */
#define IMAGE_MAX_PIXELS 40000000 /* and so is more than 40 megapixels */
#define IMAGE_NAME_LEN   37       /* 32 hex + ".webp" (the longest extension) */

enum image_format { IMAGE_UNKNOWN, IMAGE_JPEG, IMAGE_PNG, IMAGE_WEBP };

/*
 * The format by the magic bytes alone (JPEG FF D8 FF, PNG's 8-byte
 * signature, RIFF....WEBP); never by a name or a declared type.
 */
enum image_format image_sniff(const void *data, size_t len);

/* "jpg", "png", "webp" (also the names' extensions); "" for unknown. */
const char *image_format_ext(enum image_format f);

/*
 * Start-up once per process, before the first image_process: VIPS_INIT,
 * one worker thread, no operation cache, untrusted loaders blocked.
 * Returns 0 or -1.
 */
int image_init(const char *argv0);

/* An image after image_process; data is the caller's (image_result_free). */
struct image_result {
	enum image_format format; /* the input's format, kept */
	int width;                /* after the resize */
	int height;
	void *data; /* the encoded bytes */
	size_t len; /* bytes in data */
};

/*
 * Decodes an image of a sniffed format with the matching libvips loader
 * (fail on any decoding error), refuses it from its header when it is
 * larger than IMAGE_MAX_SIDE or IMAGE_MAX_PIXELS (12 megapixels for the
 * kinds libvips must hold whole: progressive JPEG, interlaced PNG, WebP),
 * rotates it upright,
 * shrinks it to fit IMAGE_FIT_WIDTH x IMAGE_FIT_HEIGHT (never enlarges),
 * and encodes it again in the same format (JPEG quality 82, PNG, WebP
 * quality 80) with every piece of metadata (EXIF, GPS, XMP, ICC,
 * comments) stripped. Returns 0, or the HTTP status to answer with a
 * message in err: 415 (not JPEG, PNG or WebP), 422 (cannot be decoded, or
 * too large), 500.
 */
int image_process(const void *data, size_t len, struct image_result *out, char *err, size_t errlen);
void image_result_free(struct image_result *img);

/*
 * 1 when name is one of ours: 32 lower-case hex digits, '.', and jpg, png
 * or webp. Only such names are ever written, served or deleted.
 */
int image_name_valid(const char *name);

/*
 * Stores img in MEDIA_DIR (the environment; default /var/lib/oshxona/media)
 * under a fresh random name, mode 0644, written to a temporary file, synced
 * and renamed into place. Writes the name into name. Returns 0 or -1
 * (logged).
 */
int image_store(const struct image_result *img, char name[IMAGE_NAME_LEN + 1]);

/*
 * Removes a stored image by its name (the local publicId). Returns 0 when
 * it is gone (also when it was never there), -1 for a name that is not
 * one of ours or when unlink fails.
 */
int image_delete(const char *public_id);

/*
 * Deletes an image wherever it was stored: a local name (image_name_valid)
 * from MEDIA_DIR, anything else from Cloudinary. For the catalogue admin
 * when a product's image is replaced or removed. Returns 0 when the image
 * is gone, -1 when it could not be deleted (logged).
 */
int upload_delete(const char *public_id);

/* ---------------------------------------------------------- cloudinary.c */

#define CLOUDINARY_FOLDER         "oshxona"
#define CLOUDINARY_TRANSFORMATION "c_limit,w_800,h_600,q_auto"
#define CLOUDINARY_TIMEOUT_S      20
#define CLOUDINARY_SIGNATURE_LEN  40 /* SHA-1 as hex */

/* One parameter of a Cloudinary call. */
struct cloudinary_param {
	const char *key;
	const char *value;
};

/*
 * 1 when CLOUDINARY_CLOUD_NAME, CLOUDINARY_API_KEY and
 * CLOUDINARY_API_SECRET are all set (and the cloud name is plain): uploads
 * go to Cloudinary; 0: they are stored locally.
 */
int cloudinary_configured(void);

/*
 * Cloudinary's request signature: the parameters other than file,
 * api_key, resource_type and cloud_name, sorted by name, joined as
 * "k=v&k=v", followed directly by the API secret, hashed with SHA-1, as
 * lower-case hex into out. The order of params does not matter. Returns 0,
 * or -1 when the string to sign would exceed 4 KB.
 */
int cloudinary_signature(const struct cloudinary_param *params, size_t n, const char *secret,
                         char out[CLOUDINARY_SIGNATURE_LEN + 1]);

/* What a successful Cloudinary upload returned. */
struct cloudinary_upload_result {
	char url[1024];      /* secure_url, https:// */
	char public_id[256]; /* e.g. "oshxona/abc123" */
	int width;
	int height;
	char format[8]; /* "jpg", "png", "webp" */
};

/*
 * Signed upload of len bytes (an image already checked by image_process)
 * to CLOUDINARY_API_BASE (default https://api.cloudinary.com)
 * /v1_1/<cloud>/image/upload with folder CLOUDINARY_FOLDER and the
 * incoming transformation CLOUDINARY_TRANSFORMATION; 20 s timeout. Returns
 * 0 and fills res, or -1 (logged) for anything else: the caller answers
 * 502.
 */
int cloudinary_upload(const void *data, size_t len, const char *ext,
                      struct cloudinary_upload_result *res);

/*
 * Signed destroy of an image by public_id. Returns 0 when Cloudinary
 * answered "ok" or "not found" (the image is gone either way), else -1
 * (logged).
 */
int cloudinary_destroy(const char *public_id);

/* -------------------------------------------------------------- assets.c */

/*
 * The images this service stored, one document each in collection
 * "uploads" ({_id: publicId, storage, by, at}), recorded when they are
 * stored. A publicId is free text in the catalogue admin, so only a
 * recorded one may ever be deleted: not any asset of the Cloudinary
 * account, nor a file someone else put in MEDIA_DIR.
 */

/* Records public_id as stored here by staff ("cloudinary" or "local"). Returns 0 or -1. */
int asset_record(mongoc_client_t *client, const char *public_id, const char *storage,
                 const bson_oid_t *staff, bson_error_t *error);

/*
 * Deletes a recorded image where it is stored, then its record. Returns 0
 * when it is gone, 1 when it was not recorded (kept, logged), -1 when it
 * could not be deleted or the database did not answer (logged).
 */
int asset_delete(mongoc_client_t *client, const char *public_id);

#endif
