/*
 * http.c - the request/response layer over fcgiapp.h: every program
 * parses its input and writes its answer through here, so status lines,
 * limits and error bodies are the same everywhere.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "oshxona.h"

#define RESP_HEADERS_MAX 4096
#define HEADER_NAME_MAX  64

enum http_method
http_method_parse(const char *s)
{
	static const struct {
		const char *name;
		enum http_method m;
	} t[] = {{"GET", HTTP_GET},        {"HEAD", HTTP_HEAD},   {"POST", HTTP_POST},
	         {"PUT", HTTP_PUT},        {"PATCH", HTTP_PATCH}, {"DELETE", HTTP_DELETE},
	         {"OPTIONS", HTTP_OPTIONS}};

	if (s != NULL)
		for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
			if (strcmp(s, t[i].name) == 0)
				return t[i].m;
	return HTTP_OTHER;
}

const char *
http_method_name(enum http_method m)
{
	switch (m) {
	case HTTP_GET:
		return "GET";
	case HTTP_HEAD:
		return "HEAD";
	case HTTP_POST:
		return "POST";
	case HTTP_PUT:
		return "PUT";
	case HTTP_PATCH:
		return "PATCH";
	case HTTP_DELETE:
		return "DELETE";
	case HTTP_OPTIONS:
		return "OPTIONS";
	default:
		return "OTHER";
	}
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 411:
		return "Length Required";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 422:
		return "Unprocessable Entity";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	default:
		return "Unknown";
	}
}

void
req_init(struct req *r, FCGX_Request *fcgx)
{
	const char *path, *query;

	memset(r, 0, sizeof(*r));
	r->fcgx = fcgx;
	r->method = http_method_parse(FCGX_GetParam("REQUEST_METHOD", fcgx->envp));
	/* DOCUMENT_URI is nginx's $document_uri: decoded and normalized. */
	path = FCGX_GetParam("DOCUMENT_URI", fcgx->envp);
	if (path == NULL)
		path = FCGX_GetParam("SCRIPT_NAME", fcgx->envp);
	r->path = xstrdup(path != NULL ? path : "/");
	query = FCGX_GetParam("QUERY_STRING", fcgx->envp);
	r->query = xstrdup(query != NULL ? query : "");
}

void
resp_finish(struct req *r)
{
	/*
	 * libfcgi sends the buffered answer and the end-of-request record, and
	 * nginx completes the response. FCGX_Accept_r finishes a request again
	 * before the next one; a finished one is a no-op there.
	 */
	FCGX_Finish_r(r->fcgx);
}

void
req_free(struct req *r)
{
	free(r->path);
	free(r->query);
	free(r->body);
	free(r->param_buf);
	free(r->resp_headers);
	memset(r, 0, sizeof(*r));
}

const char *
req_header(const struct req *r, const char *name)
{
	char key[5 + HEADER_NAME_MAX + 1] = "HTTP_";
	size_t i, n = strlen(name);

	if (n > HEADER_NAME_MAX)
		return NULL;
	for (i = 0; i < n; i++)
		key[5 + i] = name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
	key[5 + n] = '\0';
	/* Content-Type and Content-Length arrive without the HTTP_ prefix. */
	if (strcmp(key, "HTTP_CONTENT_TYPE") == 0 || strcmp(key, "HTTP_CONTENT_LENGTH") == 0)
		return FCGX_GetParam(key + 5, r->fcgx->envp);
	return FCGX_GetParam(key, r->fcgx->envp);
}

