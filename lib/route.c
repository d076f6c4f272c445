/*
 * route.c - an endpoint program is a table of routes; this file turns a
 * path and a method into one handler call, or into 404/405.
 */
#include <stdlib.h>
#include <string.h>

#include "oshxona.h"

int
route_match(struct req *r, const char *pattern)
{
	const char *p = pattern, *s = r->path;
	const char *caps[REQ_MAX_PARAMS];
	size_t caplen[REQ_MAX_PARAMS], ncap = 0, total = 0;

	while (*p != '\0') {
		if (*p == '{') {
			const char *close = strchr(p, '}');
			size_t n = strcspn(s, "/");
			if (close == NULL || n == 0 || ncap == REQ_MAX_PARAMS)
				return 0;
			caps[ncap] = s;
			caplen[ncap++] = n;
			total += n + 1;
			s += n;
			p = close + 1;
		} else {
			if (*p != *s)
				return 0;
			p++;
			s++;
		}
	}
	if (*s != '\0')
		return 0;

	free(r->param_buf);
	r->param_buf = xmalloc(total + 1);
	char *w = r->param_buf;
	memset(r->params, 0, sizeof(r->params));
	for (size_t i = 0; i < ncap; i++) {
		memcpy(w, caps[i], caplen[i]);
		w[caplen[i]] = '\0';
		r->params[i] = w;
		w += caplen[i] + 1;
	}
	return 1;
}

void
route_dispatch(struct req *r, const struct route *routes, size_t n)
{
	unsigned allowed = 0;
	enum http_method m = r->method == HTTP_HEAD ? HTTP_GET : r->method;

	for (size_t i = 0; i < n; i++) {
		if (!route_match(r, routes[i].pattern))
			continue;
		if (routes[i].methods & m) {
			routes[i].handler(r);
			return;
		}
		allowed |= routes[i].methods;
	}
	if (allowed == 0) {
		resp_error(r, 404, "Not found");
		return;
	}
	char allow[96] = "";
	if (allowed & HTTP_GET)
		allowed |= HTTP_HEAD;
	for (unsigned bit = HTTP_GET; bit <= HTTP_OPTIONS; bit <<= 1) {
		if (!(allowed & bit))
			continue;
		if (allow[0] != '\0')
			strcat(allow, ", ");
		strcat(allow, http_method_name((enum http_method)bit));
	}
	resp_header(r, "Allow", allow);
	resp_error(r, 405, "Method %s not allowed here; allowed: %s", http_method_name(r->method),
	           allow);
}
