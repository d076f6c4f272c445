/*
 * multipart.c - a strict multipart/form-data parser (RFC 7578 over RFC
 * 2046) in the picohttpparser manner: bytes in, the caller's array of
 * parts out, pointers into the input, no allocation, hard limits, -1 on
 * anything malformed. Written for image uploads: one small body, fully
 * read, parsed once.
 */
#include <string.h>
#include <strings.h>

#include "oshxona.h"

#define MP_CRLF_LEN 2

/* RFC 7230 tchar. */
static int
mp_is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* RFC 2046 bchars (space is allowed, but not as the last character). */
static int
mp_is_bchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("'()+_,-./:=? ", c) != NULL;
}

/* A header value byte: HTAB, SP, visible ASCII or obs-text (UTF-8 file names). */
static int
mp_is_vbyte(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int
mp_boundary_ok(const char *b, size_t len)
{
	if (len == 0 || len > MULTIPART_BOUNDARY_MAX || b[len - 1] == ' ')
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!mp_is_bchar((unsigned char)b[i]))
			return 0;
	return 1;
}

static const char *
mp_skip_ows(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/*
 * A parameter value at *pp: a token, or a quoted-string (RFC 7230 section
 * 3.2.6, quoted-pairs allowed). Sets *val and *vlen to the token or to the
 * raw bytes between the quotes; advances *pp. Returns 0 or -1.
 */
static int
mp_param_value(const char **pp, const char *end, const char **val, size_t *vlen)
{
	const char *p = *pp;

	if (p < end && *p == '"') {
		const char *start = ++p;
		for (;;) {
			unsigned char c;
			if (p >= end)
				return -1;
			c = (unsigned char)*p;
			if (c == '"')
				break;
			if (c == '\\') {
				if (p + 1 >= end || !mp_is_vbyte((unsigned char)p[1]))
					return -1;
				p += 2;
				continue;
			}
			if (!mp_is_vbyte(c))
				return -1;
			p++;
		}
		*val = start;
		*vlen = (size_t)(p - start);
		*pp = p + 1;
		return 0;
	}
	*val = p;
	while (p < end && mp_is_tchar((unsigned char)*p))
		p++;
	if (p == *val)
		return -1;
	*vlen = (size_t)(p - *val);
	*pp = p;
	return 0;
}

/* 1 when the n bytes at p are the ASCII word s, ignoring case. */
static int
mp_word_is(const char *p, size_t n, const char *s)
{
	return n == strlen(s) && strncasecmp(p, s, n) == 0;
}

/*
 * The parameters after a media type or disposition type, from p to end:
 * *( OWS ";" OWS name "=" value ) OWS. For each one, cb is called with the
 * name and value; cb returns -1 to reject. Returns 0 or -1.
 */
typedef int (*mp_param_cb)(const char *name, size_t nlen, const char *val, size_t vlen, void *arg);

static int
mp_params(const char *p, const char *end, mp_param_cb cb, void *arg)
{
	for (;;) {
		const char *name, *val;
		size_t nlen, vlen;

		p = mp_skip_ows(p, end);
		if (p == end)
			return 0;
		if (*p != ';')
			return -1;
		p = mp_skip_ows(p + 1, end);
		name = p;
		while (p < end && mp_is_tchar((unsigned char)*p))
			p++;
		nlen = (size_t)(p - name);
		if (nlen == 0 || p == end || *p != '=')
			return -1;
		p++;
		if (mp_param_value(&p, end, &val, &vlen) != 0)
			return -1;
		if (cb(name, nlen, val, vlen, arg) != 0)
			return -1;
	}
}

struct mp_boundary_state {
	const char *boundary;
	size_t len;
};

static int
mp_boundary_param(const char *name, size_t nlen, const char *val, size_t vlen, void *arg)
{
	struct mp_boundary_state *st = arg;

	if (!mp_word_is(name, nlen, "boundary"))
		return 0;
	if (st->boundary != NULL)
		return -1; /* two boundaries */
	/* A quoted-pair fails here too: '\\' is no bchar. */
	if (!mp_boundary_ok(val, vlen))
		return -1;
	st->boundary = val;
	st->len = vlen;
	return 0;
}

int
multipart_boundary(const char *content_type, const char **boundary, size_t *len)
{
	static const char type[] = "multipart/form-data";
	struct mp_boundary_state st = {NULL, 0};
	const char *p, *end;

	if (content_type == NULL)
		return -1;
	p = mp_skip_ows(content_type, content_type + strlen(content_type));
	end = p + strlen(p);
	if ((size_t)(end - p) < sizeof(type) - 1 || strncasecmp(p, type, sizeof(type) - 1) != 0)
		return -1;
	p += sizeof(type) - 1;
	if (mp_params(p, end, mp_boundary_param, &st) != 0 || st.boundary == NULL)
		return -1;
	*boundary = st.boundary;
	*len = st.len;
	return 0;
}

/* What the Content-Disposition parameters of one part gave. */
struct mp_disposition {
	struct multipart_part *part;
	int seen_filename_ext; /* filename* (ignored, but only once) */
};

static int
mp_disposition_param(const char *name, size_t nlen, const char *val, size_t vlen, void *arg)
{
	struct mp_disposition *d = arg;
	struct multipart_part *part = d->part;

	if (mp_word_is(name, nlen, "name")) {
		if (part->name != NULL)
			return -1;
		part->name = val;
		part->name_len = vlen;
	} else if (mp_word_is(name, nlen, "filename")) {
		if (part->filename != NULL)
			return -1;
		part->filename = val;
		part->filename_len = vlen;
	} else if (mp_word_is(name, nlen, "filename*")) {
		if (d->seen_filename_ext)
			return -1;
		d->seen_filename_ext = 1;
	}
	/* Other parameters are allowed and ignored. */
	return 0;
}

/* Content-Disposition: form-data; name="..."[; filename="..."]. */
static int
mp_disposition(const char *v, size_t vlen, struct multipart_part *part)
{
	static const char type[] = "form-data";
	struct mp_disposition d = {part, 0};
	const char *p = v, *end = v + vlen, *t = p;

	while (p < end && mp_is_tchar((unsigned char)*p))
		p++;
	if (!mp_word_is(t, (size_t)(p - t), type))
		return -1;
	if (mp_params(p, end, mp_disposition_param, &d) != 0)
		return -1;
	return part->name != NULL ? 0 : -1;
}

/*
 * The header block of one part, starting at p: lines up to an empty line,
 * at most MULTIPART_HEADER_MAX bytes in all. Returns the first byte of the
 * content, or NULL.
 */
static const char *
mp_headers(const char *p, const char *end, struct multipart_part *part)
{
	const char *limit = end - p > MULTIPART_HEADER_MAX ? p + MULTIPART_HEADER_MAX : end;
	int seen_disposition = 0;

	for (;;) {
		const char *line = p, *name_end, *v, *vend;

		/* One line, CR LF, and no bare CR or LF anywhere in it. */
		while (p < limit && *p != '\r' && *p != '\n')
			p++;
		if (limit - p < MP_CRLF_LEN || p[0] != '\r' || p[1] != '\n')
			return NULL;
		if (p == line) /* the empty line */
			break;
		name_end = line;
		while (name_end < p && mp_is_tchar((unsigned char)*name_end))
			name_end++;
		if (name_end == line || name_end == p || *name_end != ':')
			return NULL;
		v = mp_skip_ows(name_end + 1, p);
		vend = p;
		while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
			vend--;
		for (const char *c = v; c < vend; c++)
			if (!mp_is_vbyte((unsigned char)*c))
				return NULL;
		if (mp_word_is(line, (size_t)(name_end - line), "Content-Disposition")) {
			if (seen_disposition++ || mp_disposition(v, (size_t)(vend - v), part) != 0)
				return NULL;
		} else if (mp_word_is(line, (size_t)(name_end - line), "Content-Type")) {
			if (part->content_type != NULL || vend == v)
				return NULL;
			part->content_type = v;
			part->content_type_len = (size_t)(vend - v);
		}
		p += MP_CRLF_LEN;
	}
	return seen_disposition ? p + MP_CRLF_LEN : NULL;
}

/* 1 when "--" boundary starts at p (within end). */
static int
mp_dash_boundary_at(const char *p, const char *end, const char *b, size_t blen)
{
	return (size_t)(end - p) >= 2 + blen && p[0] == '-' && p[1] == '-' &&
	       memcmp(p + 2, b, blen) == 0;
}

/* The first CR LF "--" boundary at or after p, or NULL. */
static const char *
mp_find_delimiter(const char *p, const char *end, const char *b, size_t blen)
{
	while ((size_t)(end - p) >= MP_CRLF_LEN + 2 + blen) {
		const char *cr = memchr(p, '\r', (size_t)(end - p) - (MP_CRLF_LEN + 2 + blen) + 1);
		if (cr == NULL)
			return NULL;
		if (cr[1] == '\n' && mp_dash_boundary_at(cr + MP_CRLF_LEN, end, b, blen))
			return cr;
		p = cr + 1;
	}
	return NULL;
}

/*
 * After a "--boundary" at p (its end): either "--" (the close delimiter;
 * *closed = 1) or the start of the next part. Transport padding, then
 * CRLF, or for the close delimiter the end of the body or one final
 * CRLF. Returns the next position, or NULL.
 */
static const char *
mp_after_delimiter(const char *p, const char *end, int *closed)
{
	*closed = 0;
	if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
		*closed = 1;
		p = mp_skip_ows(p + 2, end);
		if (p == end)
			return p;
		if (end - p == MP_CRLF_LEN && p[0] == '\r' && p[1] == '\n')
			return end;
		return NULL; /* no epilogue */
	}
	p = mp_skip_ows(p, end);
	if (end - p < MP_CRLF_LEN || p[0] != '\r' || p[1] != '\n')
		return NULL;
	return p + MP_CRLF_LEN;
}

