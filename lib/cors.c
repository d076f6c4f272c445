/*
 * cors.c - cross-origin rules for the admin panel and the storefront. Only
 * the two configured origins may call the API from a browser with
 * credentials; everyone else is left to the browser's same-origin policy.
 */
#include <string.h>
#include <strings.h>

#include "oshxona.h"

#define CORS_ORIGIN_MAX 256

static const char cors_methods[] = "GET, HEAD, POST, PUT, PATCH, DELETE";
static const char cors_headers[] = "Content-Type, Authorization, Idempotency-Key";

int
cors_origin_of(const char *url, char *out, size_t outlen)
{
	const char *host, *end;
	size_t n;

	if (url == NULL)
		return -1;
	if (strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		host = url + 7;
	else
		return -1;
	end = host + strcspn(host, "/?#");
	if (end == host)
		return -1;
	n = (size_t)(end - url);
	if (n + 1 > outlen)
		return -1;
	/* Scheme and host compare case-insensitively: store them lower-cased. */
	for (size_t i = 0; i < n; i++)
		out[i] = (url[i] >= 'A' && url[i] <= 'Z') ? (char)(url[i] + 32) : url[i];
	out[n] = '\0';
	return 0;
}

/* 1 when origin is one of the configured front ends. */
static int
cors_allowed(const char *origin)
{
	const char *urls[] = {app_config.admin_panel_url, app_config.user_frontend_url};
	char want[CORS_ORIGIN_MAX], got[CORS_ORIGIN_MAX];

	/* An Origin header is exactly an origin: no path, no trailing slash. */
	if (cors_origin_of(origin, got, sizeof(got)) != 0 || strlen(got) != strlen(origin))
		return 0;
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		if (cors_origin_of(urls[i], want, sizeof(want)) == 0 && strcmp(want, got) == 0)
			return 1;
	}
	return 0;
}

int
cors_handle(struct req *r)
{
	const char *origin = req_header(r, "Origin");
	int allowed = origin != NULL && cors_allowed(origin);

	if (origin != NULL) {
		/* Caches must not serve one origin's answer to another. */
		resp_header(r, "Vary", "Origin");
	}
	if (allowed) {
		resp_header(r, "Access-Control-Allow-Origin", origin);
		resp_header(r, "Access-Control-Allow-Credentials", "true");
	}
	if (r->method != HTTP_OPTIONS || origin == NULL ||
	    req_header(r, "Access-Control-Request-Method") == NULL)
		return 0;
	if (!allowed) {
		resp_error(r, 403, "Origin not allowed");
		return 1;
	}
	resp_header(r, "Access-Control-Allow-Methods", cors_methods);
	resp_header(r, "Access-Control-Allow-Headers", cors_headers);
	resp_header(r, "Access-Control-Max-Age", "600");
	resp_send(r, 204, NULL, NULL, 0);
	return 1;
}
