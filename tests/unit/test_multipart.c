/*
 * test_multipart.c - the upload path's pure parts: multipart/form-data
 * parsing (lib/multipart.c), magic-byte sniffing, stored names and local
 * deletion (lib/image.c), and Cloudinary's request signature
 * (lib/cloudinary.c) against fixed vectors computed independently.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "oshxona.h"

#define B     "XyZ-boundary-42"
#define DASH  "--" B
#define CRLF  "\r\n"
#define CD(n) "Content-Disposition: form-data; name=\"" n "\""
#define CLOSE CRLF DASH "--" CRLF

static struct multipart_part parts[MULTIPART_MAX_PARTS + 2];

/* multipart_parse of a string literal body with boundary B. */
static int
parse_n(const char *body, size_t len, size_t max)
{
	memset(parts, 0xA5, sizeof(parts));
	return multipart_parse(body, len, B, strlen(B), parts, max);
}

#define PARSE(lit) parse_n((lit), sizeof(lit) - 1, MULTIPART_MAX_PARTS)

/* 1 when the (ptr, len) pair equals the string s. */
static int
span_is(const char *p, size_t n, const char *s)
{
	return p != NULL && n == strlen(s) && memcmp(p, s, n) == 0;
}

/* ------------------------------------------------------------ boundary */

static const char *
boundary_of(const char *ct)
{
	static char out[MULTIPART_BOUNDARY_MAX + 1];
	const char *b = (const char *)1;
	size_t n = 12345;

	if (multipart_boundary(ct, &b, &n) != 0)
		return NULL;
	assert_true(n >= 1 && n <= MULTIPART_BOUNDARY_MAX);
	assert_true(b >= ct && b + n <= ct + strlen(ct));
	memcpy(out, b, n);
	out[n] = '\0';
	return out;
}

static void
test_boundary_accepts(void **state)
{
	(void)state;
	assert_string_equal(boundary_of("multipart/form-data; boundary=abc"), "abc");
	assert_string_equal(boundary_of("Multipart/Form-Data; BOUNDARY=abc"), "abc");
	assert_string_equal(boundary_of("multipart/form-data;boundary=abc"), "abc");
	assert_string_equal(boundary_of("multipart/form-data ; boundary=abc "), "abc");
	assert_string_equal(boundary_of("multipart/form-data; charset=utf-8; boundary=a.b_c"),
	                    "a.b_c");
	assert_string_equal(boundary_of("multipart/form-data; boundary=\"a b:c=d?e,f/g(h)\""),
	                    "a b:c=d?e,f/g(h)");
	/* what curl and browsers send */
	assert_string_equal(
	    boundary_of("multipart/form-data; boundary=------------------------d74496d66958873e"),
	    "------------------------d74496d66958873e");
	assert_string_equal(
	    boundary_of("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW"),
	    "----WebKitFormBoundary7MA4YWxkTrZu0gW");
	/* 70 characters is the most RFC 2046 allows */
	assert_non_null(boundary_of("multipart/form-data; boundary="
	                            "0123456789012345678901234567890123456789"
	                            "012345678901234567890123456789"));
}

static void
test_boundary_refuses(void **state)
{
	(void)state;
	assert_null(boundary_of(NULL));
	assert_null(boundary_of(""));
	assert_null(boundary_of("application/json"));
	assert_null(boundary_of("multipart/mixed; boundary=abc"));
	assert_null(boundary_of("multipart/form-data"));
	assert_null(boundary_of("multipart/form-data;"));
	assert_null(boundary_of("multipart/form-data; boundary="));
	assert_null(boundary_of("multipart/form-data; boundary=\"\""));
	assert_null(boundary_of("multipart/form-dataX; boundary=abc"));
	assert_null(boundary_of("multipart/form-data boundary=abc"));
	assert_null(boundary_of("multipart/form-data; boundary=abc;"));
	assert_null(boundary_of("multipart/form-data; boundary=abc; boundary=abc"));
	assert_null(boundary_of("multipart/form-data; boundary=a@b"));
	assert_null(boundary_of("multipart/form-data; boundary=\"abc \""));
	assert_null(boundary_of("multipart/form-data; boundary=\"abc"));
	assert_null(boundary_of("multipart/form-data; boundary=\"a\\\"b\""));
	assert_null(boundary_of("multipart/form-data; boundary=a\x01"));
	assert_null(boundary_of("text/plain; x=multipart/form-data; boundary=abc"));
	assert_null(boundary_of("multipart/form-data; boundary="
	                        "0123456789012345678901234567890123456789"
	                        "0123456789012345678901234567890"));
}

