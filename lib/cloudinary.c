/*
 * cloudinary.c - Cloudinary's Upload API: signed uploads of images that
 * image_process already checked and re-encoded, and signed destroys. One
 * libcurl handle per process (the connection to Cloudinary is kept),
 * 20 s timeouts, answers capped at 64 KB. FACTS.md, "External protocols".
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "oshxona.h"

#define CLOUDINARY_API_DEFAULT   "https://api.cloudinary.com"
#define CLOUDINARY_SIGN_MAX      4096
#define CLOUDINARY_PARAMS_MAX    16
#define CLOUDINARY_REPLY_MAX     (64 * 1024)
#define CLOUDINARY_CLOUD_MAX     64
#define CLOUDINARY_CONNECT_S     10
#define CLOUDINARY_PUBLIC_ID_MAX 255

static CURL *cloudinary_curl;

/* Letters, digits, '-' and '_': safe in a URL path as it is. */
static int
cloudinary_cloud_ok(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '-' && s[n] != '_')
			return 0;
	return n > 0 && n <= CLOUDINARY_CLOUD_MAX;
}

static const char *
cloudinary_env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

int
cloudinary_configured(void)
{
	const char *cloud = cloudinary_env("CLOUDINARY_CLOUD_NAME");

	return cloud != NULL && cloudinary_env("CLOUDINARY_API_KEY") != NULL &&
	       cloudinary_env("CLOUDINARY_API_SECRET") != NULL && cloudinary_cloud_ok(cloud);
}

/* Parameters Cloudinary leaves out of the string to sign. */
static int
cloudinary_unsigned(const char *key)
{
	return strcmp(key, "file") == 0 || strcmp(key, "api_key") == 0 ||
	       strcmp(key, "resource_type") == 0 || strcmp(key, "cloud_name") == 0 ||
	       strcmp(key, "signature") == 0;
}

/* Appends s to buf (used bytes *off of size); -1 when it does not fit. */
static int
cloudinary_append(char *buf, size_t size, size_t *off, const char *s)
{
	size_t n = strlen(s);

	if (n >= size - *off)
		return -1;
	memcpy(buf + *off, s, n + 1);
	*off += n;
	return 0;
}

int
cloudinary_signature(const struct cloudinary_param *params, size_t n, const char *secret,
                     char out[CLOUDINARY_SIGNATURE_LEN + 1])
{
	const struct cloudinary_param *sorted[CLOUDINARY_PARAMS_MAX];
	char buf[CLOUDINARY_SIGN_MAX];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t m = 0, off = 0;

	/* Insertion sort by name: a handful of parameters. */
	for (size_t i = 0; i < n; i++) {
		size_t j;
		if (cloudinary_unsigned(params[i].key))
			continue;
		if (m == CLOUDINARY_PARAMS_MAX)
			return -1;
		for (j = m; j > 0 && strcmp(sorted[j - 1]->key, params[i].key) > 0; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = &params[i];
		m++;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < m; i++) {
		if ((i > 0 && cloudinary_append(buf, sizeof(buf), &off, "&") != 0) ||
		    cloudinary_append(buf, sizeof(buf), &off, sorted[i]->key) != 0 ||
		    cloudinary_append(buf, sizeof(buf), &off, "=") != 0 ||
		    cloudinary_append(buf, sizeof(buf), &off, sorted[i]->value) != 0)
			return -1;
	}
	if (cloudinary_append(buf, sizeof(buf), &off, secret) != 0)
		return -1;
	if (EVP_Digest(buf, off, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20)
		abort(); /* libcrypto fails here only when out of memory */
	hex_encode(md, mdlen, out);
	OPENSSL_cleanse(buf, sizeof(buf)); /* it held the secret */
	return 0;
}

/*
 * POSTs the form (made for curl) to <base>/v1_1/<cloud>/image/<action>.
 * Returns the parsed JSON object of a 200 answer (the caller's), or NULL
 * after logging why.
 */
static json_object *
cloudinary_post(CURL *curl, const char *action, curl_mime *form)
{
	const char *base = cloudinary_env("CLOUDINARY_API_BASE");
	const char *cloud = cloudinary_env("CLOUDINARY_CLOUD_NAME");
	struct httpc_reply reply = {NULL, 0, CLOUDINARY_REPLY_MAX, 0};
	struct curl_slist *headers = NULL;
	json_object *obj = NULL;
	char url[512], perr[64];
	long status = 0;
	CURLcode rc;
	int n;

	if (base == NULL)
		base = CLOUDINARY_API_DEFAULT;
	n = snprintf(url, sizeof(url), "%s/v1_1/%s/image/%s", base, cloud, action);
	if (n < 0 || (size_t)n >= sizeof(url)) {
		log_error("cloudinary: CLOUDINARY_API_BASE too long");
		return NULL;
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_MIMEPOST, form);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)CLOUDINARY_TIMEOUT_S);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)CLOUDINARY_CONNECT_S);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, httpc_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "oshxona");
	/* No "Expect: 100-continue" wait: the body is small and sent at once. */
	headers = curl_slist_append(headers, "Expect:");
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		log_error("cloudinary %s: %s", action, curl_easy_strerror(rc));
		goto done;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (reply.data != NULL && !reply.truncated)
		obj = json_parse(reply.data, reply.len, perr, sizeof(perr));
	if (status != 200 || obj == NULL || !json_object_is_type(obj, json_type_object)) {
		json_object *e = NULL;
		const char *msg = NULL;
		if (obj != NULL && json_object_is_type(obj, json_type_object) &&
		    json_object_object_get_ex(obj, "error", &e))
			msg = json_get_string(e, "message");
		log_error("cloudinary %s: HTTP %ld: %.200s", action, status,
		          msg != NULL ? msg : "no JSON object in the answer");
		json_object_put(obj);
		obj = NULL;
	}
