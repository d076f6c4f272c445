/*
 * log.c - one JSON object per line, so the operator's tools (jq, journald,
 * a log shipper) need no parser of ours:
 *
 *   {"time":"2026-12-03T08:00:00.123Z","level":"info","program":"orders",
 *    "pid":123,"request_id":"5f1c...","message":"...","fields":{...}}
 *
 * Where lines go: LOG_DIR set -> daily files the program rotates itself
 * (the seed's Winston setup): every line in app-YYYY-MM-DD.log, errors
 * also in error-YYYY-MM-DD.log; a file that reaches 20 MB continues in
 * app-YYYY-MM-DD.1.log, .2.log and so on; app files are deleted after 14
 * days, error files after 30. The day is Asia/Tashkent's, like every
 * other day in the system. Else LOG_FILE (one file, appended), else
 * stderr.
 *
 * Many processes (every FastCGI child of every program) write the same
 * files at once, so nothing is renamed: each line is one write() to a
 * descriptor opened O_APPEND, which the kernel keeps whole, and a full
 * file is left as it is while every writer moves on to the next number
 * (a writer that finds a file full tries the next one). Deleting old days
 * is idempotent, so it does not matter how many processes do it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "oshxona.h"

#define LOG_MAX_BYTES_DEFAULT  (20L * 1024 * 1024)
#define LOG_APP_DAYS_DEFAULT   14
#define LOG_ERROR_DAYS_DEFAULT 30
#define LOG_REQUEST_ID_MAX     64

/* One rotated series (app or error) in LOG_DIR. */
struct log_series {
	const char *prefix; /* "app" or "error" */
	int fd;             /* open file of the current day, -1 if none */
	unsigned seq;       /* 0: <prefix>-DAY.log, n: <prefix>-DAY.n.log */
	int keep_days;      /* files of older days are deleted */
};

static const char *log_prog = "oshxona";
static int log_threshold = LOGL_INFO;
static FILE *log_out;
static char log_dir[512];
static char log_day[11]; /* the day the open files belong to */
static long log_max_bytes = LOG_MAX_BYTES_DEFAULT;
static struct log_series log_app = {"app", -1, 0, LOG_APP_DAYS_DEFAULT};
static struct log_series log_err = {"error", -1, 0, LOG_ERROR_DAYS_DEFAULT};
static char log_request_id[LOG_REQUEST_ID_MAX + 1];
static int64_t (*log_clock)(void);

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

static void
log_series_close(struct log_series *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->seq = 0;
}

void
log_init(const char *prog, const char *level, const char *file)
{
	const char *dir = getenv("LOG_DIR");

	log_prog = prog;
	log_threshold = log_level_parse(level);
	log_series_close(&log_app);
	log_series_close(&log_err);
	log_day[0] = '\0';
	log_dir[0] = '\0';
	if (log_out != NULL) {
		fclose(log_out);
		log_out = NULL;
	}
	if (dir != NULL && *dir != '\0') {
		if ((size_t)snprintf(log_dir, sizeof(log_dir), "%s", dir) >= sizeof(log_dir)) {
			fprintf(stderr, "LOG_DIR is too long; logging to stderr\n");
			log_dir[0] = '\0';
		}
		return;
	}
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

void
log_set_clock(int64_t (*now_ms)(void))
{
	log_clock = now_ms;
}

void
log_set_limits(long max_bytes, int app_days, int error_days)
{
	log_max_bytes = max_bytes > 0 ? max_bytes : LOG_MAX_BYTES_DEFAULT;
	log_app.keep_days = app_days > 0 ? app_days : LOG_APP_DAYS_DEFAULT;
	log_err.keep_days = error_days > 0 ? error_days : LOG_ERROR_DAYS_DEFAULT;
}

int
log_request_id_valid(const char *id)
{
	size_t n = 0;

	if (id == NULL)
		return 0;
	for (; id[n] != '\0'; n++) {
		char c = id[n];
		if (n >= LOG_REQUEST_ID_MAX ||
		    !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == ':'))
			return 0;
	}
	return n > 0;
}

void
log_set_request_id(const char *id)
{
	if (log_request_id_valid(id))
		memcpy(log_request_id, id, strlen(id) + 1);
	else
		log_request_id[0] = '\0';
}

const char *
log_get_request_id(void)
{
	return log_request_id;
}

static int64_t
log_now_ms(void)
{
	struct timeval tv;

	if (log_clock != NULL)
		return log_clock();
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/*
 * Appends s to buf as the inside of a JSON string. Bytes of invalid UTF-8
 * (a login name as typed) become \u00XX, so the line stays valid JSON.
 */
static size_t
log_escape(char *buf, size_t size, size_t off, const char *s)
{
	int raw_ok = utf8_valid(s, strlen(s));

	for (; *s != '\0' && off + 7 < size; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf[off++] = '\\';
			buf[off++] = (char)c;
		} else if (c < 0x20 || c == 0x7f || (c >= 0x80 && !raw_ok)) {
			off += (size_t)snprintf(buf + off, size - off, "\\u%04x", c);
		} else {
			buf[off++] = (char)c;
		}
	}
	return off;
}

/* "YYYY-MM-DD" to days since 1970-01-01; -1 if malformed. */
static long
log_day_number(const char *day)
{
	struct tm tm;
	char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(day, "%Y-%m-%d", &tm);
	if (end == NULL || end - day != 10)
		return -1;
	return (long)(timegm(&tm) / 86400);
}