/* -------------------------------------------------------- good bodies */

static void
test_one_file_part(void **state)
{
	static const char body[] = DASH CRLF CD("file") "; filename=\"photo.jpg\"" CRLF
	                                                "Content-Type: image/jpeg" CRLF CRLF
	                                                "\xff\xd8\xff\x00\r\n-\r\n--" CLOSE;

	(void)state;
	assert_int_equal(PARSE(body), 1);
	assert_true(span_is(parts[0].name, parts[0].name_len, "file"));
	assert_true(span_is(parts[0].filename, parts[0].filename_len, "photo.jpg"));
	assert_true(span_is(parts[0].content_type, parts[0].content_type_len, "image/jpeg"));
	assert_int_equal(parts[0].data_len, 11);
	assert_memory_equal(parts[0].data, "\xff\xd8\xff\x00\r\n-\r\n--", 11);
	/* pointers into the body */
	assert_true(parts[0].data > body &&
	            parts[0].data + parts[0].data_len < body + sizeof(body));
}

static void
test_fields_and_file(void **state)
{
	static const char body[] = DASH CRLF CD("title") CRLF CRLF
	    "Osh" CRLF DASH CRLF CD("file") "; filename=\"a.png\"" CRLF CRLF
	                                    "PNGDATA" CRLF DASH CRLF CD("note") CRLF CRLF "" CLOSE;

	(void)state;
	assert_int_equal(PARSE(body), 3);
	assert_true(span_is(parts[0].name, parts[0].name_len, "title"));
	assert_null(parts[0].filename);
	assert_null(parts[0].content_type);
	assert_true(span_is(parts[0].data, parts[0].data_len, "Osh"));
	assert_true(span_is(parts[1].filename, parts[1].filename_len, "a.png"));
	assert_true(span_is(parts[1].data, parts[1].data_len, "PNGDATA"));
	assert_true(span_is(parts[2].name, parts[2].name_len, "note"));
	assert_int_equal(parts[2].data_len, 0);
}

static void
test_endings_and_padding(void **state)
{
	static const char no_final_crlf[] = DASH CRLF CD("a") CRLF CRLF "x" CRLF DASH "--";
	static const char padding[] = DASH " \t" CRLF CD("a") CRLF CRLF
	    "x" CRLF DASH "\t " CRLF CD("b") CRLF CRLF "y" CRLF DASH "-- \t" CRLF;

	(void)state;
	assert_int_equal(PARSE(no_final_crlf), 1);
	assert_int_equal(PARSE(padding), 2);
	assert_true(span_is(parts[1].data, parts[1].data_len, "y"));
}

static void
test_boundary_lookalikes_in_data(void **state)
{
	/* "--XyZ-boundary-4" (shorter), mid-line boundaries and bare LFs are data */
	static const char body[] =
	    DASH CRLF CD("f") "; filename=\"x\"" CRLF CRLF "a" CRLF "--XyZ-boundary-4" CRLF "b" DASH
	                      "c\n" DASH "\r" DASH CLOSE;

	(void)state;
	assert_int_equal(PARSE(body), 1);
	assert_true(span_is(parts[0].data, parts[0].data_len,
	                    "a" CRLF "--XyZ-boundary-4" CRLF "b" DASH "c\n" DASH "\r" DASH));
}

