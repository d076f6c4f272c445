/*
 * fuzz_multipart.c - libFuzzer target for lib/multipart.c. The input's
 * first line (up to '\n') is a request Content-Type, the rest the body:
 * multipart_boundary on the first, multipart_parse of the rest with the
 * boundary it found (or, failing that, with the fixed boundary "b"), with
 * a full and a short parts array. Checks that every part lies inside the
 * body, that no part overlaps the next, that names are present, and that
 * the parser never writes past max_parts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oshxona.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* p .. p+n inside body .. body+len */
static void
fuzz_inside(const char *p, size_t n, const char *body, size_t len)
{
	if (p == NULL) {
		if (n != 0)
			abort();
		return;
	}
	if (p < body || n > len || p - body > (ptrdiff_t)(len - n))
		abort();
}

static void
fuzz_parse(const char *body, size_t len, const char *b, size_t blen, size_t max)
{
	struct multipart_part parts[MULTIPART_MAX_PARTS + 1];
	const char *prev_end = body;
	int n;

	memset(parts, 0x5a, sizeof(parts));
	n = multipart_parse(body, len, b, blen, parts, max);
	if (n == 0 || n < -1 || n > MULTIPART_MAX_PARTS || (n > 0 && (size_t)n > max))
		abort();
	/* past the parts it may write, nothing was touched */
	for (size_t i = n > 0 ? (size_t)n : max; i <= MULTIPART_MAX_PARTS; i++)
		if (((unsigned char *)&parts[i])[0] != 0x5a)
			abort();
	for (int i = 0; i < n; i++) {
		const struct multipart_part *p = &parts[i];
		if (p->name == NULL)
			abort();
		fuzz_inside(p->name, p->name_len, body, len);
		fuzz_inside(p->filename, p->filename_len, body, len);
		fuzz_inside(p->content_type, p->content_type_len, body, len);
		fuzz_inside(p->data, p->data_len, body, len);
		if (p->data == NULL || p->data < prev_end)
			abort();
		prev_end = p->data + p->data_len;
		/* the data never holds the delimiter it was cut at */
		if (p->data_len >= blen + 4) {
			for (size_t j = 0; j + blen + 4 <= p->data_len; j++)
				if (memcmp(p->data + j, "\r\n--", 4) == 0 &&
				    memcmp(p->data + j + 4, b, blen) == 0)
					abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t ctlen = nl != NULL ? (size_t)(nl - data) : size;
	char *ct = xmalloc(ctlen + 1);
	const char *b = "b";
	size_t blen = 1, len = nl != NULL ? size - ctlen - 1 : 0;
	/* An exact-size copy of the body, so reads past its end are caught. */
	char *body = xmalloc(len > 0 ? len : 1);

	memcpy(ct, data, ctlen);
	ct[ctlen] = '\0';
	if (len > 0)
		memcpy(body, nl + 1, len);
	if (multipart_boundary(ct, &b, &blen) == 0) {
		if (blen == 0 || blen > MULTIPART_BOUNDARY_MAX || b < ct || b + blen > ct + ctlen)
			abort();
	} else {
		b = "b";
		blen = 1;
	}
	fuzz_parse(body, len, b, blen, MULTIPART_MAX_PARTS);
	fuzz_parse(body, len, b, blen, 1);
	free(body);
	free(ct);
	return 0;
}
