/*
 * click.c - the pure half of Click's SHOP-API: the form Click posts to
 * prepare and complete, its md5 sign_string over the values exactly as
 * received, the JSON answers and the checkout link.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "oshxona.h"
#include "payments.h"

/*
 * Click's form as a lib/valid table (click_form_schema), indexed by enum
 * click_field. Every value is text kept exactly as received: the
 * signature covers it. Open: Click may add fields; they are ignored.
 */

/* An integer sent as text, in min..max. */
static int
click_int(json_object *v, const char *path, struct valid_error *e, int64_t min, int64_t max)
{
	int64_t i;

	if (parse_int64(json_object_get_string(v), min, max, &i) != 0)
		return valid_fail(e, 422, path, "%s must be an integer %lld..%lld", path,
		                  (long long)min, (long long)max);
	return 0;
}

static int
click_positive(json_object *v, const char *path, struct valid_error *e)
{
	return click_int(v, path, e, 1, INT64_MAX);
}

static int
click_int32(json_object *v, const char *path, struct valid_error *e)
{
	return click_int(v, path, e, INT32_MIN, INT32_MAX);
}

#define CLICK_TEXT(name_, flags_, ...)                                                             \
	VALID_FIELD(name_, VK_STRING, (flags_) | VALID_VERBATIM, .max = CLICK_FIELD_MAX,           \
	            __VA_ARGS__)
static const struct valid_field click_fields[CLICK_FIELD__MAX] = {
    [CLICK_TRANS_ID] = CLICK_TEXT("click_trans_id", VALID_REQUIRED, .rule = click_positive),
    [CLICK_SERVICE_ID] = CLICK_TEXT("service_id", VALID_REQUIRED),
    [CLICK_PAYDOC_ID] = CLICK_TEXT("click_paydoc_id", 0),
    [CLICK_MERCHANT_TRANS_ID] = CLICK_TEXT("merchant_trans_id", VALID_REQUIRED),
    /* complete only: click_complete_rule */
    [CLICK_MERCHANT_PREPARE_ID] = CLICK_TEXT("merchant_prepare_id", 0),
    [CLICK_AMOUNT] = CLICK_TEXT("amount", VALID_REQUIRED), /* judged against the order */
    [CLICK_ACTION] = CLICK_TEXT("action", VALID_REQUIRED, .rule = click_int32),
    [CLICK_ERROR] = CLICK_TEXT("error", VALID_REQUIRED, .rule = click_int32),
    [CLICK_ERROR_NOTE] = CLICK_TEXT("error_note", 0),
    [CLICK_SIGN_TIME] = CLICK_TEXT("sign_time", VALID_REQUIRED),
    [CLICK_SIGN_STRING] = CLICK_TEXT("sign_string", VALID_REQUIRED),
};

/* Complete names the prepare it confirms: merchant_prepare_id is required there. */
static int
click_complete_rule(json_object *form, const char *path, struct valid_error *e)
{
	json_object *v;

	(void)path;
	if (!json_object_object_get_ex(form, "merchant_prepare_id", &v))
		return valid_fail(e, 400, "merchant_prepare_id", "merchant_prepare_id is required");
	return click_positive(v, "merchant_prepare_id", e);
}

const struct valid_schema click_form_schema[2] = {
    VALID_SCHEMA_FLAGS(click_fields, NULL, VALID_OPEN),
    VALID_SCHEMA_FLAGS(click_fields, click_complete_rule, VALID_OPEN),
};

static int __attribute__((format(printf, 3, 4)))
click_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * The form's pairs, decoded, as a JSON object of strings. A name given
 * twice is added twice (ADD_KEY_IS_NEW), so the checker refuses a known
 * field sent twice and ignores an unknown one, as for JSON bodies.
 * Returns 0, or -1 with err set.
 */
static int
click_form_read(const char *body, size_t len, json_object *form, char *err, size_t errlen)
{
	char name[CLICK_BODY_MAX + 1], value[CLICK_BODY_MAX + 1];
	size_t pos = 0, npairs = 0;

	if (len > CLICK_BODY_MAX)
		return click_fail(err, errlen, "the request is over %d bytes", CLICK_BODY_MAX);
	while (pos < len) {
		const char *pair = body + pos, *amp = memchr(pair, '&', len - pos), *eq;
		size_t plen = amp != NULL ? (size_t)(amp - pair) : len - pos;
		int nlen, vlen;

		pos += plen + 1;
		if (plen == 0)
			continue;
		if (++npairs > CLICK_FIELDS_MAX)
			return click_fail(err, errlen, "more than %d fields", CLICK_FIELDS_MAX);
		eq = memchr(pair, '=', plen);
		if (eq == NULL)
			return click_fail(err, errlen, "a field without '='");
		/* Decoded text is never longer than its encoding. */
		nlen = qs_url_decode(pair, (size_t)(eq - pair), name);
		if (nlen <= 0 || !qs_text_clean(name, (size_t)nlen))
			return click_fail(err, errlen, "a malformed field name");
		name[nlen] = '\0';
		vlen = qs_url_decode(eq + 1, (size_t)(pair + plen - eq - 1), value);
		if (vlen < 0 || !qs_text_clean(value, (size_t)vlen))
			return click_fail(err, errlen, "%s is malformed", name);
		if ((size_t)vlen > CLICK_FIELD_MAX)
			return click_fail(err, errlen, "%s is too long", name);
		json_object_object_add_ex(form, name, json_object_new_string_len(value, vlen),
		                          JSON_C_OBJECT_ADD_KEY_IS_NEW);
	}
	return 0;
}