static void
test_disposition_forms(void **state)
{
	static const char lower[] = DASH CRLF "content-disposition: FORM-DATA; NAME=file; "
	                                      "FileName=\"x.jpg\"" CRLF CRLF "d" CLOSE;
	static const char tight[] =
	    DASH CRLF "Content-Disposition:form-data;name=\"a\";filename=b" CRLF CRLF "d" CLOSE;
	static const char ext[] =
	    DASH CRLF CD("file") "; filename*=UTF-8''na%C3%AFve.jpg" CRLF CRLF "d" CLOSE;
	static const char both[] =
	    DASH CRLF CD("file") "; filename=\"a.jpg\"; "
	                         "filename*=UTF-8''b.jpg" CRLF CRLF "d" CLOSE;
	static const char utf8[] =
	    DASH CRLF CD("file") "; filename=\"\xd0\xbe\xd1\x88.jpg\"" CRLF CRLF "d" CLOSE;
	static const char escaped[] =
	    DASH CRLF CD("file") "; filename=\"a\\\"b;c.jpg\"" CRLF CRLF "d" CLOSE;
	static const char evil[] =
	    DASH CRLF CD("file") "; filename=\"../../x\"" CRLF CRLF "d" CLOSE;
	static const char empty_name[] = DASH CRLF CD("file") "; filename=\"\"" CRLF CRLF CLOSE;
	static const char other_params[] =
	    DASH CRLF CD("a") "; size=10; x=\"y\"" CRLF CRLF "d" CLOSE;
	static const char other_headers[] =
	    DASH CRLF "Content-Transfer-Encoding: binary" CRLF CD("a") CRLF
	    "X-Whatever: \xff\xfe" CRLF CRLF "d" CLOSE;

	(void)state;
	assert_int_equal(PARSE(lower), 1);
	assert_true(span_is(parts[0].name, parts[0].name_len, "file"));
	assert_true(span_is(parts[0].filename, parts[0].filename_len, "x.jpg"));
	assert_int_equal(PARSE(tight), 1);
	assert_true(span_is(parts[0].filename, parts[0].filename_len, "b"));
	assert_int_equal(PARSE(ext), 1);
	assert_null(parts[0].filename); /* filename* is ignored */
	assert_int_equal(PARSE(both), 1);
	assert_true(span_is(parts[0].filename, parts[0].filename_len, "a.jpg"));
	assert_int_equal(PARSE(utf8), 1);
	assert_true(span_is(parts[0].filename, parts[0].filename_len, "\xd0\xbe\xd1\x88.jpg"));
	/* the raw bytes between the quotes, escapes included */
	assert_int_equal(PARSE(escaped), 1);
	assert_true(span_is(parts[0].filename, parts[0].filename_len, "a\\\"b;c.jpg"));
	assert_int_equal(PARSE(evil), 1);
	assert_true(span_is(parts[0].filename, parts[0].filename_len, "../../x"));
	/* an empty file input: filename="" and no content */
	assert_int_equal(PARSE(empty_name), 1);
	assert_non_null(parts[0].filename);
	assert_int_equal(parts[0].filename_len, 0);
	assert_int_equal(parts[0].data_len, 0);
	assert_int_equal(PARSE(other_params), 1);
	assert_int_equal(PARSE(other_headers), 1);
	assert_true(span_is(parts[0].name, parts[0].name_len, "a"));
}

static void
test_binary_content(void **state)
{
	char body[600];
	size_t n = 0;
	unsigned char data[256];

	(void)state;
	for (int i = 0; i < 256; i++)
		data[i] = (unsigned char)i;
	n += (size_t)snprintf(body, sizeof(body), "%s\r\n%s; filename=\"b\"\r\n\r\n", DASH,
	                      CD("file"));
	memcpy(body + n, data, sizeof(data));
	n += sizeof(data);
	memcpy(body + n, CLOSE, sizeof(CLOSE) - 1);
	n += sizeof(CLOSE) - 1;
	assert_int_equal(parse_n(body, n, MULTIPART_MAX_PARTS), 1);
	assert_int_equal(parts[0].data_len, 256);
	assert_memory_equal(parts[0].data, data, 256);
}

/* ---------------------------------------------------------- bad bodies */