done:
	curl_slist_free_all(headers);
	free(reply.data);
	return obj;
}

/* Adds a text field to form. */
static void
cloudinary_field(curl_mime *form, const char *name, const char *value)
{
	curl_mimepart *part = curl_mime_addpart(form);

	curl_mime_name(part, name);
	curl_mime_data(part, value, CURL_ZERO_TERMINATED);
}

/* 1 when s is 1..max bytes of printable ASCII. */
static int
cloudinary_printable(const char *s, size_t max)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (; s[n] != '\0'; n++)
		if ((unsigned char)s[n] < 0x21 || (unsigned char)s[n] > 0x7e)
			return 0;
	return n > 0 && n <= max;
}

int
cloudinary_upload(const void *data, size_t len, const char *ext,
                  struct cloudinary_upload_result *res)
{
	const char *key = cloudinary_env("CLOUDINARY_API_KEY");
	const char *secret = cloudinary_env("CLOUDINARY_API_SECRET");
	char ts[24], sig[CLOUDINARY_SIGNATURE_LEN + 1], fname[16], mime[24];
	struct cloudinary_param params[] = {
	    {"timestamp", ts},
	    {"folder", CLOUDINARY_FOLDER},
	    {"transformation", CLOUDINARY_TRANSFORMATION},
	};
	const char *url, *id, *format;
	int64_t w, h;
	json_object *obj;
	curl_mime *form;
	curl_mimepart *part;
	CURL *curl;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (!cloudinary_configured())
		return -1;
	snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	if (cloudinary_signature(params, sizeof(params) / sizeof(params[0]), secret, sig) != 0)
		return -1;
	snprintf(fname, sizeof(fname), "upload.%s", ext);
	snprintf(mime, sizeof(mime), "image/%s", strcmp(ext, "jpg") == 0 ? "jpeg" : ext);

	curl = httpc_handle(&cloudinary_curl);
	if (curl == NULL)
		return -1;
	form = curl_mime_init(curl);
	part = curl_mime_addpart(form);
	curl_mime_name(part, "file");
	curl_mime_data(part, data, len);
	curl_mime_filename(part, fname);
	curl_mime_type(part, mime);
	cloudinary_field(form, "api_key", key);
	cloudinary_field(form, "timestamp", ts);
	cloudinary_field(form, "folder", CLOUDINARY_FOLDER);
	cloudinary_field(form, "transformation", CLOUDINARY_TRANSFORMATION);
	cloudinary_field(form, "signature", sig);
	obj = cloudinary_post(curl, "upload", form);
	curl_mime_free(form);
	if (obj == NULL)
		return -1;
	url = json_get_string(obj, "secure_url");
	id = json_get_string(obj, "public_id");
	format = json_get_string(obj, "format");
	if (url == NULL || strncmp(url, "https://", 8) != 0 ||
	    !cloudinary_printable(url, sizeof(res->url) - 1) ||
	    !cloudinary_printable(id, sizeof(res->public_id) - 1) ||
	    !cloudinary_printable(format, sizeof(res->format) - 1) ||
	    json_get_int64(obj, "width", 1, INT32_MAX, &w) != 0 ||
	    json_get_int64(obj, "height", 1, INT32_MAX, &h) != 0) {
		log_error("cloudinary upload: the answer lacks secure_url, public_id, format, "
		          "width or height");
		goto done;
	}
	snprintf(res->url, sizeof(res->url), "%s", url);
	snprintf(res->public_id, sizeof(res->public_id), "%s", id);
	snprintf(res->format, sizeof(res->format), "%s", format);
	res->width = (int)w;
	res->height = (int)h;
	rc = 0;
done:
	json_object_put(obj);
	return rc;
}

int
cloudinary_destroy(const char *public_id)
{
	const char *key = cloudinary_env("CLOUDINARY_API_KEY");
	const char *secret = cloudinary_env("CLOUDINARY_API_SECRET");
	char ts[24], sig[CLOUDINARY_SIGNATURE_LEN + 1];
	struct cloudinary_param params[] = {
	    {"public_id", public_id},
	    {"timestamp", ts},
	};
	const char *result;
	json_object *obj;
	curl_mime *form;
	CURL *curl;
	int rc = -1;

	if (!cloudinary_configured() || !cloudinary_printable(public_id, CLOUDINARY_PUBLIC_ID_MAX))
		return -1;
	snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	if (cloudinary_signature(params, sizeof(params) / sizeof(params[0]), secret, sig) != 0)
		return -1;
	curl = httpc_handle(&cloudinary_curl);
	if (curl == NULL)
		return -1;
	form = curl_mime_init(curl);
	cloudinary_field(form, "public_id", public_id);
	cloudinary_field(form, "api_key", key);
	cloudinary_field(form, "timestamp", ts);
	cloudinary_field(form, "signature", sig);
	obj = cloudinary_post(curl, "destroy", form);
	curl_mime_free(form);
	if (obj == NULL)
		return -1;
	result = json_get_string(obj, "result");
	if (result != NULL && (strcmp(result, "ok") == 0 || strcmp(result, "not found") == 0))
		rc = 0;
	else
		log_error("cloudinary destroy %s: result %.64s", public_id,
		          result != NULL ? result : "(none)");
	json_object_put(obj);
	return rc;
}
