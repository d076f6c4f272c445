/*
 * menu-listener - drops this host's menu cache the moment any host takes
 * a catalogue write. The admin program publishes every acknowledged
 * catalogue write on the Nchan channel menu/all; with Nchan's Redis mode
 * that channel is shared by every host, so following it here turns the
 * cross-host bound from menu-sync's minute into the publish latency.
 *
 * It follows the channel as an EventSource subscriber on this host's ops
 * server (never the public one): MENU_EVENTS_SOCKET (a unix socket, the
 * local site's run/ops.sock) or MENU_EVENTS_URL (production:
 * http://127.0.0.1:9145/sub/menu). It drops the cache on every message and
 * on every (re)connect, since messages sent while it was away are lost
 * (Nchan does not resume, FACTS.md). menu-sync (cron) stays as the
 * fallback for a listener that is down. Runs until SIGTERM.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oshxona.h"

#define LISTEN_LINE_MAX  4096
#define LISTEN_RETRY_MAX 30

static volatile sig_atomic_t listen_stopping;

/* The SSE stream's current partial line. */
struct listen_stream {
	char line[LISTEN_LINE_MAX];
	size_t len;
	int overlong; /* the line outgrew the buffer: its rest is skipped */
	long events;  /* messages seen on this connection */
};

static void
listen_on_term(int sig)
{
	(void)sig;
	listen_stopping = 1;
}

static void
listen_drop(const char *why)
{
	if (menucache_invalidate() == 0)
		log_info("menu cache dropped (%s)", why);
	else
		log_warn("menu cache could not be dropped (%s)", why);
}

/* One complete line of the stream: "data: ..." lines carry a message. */
static void
listen_line(struct listen_stream *s)
{
	if (s->len >= 5 && memcmp(s->line, "data:", 5) == 0) {
		s->events++;
		listen_drop("menu-updated");
	}
}

static size_t
listen_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct listen_stream *s = arg;
	size_t n = size * nmemb;

	for (size_t i = 0; i < n; i++) {
		char c = ptr[i];
		if (c == '\n') {
			if (!s->overlong) {
				if (s->len > 0 && s->line[s->len - 1] == '\r')
					s->len--;
				listen_line(s);
			}
			s->len = 0;
			s->overlong = 0;
		} else if (s->len + 1 < sizeof(s->line)) {
			s->line[s->len++] = c;
		} else if (!s->overlong) {
			/* Long data still means a message: count it once. */
			s->overlong = 1;
			listen_line(s);
		}
	}
	return n;
}

/* libcurl calls this about once a second even on an idle stream. */
static int
listen_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)arg;
	(void)a;
	(void)b;
	(void)c;
	(void)d;
	return listen_stopping ? 1 : 0;
}

/* CURLOPT_HEADERFUNCTION: the stream is open once the status line is 200. */
static size_t
listen_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	size_t n = size * nmemb;

	(void)arg;
	if (n >= 12 && memcmp(ptr, "HTTP/", 5) == 0 && memcmp(ptr + 9, "200", 3) == 0)
		/* Whatever was published while we were not listening is lost. */
		listen_drop("channel (re)connected");
	return n;
}

/*
 * Follows the channel until the connection ends. Returns 1 when it had
 * connected (so the retry delay starts again small), else 0.
 */
static int
listen_once(CURL *curl, const char *url, const char *sock)
{
	struct curl_slist *headers = NULL;
	struct listen_stream s;
	long status = 0;
	CURLcode cc;

	memset(&s, 0, sizeof(s));
	headers = curl_slist_append(headers, "Accept: text/event-stream");
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, listen_header);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	if (sock != NULL)
		curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, listen_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, listen_progress);
	curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
	cc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(headers);
	if (listen_stopping)
		return 1;
	if (status == 200)
		log_warn("menu channel closed after %ld messages (%s); reconnecting", s.events,
		         curl_easy_strerror(cc));
	else
		log_warn("menu channel %s: %s (HTTP %ld)", url, curl_easy_strerror(cc), status);
	return status == 200;
}

int
main(int argc, char **argv)
{
	const char *sock = getenv("MENU_EVENTS_SOCKET");
	const char *url = getenv("MENU_EVENTS_URL");
	struct sigaction sa;
	unsigned delay = 1;
	CURL *curl;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: menu-listener  (MENU_CACHE_DIR, MENU_EVENTS_SOCKET or "
		                "MENU_EVENTS_URL from the environment)\n");
		return 2;
	}
	log_init("menu-listener", getenv("LOG_LEVEL"), getenv("LOG_FILE"));
	if (sock != NULL && *sock == '\0')
		sock = NULL;
	if (url == NULL || *url == '\0')
		url = sock != NULL ? "http://localhost/sub/menu" : "http://127.0.0.1:9145/sub/menu";
	if (getenv("MENU_CACHE_DIR") == NULL) {
		log_error("MENU_CACHE_DIR is not set: there is no cache to drop");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = listen_on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || (curl = curl_easy_init()) == NULL) {
		log_error("libcurl could not be initialized");
		return 1;
	}
	log_info("following %s%s%s", url, sock != NULL ? " on " : "", sock != NULL ? sock : "");
	while (!listen_stopping) {
		if (listen_once(curl, url, sock))
			delay = 1;
		else if (delay < LISTEN_RETRY_MAX)
			delay *= 2;
		for (unsigned i = 0; i < delay * 10 && !listen_stopping; i++)
			usleep(100 * 1000);
	}
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	log_info("stopping");
	return 0;
}