static void
test_structure_errors(void **state)
{
	(void)state;
	assert_int_equal(parse_n("", 0, 4), -1);
	/* preamble, leading CRLF, epilogue */
	assert_int_equal(PARSE("junk" CRLF DASH CRLF CD("a") CRLF CRLF "x" CLOSE), -1);
	assert_int_equal(PARSE(CRLF DASH CRLF CD("a") CRLF CRLF "x" CLOSE), -1);
	assert_int_equal(PARSE(DASH CRLF CD("a") CRLF CRLF "x" CLOSE "epilogue"), -1);
	assert_int_equal(PARSE(DASH CRLF CD("a") CRLF CRLF "x" CLOSE CRLF), -1);
	/* missing final boundary, missing close marker, truncated */
	assert_int_equal(PARSE(DASH CRLF CD("a") CRLF CRLF "x"), -1);
	assert_int_equal(PARSE(DASH CRLF CD("a") CRLF CRLF "x" CRLF DASH CRLF), -1);
	assert_int_equal(PARSE(DASH CRLF CD("a") CRLF CRLF "x" CRLF DASH), -1);
	assert_int_equal(PARSE(DASH CRLF CD("a") CRLF CRLF "x" CRLF DASH "-"), -1);
	assert_int_equal(PARSE(DASH CRLF CD("a") CRLF), -1);
	/* no part at all */
	assert_int_equal(PARSE(DASH "--" CRLF), -1);
	assert_int_equal(PARSE(DASH "--"), -1);
	/* a boundary line with more after it */
	assert_int_equal(PARSE(DASH "x" CRLF CD("a") CRLF CRLF "x" CLOSE), -1);
	assert_int_equal(PARSE(DASH CRLF CD("a") CRLF CRLF "x" CRLF DASH "X" CRLF "y" CLOSE), -1);
	assert_int_equal(PARSE(DASH CRLF CD("a") CRLF CRLF "x" CRLF DASH "---" CRLF), -1);
	/* another boundary than the header's */
	assert_int_equal(PARSE("--other" CRLF CD("a") CRLF CRLF "x" CRLF "--other--"), -1);
	/* the boundary where the headers should be */
	assert_int_equal(PARSE(DASH CRLF DASH CRLF CD("a") CRLF CRLF "x" CLOSE), -1);
	assert_int_equal(PARSE(DASH CRLF CD("a") CRLF DASH CRLF CRLF "x" CLOSE), -1);
	/* no empty line after the headers */
	assert_int_equal(PARSE(DASH CRLF CD("a") CLOSE), -1);
}

static void
test_part_limits(void **state)
{
	static const char five[] = DASH CRLF CD("a") CRLF CRLF "1" CRLF DASH CRLF CD("b") CRLF CRLF
	    "2" CRLF DASH CRLF CD("c") CRLF CRLF "3" CRLF DASH CRLF CD("d") CRLF CRLF
	    "4" CRLF DASH CRLF CD("e") CRLF CRLF "5" CLOSE;
	static const char four[] = DASH CRLF CD("a") CRLF CRLF "1" CRLF DASH CRLF CD("b") CRLF CRLF
	    "2" CRLF DASH CRLF CD("c") CRLF CRLF "3" CRLF DASH CRLF CD("d") CRLF CRLF "4" CLOSE;
	static const char two[] =
	    DASH CRLF CD("a") CRLF CRLF "1" CRLF DASH CRLF CD("b") CRLF CRLF "2" CLOSE;

	(void)state;
	assert_int_equal(PARSE(four), 4);
	assert_int_equal(PARSE(five), -1);
	/* a bigger array does not lift the limit */
	assert_int_equal(parse_n(five, sizeof(five) - 1, MULTIPART_MAX_PARTS + 2), -1);
	assert_int_equal(parse_n(two, sizeof(two) - 1, 1), -1);
	assert_int_equal(parse_n(two, sizeof(two) - 1, 2), 2);
	/* the caller's array is not written past max_parts */
	assert_int_equal(parse_n(two, sizeof(two) - 1, 1), -1);
	assert_int_equal(((unsigned char *)&parts[1])[0], 0xA5);
}

