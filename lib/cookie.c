/*
 * cookie.c - reading one cookie out of a Cookie request header (RFC 6265
 * section 5.4, parsed the way browsers actually send it) and writing a
 * Set-Cookie value from parts that are checked to be cookie-safe.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "oshxona.h"

/* RFC 7230 tchar: the characters of a token. */
static int
cookie_is_tchar(unsigned char ch)
{
	if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
		return 1;
	return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* RFC 6265 cookie-octet: US-ASCII but CTLs, space, DQUOTE, ',', ';', '\'. */
static int
cookie_is_octet(unsigned char ch)
{
	return ch == 0x21 || (ch >= 0x23 && ch <= 0x2b) || (ch >= 0x2d && ch <= 0x3a) ||
	       (ch >= 0x3c && ch <= 0x5b) || (ch >= 0x5d && ch <= 0x7e);
}

static int
cookie_is_token(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!cookie_is_tchar((unsigned char)*s))
			return 0;
	return 1;
}

static int
cookie_is_ws(char ch)
{
	return ch == ' ' || ch == '\t';
}

int
cookie_get(const char *header, const char *name, char *out, size_t outlen)
{
	const char *p, *found = NULL;
	size_t nlen, flen = 0, npairs = 0;

	if (out != NULL && outlen > 0)
		out[0] = '\0';
	if (header == NULL || name == NULL || out == NULL || !cookie_is_token(name))
		return -1;
	nlen = strlen(name);

	/* Control characters (HTAB aside) make the whole header malformed. */
	for (p = header; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return -1;
	}

	p = header;
	for (;;) {
		const char *end, *eq, *ne, *v, *ve;

		while (cookie_is_ws(*p))
			p++;
		if (*p == '\0')
			break;
		end = strchr(p, ';');
		if (end == NULL)
			end = p + strlen(p);
		if (end == p) { /* "a=1;; b=2" or a trailing ';' */
			p++;
			continue;
		}
		if (++npairs > COOKIE_MAX_PAIRS)
			return -1;
		/* A pair without '=' has no name we could ask for: skipped. */
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq != NULL && found == NULL) {
			ne = eq;
			while (ne > p && cookie_is_ws(ne[-1]))
				ne--;
			v = eq + 1;
			ve = end;
			while (v < ve && cookie_is_ws(*v))
				v++;
			while (ve > v && cookie_is_ws(ve[-1]))
				ve--;
			if ((size_t)(ne - p) == nlen && memcmp(p, name, nlen) == 0) {
				found = v;
				flen = (size_t)(ve - v);
			}
		}
		p = *end == ';' ? end + 1 : end;
	}
	if (found == NULL)
		return -1;

	if (flen >= 2 && found[0] == '"' && found[flen - 1] == '"') {
		found++;
		flen -= 2;
	}
	/*
	 * The caller's buffer is the limit, not COOKIE_VALUE_MAX: the staff
	 * JWT cookie (up to JWT_MAX_LEN) is longer than that.
	 */
	if (flen >= outlen)
		return -1;
	for (size_t i = 0; i < flen; i++)
		if (!cookie_is_octet((unsigned char)found[i]))
			return -1;
	memcpy(out, found, flen);
	out[flen] = '\0';
	return 0;
}

/* Path attribute value: starts with '/', then any CHAR but CTLs and ';'. */
static int
cookie_is_path(const char *s)
{
	if (*s != '/')
		return 0;
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch < 0x20 || ch >= 0x7f || ch == ';')
			return 0;
	}
	return 1;
}

int
cookie_format(char *out, size_t outlen, const char *name, const char *value, const char *path,
              int64_t max_age, const char *samesite, bool secure)
{
	int n;

	if (out == NULL || outlen == 0)
		return -1;
	out[0] = '\0';
	if (name == NULL || value == NULL || path == NULL || samesite == NULL)
		return -1;
	if (!cookie_is_token(name) || !cookie_is_path(path) || max_age < 0)
		return -1;
	for (const char *s = value; *s != '\0'; s++)
		if (!cookie_is_octet((unsigned char)*s))
			return -1;
	if (strcmp(samesite, "Strict") != 0 && strcmp(samesite, "Lax") != 0 &&
	    strcmp(samesite, "None") != 0)
		return -1;
	n = snprintf(out, outlen, "%s=%s; Path=%s; Max-Age=%" PRId64 "%s; HttpOnly; SameSite=%s%s",
	             name, value, path, max_age,
	             max_age == 0 ? "; Expires=Thu, 01 Jan 1970 00:00:00 GMT" : "", samesite,
	             secure ? "; Secure" : "");
	if (n < 0 || (size_t)n >= outlen) {
		out[0] = '\0';
		return -1;
	}
	return n;
}
