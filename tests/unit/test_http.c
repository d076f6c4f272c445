/*
 * test_http.c - the request/response layer (lib/http.c) and routing
 * (lib/route.c) over an in-memory FastCGI request (fake_fcgi.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "oshxona.h"

#include "fake_fcgi.h"

#define JSON_CT "application/json; charset=utf-8"

static struct fake_fcgi f;
static struct req r;

/* A request with the given parameters (NULL-terminated) and body. */
static void
start(const char *const *env, const char *body, size_t len)
{
	fake_init(&f, env, body, len);
	req_init(&r, &f.req);
}

static int
teardown(void **state)
{
	(void)state;
	req_free(&r);
	fake_free(&f);
	return 0;
}

static const char *
out(void)
{
	return fake_output(&f);
}

/* The bytes after the blank line that ends the head. */
static const char *
out_body(void)
{
	const char *o = out(), *end = strstr(o, "\r\n\r\n");

	if (end == NULL)
		fail_msg("no end of head in \"%s\"", o);
	return end + 4;
}

/* Header value from the head of the output, in a static buffer; NULL if absent. */
static const char *
out_header(const char *name)
{
	static char value[512];
	const char *o = out(), *end = strstr(o, "\r\n\r\n"), *p = o;
	size_t n = strlen(name);

	if (end == NULL)
		fail_msg("no end of head in \"%s\"", o);
	while (p < end) {
		const char *eol = strstr(p, "\r\n");
		if (strncmp(p, name, n) == 0 && p[n] == ':' && p[n + 1] == ' ') {
			size_t vlen = (size_t)(eol - (p + n + 2));
			assert_true(vlen < sizeof(value));
			memcpy(value, p + n + 2, vlen);
			value[vlen] = '\0';
			return value;
		}
		p = eol + 2;
	}
	return NULL;
}

/* How many lines of the head start with "name:". */
static int
out_header_count(const char *name)
{
	const char *o = out(), *end = strstr(o, "\r\n\r\n"), *p = o;
	size_t n = strlen(name);
	int count = 0;

	assert_non_null(end);
	while (p < end) {
		if (strncmp(p, name, n) == 0 && p[n] == ':')
			count++;
		p = strstr(p, "\r\n") + 2;
	}
	return count;
}

/* ------------------------------------------------------------- methods */

static void
test_method_parse_and_name(void **state)
{
	static const char *const names[] = {"GET",   "HEAD",   "POST",   "PUT",
	                                    "PATCH", "DELETE", "OPTIONS"};
	static const enum http_method ms[] = {HTTP_GET,   HTTP_HEAD,   HTTP_POST,   HTTP_PUT,
	                                      HTTP_PATCH, HTTP_DELETE, HTTP_OPTIONS};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(http_method_parse(names[i]), ms[i]);
		assert_string_equal(http_method_name(ms[i]), names[i]);
	}
	assert_int_equal(http_method_parse("get"), HTTP_OTHER);
	assert_int_equal(http_method_parse("Get"), HTTP_OTHER);
	assert_int_equal(http_method_parse("GET "), HTTP_OTHER);
	assert_int_equal(http_method_parse("GETX"), HTTP_OTHER);
	assert_int_equal(http_method_parse("GE"), HTTP_OTHER);
	assert_int_equal(http_method_parse("BREW"), HTTP_OTHER);
	assert_int_equal(http_method_parse("TRACE"), HTTP_OTHER);
	assert_int_equal(http_method_parse(""), HTTP_OTHER);
	assert_int_equal(http_method_parse(NULL), HTTP_OTHER);
	assert_string_equal(http_method_name(HTTP_OTHER), "OTHER");
}

static void
test_reason_phrases(void **state)
{
	(void)state;
	assert_string_equal(http_reason(200), "OK");
	assert_string_equal(http_reason(201), "Created");
	assert_string_equal(http_reason(204), "No Content");
	assert_string_equal(http_reason(304), "Not Modified");
	assert_string_equal(http_reason(400), "Bad Request");
	assert_string_equal(http_reason(401), "Unauthorized");
	assert_string_equal(http_reason(403), "Forbidden");
	assert_string_equal(http_reason(404), "Not Found");
	assert_string_equal(http_reason(405), "Method Not Allowed");
	assert_string_equal(http_reason(409), "Conflict");
	assert_string_equal(http_reason(411), "Length Required");
	assert_string_equal(http_reason(413), "Payload Too Large");
	assert_string_equal(http_reason(415), "Unsupported Media Type");
	assert_string_equal(http_reason(422), "Unprocessable Entity");
	assert_string_equal(http_reason(429), "Too Many Requests");
	assert_string_equal(http_reason(500), "Internal Server Error");
	assert_string_equal(http_reason(503), "Service Unavailable");
	assert_string_equal(http_reason(299), "Unknown");
	assert_string_equal(http_reason(0), "Unknown");
	assert_string_equal(http_reason(-1), "Unknown");
}

/* ------------------------------------------------------------ req_init */