static void
test_header_errors(void **state)
{
	(void)state;
	/* Content-Disposition: missing, twice, wrong type, no name, bad syntax */
	assert_int_equal(PARSE(DASH CRLF "Content-Type: text/plain" CRLF CRLF "x" CLOSE), -1);
	assert_int_equal(PARSE(DASH CRLF CD("a") CRLF CD("b") CRLF CRLF "x" CLOSE), -1);
	assert_int_equal(
	    PARSE(DASH CRLF "Content-Disposition: attachment; name=\"a\"" CRLF CRLF "x" CLOSE), -1);
	assert_int_equal(PARSE(DASH CRLF "Content-Disposition: form-data" CRLF CRLF "x" CLOSE), -1);
	assert_int_equal(
	    PARSE(DASH CRLF "Content-Disposition: form-data; filename=\"a\"" CRLF CRLF "x" CLOSE),
	    -1);
	assert_int_equal(PARSE(DASH CRLF CD("a") "; name=\"b\"" CRLF CRLF "x" CLOSE), -1);
	assert_int_equal(
	    PARSE(DASH CRLF CD("a") "; filename=\"b\"; filename=\"c\"" CRLF CRLF "x" CLOSE), -1);
	assert_int_equal(PARSE(DASH CRLF CD("a") "; filename*=x; filename*=y" CRLF CRLF "x" CLOSE),
	                 -1);
	assert_int_equal(PARSE(DASH CRLF CD("a") ";" CRLF CRLF "x" CLOSE), -1);
	assert_int_equal(PARSE(DASH CRLF CD("a") "; filename=\"unterminated" CRLF CRLF "x" CLOSE),
	                 -1);
	assert_int_equal(PARSE(DASH CRLF CD("a") "; filename=" CRLF CRLF "x" CLOSE), -1);
	assert_int_equal(PARSE(DASH CRLF CD("a") " junk" CRLF CRLF "x" CLOSE), -1);
	assert_int_equal(
	    PARSE(DASH CRLF "Content-Disposition: form-data; name=a b" CRLF CRLF "x" CLOSE), -1);
	/* Content-Type twice or empty */
	assert_int_equal(PARSE(DASH CRLF CD("a") CRLF "Content-Type: a/b" CRLF
	                                              "Content-Type: c/d" CRLF CRLF "x" CLOSE),
	                 -1);
	assert_int_equal(PARSE(DASH CRLF CD("a") CRLF "Content-Type: " CRLF CRLF "x" CLOSE), -1);
	/* header line syntax: no colon, space in name, folding, empty name */
	assert_int_equal(PARSE(DASH CRLF CD("a") CRLF "X-No-Colon" CRLF CRLF "x" CLOSE), -1);
	assert_int_equal(PARSE(DASH CRLF CD("a") CRLF "Content Type: a/b" CRLF CRLF "x" CLOSE), -1);
	assert_int_equal(PARSE(DASH CRLF CD("a") CRLF " folded" CRLF CRLF "x" CLOSE), -1);
	assert_int_equal(PARSE(DASH CRLF CD("a") CRLF ": v" CRLF CRLF "x" CLOSE), -1);
	/* line endings: bare LF, bare CR */
	assert_int_equal(PARSE(DASH "\n" CD("a") "\n\n"
	                                         "x"
	                                         "\n" DASH "--"),
	                 -1);
	assert_int_equal(PARSE(DASH CRLF CD("a") "\n" CRLF "x" CLOSE), -1);
	assert_int_equal(PARSE(DASH CRLF CD("a") "\r" CRLF "x" CLOSE), -1);
	assert_int_equal(PARSE(DASH CRLF CD("a") CRLF "X: a\rb" CRLF CRLF "x" CLOSE), -1);
	/* control bytes in a value */
	assert_int_equal(PARSE(DASH CRLF CD("a") CRLF "X: a\x01" CRLF CRLF "x" CLOSE), -1);
	assert_int_equal(PARSE(DASH CRLF CD("a") CRLF "X: a\x7f" CRLF CRLF "x" CLOSE), -1);
	assert_int_equal(parse_n(DASH CRLF CD("a") CRLF "X: a\0b" CRLF CRLF "x" CLOSE,
	                         sizeof(DASH CRLF CD("a") CRLF "X: a\0b" CRLF CRLF "x" CLOSE) - 1,
	                         4),
	                 -1);
	assert_int_equal(PARSE(DASH CRLF CD("a\x01") CRLF CRLF "x" CLOSE), -1);
}

