/*
 * httpc.c - what every outgoing HTTP call (Nchan publish, Telegram,
 * Cloudinary) shares: libcurl started once per process, one handle per
 * purpose kept between calls so its connection stays open, and answers
 * captured into a capped buffer.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "oshxona.h"

#define HTTPC_HANDLES_MAX 8

static pthread_once_t httpc_once = PTHREAD_ONCE_INIT;
static CURL **httpc_slots[HTTPC_HANDLES_MAX]; /* every handle made, for exit */
static size_t httpc_nslots;
static int httpc_ready;

static void
httpc_cleanup(void)
{
	for (size_t i = 0; i < httpc_nslots; i++) {
		if (*httpc_slots[i] != NULL)
			curl_easy_cleanup(*httpc_slots[i]);
		*httpc_slots[i] = NULL;
	}
	curl_global_cleanup();
}

static void
httpc_global_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK) {
		httpc_ready = 1;
		atexit(httpc_cleanup);
	}
}

CURL *
httpc_handle(CURL **slot)
{
	pthread_once(&httpc_once, httpc_global_init);
	if (!httpc_ready)
		return NULL;
	if (*slot != NULL) {
		/* Keeps the live connection; only the options go back to defaults. */
		curl_easy_reset(*slot);
		return *slot;
	}
	if (httpc_nslots == HTTPC_HANDLES_MAX)
		abort(); /* a fixed number of purposes: a new one needs a bigger table */
	*slot = curl_easy_init();
	if (*slot != NULL)
		httpc_slots[httpc_nslots++] = slot;
	return *slot;
}

size_t
httpc_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct httpc_reply *r = arg;
	size_t n = size * nmemb, take = r->max - r->len;

	if (take > n)
		take = n;
	else
		r->truncated = take < n;
	if (take > 0) {
		r->data = xrealloc(r->data, r->len + take + 1);
		memcpy(r->data + r->len, ptr, take);
		r->len += take;
		r->data[r->len] = '\0';
	}
	/* All of it counts as taken: what is over max is dropped, not an error. */
	return n;
}
