/*
 * qs.c - query strings: decoded once with hard limits, then checked against
 * the endpoint's table of accepted parameters (kcgi's way), so a handler
 * only ever sees typed, range-checked values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oshxona.h"
#include "valid.h"

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

/*
 * One value against its field (a valid.h kind): fills v, or -1 with the
 * message in err. The rules are valid.c's; only the spelling is a URL's.
 */
static int
qs_value_check(const struct valid_field *f, const char *value, struct qs_value *v, char *err,
               size_t errlen)
{
	char list[160];

	v->present = 1;
	v->text = value;
	switch (f->kind) {
	case VK_INT:
		if (parse_int64(value, f->min, f->max, &v->i) == 0)
			return 0;
		snprintf(err, errlen, "query parameter '%s' must be an integer from %lld to %lld",
		         f->name, (long long)f->min, (long long)f->max);
		return -1;
	case VK_ID:
		if (parse_oid(value, &v->oid) == 0)
			return 0;
		snprintf(err, errlen, "query parameter '%s' must be a 24-hex id", f->name);
		return -1;
	case VK_STRING:
	case VK_TEXT: {
		size_t cps = utf8_length(value);
		if ((int64_t)cps >= f->min && (int64_t)cps <= f->max)
			return 0;
		snprintf(err, errlen, "query parameter '%s' must be %lld to %lld characters",
		         f->name, (long long)f->min, (long long)f->max);
		return -1;
	}
	case VK_BOOL:
		v->b = strcmp(value, "true") == 0;
		if (v->b || strcmp(value, "false") == 0)
			return 0;
		snprintf(err, errlen, "query parameter '%s' must be true or false", f->name);
		return -1;
	case VK_LOCALDAY:
		if (valid_localday(value))
			return 0;
		snprintf(err, errlen, "query parameter '%s' must be a calendar day, YYYY-MM-DD",
		         f->name);
		return -1;
	case VK_HHMM:
		v->i = valid_hhmm(value, (f->flags & VALID_24H) != 0);
		if (v->i >= 0)
			return 0;
		snprintf(err, errlen, "query parameter '%s' must be HH:MM, 00:00..23:59", f->name);
		return -1;
	case VK_ENUM:
		v->i = valid_enum_index(value, f->values);
		if (v->i >= 0)
			return 0;
		snprintf(err, errlen, "query parameter '%s' must be %s", f->name,
		         valid_enum_list(f->values, list, sizeof(list)));
		return -1;
	case VK_DIGITS: {
		size_t n = strlen(value);
		if (strspn(value, "0123456789") == n && (int64_t)n >= f->min &&
		    (int64_t)n <= f->max)
			return 0;
		snprintf(err, errlen, "query parameter '%s' must be %lld..%lld digits", f->name,
		         (long long)f->min, (long long)f->max);
		return -1;
	}
	default: /* objects, arrays, phones, locations: not query parameters */
		abort();
	}
}

int
qs_check(const struct qs *q, const struct valid_field *fields, size_t nfields,
         struct qs_value *vals, struct valid_error *e)
{
	memset(vals, 0, nfields * sizeof(*vals));
	memset(e, 0, sizeof(*e));
	for (size_t i = 0; i < q->n; i++) {
		const struct qs_pair *pr = &q->pairs[i];
		size_t k = 0;

		while (k < nfields && strcmp(fields[k].name, pr->name) != 0)
			k++;
		if (k == nfields)
			return valid_fail(e, 400, pr->name, "unknown query parameter '%.64s'",
			                  pr->name);
		if (qs_value_check(&fields[k], pr->value, &vals[k], e->message,
		                   sizeof(e->message)) != 0) {
			e->status = 400;
			snprintf(e->field, sizeof(e->field), "%s", fields[k].name);
			return -1;
		}
	}
	return 0;
}