/* A part whose header block is exactly total bytes long. */
static int
parse_header_block(size_t total)
{
	static char body[2 * MULTIPART_HEADER_MAX];
	const char *head = "Content-Disposition: form-data; name=\"";
	size_t fixed = strlen(head) + strlen("\"\r\n\r\n"), n = 0;

	assert_true(total > fixed);
	n += (size_t)snprintf(body, sizeof(body), "%s\r\n%s", DASH, head);
	memset(body + n, 'a', total - fixed);
	n += total - fixed;
	memcpy(body + n, "\"\r\n\r\nx" CLOSE, sizeof("\"\r\n\r\nx" CLOSE) - 1);
	n += sizeof("\"\r\n\r\nx" CLOSE) - 1;
	return parse_n(body, n, 4);
}

static void
test_header_size_limit(void **state)
{
	(void)state;
	assert_int_equal(parse_header_block(MULTIPART_HEADER_MAX), 1);
	assert_int_equal(parts[0].name_len, MULTIPART_HEADER_MAX -
	                                        strlen("Content-Disposition: form-data; name=\"") -
	                                        strlen("\"\r\n\r\n"));
	assert_int_equal(parse_header_block(MULTIPART_HEADER_MAX + 1), -1);
}

static void
test_bad_arguments(void **state)
{
	static const char body[] = DASH CRLF CD("a") CRLF CRLF "x" CLOSE;

	(void)state;
	assert_int_equal(multipart_parse(body, sizeof(body) - 1, "", 0, parts, 4), -1);
	assert_int_equal(multipart_parse(NULL, 0, B, strlen(B), parts, 4), -1);
	assert_int_equal(multipart_parse(body, sizeof(body) - 1, NULL, 3, parts, 4), -1);
	assert_int_equal(multipart_parse(body, sizeof(body) - 1, B, strlen(B), parts, 0), -1);
	/* the right bytes but a shorter boundary given: "XyZ" then "-boundary-42" is junk */
	assert_int_equal(multipart_parse(body, sizeof(body) - 1, "XyZ", 3, parts, 4), -1);
	/* every prefix of a good body is malformed, except the one without the last CRLF */
	for (size_t n = 0; n < sizeof(body) - 1; n++)
		assert_int_equal(parse_n(body, n, 4), n == sizeof(body) - 3 ? 1 : -1);
}

/* --------------------------------------------------------------- image */

static void
test_sniff(void **state)
{
	static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0};

	(void)state;
	assert_int_equal(image_sniff("\xff\xd8\xff\xe0", 4), IMAGE_JPEG);
	assert_int_equal(image_sniff("\xff\xd8\xff", 3), IMAGE_JPEG);
	assert_int_equal(image_sniff("\xff\xd8", 2), IMAGE_UNKNOWN);
	assert_int_equal(image_sniff(png, 9), IMAGE_PNG);
	assert_int_equal(image_sniff(png, 7), IMAGE_UNKNOWN);
	assert_int_equal(image_sniff("RIFF\x10\0\0\0WEBPVP8 ", 16), IMAGE_WEBP);
	assert_int_equal(image_sniff("RIFF\x10\0\0\0WAVEfmt ", 16), IMAGE_UNKNOWN);
	assert_int_equal(image_sniff("RIFF\x10\0\0\0WEB", 11), IMAGE_UNKNOWN);
	assert_int_equal(image_sniff("GIF89a\x01\0\x01\0", 10), IMAGE_UNKNOWN);
	assert_int_equal(image_sniff("<svg xmlns=", 11), IMAGE_UNKNOWN);
	assert_int_equal(image_sniff("not an image at all", 19), IMAGE_UNKNOWN);
	assert_int_equal(image_sniff("", 0), IMAGE_UNKNOWN);
	assert_string_equal(image_format_ext(IMAGE_JPEG), "jpg");
	assert_string_equal(image_format_ext(IMAGE_PNG), "png");
	assert_string_equal(image_format_ext(IMAGE_WEBP), "webp");
	assert_string_equal(image_format_ext(IMAGE_UNKNOWN), "");
}

static void
test_process_refuses_unknown_bytes(void **state)
{
	struct image_result img;
	char err[160];

	(void)state;
	/* decided before libvips is asked anything */
	assert_int_equal(image_process("GIF89a\x01\0\x01\0", 10, &img, err, sizeof(err)), 415);
	assert_non_null(strstr(err, "JPEG, PNG and WebP"));
	assert_null(img.data);
	assert_int_equal(image_process("hello.jpg", 9, &img, err, sizeof(err)), 415);
}

