/*
 * qs.c - query strings: decoded once with hard limits, then checked against
 * the endpoint's table of accepted parameters (kcgi's way), so a handler
 * only ever sees typed, range-checked values.
 */
#include <stdio.h>
#include <string.h>

#include "oshxona.h"

static int
qs_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
qs_url_decode(const char *s, size_t n, char *w)
{
	char *start = w;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			*w++ = ' ';
		} else if (s[i] == '%') {
			int hi, lo;
			if (n - i < 3)
				return -1;
			hi = qs_hex(s[i + 1]);
			lo = qs_hex(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			*w++ = (char)(hi << 4 | lo);
			i += 2;
		} else {
			*w++ = s[i];
		}
	}
	return (int)(w - start);
}

int
qs_text_clean(const char *s, size_t n)
{
	if (!utf8_valid(s, n))
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

int
qs_parse(const char *raw, struct qs *q, char *err, size_t errlen)
{
	size_t len = strlen(raw);
	char *w = q->buf;
	const char *p = raw;

	q->n = 0;
	if (len > QS_MAX_LEN) {
		snprintf(err, errlen, "query string longer than %d bytes", QS_MAX_LEN);
		return -1;
	}
	while (*p != '\0') {
		size_t seg = strcspn(p, "&");
		const char *eq = memchr(p, '=', seg);
		size_t nlen = eq != NULL ? (size_t)(eq - p) : seg;
		int dn, dv;

		if (seg == 0) { /* "a=1&&b=2" or a trailing '&' */
			p++;
			continue;
		}
		if (q->n == QS_MAX_PAIRS) {
			snprintf(err, errlen, "more than %d query parameters", QS_MAX_PAIRS);
			return -1;
		}
		dn = qs_url_decode(p, nlen, w);
		if (dn < 0)
			goto bad_escape;
		if (dn == 0) {
			snprintf(err, errlen, "query parameter without a name");
			return -1;
		}
		if (!qs_text_clean(w, (size_t)dn))
			goto bad_bytes;
		w[dn] = '\0';
		q->pairs[q->n].name = w;
		w += dn + 1;
		dv = 0;
		if (eq != NULL) {
			dv = qs_url_decode(eq + 1, seg - nlen - 1, w);
			if (dv < 0)
				goto bad_escape;
			if (!qs_text_clean(w, (size_t)dv))
				goto bad_bytes;
		}
		w[dv] = '\0';
		q->pairs[q->n].value = w;
		w += dv + 1;
		for (size_t i = 0; i < q->n; i++)
			if (strcmp(q->pairs[i].name, q->pairs[q->n].name) == 0) {
				snprintf(err, errlen, "query parameter '%s' given twice",
				         q->pairs[i].name);
				return -1;
			}
		q->n++;
		p += seg;
		if (*p == '&')
			p++;
	}
	return 0;
bad_escape:
	snprintf(err, errlen, "malformed %%-escape in the query string");
	return -1;
bad_bytes:
	snprintf(err, errlen, "query string is not valid UTF-8 text");
	return -1;
}

int
qs_validate(const struct qs *q, const struct qs_field *fields, size_t nfields,
            struct qs_value *vals, char *err, size_t errlen)
{
	memset(vals, 0, nfields * sizeof(*vals));
	for (size_t i = 0; i < q->n; i++) {
		const struct qs_pair *pr = &q->pairs[i];
		const struct qs_field *f = NULL;
		struct qs_value *v;
		size_t k;

		for (k = 0; k < nfields; k++)
			if (strcmp(fields[k].name, pr->name) == 0) {
				f = &fields[k];
				break;
			}
		if (f == NULL) {
			snprintf(err, errlen, "unknown query parameter '%.64s'", pr->name);
			return -1;
		}
		v = &vals[k];
		v->present = 1;
		switch (f->type) {
		case QS_INT:
			if (parse_int64(pr->value, f->min, f->max, &v->i) != 0) {
				snprintf(
				    err, errlen,
				    "query parameter '%s' must be an integer from %lld to %lld",
				    f->name, (long long)f->min, (long long)f->max);
				return -1;
			}
			break;
		case QS_OID:
			if (parse_oid(pr->value, &v->oid) != 0) {
				snprintf(err, errlen, "query parameter '%s' must be a 24-hex id",
				         f->name);
				return -1;
			}
			break;
		case QS_TEXT: {
			size_t cps = utf8_length(pr->value);
			if ((int64_t)cps < f->min || (int64_t)cps > f->max) {
				snprintf(err, errlen,
				         "query parameter '%s' must be %lld to %lld characters",
				         f->name, (long long)f->min, (long long)f->max);
				return -1;
			}
			v->text = pr->value;
			break;
		}
		}
	}
	return 0;
}