int
req_read_body(struct req *r, size_t max)
{
	const char *cl = FCGX_GetParam("CONTENT_LENGTH", r->fcgx->envp);
	int64_t len = 0;
	size_t got = 0;

	if (cl != NULL && *cl != '\0' && parse_int64(cl, 0, INT64_MAX, &len) != 0)
		return 400;
	if ((uint64_t)len > max)
		return 413;
	r->body = xmalloc((size_t)len + 1);
	while (got < (size_t)len) {
		int n = FCGX_GetStr(r->body + got, (int)((size_t)len - got), r->fcgx->in);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	r->body[got] = '\0';
	r->body_len = got;
	return got == (size_t)len ? 0 : 400;
}

void
resp_header(struct req *r, const char *name, const char *value)
{
	size_t need = strlen(name) + strlen(value) + 4;

	if (strpbrk(name, "\r\n:") != NULL || strpbrk(value, "\r\n") != NULL) {
		log_error("refused a response header with CR/LF: %s", name);
		return;
	}
	if (r->resp_headers == NULL)
		r->resp_headers = xmalloc(RESP_HEADERS_MAX);
	if (r->resp_headers_len + need >= RESP_HEADERS_MAX) {
		log_error("response headers over %d bytes, dropped %s", RESP_HEADERS_MAX, name);
		return;
	}
	r->resp_headers_len +=
	    (size_t)snprintf(r->resp_headers + r->resp_headers_len,
	                     RESP_HEADERS_MAX - r->resp_headers_len, "%s: %s\r\n", name, value);
}

void
resp_send(struct req *r, int status, const char *content_type, const char *body, size_t len)
{
	char head[256];
	int n;
	int with_body = r->method != HTTP_HEAD && status != 304 && status != 204;

	if (r->status != 0) {
		log_error("second response for %s %s dropped", http_method_name(r->method),
		          r->path);
		return;
	}
	r->status = status;
	/* snprintf + PutStr: FCGX_FPrintF knows no %zu (FACTS.md). */
	n = snprintf(head, sizeof(head), "Status: %d %s\r\n", status, http_reason(status));
	FCGX_PutStr(head, n, r->fcgx->out);
	if (content_type != NULL && status != 304) {
		/* HEAD keeps the length a GET would have had. */
		size_t clen = with_body || r->method == HTTP_HEAD ? len : 0;
		n = snprintf(head, sizeof(head), "Content-Type: %s\r\nContent-Length: %zu\r\n",
		             content_type, clen);
		/* Content types are constants of ours; a long one is a bug. */
		if (n < 0 || (size_t)n >= sizeof(head))
			abort();
		FCGX_PutStr(head, n, r->fcgx->out);
	}
	if (r->resp_headers_len > 0)
		FCGX_PutStr(r->resp_headers, (int)r->resp_headers_len, r->fcgx->out);
	FCGX_PutStr("\r\n", 2, r->fcgx->out);
	if (with_body && len > 0)
		FCGX_PutStr(body, (int)len, r->fcgx->out);
}

void
resp_json(struct req *r, int status, json_object *obj)
{
	size_t len;
	const char *s = json_object_to_json_string_length(obj, JSON_OUT_FLAGS, &len);

	resp_send(r, status, "application/json; charset=utf-8", s, len);
}

int
http_etag_matches(const char *inm, const char *etag)
{
	size_t elen = strlen(etag);

	if (inm == NULL)
		return 0;
	while (*inm != '\0') {
		const char *start, *end;
		while (*inm == ' ' || *inm == '\t' || *inm == ',')
			inm++;
		if (*inm == '\0')
			break;
		if (*inm == '*')
			return 1;
		/* If-None-Match uses the weak comparison (RFC 9110 13.1.2). */
		if (strncmp(inm, "W/", 2) == 0)
			inm += 2;
		start = inm;
		if (*inm == '"') {
			end = strchr(inm + 1, '"');
			if (end == NULL)
				return 0;
			end++;
		} else {
			end = inm + strcspn(inm, ", \t");
		}
		if ((size_t)(end - start) == elen && memcmp(start, etag, elen) == 0)
			return 1;
		inm = end;
	}
	return 0;
}

void
resp_json_cached(struct req *r, json_object *obj)
{
	size_t len;
	const char *s = json_object_to_json_string_length(obj, JSON_OUT_FLAGS, &len);

	resp_body_cached(r, s, len);
}

void
resp_body_cached(struct req *r, const char *s, size_t len)
{
	char etag[24];

	snprintf(etag, sizeof(etag), "\"%016llx\"", (unsigned long long)hash_fnv1a64(s, len));
	resp_body_etag(r, s, len, etag);
}

void
resp_body_etag(struct req *r, const char *s, size_t len, const char *etag)
{
	resp_header(r, "ETag", etag);
	/* Clients may keep it, but must ask again before using it. */
	resp_header(r, "Cache-Control", "no-cache");
	if (http_etag_matches(req_header(r, "If-None-Match"), etag))
		resp_send(r, 304, NULL, NULL, 0);
	else
		resp_send(r, 200, "application/json; charset=utf-8", s, len);
}

void
resp_error(struct req *r, int status, const char *fmt, ...)
{
	char msg[512];
	json_object *o;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = json_object_new_object();
	json_object_object_add(o, "success", json_object_new_boolean(0));
	json_object_object_add(o, "message", json_object_new_string(msg));
	resp_json(r, status, o);
	json_object_put(o);
	if (status >= 500)
		log_error("%d %s %s: %s", status, http_method_name(r->method), r->path, msg);
	else
		log_debug("%d %s %s: %s", status, http_method_name(r->method), r->path, msg);
}

json_object *
resp_envelope(json_object *data)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "success", json_object_new_boolean(1));
	json_object_object_add(o, "data", data);
	return o;
}

void
resp_data(struct req *r, int status, json_object *data)
{
	json_object *o = resp_envelope(data);

	resp_header(r, "Cache-Control", "no-store");
	resp_json(r, status, o);
	json_object_put(o);
}

json_object *
req_json(struct req *r, size_t max)
{
	const char *ct = req_header(r, "Content-Type");
	char err[160];
	json_object *obj;
	int status;

	/* "application/json" with optional parameters (charset) only. */
	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
	    (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' ')) {
		resp_error(r, 415, "Content-Type must be application/json");
		return NULL;
	}
	status = req_read_body(r, max);
	if (status != 0) {
		resp_error(r, status,
		           status == 413 ? "Request body too large" : "Malformed request body");
		return NULL;
	}
	obj = json_parse(r->body, r->body_len, err, sizeof(err));
	if (obj == NULL) {
		resp_error(r, 400, "Invalid JSON: %s", err);
		return NULL;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		resp_error(r, 400, "The body must be a JSON object");
		return NULL;
	}
	/* Nothing shaped like a Mongo operator ever reaches a query. */
	if (json_has_operator_keys(obj)) {
		json_object_put(obj);
		resp_error(r, 400, "Keys starting with '$' or containing '.' are not allowed");
		return NULL;
	}
	return obj;
}

void
resp_rate_limited(struct req *r, int64_t retry_after, const char *message)
{
	char secs[24];
	json_object *o = json_object_new_object();

	snprintf(secs, sizeof(secs), "%lld", (long long)retry_after);
	resp_header(r, "Retry-After", secs);
	json_object_object_add(o, "success", json_object_new_boolean(0));
	json_object_object_add(o, "message", json_object_new_string(message));
	json_object_object_add(o, "retryAfter", json_object_new_int64(retry_after));
	resp_json(r, 429, o);
	json_object_put(o);
}