static void
test_req_init(void **state)
{
	static const char *const env[] = {"REQUEST_METHOD=POST", "DOCUMENT_URI=/api/orders",
	                                  "SCRIPT_NAME=/ignored", "QUERY_STRING=a=1&b=%20", NULL};

	(void)state;
	start(env, NULL, 0);
	assert_ptr_equal(r.fcgx, &f.req);
	assert_int_equal(r.method, HTTP_POST);
	assert_string_equal(r.path, "/api/orders");
	assert_string_equal(r.query, "a=1&b=%20");
	assert_null(r.body);
	assert_int_equal(r.body_len, 0);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.resp_headers_len, 0);
	for (int i = 0; i < REQ_MAX_PARAMS; i++)
		assert_null(r.params[i]);
	/* Copies, not pointers into the parameters. */
	assert_true(r.path != f.env[1] + strlen("DOCUMENT_URI="));
	/* Nothing is written before a response. */
	assert_int_equal(fake_output_len(&f), 0);
}

static void
test_req_init_unknown_method(void **state)
{
	static const char *const env[] = {"REQUEST_METHOD=BREW", "DOCUMENT_URI=/", NULL};

	(void)state;
	start(env, NULL, 0);
	assert_int_equal(r.method, HTTP_OTHER);
}

static void
test_req_init_defaults(void **state)
{
	static const char *const env[] = {"HTTP_HOST=example", NULL};

	(void)state;
	/* No method, no path, no query at all. */
	start(env, NULL, 0);
	assert_int_equal(r.method, HTTP_OTHER);
	assert_string_equal(r.path, "/");
	assert_string_equal(r.query, "");
	req_free(&r);
	fake_free(&f);

	/* An empty environment. */
	start(NULL, NULL, 0);
	assert_string_equal(r.path, "/");
	assert_string_equal(r.query, "");
}

static void
test_req_init_script_name_fallback(void **state)
{
	static const char *const env[] = {"REQUEST_METHOD=GET", "SCRIPT_NAME=/api/health",
	                                  "QUERY_STRING=", NULL};

	(void)state;
	start(env, NULL, 0);
	assert_int_equal(r.method, HTTP_GET);
	assert_string_equal(r.path, "/api/health");
	assert_string_equal(r.query, "");
}

static void
test_req_free(void **state)
{
	static const char *const env[] = {"REQUEST_METHOD=GET", "DOCUMENT_URI=/a/b",
	                                  "CONTENT_LENGTH=2", NULL};

	(void)state;
	start(env, "xy", 2);
	assert_int_equal(req_read_body(&r, 10), 0);
	resp_header(&r, "X-A", "1");
	assert_int_equal(route_match(&r, "/a/{x}"), 1);
	req_free(&r);
	assert_null(r.path);
	assert_null(r.query);
	assert_null(r.body);
	assert_null(r.param_buf);
	assert_null(r.resp_headers);
	assert_int_equal(r.resp_headers_len, 0);
	assert_int_equal(r.status, 0);
}

/* ---------------------------------------------------------- req_header */

static void
test_req_header(void **state)
{
	static const char *const env[] = {"REQUEST_METHOD=GET",
	                                  "HTTP_IF_NONE_MATCH=\"abc\"",
	                                  "HTTP_X_FORWARDED_FOR=10.0.0.1",
	                                  "HTTP_COOKIE=sid=1",
	                                  "CONTENT_TYPE=application/json",
	                                  "CONTENT_LENGTH=0",
	                                  "HTTP_EMPTY=",
	                                  NULL};

	(void)state;
	start(env, NULL, 0);
	assert_string_equal(req_header(&r, "If-None-Match"), "\"abc\"");
	assert_string_equal(req_header(&r, "if-none-match"), "\"abc\"");
	assert_string_equal(req_header(&r, "IF-NONE-MATCH"), "\"abc\"");
	assert_string_equal(req_header(&r, "X-Forwarded-For"), "10.0.0.1");
	assert_string_equal(req_header(&r, "Cookie"), "sid=1");
	assert_string_equal(req_header(&r, "Empty"), "");
	/* These two arrive without the HTTP_ prefix. */
	assert_string_equal(req_header(&r, "Content-Type"), "application/json");
	assert_string_equal(req_header(&r, "content-length"), "0");
	assert_null(req_header(&r, "Authorization"));
	assert_null(req_header(&r, "If-None"));
	assert_null(req_header(&r, ""));
	/* Not a way to read other parameters. */
	assert_null(req_header(&r, "Method"));
}

static void
test_req_header_content_type_not_from_http_prefix(void **state)
{
	static const char *const env[] = {"HTTP_CONTENT_TYPE=text/evil", "HTTP_CONTENT_LENGTH=5",
	                                  NULL};

	(void)state;
	start(env, NULL, 0);
	assert_null(req_header(&r, "Content-Type"));
	assert_null(req_header(&r, "Content-Length"));
}

static void
test_req_header_long_names(void **state)
{
	char name[80], param[128];

	(void)state;
	fake_init(&f, NULL, NULL, 0);
	/* 64 characters: the longest name looked up. */
	memset(name, 'A', 64);
	name[64] = '\0';
	snprintf(param, sizeof(param), "HTTP_%s=long", name);
	fake_param(&f, param);
	/* 65 characters: never found, even if present. */
	memset(name, 'B', 65);
	name[65] = '\0';
	snprintf(param, sizeof(param), "HTTP_%s=longer", name);
	fake_param(&f, param);
	req_init(&r, &f.req);

	memset(name, 'a', 64);
	name[64] = '\0';
	assert_string_equal(req_header(&r, name), "long");
	memset(name, 'b', 65);
	name[65] = '\0';
	assert_null(req_header(&r, name));
	memset(name, 'c', 79);
	name[79] = '\0';
	assert_null(req_header(&r, name));
}