/*
 * Deletes <prefix>-DAY.log and <prefix>-DAY.N.log of the series whose day
 * is keep_days or more before today.
 */
static void
log_prune(const struct log_series *s, long today)
{
	size_t plen = strlen(s->prefix);
	struct dirent *de;
	DIR *d = opendir(log_dir);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name, *rest;
		char day[11], path[1024];
		long num;

		if (strncmp(n, s->prefix, plen) != 0 || n[plen] != '-' || strlen(n) < plen + 15)
			continue;
		memcpy(day, n + plen + 1, 10);
		day[10] = '\0';
		rest = n + plen + 11;
		if (rest[0] == '.' && rest[1] >= '0' && rest[1] <= '9') /* size sequence */
			for (rest++; *rest >= '0' && *rest <= '9'; rest++)
				;
		if (strcmp(rest, ".log") != 0)
			continue;
		num = log_day_number(day);
		if (num < 0 || today - num < s->keep_days)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", log_dir, n) < sizeof(path) &&
		    unlink(path) != 0 && errno != ENOENT)
			fprintf(stderr, "cannot delete old log %s: %s\n", path, strerror(errno));
	}
	closedir(d);
}

/*
 * Writes the line to the series' current file, opening the day's first
 * file that still has room. Returns 0, or -1 when no file can be written.
 */
static int
log_series_write(struct log_series *s, const char *line, size_t len)
{
	for (int tries = 0; tries < 1000; tries++) {
		struct stat st;
		if (s->fd < 0) {
			char path[1024];
			int n = s->seq == 0 ? snprintf(path, sizeof(path), "%s/%s-%s.log", log_dir,
			                               s->prefix, log_day)
			                    : snprintf(path, sizeof(path), "%s/%s-%s.%u.log",
			                               log_dir, s->prefix, log_day, s->seq);
			if (n < 0 || (size_t)n >= sizeof(path))
				return -1;
			s->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
			if (s->fd < 0)
				return -1;
		}
		/* Another process may have filled it: check before every line. */
		if (fstat(s->fd, &st) == 0 && st.st_size >= log_max_bytes) {
			close(s->fd);
			s->fd = -1;
			s->seq++;
			continue;
		}
		return write(s->fd, line, len) == (ssize_t)len ? 0 : -1;
	}
	return -1;
}

static void
log_dir_write(enum log_level level, const char *line, size_t len, int64_t now_ms)
{
	struct tashkent_time t;

	tashkent_time(now_ms, &t);
	if (strcmp(t.day, log_day) != 0) {
		long today = log_day_number(t.day);
		log_series_close(&log_app);
		log_series_close(&log_err);
		memcpy(log_day, t.day, sizeof(log_day));
		log_prune(&log_app, today);
		log_prune(&log_err, today);
	}
	if (log_series_write(&log_app, line, len) != 0 ||
	    (level >= LOGL_ERROR && log_series_write(&log_err, line, len) != 0)) {
		/* Disk full or unwritable directory: the line still goes somewhere. */
		fwrite(line, 1, len, stderr);
	}
}

static void
log_vemit(enum log_level level, json_object *fields, const char *fmt, va_list ap)
{
	char msg[2048], line[8192];
	time_t secs;
	struct tm tm;
	size_t off, mark;
	int64_t now_ms;

	if ((int)level < log_threshold)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);

	now_ms = log_now_ms();
	secs = (time_t)(now_ms / 1000);
	gmtime_r(&secs, &tm);
	off = strftime(line, sizeof(line), "{\"time\":\"%Y-%m-%dT%H:%M:%S", &tm);
	off += (size_t)snprintf(line + off, sizeof(line) - off,
	                        ".%03dZ\",\"level\":\"%s\",\"program\":\"", (int)(now_ms % 1000),
	                        log_names[level]);
	off = log_escape(line, sizeof(line), off, log_prog);
	off += (size_t)snprintf(line + off, sizeof(line) - off, "\",\"pid\":%ld", (long)getpid());
	if (log_request_id[0] != '\0')
		off += (size_t)snprintf(line + off, sizeof(line) - off, ",\"request_id\":\"%s\"",
		                        log_request_id);
	off += (size_t)snprintf(line + off, sizeof(line) - off, ",\"message\":\"");
	off = log_escape(line, sizeof(line), off, msg);
	if (off + 1 < sizeof(line))
		line[off++] = '"';
	mark = off;
	if (fields != NULL) {
		const char *js = json_object_to_json_string_ext(
		    fields, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		int n = snprintf(line + off, sizeof(line) - off, ",\"fields\":%s", js);
		/* Fields that do not fit are dropped whole, never cut mid-JSON. */
		off = n > 0 && (size_t)n + off + 3 < sizeof(line) ? off + (size_t)n : mark;
	}
	if (off + 3 > sizeof(line))
		off = sizeof(line) - 3;
	memcpy(line + off, "}\n", 2);
	off += 2;

	if (log_dir[0] != '\0') {
		log_dir_write(level, line, off, now_ms);
		return;
	}
	fwrite(line, 1, off, log_out != NULL ? log_out : stderr);
	if (log_out == NULL)
		fflush(stderr);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(level, NULL, fmt, ap);
	va_end(ap);
}

void
log_fields(enum log_level level, json_object *fields, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(level, fields, fmt, ap);
	va_end(ap);
}