int
multipart_parse(const char *body, size_t len, const char *boundary, size_t boundary_len,
                struct multipart_part *parts, size_t max_parts)
{
	const char *p = body, *end = body + len;
	size_t n = 0;
	int closed = 0;

	if (body == NULL || boundary == NULL || !mp_boundary_ok(boundary, boundary_len))
		return -1;
	if (max_parts > MULTIPART_MAX_PARTS)
		max_parts = MULTIPART_MAX_PARTS;
	/* No preamble: the body starts with the first boundary. */
	if (!mp_dash_boundary_at(p, end, boundary, boundary_len))
		return -1;
	p = mp_after_delimiter(p + 2 + boundary_len, end, &closed);
	if (p == NULL || closed) /* at least one part */
		return -1;
	while (!closed) {
		struct multipart_part *part;
		const char *data, *delim;

		if (n == max_parts)
			return -1;
		part = &parts[n];
		memset(part, 0, sizeof(*part));
		data = mp_headers(p, end, part);
		if (data == NULL)
			return -1;
		delim = mp_find_delimiter(data, end, boundary, boundary_len);
		if (delim == NULL)
			return -1; /* no closing boundary */
		part->data = data;
		part->data_len = (size_t)(delim - data);
		n++;
		p = mp_after_delimiter(delim + MP_CRLF_LEN + 2 + boundary_len, end, &closed);
		if (p == NULL)
			return -1;
	}
	return p == end ? (int)n : -1;
}