/* ------------------------------------------------------- req_read_body */

static int
read_body(const char *content_length, const char *body, size_t len, size_t max)
{
	char cl[128];
	const char *env[] = {"REQUEST_METHOD=POST", cl, NULL};

	if (content_length != NULL)
		snprintf(cl, sizeof(cl), "CONTENT_LENGTH=%s", content_length);
	else
		env[1] = NULL;
	req_free(&r);
	fake_free(&f);
	start(env, body, len);
	return req_read_body(&r, max);
}

static void
test_body_within_max(void **state)
{
	(void)state;
	assert_int_equal(read_body("5", "hello", 5, 100), 0);
	assert_int_equal(r.body_len, 5);
	assert_string_equal(r.body, "hello");

	/* Exactly max. */
	assert_int_equal(read_body("5", "hello", 5, 5), 0);
	assert_string_equal(r.body, "hello");

	/* Binary-safe, NUL-terminated after len. */
	assert_int_equal(read_body("3", "a\0b", 3, 100), 0);
	assert_int_equal(r.body_len, 3);
	assert_memory_equal(r.body, "a\0b", 4);

	/* Only CONTENT_LENGTH bytes are taken. */
	assert_int_equal(read_body("3", "hello", 5, 100), 0);
	assert_int_equal(r.body_len, 3);
	assert_string_equal(r.body, "hel");
}

static void
test_body_empty(void **state)
{
	(void)state;
	/* Missing, empty or zero length: an empty body, never NULL. */
	assert_int_equal(read_body(NULL, NULL, 0, 100), 0);
	assert_non_null(r.body);
	assert_string_equal(r.body, "");
	assert_int_equal(r.body_len, 0);
	assert_int_equal(read_body("", NULL, 0, 100), 0);
	assert_string_equal(r.body, "");
	assert_int_equal(read_body("0", "ignored", 7, 100), 0);
	assert_int_equal(r.body_len, 0);
	assert_int_equal(read_body("0", NULL, 0, 0), 0);
	/* A body without a length is not read. */
	assert_int_equal(read_body(NULL, "data", 4, 100), 0);
	assert_int_equal(r.body_len, 0);
}

static void
test_body_too_large(void **state)
{
	(void)state;
	assert_int_equal(read_body("6", "hello!", 6, 5), 413);
	assert_int_equal(read_body("1", "x", 1, 0), 413);
	assert_int_equal(read_body("65537", NULL, 0, REQ_BODY_MAX_DEFAULT), 413);
	assert_int_equal(read_body("9223372036854775807", NULL, 0, REQ_BODY_MAX_DEFAULT), 413);
	/* Refused before reading anything. */
	assert_int_equal(f.in_fills, 0);
	assert_int_equal(r.body_len, 0);
}