int
click_parse(const char *body, size_t len, int complete, struct click_form *f, char *err,
            size_t errlen)
{
	json_object *form = json_object_new_object(), *v;
	struct valid_error e;
	size_t used = 0;
	int rc = click_form_read(body, len, form, err, errlen);

	memset(f, 0, sizeof(*f));
	if (rc == 0 && valid_body(&click_form_schema[complete != 0], form, VALID_CREATE, &e) < 0)
		rc = click_fail(err, errlen, "%s", e.message);
	/* The values the table names (first of each), also for the refusal's answer. */
	for (int i = 0; i < CLICK_FIELD__MAX; i++) {
		size_t n;
		if (!json_object_object_get_ex(form, click_fields[i].name, &v))
			continue;
		n = (size_t)json_object_get_string_len(v);
		memcpy(f->buf + used, json_object_get_string(v), n + 1);
		f->v[i] = f->buf + used;
		used += n + 1;
	}
	json_object_put(form);
	if (rc != 0)
		return rc;
	/* Checked by the table: these reads cannot fail. */
	parse_int64(f->v[CLICK_TRANS_ID], 1, INT64_MAX, &f->trans_id);
	parse_int64(f->v[CLICK_ACTION], INT32_MIN, INT32_MAX, &f->action);
	parse_int64(f->v[CLICK_ERROR], INT32_MIN, INT32_MAX, &f->error);
	if (complete)
		parse_int64(f->v[CLICK_MERCHANT_PREPARE_ID], 1, INT64_MAX, &f->prepare_id);
	return 0;
}

void
click_sign(const struct click_form *f, const char *secret, int complete, char out[33])
{
	const char *parts[8];
	size_t n = 0;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	parts[n++] = f->v[CLICK_TRANS_ID];
	parts[n++] = f->v[CLICK_SERVICE_ID];
	parts[n++] = secret;
	parts[n++] = f->v[CLICK_MERCHANT_TRANS_ID];
	if (complete)
		parts[n++] = f->v[CLICK_MERCHANT_PREPARE_ID];
	parts[n++] = f->v[CLICK_AMOUNT];
	parts[n++] = f->v[CLICK_ACTION];
	parts[n++] = f->v[CLICK_SIGN_TIME];
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1)
		abort();
	for (size_t i = 0; i < n; i++)
		if (parts[i] != NULL && EVP_DigestUpdate(ctx, parts[i], strlen(parts[i])) != 1)
			abort();
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 16)
		abort();
	EVP_MD_CTX_free(ctx);
	hex_encode(md, 16, out);
}

int
click_sign_ok(const struct click_form *f, const char *secret, int complete)
{
	char want[33], got[33];
	const char *s = f->v[CLICK_SIGN_STRING];
	size_t n;

	if (s == NULL || secret == NULL || *secret == '\0')
		return 0;
	n = strlen(s);
	if (n != 32)
		return 0;
	for (size_t i = 0; i < n; i++)
		got[i] = (char)tolower((unsigned char)s[i]);
	got[n] = '\0';
	click_sign(f, secret, complete, want);
	return bytes_equal_ct(want, 32, got, 32);
}

json_object *
click_answer(const struct click_form *f, int complete, int64_t id, int error, const char *note)
{
	json_object *o = json_object_new_object();
	const char *mtid = f->v[CLICK_MERCHANT_TRANS_ID];

	json_object_object_add(o, "click_trans_id", json_object_new_int64(f->trans_id));
	json_object_object_add(o, "merchant_trans_id", json_object_new_string(mtid ? mtid : ""));
	if (id != 0)
		json_object_object_add(o, complete ? "merchant_confirm_id" : "merchant_prepare_id",
		                       json_object_new_int64(id));
	json_object_object_add(o, "error", json_object_new_int(error));
	json_object_object_add(o, "error_note", json_object_new_string(note ? note : ""));
	return o;
}

/* Appends s percent-encoded (RFC 3986 unreserved kept) at out + *used. */
static int
click_put_encoded(char *out, size_t outlen, size_t *used, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		int plain = isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
		if (*used + (plain ? 1 : 3) >= outlen)
			return -1;
		if (plain) {
			out[(*used)++] = (char)c;
		} else {
			out[(*used)++] = '%';
			out[(*used)++] = hex[c >> 4];
			out[(*used)++] = hex[c & 15];
		}
	}
	out[*used] = '\0';
	return 0;
}

int
click_checkout_url(const char *base, const char *service_id, const char *merchant_id,
                   int64_t amount_som, const char *order_hex, const char *return_url, char *out,
                   size_t outlen)
{
	const char *names[] = {"service_id", "merchant_id", "amount", "transaction_param",
	                       "return_url"};
	char amount[24];
	const char *values[] = {service_id, merchant_id, amount, order_hex, return_url};
	size_t used;
	int n;

	snprintf(amount, sizeof(amount), "%lld", (long long)amount_som);
	n = snprintf(out, outlen, "%s", base);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	used = (size_t)n;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (values[i] == NULL || *values[i] == '\0')
			continue;
		n = snprintf(out + used, outlen - used,
		             "%s%s=", strchr(out, '?') != NULL ? "&" : "?", names[i]);
		if (n < 0 || (size_t)n >= outlen - used)
			return -1;
		used += (size_t)n;
		if (click_put_encoded(out, outlen, &used, values[i]) != 0)
			return -1;
	}
	return (int)used;
}