static void
test_names(void **state)
{
	(void)state;
	assert_true(image_name_valid("0123456789abcdef0123456789abcdef.jpg"));
	assert_true(image_name_valid("0123456789abcdef0123456789abcdef.png"));
	assert_true(image_name_valid("0123456789abcdef0123456789abcdef.webp"));
	assert_false(image_name_valid("0123456789abcdef0123456789abcdef.gif"));
	assert_false(image_name_valid("0123456789abcdef0123456789abcdef.JPG"));
	assert_false(image_name_valid("0123456789ABCDEF0123456789abcdef.jpg"));
	assert_false(image_name_valid("0123456789abcdef0123456789abcde.jpg"));
	assert_false(image_name_valid("0123456789abcdef0123456789abcdef0.jpg"));
	assert_false(image_name_valid("0123456789abcdef0123456789abcdef.jpg/"));
	assert_false(image_name_valid("0123456789abcdef0123456789abcdef.jpgx"));
	assert_false(image_name_valid("../../etc/passwd"));
	assert_false(image_name_valid("../0123456789abcdef0123456789abcd.jpg"));
	assert_false(image_name_valid("oshxona/abc123"));
	assert_false(image_name_valid(""));
}

static char media_dir[64];

static int
setup_media(void **state)
{
	(void)state;
	snprintf(media_dir, sizeof(media_dir), "/tmp/oshxona-media-XXXXXX");
	if (mkdtemp(media_dir) == NULL)
		return -1;
	setenv("MEDIA_DIR", media_dir, 1);
	unsetenv("CLOUDINARY_CLOUD_NAME");
	unsetenv("CLOUDINARY_API_KEY");
	unsetenv("CLOUDINARY_API_SECRET");
	return 0;
}

static int
teardown_media(void **state)
{
	(void)state;
	unsetenv("MEDIA_DIR");
	return rmdir(media_dir);
}

static void
touch(const char *name)
{
	char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", media_dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("x", f);
	fclose(f);
}

static int
exists(const char *name)
{
	char path[160];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", media_dir, name);
	return stat(path, &st) == 0;
}

static void
test_store_and_delete(void **state)
{
	struct image_result img = {IMAGE_PNG, 1, 1, "\x89PNG-bytes", 10};
	char name[IMAGE_NAME_LEN + 1], path[160];
	struct stat st;

	(void)state;
	assert_int_equal(image_store(&img, name), 0);
	assert_true(image_name_valid(name));
	assert_int_equal(strlen(name), 36);
	assert_string_equal(name + 32, ".png");
	snprintf(path, sizeof(path), "%s/%s", media_dir, name);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(st.st_size, 10);
	/* through the dispatcher: a local name is deleted locally */
	assert_int_equal(upload_delete(name), 0);
	assert_false(exists(name));
	/* gone already: still fine */
	assert_int_equal(image_delete(name), 0);

	touch("0123456789abcdef0123456789abcdef.webp");
	assert_int_equal(image_delete("0123456789abcdef0123456789abcdef.webp"), 0);
	assert_false(exists("0123456789abcdef0123456789abcdef.webp"));
	/* foreign names are never unlinked */
	touch("keep.jpg");
	assert_int_equal(image_delete("keep.jpg"), -1);
	assert_int_equal(image_delete("../keep.jpg"), -1);
	assert_int_equal(image_delete(NULL), -1);
	assert_true(exists("keep.jpg"));
	/* not local and no Cloudinary configured */
	assert_int_equal(upload_delete("oshxona/abc123"), -1);
	assert_int_equal(upload_delete(""), -1);
	assert_int_equal(upload_delete(NULL), -1);
	snprintf(path, sizeof(path), "%s/keep.jpg", media_dir);
	assert_int_equal(unlink(path), 0);
}

/* ---------------------------------------------------------- cloudinary */

