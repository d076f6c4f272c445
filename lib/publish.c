/*
 * publish.c - events to Nchan channels (the live order board, the
 * customer's tracking page) through nginx's internal publisher location on
 * a unix socket. One libcurl handle per process keeps that connection open
 * between events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "oshxona.h"

#define PUBLISH_SOCKET_DEFAULT "/run/oshxona/nchan-publish.sock"
#define PUBLISH_TIMEOUT_MS     2000
#define PUBLISH_REPLY_MAX      (64 * 1024) /* bytes of Nchan's answer kept, for the log */
#define PUBLISH_SEGMENT_MAX    64          /* bytes of a channel kind or id */

static CURL *publish_curl; /* the process's handle to the publisher, created lazily */

/* 1 when s is 1..PUBLISH_SEGMENT_MAX bytes of [A-Za-z0-9_-]: one URL path segment. */
static int
publish_segment_ok(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (; s[n] != '\0'; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return 0;
	}
	return n > 0 && n <= PUBLISH_SEGMENT_MAX;
}

int
publish_event(const char *kind, const char *id, const char *event, json_object *data)
{
	const char *sock = getenv("NCHAN_PUBLISH_SOCKET");
	struct httpc_reply reply = {NULL, 0, PUBLISH_REPLY_MAX, 0};
	struct curl_slist *headers = NULL;
	json_object *msg;
	const char *body;
	char url[64 + 2 * PUBLISH_SEGMENT_MAX];
	long status = 0;
	CURLcode cc;
	CURL *curl;
	int rc = -1;

	if (!publish_segment_ok(kind) || !publish_segment_ok(id) || event == NULL ||
	    *event == '\0') {
		log_error("publish: bad channel or event (%s/%s, %s)", kind ? kind : "(null)",
		          id ? id : "(null)", event ? event : "(null)");
		return -1;
	}
	if (sock == NULL || *sock == '\0')
		sock = PUBLISH_SOCKET_DEFAULT;
	curl = httpc_handle(&publish_curl);
	if (curl == NULL) {
		log_error("publish %s/%s: libcurl could not be initialized", kind, id);
		return -1;
	}
	snprintf(url, sizeof(url), "http://localhost/pub/%s/%s", kind, id);

	msg = json_object_new_object();
	json_object_object_add(msg, "event", json_object_new_string(event));
	/* Our reference, dropped with msg: the caller's data is not consumed. */
	json_object_object_add(msg, "data", json_object_get(data));
	body = json_object_to_json_string_ext(msg, JSON_OUT_FLAGS);

	headers = curl_slist_append(headers, "Content-Type: application/json");
	if (headers == NULL || (headers = curl_slist_append(headers, "Expect:")) == NULL)
		abort(); /* allocation failure, as everywhere else */
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)PUBLISH_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, httpc_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);

	cc = curl_easy_perform(curl);
	if (cc != CURLE_OK) {
		log_warn("publish %s/%s %s: %s (socket %s)", kind, id, event,
		         curl_easy_strerror(cc), sock);
		goto done;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status == 201 || status == 202) {
		rc = 0;
	} else {
		log_warn("publish %s/%s %s: Nchan answered HTTP %ld: %.200s", kind, id, event,
		         status, reply.data != NULL ? reply.data : "");
	}
done:
	/* The handle keeps pointers to these only until the next reset. */
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, NULL);
	curl_slist_free_all(headers);
	json_object_put(msg);
	free(reply.data);
	return rc;
}
