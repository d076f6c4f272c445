/*
 * log.c - one JSON object per line, so the operator's tools (jq, journald,
 * a log shipper) need no parser of ours.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "oshxona.h"

static const char *log_prog = "oshxona";
static int log_threshold = LOGL_INFO;
static FILE *log_out;

static const char *const log_names[] = {"debug", "info", "warn", "error"};

int
log_level_parse(const char *s)
{
	if (s != NULL)
		for (int i = LOGL_DEBUG; i <= LOGL_ERROR; i++)
			if (strcasecmp(s, log_names[i]) == 0)
				return i;
	return LOGL_INFO;
}

void
log_init(const char *prog, const char *level, const char *file)
{
	log_prog = prog;
	log_threshold = log_level_parse(level);
	if (file != NULL && *file != '\0') {
		FILE *f = fopen(file, "a");
		if (f == NULL) {
			fprintf(stderr, "cannot open log file %s: %s\n", file, strerror(errno));
		} else {
			setvbuf(f, NULL, _IOLBF, 0);
			log_out = f;
		}
	}
}

/* Appends s to buf as the inside of a JSON string. */
static size_t
log_escape(char *buf, size_t size, size_t off, const char *s)
{
	for (; *s != '\0' && off + 7 < size; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf[off++] = '\\';
			buf[off++] = (char)c;
		} else if (c < 0x20) {
			off += (size_t)snprintf(buf + off, size - off, "\\u%04x", c);
		} else {
			buf[off++] = (char)c;
		}
	}
	return off;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char msg[2048], line[4608];
	struct timeval tv;
	struct tm tm;
	size_t off;
	va_list ap;

	if ((int)level < log_threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	off = strftime(line, sizeof(line), "{\"time\":\"%Y-%m-%dT%H:%M:%S", &tm);
	off += (size_t)snprintf(line + off, sizeof(line) - off,
	                        ".%03ldZ\",\"level\":\"%s\",\"prog\":\"", (long)(tv.tv_usec / 1000),
	                        log_names[level]);
	off = log_escape(line, sizeof(line), off, log_prog);
	off += (size_t)snprintf(line + off, sizeof(line) - off, "\",\"pid\":%ld,\"msg\":\"",
	                        (long)getpid());
	off = log_escape(line, sizeof(line), off, msg);
	if (off + 3 < sizeof(line)) {
		memcpy(line + off, "\"}\n", 3);
		off += 3;
	}
	fwrite(line, 1, off, log_out != NULL ? log_out : stderr);
	if (log_out == NULL)
		fflush(stderr);
}