static void
test_signature_vectors(void **state)
{
	char sig[CLOUDINARY_SIGNATURE_LEN + 1];
	/* Cloudinary's documented example (authentication_signatures), secret "abcd" */
	const struct cloudinary_param doc[] = {
	    {"timestamp", "1315060510"},
	    {"public_id", "sample_image"},
	    {"eager", "w_400,h_300,c_pad|w_260,h_200,c_crop"},
	};
	/*
	 * Ours, in any order and with the unsigned parameters present; expected:
	 * python3 -c 'import hashlib; print(hashlib.sha1(b"folder=oshxona&timestamp=
	 * 1700000000&transformation=c_limit,w_800,h_600,q_auto" b"test-secret-0123").hexdigest())'
	 */
	const struct cloudinary_param upload[] = {
	    {"transformation", "c_limit,w_800,h_600,q_auto"},
	    {"api_key", "123456789012345"},
	    {"timestamp", "1700000000"},
	    {"file", "@photo.jpg"},
	    {"resource_type", "image"},
	    {"folder", "oshxona"},
	    {"cloud_name", "demo"},
	};
	const struct cloudinary_param destroy[] = {
	    {"timestamp", "1700000000"},
	    {"public_id", "oshxona/abc123"},
	};
	char big[CLOUDINARY_SIGNATURE_LEN * 200];
	const struct cloudinary_param too_big[] = {{"x", big}};

	(void)state;
	assert_int_equal(cloudinary_signature(doc, 3, "abcd", sig), 0);
	assert_string_equal(sig, "bfd09f95f331f558cbd1320e67aa8d488770583e");
	assert_int_equal(cloudinary_signature(upload, 7, "test-secret-0123", sig), 0);
	assert_string_equal(sig, "afcdc036503a739136a5a3ed617b8e595e1d83b1");
	assert_int_equal(cloudinary_signature(destroy, 2, "test-secret-0123", sig), 0);
	assert_string_equal(sig, "018d7f8320e5f1c588ae91f118e4d33089b1fd89");
	/* the secret matters */
	assert_int_equal(cloudinary_signature(destroy, 2, "test-secret-0124", sig), 0);
	assert_string_not_equal(sig, "018d7f8320e5f1c588ae91f118e4d33089b1fd89");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(cloudinary_signature(too_big, 1, "s", sig), -1);
}

static void
test_cloudinary_configured(void **state)
{
	(void)state;
	unsetenv("CLOUDINARY_CLOUD_NAME");
	unsetenv("CLOUDINARY_API_KEY");
	unsetenv("CLOUDINARY_API_SECRET");
	assert_false(cloudinary_configured());
	setenv("CLOUDINARY_CLOUD_NAME", "demo", 1);
	setenv("CLOUDINARY_API_KEY", "123", 1);
	assert_false(cloudinary_configured());
	setenv("CLOUDINARY_API_SECRET", "", 1);
	assert_false(cloudinary_configured());
	setenv("CLOUDINARY_API_SECRET", "s", 1);
	assert_true(cloudinary_configured());
	/* a cloud name that would change the URL's path is refused */
	setenv("CLOUDINARY_CLOUD_NAME", "demo/../x", 1);
	assert_false(cloudinary_configured());
	unsetenv("CLOUDINARY_CLOUD_NAME");
	unsetenv("CLOUDINARY_API_KEY");
	unsetenv("CLOUDINARY_API_SECRET");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_boundary_accepts),
	    cmocka_unit_test(test_boundary_refuses),
	    cmocka_unit_test(test_one_file_part),
	    cmocka_unit_test(test_fields_and_file),
	    cmocka_unit_test(test_endings_and_padding),
	    cmocka_unit_test(test_boundary_lookalikes_in_data),
	    cmocka_unit_test(test_disposition_forms),
	    cmocka_unit_test(test_binary_content),
	    cmocka_unit_test(test_structure_errors),
	    cmocka_unit_test(test_part_limits),
	    cmocka_unit_test(test_header_errors),
	    cmocka_unit_test(test_header_size_limit),
	    cmocka_unit_test(test_bad_arguments),
	    cmocka_unit_test(test_sniff),
	    cmocka_unit_test(test_process_refuses_unknown_bytes),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test_setup_teardown(test_store_and_delete, setup_media, teardown_media),
	    cmocka_unit_test(test_signature_vectors),
	    cmocka_unit_test(test_cloudinary_configured),
	};

	log_init("test_multipart", "error", "/dev/null");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
