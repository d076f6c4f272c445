/*
 * bench-subscribers - the realtime benchmark's subscribers, in C so that
 * reading 1000 sockets costs microseconds, not the Python loop's tens of
 * milliseconds that used to dominate the figure. Opens N EventSource
 * subscriptions to PATH on 127.0.0.1:PORT with the staff cookie, prints
 * "ready" once every one is accepted (200), then timestamps each "data:"
 * line carrying "t":<send time in ns> as it is read, until M events reached
 * every subscriber or TIMEOUT_S passed; prints latency percentiles and how
 * many deliveries never came.
 *
 *   bench-subscribers PORT PATH TOKEN N M [TIMEOUT_S]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "oshxona.h"

#define SUB_BUF 8192

struct sub {
	int fd;
	int ready;   /* the 200 and its header block have been read */
	size_t got;  /* events received */
	size_t used; /* bytes waiting in buf */
	char buf[SUB_BUF];
};

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Consumes complete lines of s; returns -1 when the subscription failed. */
static int
sub_lines(struct sub *s, int64_t *lat, size_t *nlat, size_t cap, int64_t at)
{
	char *p = s->buf, *end = s->buf + s->used, *nl;

	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		*nl = '\0';
		if (!s->ready) {
			if (strncmp(p, "HTTP/1.1 ", 9) == 0 && strncmp(p + 9, "200", 3) != 0)
				return -1;
			if (p[0] == '\r' || p[0] == '\0')
				s->ready = 1; /* end of the header block */
		} else if (strncmp(p, "data: ", 6) == 0) {
			char *t = strstr(p, "\"t\":");
			if (t != NULL && *nlat < cap) {
				lat[(*nlat)++] = at - strtoll(t + 4, NULL, 10);
				s->got++;
			}
		}
		p = nl + 1;
	}
	s->used = (size_t)(end - p);
	memmove(s->buf, p, s->used);
	return 0;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	struct epoll_event ev, events[256];
	struct rlimit rl;
	struct sub *subs;
	int64_t *lat, deadline;
	size_t n, m, nlat = 0, ready = 0, cap;
	char req[1024];
	int ep, port, announced = 0;

	if (argc < 6)
		return fprintf(stderr, "usage: %s PORT PATH TOKEN N M [TIMEOUT_S]\n", argv[0]), 2;
	port = atoi(argv[1]);
	n = (size_t)atoi(argv[4]);
	m = (size_t)atoi(argv[5]);
	deadline = now_ns() + (int64_t)(argc > 6 ? atoi(argv[6]) : 120) * 1000000000;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < n + 64) {
		rl.rlim_cur = rl.rlim_max < n + 64 ? rl.rlim_max : n + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	cap = n * m;
	subs = xcalloc(n, sizeof(*subs));
	lat = xcalloc(cap + 1, sizeof(*lat));
	addr.sin_port = htons((uint16_t)port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	snprintf(req, sizeof(req),
	         "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
	         "Cookie: oshxona_token=%s\r\n\r\n",
	         argv[2], argv[3]);
	ep = epoll_create1(0);
	for (size_t i = 0; i < n; i++) {
		subs[i].fd = socket(AF_INET, SOCK_STREAM, 0);
		if (subs[i].fd < 0 ||
		    connect(subs[i].fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
		    write(subs[i].fd, req, strlen(req)) != (ssize_t)strlen(req)) {
			fprintf(stderr, "subscriber %zu: %s\n", i, strerror(errno));
			return 1;
		}
		fcntl(subs[i].fd, F_SETFL, O_NONBLOCK);
		ev.events = EPOLLIN;
		ev.data.ptr = &subs[i];
		epoll_ctl(ep, EPOLL_CTL_ADD, subs[i].fd, &ev);
	}
	while (nlat < cap && now_ns() < deadline) {
		int k = epoll_wait(ep, events, 256, 200);
		int64_t at = now_ns(); /* one clock read per wake-up, before reading */
		for (int i = 0; i < k; i++) {
			struct sub *s = events[i].data.ptr;
			int was_ready = s->ready;
			ssize_t r = read(s->fd, s->buf + s->used, SUB_BUF - 1 - s->used);
			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				fprintf(stderr, "a subscriber was closed\n");
				epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
				continue;
			}
			s->used += (size_t)r;
			if (sub_lines(s, lat, &nlat, cap, at) != 0) {
				fprintf(stderr, "a subscription was refused\n");
				return 1;
			}
			if (!was_ready && s->ready)
				ready++;
		}
		if (!announced && ready == n) {
			printf("ready\n");
			fflush(stdout);
			announced = 1;
		}
	}
	qsort(lat, nlat, sizeof(*lat), cmp_i64);
	if (nlat == 0) {
		printf("no deliveries (%zu of %zu subscribers ready)\n", ready, n);
		return 1;
	}
	printf("deliveries %zu lost %zu p50 %.2f ms p99 %.2f ms max %.2f ms\n", nlat, cap - nlat,
	       lat[nlat / 2] / 1e6, lat[nlat * 99 / 100] / 1e6, lat[nlat - 1] / 1e6);
	return 0;
}