static void
test_body_malformed_length(void **state)
{
	static const char *const bad[] = {"abc", "-1",  " 5",  "5 ",
	                                  "+5",  "5.0", "1e3", "0x10",
	                                  "5,",  "5\t", "--5", "99999999999999999999"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (read_body(bad[i], "hello", 5, 100) != 400)
			fail_msg("CONTENT_LENGTH=\"%s\" not answered with 400", bad[i]);
}

static void
test_body_short(void **state)
{
	(void)state;
	/* The client promised more than it sent. */
	assert_int_equal(read_body("10", "hello", 5, 100), 400);
	assert_int_equal(r.body_len, 5);
	assert_string_equal(r.body, "hello");
	assert_int_equal(read_body("1", NULL, 0, 100), 400);
	assert_int_equal(r.body_len, 0);
}

static void
test_body_in_chunks(void **state)
{
	static const char *const env[] = {"REQUEST_METHOD=PUT", "CONTENT_LENGTH=26", NULL};
	static const char abc[] = "abcdefghijklmnopqrstuvwxyz";

	(void)state;
	/* FastCGI delivers the body in records; reassemble them. */
	fake_init(&f, env, abc, 26);
	f.in_chunk = 3;
	req_init(&r, &f.req);
	assert_int_equal(req_read_body(&r, 100), 0);
	assert_int_equal(r.body_len, 26);
	assert_string_equal(r.body, abc);
	assert_true(f.in_fills >= 9);
}

static void
test_body_large(void **state)
{
	char *big = xmalloc(REQ_BODY_MAX_DEFAULT);
	char cl[32];
	const char *env[] = {"REQUEST_METHOD=POST", cl, NULL};

	(void)state;
	for (size_t i = 0; i < REQ_BODY_MAX_DEFAULT; i++)
		big[i] = (char)('a' + i % 26);
	snprintf(cl, sizeof(cl), "CONTENT_LENGTH=%d", REQ_BODY_MAX_DEFAULT);
	fake_init(&f, env, big, REQ_BODY_MAX_DEFAULT);
	f.in_chunk = 8192;
	req_init(&r, &f.req);
	assert_int_equal(req_read_body(&r, REQ_BODY_MAX_DEFAULT), 0);
	assert_int_equal(r.body_len, REQ_BODY_MAX_DEFAULT);
	assert_memory_equal(r.body, big, REQ_BODY_MAX_DEFAULT);
	assert_int_equal(r.body[REQ_BODY_MAX_DEFAULT], '\0');
	free(big);
}

/* ----------------------------------------------------------- resp_send */

static void
request(const char *method)
{
	char m[64];
	const char *env[] = {m, "DOCUMENT_URI=/api/x", NULL};

	snprintf(m, sizeof(m), "REQUEST_METHOD=%s", method);
	start(env, NULL, 0);
}

static void
test_send_get(void **state)
{
	(void)state;
	request("GET");
	resp_send(&r, 200, "text/plain", "hello", 5);
	assert_string_equal(out(), "Status: 200 OK\r\n"
	                           "Content-Type: text/plain\r\n"
	                           "Content-Length: 5\r\n"
	                           "\r\n"
	                           "hello");
	assert_int_equal(r.status, 200);
}

static void
test_send_with_headers(void **state)
{
	(void)state;
	request("POST");
	resp_header(&r, "Location", "/api/x/1");
	resp_header(&r, "X-Request-Id", "abc");
	resp_send(&r, 201, JSON_CT, "{}", 2);
	assert_string_equal(out(), "Status: 201 Created\r\n"
	                           "Content-Type: " JSON_CT "\r\n"
	                           "Content-Length: 2\r\n"
	                           "Location: /api/x/1\r\n"
	                           "X-Request-Id: abc\r\n"
	                           "\r\n"
	                           "{}");
}

static void
test_send_head_keeps_length(void **state)
{
	(void)state;
	request("HEAD");
	resp_send(&r, 200, "text/plain", "hello", 5);
	assert_string_equal(out(), "Status: 200 OK\r\n"
	                           "Content-Type: text/plain\r\n"
	                           "Content-Length: 5\r\n"
	                           "\r\n");
	assert_int_equal(r.status, 200);
}

static void
test_send_304_no_body(void **state)
{
	(void)state;
	request("GET");
	resp_header(&r, "ETag", "\"1\"");
	resp_send(&r, 304, "text/plain", "hello", 5);
	/* No entity headers, no body, even when given. */
	assert_string_equal(out(), "Status: 304 Not Modified\r\n"
	                           "ETag: \"1\"\r\n"
	                           "\r\n");
}

static void
test_send_204_no_body(void **state)
{
	(void)state;
	request("DELETE");
	resp_send(&r, 204, NULL, NULL, 0);
	assert_string_equal(out(), "Status: 204 No Content\r\n\r\n");
	req_free(&r);
	fake_free(&f);

	request("DELETE");
	resp_send(&r, 204, "text/plain", "ignored", 7);
	assert_string_equal(out_body(), "");
	assert_string_equal(out_header("Content-Length"), "0");
}

static void
test_send_error_status_body(void **state)
{
	(void)state;
	request("HEAD");
	resp_send(&r, 404, "text/plain", "gone", 4);
	assert_string_equal(out(), "Status: 404 Not Found\r\n"
	                           "Content-Type: text/plain\r\n"
	                           "Content-Length: 4\r\n"
	                           "\r\n");
	req_free(&r);
	fake_free(&f);
	request("GET");
	resp_send(&r, 299, NULL, NULL, 0);
	assert_string_equal(out(), "Status: 299 Unknown\r\n\r\n");
}

static void
test_send_second_dropped(void **state)
{
	char first[256];

	(void)state;
	request("GET");
	resp_send(&r, 200, "text/plain", "one", 3);
	snprintf(first, sizeof(first), "%s", out());
	resp_send(&r, 500, "text/plain", "two", 3);
	resp_error(&r, 404, "again");
	assert_string_equal(out(), first);
	assert_int_equal(r.status, 200);
}

static void
test_send_binary_and_large(void **state)
{
	size_t n = 200000;
	char *big = xmalloc(n);
	char cl[64];

	(void)state;
	for (size_t i = 0; i < n; i++)
		big[i] = (char)(i % 251);
	request("GET");
	resp_send(&r, 200, "application/octet-stream", big, n);
	snprintf(cl, sizeof(cl), "%zu", n);
	assert_string_equal(out_header("Content-Length"), cl);
	assert_int_equal(fake_output_len(&f), (size_t)(out_body() - out()) + n);
	assert_memory_equal(out_body(), big, n);
	free(big);
}

static void
test_send_client_gone(void **state)
{
	(void)state;
	/* A closed output stream loses the response, but nothing breaks. */
	request("GET");
	f.out_fail = 1;
	resp_send(&r, 200, "text/plain", "0123456789012345678901234567890123456789", 40);
	assert_int_equal(f.out_closed, 1);
	assert_int_equal(r.status, 200);
}

/* --------------------------------------------------------- resp_header */

static void
test_header_rejects_crlf(void **state)
{
	(void)state;
	request("GET");
	resp_header(&r, "X-Ok", "fine");
	resp_header(&r, "X-Evil", "a\r\nSet-Cookie: sid=stolen");
	resp_header(&r, "X-Evil2", "a\nb");
	resp_header(&r, "X-Evil3", "a\rb");
	resp_header(&r, "X-Bad\r\nSet-Cookie", "x");
	resp_header(&r, "X-Bad\n", "x");
	resp_header(&r, "Set-Cookie: sid", "x");
	resp_header(&r, "X-Ok2", "fine too");
	resp_send(&r, 200, NULL, NULL, 0);
	assert_string_equal(out(), "Status: 200 OK\r\n"
	                           "X-Ok: fine\r\n"
	                           "X-Ok2: fine too\r\n"
	                           "\r\n");
}

static void
test_header_limit(void **state)
{
	char value[200];
	const char *o, *end;

	(void)state;
	request("GET");
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	/* Far more than fits: the extra ones are dropped whole. */
	for (int i = 0; i < 100; i++) {
		char name[32];
		snprintf(name, sizeof(name), "X-H%02d", i);
		resp_header(&r, name, value);
	}
	assert_true(r.resp_headers_len < 4096);
	resp_send(&r, 200, "text/plain", "ok", 2);
	o = out();
	end = strstr(o, "\r\n\r\n");
	assert_non_null(end);
	assert_string_equal(end + 4, "ok");
	assert_string_equal(out_header("X-H00"), value);
	assert_null(out_header("X-H99"));
	/* Every line of the head is whole. */
	for (const char *p = strstr(o, "\r\n") + 2; p < end; p = strstr(p, "\r\n") + 2) {
		if (strncmp(p, "X-H", 3) == 0) {
			assert_true(strncmp(p + 5, ": ", 2) == 0);
			assert_true(strncmp(p + 7, value, sizeof(value) - 1) == 0);
			assert_true(strncmp(p + 7 + sizeof(value) - 1, "\r\n", 2) == 0);
		}
	}
}

/* ------------------------------------------------------ resp_error/json */

static json_object *
body_json(void)
{
	char err[128];
	const char *b = out_body();
	json_object *v = json_parse(b, strlen(b), err, sizeof(err));

	if (v == NULL)
		fail_msg("body \"%s\" is not JSON: %s", b, err);
	return v;
}

static void
test_error_shape(void **state)
{
	json_object *v, *x;

	(void)state;
	request("GET");
	resp_error(&r, 404, "No product %s (%d)", "osh", 42);
	assert_true(strncmp(out(), "Status: 404 Not Found\r\n", 23) == 0);
	assert_string_equal(out_header("Content-Type"), JSON_CT);
	assert_string_equal(out_body(), "{\"success\":false,\"message\":\"No product osh (42)\"}");
	v = body_json();
	assert_true(json_object_object_get_ex(v, "success", &x));
	assert_true(json_object_is_type(x, json_type_boolean));
	assert_false(json_object_get_boolean(x));
	assert_string_equal(json_get_string(v, "message"), "No product osh (42)");
	assert_int_equal(json_object_object_length(v), 2);
	json_object_put(v);
}

static void
test_error_escapes_and_length(void **state)
{
	json_object *v;
	char cl[32];

	(void)state;
	request("POST");
	resp_error(&r, 400, "bad \"name\"\n</script> \\ %s", "Ўзбек");
	v = body_json();
	assert_string_equal(json_get_string(v, "message"), "bad \"name\"\n</script> \\ Ўзбек");
	json_object_put(v);
	snprintf(cl, sizeof(cl), "%zu", strlen(out_body()));
	assert_string_equal(out_header("Content-Length"), cl);
	req_free(&r);
	fake_free(&f);

	/* A 5xx is the same shape. */
	request("GET");
	resp_error(&r, 503, "database unavailable");
	assert_true(strncmp(out(), "Status: 503 Service Unavailable\r\n", 33) == 0);
	assert_string_equal(out_body(), "{\"success\":false,\"message\":\"database unavailable\"}");
}

static void
test_error_long_message(void **state)
{
	char big[2000];
	json_object *v;
	const char *m;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	request("GET");
	resp_error(&r, 422, "%s", big);
	/* Cut, but still one valid JSON body. */
	v = body_json();
	m = json_get_string(v, "message");
	assert_non_null(m);
	assert_true(strlen(m) > 100 && strlen(m) < sizeof(big) - 1);
	json_object_put(v);
}

static void
test_error_head(void **state)
{
	(void)state;
	request("HEAD");
	resp_error(&r, 404, "Not found");
	assert_string_equal(out_body(), "");
	assert_string_equal(out_header("Content-Length"), "39");
	assert_int_equal(strlen("{\"success\":false,\"message\":\"Not found\"}"), 39);
}

static void
test_json_response(void **state)
{
	json_object *o = json_object_new_object();

	(void)state;
	json_object_object_add(o, "url", json_object_new_string("/api/x"));
	json_object_object_add(o, "n", json_object_new_int(3));
	request("GET");
	resp_json(&r, 201, o);
	/* Compact, '/' not escaped; the object is not consumed. */
	assert_string_equal(out(), "Status: 201 Created\r\n"
	                           "Content-Type: " JSON_CT "\r\n"
	                           "Content-Length: 22\r\n"
	                           "\r\n"
	                           "{\"url\":\"/api/x\",\"n\":3}");
	assert_int_equal(json_object_object_length(o), 2);
	json_object_put(o);
}

/* ---------------------------------------------------------------- ETags */

static json_object *cached_obj;

static const char *
expected_etag(void)
{
	static char etag[32];
	size_t len;
	const char *s = json_object_to_json_string_length(cached_obj, JSON_OUT_FLAGS, &len);

	snprintf(etag, sizeof(etag), "\"%016llx\"", (unsigned long long)hash_fnv1a64(s, len));
	return etag;
}

/* resp_json_cached for method with If-None-Match inm (NULL: none). */
static void
cached(const char *method, const char *inm)
{
	char m[64], h[256];
	const char *env[] = {m, "DOCUMENT_URI=/api/categories", h, NULL};

	snprintf(m, sizeof(m), "REQUEST_METHOD=%s", method);
	if (inm != NULL)
		snprintf(h, sizeof(h), "HTTP_IF_NONE_MATCH=%s", inm);
	else
		env[2] = NULL;
	req_free(&r);
	fake_free(&f);
	start(env, NULL, 0);
	resp_json_cached(&r, cached_obj);
}

static int
cached_setup(void **state)
{
	(void)state;
	cached_obj = json_object_new_array();
	json_object_array_add(cached_obj, json_object_new_string("Osh"));
	json_object_array_add(cached_obj, json_object_new_string("Somsa"));
	return 0;
}

static int
cached_teardown(void **state)
{
	json_object_put(cached_obj);
	cached_obj = NULL;
	return teardown(state);
}

static void
test_cached_200(void **state)
{
	const char *etag = expected_etag();

	(void)state;
	cached("GET", NULL);
	assert_true(strncmp(out(), "Status: 200 OK\r\n", 16) == 0);
	assert_string_equal(out_header("ETag"), etag);
	assert_int_equal(strlen(etag), 18);
	assert_string_equal(out_header("Cache-Control"), "no-cache");
	assert_string_equal(out_header("Content-Type"), JSON_CT);
	assert_string_equal(out_header("Content-Length"), "15");
	assert_string_equal(out_body(), "[\"Osh\",\"Somsa\"]");
	assert_int_equal(out_header_count("ETag"), 1);

	/* Stable for the same bytes, different for other bytes. */
	cached("GET", "\"0000000000000000\"");
	assert_string_equal(out_header("ETag"), etag);
	assert_true(strncmp(out(), "Status: 200 OK\r\n", 16) == 0);
	json_object_array_add(cached_obj, json_object_new_string("Non"));
	cached("GET", NULL);
	assert_string_not_equal(out_header("ETag"), etag);
}

static void
expect_304(const char *method, const char *inm)
{
	char etag[32];

	snprintf(etag, sizeof(etag), "%s", expected_etag());
	cached(method, inm);
	if (strncmp(out(), "Status: 304 Not Modified\r\n", 26) != 0)
		fail_msg("If-None-Match: %s gave %.40s", inm, out());
	assert_string_equal(out_header("ETag"), etag);
	assert_string_equal(out_header("Cache-Control"), "no-cache");
	assert_null(out_header("Content-Length"));
	assert_null(out_header("Content-Type"));
	assert_string_equal(out_body(), "");
	assert_int_equal(r.status, 304);
}

static void
expect_200(const char *inm)
{
	cached("GET", inm);
	if (strncmp(out(), "Status: 200 OK\r\n", 16) != 0)
		fail_msg("If-None-Match: %s gave %.40s", inm, out());
	assert_string_equal(out_body(), "[\"Osh\",\"Somsa\"]");
}

static void
test_cached_304(void **state)
{
	char inm[256];
	const char *etag = expected_etag();

	(void)state;
	snprintf(inm, sizeof(inm), "%s", etag);
	expect_304("GET", inm);
	expect_304("HEAD", inm);
	/* In a list, anywhere. */
	snprintf(inm, sizeof(inm), "\"aaaa\", %s", etag);
	expect_304("GET", inm);
	snprintf(inm, sizeof(inm), "%s,\"aaaa\"", etag);
	expect_304("GET", inm);
	snprintf(inm, sizeof(inm), "\"a\",\t\"b\" ,  %s  ", etag);
	expect_304("GET", inm);
	/* Weak comparison: W/ matches the strong tag. */
	snprintf(inm, sizeof(inm), "W/%s", etag);
	expect_304("GET", inm);
	snprintf(inm, sizeof(inm), "W/\"x\", W/%s", etag);
	expect_304("GET", inm);
	expect_304("GET", "*");
	expect_304("GET", " *");
}

static void
test_cached_no_match(void **state)
{
	char inm[256];
	const char *etag = expected_etag();

	(void)state;
	expect_200("");
	expect_200("\"x\"");
	expect_200("\"x\", W/\"y\"");
	/* The tag without its quotes is another tag. */
	snprintf(inm, sizeof(inm), "%.16s", etag + 1);
	expect_200(inm);
	/* Prefix, suffix and case differ. */
	snprintf(inm, sizeof(inm), "%.17s", etag);
	expect_200(inm);
	snprintf(inm, sizeof(inm), "\"x%s", etag + 1);
	expect_200(inm);
	snprintf(inm, sizeof(inm), "w/%s", etag);
	expect_200(inm);
	expect_200("W/");
	expect_200(",,, ");
}

static void
test_cached_head_200(void **state)
{
	(void)state;
	cached("HEAD", "\"nope\"");
	assert_true(strncmp(out(), "Status: 200 OK\r\n", 16) == 0);
	assert_string_equal(out_header("Content-Length"), "15");
	assert_string_equal(out_body(), "");
}

static void
test_etag_matches(void **state)
{
	(void)state;
	assert_int_equal(http_etag_matches(NULL, "\"a\""), 0);
	assert_int_equal(http_etag_matches("", "\"a\""), 0);
	assert_int_equal(http_etag_matches(" , ,\t", "\"a\""), 0);
	assert_int_equal(http_etag_matches("\"a\"", "\"a\""), 1);
	assert_int_equal(http_etag_matches("W/\"a\"", "\"a\""), 1);
	assert_int_equal(http_etag_matches("\"b\", \"a\"", "\"a\""), 1);
	assert_int_equal(http_etag_matches("\"b\",W/\"a\"", "\"a\""), 1);
	assert_int_equal(http_etag_matches("*", "\"a\""), 1);
	assert_int_equal(http_etag_matches("\"b\", *", "\"a\""), 1);
	assert_int_equal(http_etag_matches("\"ab\"", "\"a\""), 0);
	assert_int_equal(http_etag_matches("\"a", "\"a\""), 0);
	assert_int_equal(http_etag_matches("\"a,\"a\"", "\"a\""), 0);
	assert_int_equal(http_etag_matches("a", "\"a\""), 0);
	assert_int_equal(http_etag_matches("W/", "\"a\""), 0);
	assert_int_equal(http_etag_matches("W/ ,\"a\"", "\"a\""), 1);
	/* A quoted tag may hold a comma. */
	assert_int_equal(http_etag_matches("\"a,b\"", "\"a,b\""), 1);
	assert_int_equal(http_etag_matches("\"a,b\"", "\"a\""), 0);
}

/* ---------------------------------------------------------------- routes */

static int called;
static const char *called_name;

static void
h_list(struct req *rq)
{
	called++;
	called_name = "list";
	resp_send(rq, 200, "text/plain", "list", 4);
}

static void
h_create(struct req *rq)
{
	called++;
	called_name = "create";
	resp_send(rq, 201, "text/plain", "created", 7);
}

static void
h_one(struct req *rq)
{
	called++;
	called_name = "one";
	resp_send(rq, 200, "text/plain", rq->params[0], strlen(rq->params[0]));
}

static void
h_image(struct req *rq)
{
	called++;
	called_name = "image";
	assert_non_null(rq->params[0]);
	assert_non_null(rq->params[1]);
	resp_send(rq, 204, NULL, NULL, 0);
}

static void
h_post_only(struct req *rq)
{
	called++;
	called_name = "post_only";
	resp_send(rq, 200, NULL, NULL, 0);
}

static const struct route routes[] = {
    {HTTP_GET, "/api/products", h_list},
    {HTTP_POST, "/api/products", h_create},
    {HTTP_GET | HTTP_PUT, "/api/products/{id}", h_one},
    {HTTP_DELETE, "/api/products/{id}/images/{img}", h_image},
    {HTTP_POST, "/api/login", h_post_only},
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static void
dispatch(const char *method, const char *path)
{
	char m[64], p[256];
	const char *env[] = {m, p, NULL};

	snprintf(m, sizeof(m), "REQUEST_METHOD=%s", method);
	snprintf(p, sizeof(p), "DOCUMENT_URI=%s", path);
	req_free(&r);
	fake_free(&f);
	start(env, NULL, 0);
	called = 0;
	called_name = NULL;
	route_dispatch(&r, routes, NROUTES);
}

static void
test_dispatch_match(void **state)
{
	(void)state;
	dispatch("GET", "/api/products");
	assert_int_equal(called, 1);
	assert_string_equal(called_name, "list");
	assert_string_equal(out_body(), "list");

	dispatch("POST", "/api/products");
	assert_string_equal(called_name, "create");
	assert_int_equal(r.status, 201);

	dispatch("PUT", "/api/products/abc123");
	assert_string_equal(called_name, "one");
	assert_string_equal(r.params[0], "abc123");
	assert_null(r.params[1]);

	dispatch("DELETE", "/api/products/p1/images/i2");
	assert_string_equal(called_name, "image");
	assert_string_equal(r.params[0], "p1");
	assert_string_equal(r.params[1], "i2");
}

static void
test_dispatch_head_is_get(void **state)
{
	(void)state;
	dispatch("HEAD", "/api/products");
	assert_int_equal(called, 1);
	assert_string_equal(called_name, "list");
	/* The handler's body is dropped, its length kept. */
	assert_string_equal(out_header("Content-Length"), "4");
	assert_string_equal(out_body(), "");

	dispatch("HEAD", "/api/products/x");
	assert_string_equal(called_name, "one");
}

static void
test_dispatch_404(void **state)
{
	static const char *const paths[] = {
	    "/api/nothing",
	    "/api/product",
	    "/api/products/",
	    "/api/products/a/b",
	    "/api/products//",
	    "/",
	    "",
	    "/api/products/a/images/",
	    "/API/products",
	    "/api/productsx",
	    "/api/login/",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		dispatch("GET", paths[i]);
		if (called != 0)
			fail_msg("\"%s\" ran %s", paths[i], called_name);
		if (strncmp(out(), "Status: 404 Not Found\r\n", 23) != 0)
			fail_msg("\"%s\" gave %.40s", paths[i], out());
		assert_null(out_header("Allow"));
		assert_string_equal(out_body(), "{\"success\":false,\"message\":\"Not found\"}");
	}
}

static void
expect_405(const char *method, const char *path, const char *allow)
{
	json_object *v;

	dispatch(method, path);
	if (called != 0)
		fail_msg("%s %s ran %s", method, path, called_name);
	if (strncmp(out(), "Status: 405 Method Not Allowed\r\n", 32) != 0)
		fail_msg("%s %s gave %.40s", method, path, out());
	if (out_header("Allow") == NULL || strcmp(out_header("Allow"), allow) != 0)
		fail_msg("%s %s: Allow is \"%s\", expected \"%s\"", method, path,
		         out_header("Allow") ? out_header("Allow") : "(none)", allow);
	assert_int_equal(out_header_count("Allow"), 1);
	if (strcmp(method, "HEAD") == 0) {
		assert_string_equal(out_body(), "");
		return;
	}
	v = body_json();
	assert_non_null(json_get_string(v, "message"));
	assert_non_null(strstr(json_get_string(v, "message"), allow));
	json_object_put(v);
}

static void
test_dispatch_405(void **state)
{
	(void)state;
	expect_405("DELETE", "/api/products", "GET, HEAD, POST");
	expect_405("PUT", "/api/products", "GET, HEAD, POST");
	expect_405("OPTIONS", "/api/products", "GET, HEAD, POST");
	expect_405("BREW", "/api/products", "GET, HEAD, POST");
	expect_405("POST", "/api/products/1", "GET, HEAD, PUT");
	expect_405("PATCH", "/api/products/1", "GET, HEAD, PUT");
	expect_405("GET", "/api/products/1/images/2", "DELETE");
	/* No GET, so no HEAD either. */
	expect_405("GET", "/api/login", "POST");
	expect_405("HEAD", "/api/login", "POST");
}

static void
test_route_match(void **state)
{
	(void)state;
	start(NULL, NULL, 0);
	free(r.path);
	r.path = xstrdup("/a/one/b/two/c/three/d/four");
	assert_int_equal(route_match(&r, "/a/{w}/b/{x}/c/{y}/d/{z}"), 1);
	assert_string_equal(r.params[0], "one");
	assert_string_equal(r.params[1], "two");
	assert_string_equal(r.params[2], "three");
	assert_string_equal(r.params[3], "four");

	/* More captures than REQ_MAX_PARAMS never match. */
	free(r.path);
	r.path = xstrdup("/1/2/3/4/5");
	assert_int_equal(route_match(&r, "/{a}/{b}/{c}/{d}/{e}"), 0);

	/* The whole path must match, no more and no less. */
	free(r.path);
	r.path = xstrdup("/files/report");
	assert_int_equal(route_match(&r, "/files/{name}"), 1);
	assert_string_equal(r.params[0], "report");
	assert_int_equal(route_match(&r, "/files"), 0);
	assert_int_equal(route_match(&r, "/files/report/"), 0);
	assert_int_equal(route_match(&r, "/files/{name}/x"), 0);

	/* Captures are never empty and never hold '/'. */
	free(r.path);
	r.path = xstrdup("/files//x");
	assert_int_equal(route_match(&r, "/files/{name}/x"), 0);
	assert_int_equal(route_match(&r, "/files/{name}"), 0);

	/* A later match replaces earlier captures. */
	free(r.path);
	r.path = xstrdup("/p/7");
	assert_int_equal(route_match(&r, "/p/{id}"), 1);
	assert_string_equal(r.params[0], "7");
	assert_int_equal(route_match(&r, "/p/7"), 1);
	assert_null(r.params[0]);
}

#define T(f)  cmocka_unit_test_teardown(f, teardown)
#define TC(f) cmocka_unit_test_setup_teardown(f, cached_setup, cached_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_method_parse_and_name),
	    T(test_reason_phrases),
	    T(test_req_init),
	    T(test_req_init_unknown_method),
	    T(test_req_init_defaults),
	    T(test_req_init_script_name_fallback),
	    T(test_req_free),
	    T(test_req_header),
	    T(test_req_header_content_type_not_from_http_prefix),
	    T(test_req_header_long_names),
	    T(test_body_within_max),
	    T(test_body_empty),
	    T(test_body_too_large),
	    T(test_body_malformed_length),
	    T(test_body_short),
	    T(test_body_in_chunks),
	    T(test_body_large),
	    T(test_send_get),
	    T(test_send_with_headers),
	    T(test_send_head_keeps_length),
	    T(test_send_304_no_body),
	    T(test_send_204_no_body),
	    T(test_send_error_status_body),
	    T(test_send_second_dropped),
	    T(test_send_binary_and_large),
	    T(test_send_client_gone),
	    T(test_header_rejects_crlf),
	    T(test_header_limit),
	    T(test_error_shape),
	    T(test_error_escapes_and_length),
	    T(test_error_long_message),
	    T(test_error_head),
	    T(test_json_response),
	    TC(test_cached_200),
	    TC(test_cached_304),
	    TC(test_cached_no_match),
	    TC(test_cached_head_200),
	    T(test_etag_matches),
	    T(test_dispatch_match),
	    T(test_dispatch_head_is_get),
	    T(test_dispatch_404),
	    T(test_dispatch_405),
	    T(test_route_match),
	};

	/* Refused headers and second responses are logged; keep that quiet. */
	log_init("test_http", "error", "/dev/null");
	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
