/*
 * payments.c - Payme and Click transactions in MongoDB, and what their
 * outcome does to the order.
 *
 * FerretDB makes no update atomic (FACTS.md), so a transaction's state is
 * never a field someone updates: it is read from claims, each an insert
 * under a unique _id in payment_claims that exactly one writer wins:
 *   payments            {_id: "<provider>:<ext id>"}  the transaction as created
 *   payment_claims      {_id: "<provider>:<ext id>:end"}     perform | cancel | reject
 *                       {_id: "<provider>:<ext id>:refund"}  cancel after perform
 *                       {_id: "payme-active:<order>:<n>"}    the order's one open Payme
 *                                                            transaction (n moves past
 *                                                            cancelled ones)
 *                       {_id: "paid:<order>:<n>"}            the order's one payment, any
 *                                                            provider, taken before perform
 * A perform racing a cancel, two creates racing for one order, a Payme
 * perform racing a Click complete: each has exactly one winner, on
 * FerretDB and on MongoDB alike. The order document only mirrors the
 * outcome (paymentStatus), written through a versioned order event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oshxona.h"
#include "order.h"
#include "payments.h"

#define PAYMENTS_TX      "payments"
#define PAYMENTS_CLAIMS  "payment_claims"
#define PAYMENTS_EFFECTS "payment_effects"
#define EFFECT_STALE_MS  ((int64_t)15 * 60 * 1000) /* a mark on a still waiting transaction */
#define PAYMENTS_SLOTS   64 /* cancelled attempts per order before we give up */
#define PAYMENTS_MOVE_ON -1 /* a slot's holder was cancelled: try the next slot */
/* A paid slot held by a cancelled payment that cancels its order. */
#define PAYMENTS_TOMBSTONE "cancel-order:"

/* ----------------------------------------------------------- config */

static const char *
payments_env(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : fallback;
}

void
payments_config_load(struct payments_config *cfg)
{
	cfg->payme_merchant_id = payments_env("PAYME_MERCHANT_ID", "");
	cfg->payme_key = payments_env("PAYME_KEY", "");
	cfg->payme_checkout = payments_env("PAYME_CHECKOUT_URL", "https://checkout.paycom.uz");
	cfg->click_service_id = payments_env("CLICK_SERVICE_ID", "");
	cfg->click_merchant_id = payments_env("CLICK_MERCHANT_ID", "");
	cfg->click_secret_key = payments_env("CLICK_SECRET_KEY", "");
	cfg->click_checkout =
	    payments_env("CLICK_CHECKOUT_URL", "https://my.click.uz/services/pay");
	cfg->return_url = payments_env("PAYMENT_RETURN_URL", payments_env("USER_FRONTEND_URL", ""));
}

int
payments_payme_ready(const struct payments_config *cfg)
{
	return *cfg->payme_merchant_id != '\0' && *cfg->payme_key != '\0';
}

int
payments_click_ready(const struct payments_config *cfg)
{
	return *cfg->click_service_id != '\0' && *cfg->click_merchant_id != '\0' &&
	       *cfg->click_secret_key != '\0';
}

int
payments_checkout_url(const struct payments_config *cfg, const char *provider, const bson_t *order,
                      char *out, size_t outlen)
{
	int64_t total = db_doc_int(order, "total", -1);
	char hex[25];
	bson_oid_t id;

	if (db_doc_oid(order, "_id", &id) != 0 || total < 0)
		return -1;
	bson_oid_to_string(&id, hex);
	if (strcmp(provider, "payme") == 0) {
		if (!payments_payme_ready(cfg))
			return -2;
		return payme_checkout_url(cfg->payme_checkout, cfg->payme_merchant_id, hex,
		                          total * 100, out, outlen);
	}
	if (!payments_click_ready(cfg))
		return -2;
	return click_checkout_url(cfg->click_checkout, cfg->click_service_id,
	                          cfg->click_merchant_id, total, hex, cfg->return_url, out, outlen);
}

/* ----------------------------------------------------------- base64 */

static const char payments_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
payments_base64_encode(const unsigned char *in, size_t len, char *out, size_t outlen)
{
	size_t o = 0, i;

	if (len > (SIZE_MAX - 3) / 4 * 3 || outlen < (len + 2) / 3 * 4 + 1)
		return 0;
	for (i = 0; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = payments_b64[v >> 18 & 63];
		out[o++] = payments_b64[v >> 12 & 63];
		out[o++] = payments_b64[v >> 6 & 63];
		out[o++] = payments_b64[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = payments_b64[v >> 18 & 63];
		out[o++] = payments_b64[v >> 12 & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = payments_b64[v >> 18 & 63];
		out[o++] = payments_b64[v >> 12 & 63];
		out[o++] = payments_b64[v >> 6 & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static int
payments_b64_value(char c)
{
	const char *p = c != '\0' ? strchr(payments_b64, c) : NULL;

	return p != NULL ? (int)(p - payments_b64) : -1;
}

int
payments_base64_decode(const char *in, size_t len, unsigned char *out, size_t outlen, size_t *n)
{
	size_t o = 0;

	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4], pad = 0;
		for (int k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			/* '=' only at the end, and nothing but '=' after one. */
			if (pad > 0 || (v[k] = payments_b64_value(in[i + k])) < 0)
				return -1;
		}
		if ((pad == 1 && (v[2] & 3) != 0) || (pad == 2 && (v[1] & 15) != 0))
			return -1;
		if (o + 3 - (size_t)pad + 1 > outlen)
			return -1;
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[o++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		if (pad < 1)
			out[o++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
	}
	if (o + 1 > outlen)
		return -1;
	out[o] = '\0';
	*n = o;
	return 0;
}

/* ------------------------------------------------------ money, text */

int
payments_parse_amount(const char *s, int64_t *tiyin)
{
	int64_t whole = 0, frac = 0;
	size_t digits = 0, decimals = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++, digits++) {
		if (digits == 12)
			return -1;
		whole = whole * 10 + (*p - '0');
	}
	if (digits == 0)
		return -1;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, decimals++) {
			if (decimals == 2)
				return -1;
			frac = frac * 10 + (*p - '0');
		}
		if (decimals == 0)
			return -1;
		if (decimals == 1)
			frac *= 10;
	}
	if (*p != '\0')
		return -1;
	*tiyin = whole * 100 + frac;
	return 0;
}

char *
payments_text(const char *language, int64_t number, enum payments_effect effect,
              const char *provider)
{
	static const char *const uz[] = {"toʻlov qabul qilindi", "toʻlov bekor qilindi",
	                                 "pul qaytarildi"};
	static const char *const ru[] = {"оплата получена", "оплата отменена", "деньги возвращены"};
	int is_ru = language != NULL && strcmp(language, "ru") == 0;
	const char *name = provider != NULL && strcmp(provider, "click") == 0 ? "Click" : "Payme";
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "%s%lld: %s (%s)", is_ru ? "Заказ №" : "Buyurtma #",
	                 (long long)number, is_ru ? ru[effect] : uz[effect], name);

	if (n < 0 || (size_t)n >= sizeof(buf))
		abort();
	return xstrdup(buf);
}

/* ----------------------------------------------------- transactions */

static void
payments_key(char *out, size_t outlen, const char *provider, const char *ext_id, const char *suffix)
{
	snprintf(out, outlen, "%s:%s%s%s", provider, ext_id, suffix ? ":" : "",
	         suffix ? suffix : "");
}

static void
payments_copy(char *dst, size_t dstlen, const char *src)
{
	snprintf(dst, dstlen, "%s", src != NULL ? src : "");
}

/* One document by _id from collection: 1, 0 or -1 (error set). */
static int
payments_find(mongoc_client_t *client, const char *collection, const char *id, bson_t **out,
              bson_error_t *error)
{
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(id));
	int rc = db_find_one(client, collection, filter, NULL, out, error);

	bson_destroy(filter);
	return rc;
}

/* The state the claims on a transaction give it. */
static int
payments_tx_state(mongoc_client_t *client, struct payment_tx *tx, bson_error_t *error)
{
	char key[128];
	bson_t *end = NULL, *refund = NULL;
	const char *kind;
	int rc;

	tx->state = PAYMENT_CREATED;
	tx->perform_time = tx->cancel_time = 0;
	tx->reason = 0;
	tx->rejected = 0;
	payments_key(key, sizeof(key), tx->provider, tx->ext_id, "end");
	rc = payments_find(client, PAYMENTS_CLAIMS, key, &end, error);
	if (rc <= 0)
		return rc;
	kind = db_doc_utf8(end, "kind");
	if (kind != NULL && strcmp(kind, "perform") == 0) {
		tx->state = PAYMENT_PERFORMED;
		tx->perform_time = db_doc_int(end, "at", 0);
		payments_key(key, sizeof(key), tx->provider, tx->ext_id, "refund");
		rc = payments_find(client, PAYMENTS_CLAIMS, key, &refund, error);
		if (rc == 1) {
			tx->state = PAYMENT_REFUNDED;
			tx->cancel_time = db_doc_int(refund, "at", 0);
			tx->reason = (int)db_doc_int(refund, "reason", 0);
		}
	} else if (kind != NULL && strcmp(kind, "reject") == 0) {
		tx->state = PAYMENT_CANCELLED;
		tx->rejected = (int)db_doc_int(end, "reason", PAYME_ERR_CANNOT_PERFORM);
		tx->cancel_time = db_doc_int(end, "at", 0);
	} else {
		tx->state = PAYMENT_CANCELLED;
		tx->cancel_time = db_doc_int(end, "at", 0);
		tx->reason = (int)db_doc_int(end, "reason", 0);
	}
	bson_destroy(end);
	if (refund != NULL)
		bson_destroy(refund);
	return rc < 0 ? -1 : 0;
}

static void
payments_tx_from_doc(const bson_t *doc, struct payment_tx *tx)
{
	memset(tx, 0, sizeof(*tx));
	payments_copy(tx->provider, sizeof(tx->provider), db_doc_utf8(doc, "provider"));
	payments_copy(tx->ext_id, sizeof(tx->ext_id), db_doc_utf8(doc, "extId"));
	payments_copy(tx->txn, sizeof(tx->txn), db_doc_utf8(doc, "transaction"));
	db_doc_oid(doc, "order", &tx->order);
	tx->amount = db_doc_int(doc, "amount", 0);
	tx->provider_time = db_doc_int(doc, "providerTime", 0);
	tx->create_time = db_doc_int(doc, "createTime", 0);
	tx->prepare_id = db_doc_int(doc, "prepareId", 0);
	payments_copy(tx->click_amount, sizeof(tx->click_amount), db_doc_utf8(doc, "clickAmount"));
	payments_copy(tx->click_service_id, sizeof(tx->click_service_id),
	              db_doc_utf8(doc, "clickServiceId"));
}

int
payments_tx_load(mongoc_client_t *client, const char *provider, const char *ext_id,
                 struct payment_tx *tx, bson_error_t *error)
{
	char key[128];
	bson_t *doc = NULL;
	int rc;

	payments_key(key, sizeof(key), provider, ext_id, NULL);
	rc = payments_find(client, PAYMENTS_TX, key, &doc, error);
	if (rc <= 0)
		return rc;
	payments_tx_from_doc(doc, tx);
	bson_destroy(doc);
	return payments_tx_state(client, tx, error) < 0 ? -1 : 1;
}

int
payments_tx_create(mongoc_client_t *client, struct payment_tx *tx, bson_error_t *error)
{
	char key[128];
	bson_oid_t txn;
	bson_t doc = BSON_INITIALIZER;
	int rc;

	payments_key(key, sizeof(key), tx->provider, tx->ext_id, NULL);
	bson_oid_init(&txn, NULL);
	bson_oid_to_string(&txn, tx->txn);
	BSON_APPEND_UTF8(&doc, "_id", key);
	BSON_APPEND_UTF8(&doc, "provider", tx->provider);
	BSON_APPEND_UTF8(&doc, "extId", tx->ext_id);
	BSON_APPEND_UTF8(&doc, "transaction", tx->txn);
	BSON_APPEND_OID(&doc, "order", &tx->order);
	BSON_APPEND_INT64(&doc, "amount", tx->amount);
	BSON_APPEND_INT64(&doc, "providerTime", tx->provider_time);
	BSON_APPEND_INT64(&doc, "createTime", tx->create_time);
	if (tx->prepare_id != 0)
		BSON_APPEND_INT64(&doc, "prepareId", tx->prepare_id);
	if (tx->click_amount[0] != '\0')
		BSON_APPEND_UTF8(&doc, "clickAmount", tx->click_amount);
	if (tx->click_service_id[0] != '\0')
		BSON_APPEND_UTF8(&doc, "clickServiceId", tx->click_service_id);
	BSON_APPEND_DATE_TIME(&doc, "createdAt", db_now_ms());
	rc = db_insert(client, PAYMENTS_TX, &doc, error);
	bson_destroy(&doc);
	if (rc == 0) {
		tx->state = PAYMENT_CREATED;
		tx->perform_time = tx->cancel_time = 0;
		tx->reason = tx->rejected = 0;
		return 1;
	}
	if (!db_error_is_duplicate(error))
		return -1;
	rc = payments_tx_load(client, tx->provider, tx->ext_id, tx, error);
	if (rc == 0)
		bson_set_error(error, 0, 0, "transaction %s vanished", key);
	return rc == 1 ? 0 : -1;
}

/* Inserts claim {_id: key, ...fields}: 1 won, 0 taken already, -1 error. */
static int
payments_claim(mongoc_client_t *client, const char *key, const char *kind, int64_t at, int reason,
               const char *holder, bson_error_t *error)
{
	bson_t doc = BSON_INITIALIZER;
	int rc;

	BSON_APPEND_UTF8(&doc, "_id", key);
	if (kind != NULL)
		BSON_APPEND_UTF8(&doc, "kind", kind);
	if (holder != NULL)
		BSON_APPEND_UTF8(&doc, "tx", holder);
	BSON_APPEND_INT64(&doc, "at", at);
	if (reason != 0)
		BSON_APPEND_INT32(&doc, "reason", reason);
	rc = db_insert(client, PAYMENTS_CLAIMS, &doc, error);
	bson_destroy(&doc);
	if (rc == 0)
		return 1;
	return db_error_is_duplicate(error) ? 0 : -1;
}

/* Claims a transaction's end (or refund) as kind; reloads it when it lost. */
static int
payments_tx_end(mongoc_client_t *client, struct payment_tx *tx, const char *suffix,
                const char *kind, int reason, int64_t now, bson_error_t *error)
{
	char key[128];
	int rc;

	payments_key(key, sizeof(key), tx->provider, tx->ext_id, suffix);
	rc = payments_claim(client, key, kind, now, reason, NULL, error);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return payments_tx_state(client, tx, error) < 0 ? -1 : 0;
	/* Ours: the state is what we just claimed, no need to read it back. */
	if (strcmp(kind, "perform") == 0) {
		tx->state = PAYMENT_PERFORMED;
		tx->perform_time = now;
	} else if (strcmp(kind, "refund") == 0) {
		tx->state = PAYMENT_REFUNDED;
		tx->cancel_time = now;
		tx->reason = reason;
	} else if (strcmp(kind, "reject") == 0) {
		tx->state = PAYMENT_CANCELLED;
		tx->rejected = reason;
		tx->cancel_time = now;
	} else {
		tx->state = PAYMENT_CANCELLED;
		tx->cancel_time = now;
		tx->reason = reason;
	}
	return 1;
}

int
payments_tx_perform(mongoc_client_t *client, struct payment_tx *tx, int64_t now,
                    bson_error_t *error)
{
	return payments_tx_end(client, tx, "end", "perform", 0, now, error);
}

int
payments_tx_cancel(mongoc_client_t *client, struct payment_tx *tx, int reason, int64_t now,
                   bson_error_t *error)
{
	return payments_tx_end(client, tx, "end", "cancel", reason, now, error);
}

int
payments_tx_reject(mongoc_client_t *client, struct payment_tx *tx, int code, int64_t now,
                   bson_error_t *error)
{
	return payments_tx_end(client, tx, "end", "reject", code, now, error);
}

int
payments_tx_refund(mongoc_client_t *client, struct payment_tx *tx, int reason, int64_t now,
                   bson_error_t *error)
{
	return payments_tx_end(client, tx, "refund", "refund", reason, now, error);
}

/* The holder "<provider>:<ext id>" of a slot, loaded: 1, 0 unknown, -1. */
static int
payments_holder(mongoc_client_t *client, const char *holder, struct payment_tx *tx,
                bson_error_t *error)
{
	char provider[8];
	const char *colon = strchr(holder, ':');

	if (colon == NULL || (size_t)(colon - holder) >= sizeof(provider))
		return 0;
	memcpy(provider, holder, (size_t)(colon - holder));
	provider[colon - holder] = '\0';
	return payments_tx_load(client, provider, colon + 1, tx, error);
}

/*
 * Walks the slots "<prefix>:<order>:<n>" until this transaction holds one.
 * judge decides about another holder: PAYMENTS_MOVE_ON (it was
 * cancelled), or an enum payments_claim to stop with.
 */
static enum payments_claim
payments_slots(mongoc_client_t *client, const char *prefix, const struct payment_tx *tx,
               int tombstone, int64_t now,
               int (*judge)(mongoc_client_t *, struct payment_tx *, int64_t), bson_error_t *error)
{
	char ohex[25], key[160], me[128];

	bson_oid_to_string(&tx->order, ohex);
	snprintf(me, sizeof(me), "%s%s:%s", tombstone ? PAYMENTS_TOMBSTONE : "", tx->provider,
	         tx->ext_id);
	for (int n = 0; n < PAYMENTS_SLOTS; n++) {
		struct payment_tx other;
		bson_t *doc = NULL;
		const char *holder;
		int rc, verdict;

		snprintf(key, sizeof(key), "%s:%s:%d", prefix, ohex, n);
		rc = payments_claim(client, key, NULL, now, 0, me, error);
		if (rc < 0)
			return PAYMENTS_CLAIM_ERROR;
		if (rc == 1)
			return PAYMENTS_CLAIM_OK;
		if (payments_find(client, PAYMENTS_CLAIMS, key, &doc, error) != 1)
			return PAYMENTS_CLAIM_ERROR;
		holder = db_doc_utf8(doc, "tx");
		if (holder != NULL && strcmp(holder, me) == 0) {
			bson_destroy(doc);
			return PAYMENTS_CLAIM_OK;
		}
		if (holder != NULL &&
		    strncmp(holder, PAYMENTS_TOMBSTONE, strlen(PAYMENTS_TOMBSTONE)) == 0) {
			bson_destroy(doc);
			return PAYMENTS_CLAIM_CANCELLED;
		}
		rc = holder != NULL ? payments_holder(client, holder, &other, error) : 0;
		bson_destroy(doc);
		if (rc < 0)
			return PAYMENTS_CLAIM_ERROR;
		/* A slot whose holder never got its document is a crash: skip. */
		verdict = rc == 0 ? PAYMENTS_MOVE_ON : judge(client, &other, now);
		if (verdict != PAYMENTS_MOVE_ON)
			return (enum payments_claim)verdict;
	}
	bson_set_error(error, 0, 0, "more than %d payment attempts for order %s", PAYMENTS_SLOTS,
	               ohex);
	return PAYMENTS_CLAIM_ERROR;
}

/* Another Payme transaction holds the order's active slot. */
static int
payments_judge_active(mongoc_client_t *client, struct payment_tx *other, int64_t now)
{
	bson_error_t error;

	if (other->state == PAYMENT_CREATED && now - other->create_time > PAYME_TIMEOUT_MS) {
		/* Expired: Payme's rules cancel it with reason 4. */
		if (payments_tx_cancel(client, other, 4, now, &error) < 0) {
			log_error("cancelling expired payme:%s: %s", other->ext_id, error.message);
			return PAYMENTS_CLAIM_BUSY;
		}
	}
	switch (other->state) {
	case PAYMENT_CREATED:
		return PAYMENTS_CLAIM_BUSY;
	case PAYMENT_PERFORMED:
	case PAYMENT_REFUNDED:
		return PAYMENTS_CLAIM_PAID;
	default:
		return PAYMENTS_MOVE_ON;
	}
}

enum payments_claim
payments_claim_active(mongoc_client_t *client, const struct payment_tx *tx, int64_t now,
                      bson_error_t *error)
{
	return payments_slots(client, "payme-active", tx, 0, now, payments_judge_active, error);
}

/* Another transaction holds a paid slot: paid, cancelled, or on its way. */
static int
payments_judge_paid(mongoc_client_t *client, struct payment_tx *other, int64_t now)
{
	(void)client;
	(void)now;
	switch (other->state) {
	case PAYMENT_PERFORMED:
	case PAYMENT_REFUNDED:
		return PAYMENTS_CLAIM_PAID;
	case PAYMENT_CREATED:
		return PAYMENTS_CLAIM_BUSY;
	default:
		return PAYMENTS_MOVE_ON;
	}
}

enum payments_claim
payments_claim_paid(mongoc_client_t *client, const struct payment_tx *tx, bson_error_t *error)
{
	return payments_slots(client, "paid", tx, 0, db_now_ms(), payments_judge_paid, error);
}

int
payments_statement(mongoc_client_t *client, int64_t from, int64_t to, json_object *arr,
                   bson_error_t *error)
{
	mongoc_collection_t *coll = db_collection(client, PAYMENTS_TX);
	bson_t *filter = BCON_NEW("provider", BCON_UTF8("payme"), "providerTime", "{", "$gte",
	                          BCON_INT64(from), "$lte", BCON_INT64(to), "}");
	bson_t *opts = BCON_NEW("sort", "{", "providerTime", BCON_INT32(1), "}", "limit",
	                        BCON_INT64(PAYMENTS_STATEMENT_MAX));
	mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	const bson_t *doc;
	int rc = 0;

	while (rc == 0 && mongoc_cursor_next(cursor, &doc)) {
		struct payment_tx tx;
		payments_tx_from_doc(doc, &tx);
		if (payments_tx_state(client, &tx, error) < 0)
			rc = -1;
		else if (tx.rejected == 0)
			json_object_array_add(arr, payme_tx_statement(&tx));
	}
	if (rc == 0 && mongoc_cursor_error(cursor, error))
		rc = -1;
	mongoc_cursor_destroy(cursor);
	bson_destroy(opts);
	bson_destroy(filter);
	mongoc_collection_destroy(coll);
	return rc;
}

/* ------------------------------------------------------------ orders */

enum payments_order_state
payments_order_check(mongoc_client_t *client, const char *order_hex, const char *provider,
                     int64_t amount, bson_t **order, bson_error_t *error)
{
	bson_oid_t id;
	bson_t *filter;
	int rc;

	*order = NULL;
	if (parse_oid(order_hex, &id) != 0)
		return PAYMENTS_ORDER_NOT_FOUND;
	filter = BCON_NEW("_id", BCON_OID(&id));
	rc = db_find_one(client, "orders", filter, NULL, order, error);
	bson_destroy(filter);
	if (rc < 0)
		return PAYMENTS_ORDER_ERROR;
	if (rc == 0)
		return PAYMENTS_ORDER_NOT_FOUND;
	return payments_order_state(*order, provider, amount);
}

enum payments_order_state
payments_order_state(const bson_t *order, const char *provider, int64_t amount)
{
	const char *method = db_doc_utf8(order, "paymentMethod");
	const char *status = db_doc_utf8(order, "status");
	const char *paid = db_doc_utf8(order, "paymentStatus");

	if (method == NULL || provider == NULL || strcmp(method, provider) != 0)
		return PAYMENTS_ORDER_WRONG_METHOD;
	if (paid != NULL && (strcmp(paid, "paid") == 0 || strcmp(paid, "refunded") == 0))
		return PAYMENTS_ORDER_PAID;
	if (status == NULL || strcmp(status, "cancelled") == 0)
		return PAYMENTS_ORDER_CANCELLED;
	if (amount >= 0 && amount != db_doc_int(order, "total", -1) * 100)
		return PAYMENTS_ORDER_AMOUNT;
	return PAYMENTS_ORDER_OK;
}

static const char *const payments_status_of[] = {
    [PAYMENTS_EFFECT_PAID] = "paid",
    [PAYMENTS_EFFECT_CANCELLED] = "cancelled",
    [PAYMENTS_EFFECT_REFUNDED] = "refunded",
};

/*
 * What effect does to an order now showing paid_status (payment by
 * holder) and status: 0 nothing to do, 1 write *to_status (the order's
 * status after it: a pending order is cancelled with its payment).
 */
static int
payments_decide(enum payments_effect effect, const char *me, const char *paid_status,
                const char *holder, const char *status, const char **to_status)
{
	int mine = holder != NULL && strcmp(holder, me) == 0;
	int paid = strcmp(paid_status, "paid") == 0 || strcmp(paid_status, "refunded") == 0;

	*to_status = status;
	switch (effect) {
	case PAYMENTS_EFFECT_PAID:
		if (paid && !mine)
			log_error("order paid by %s and by %s", holder ? holder : "?", me);
		return !paid;
	case PAYMENTS_EFFECT_CANCELLED:
		if (paid)
			return 0;
		if (strcmp(status, "pending") == 0)
			*to_status = "cancelled";
		return strcmp(paid_status, "cancelled") != 0 || strcmp(*to_status, status) != 0;
	case PAYMENTS_EFFECT_REFUNDED:
		return mine && strcmp(paid_status, "paid") == 0;
	}
	return 0;
}

/* What payments_order_apply asks order_record_payment to write. */
struct payments_write {
	const struct payment_tx *tx;
	enum payments_effect effect;
};

/* order_record_payment's decide: see order.h. */
static int
payments_decide_write(mongoc_client_t *client, const bson_t *order, void *arg,
                      struct order_payment *out, bson_error_t *error)
{
	const struct payments_write *w = arg;
	const struct payment_tx *tx = w->tx;
	const char *paid_status = db_doc_utf8(order, "paymentStatus");
	const char *status = db_doc_utf8(order, "status"), *holder = NULL, *to;
	bson_iter_t it, sub;
	char me[128];

	payments_key(me, sizeof(me), tx->provider, tx->ext_id, NULL);
	if (bson_iter_init_find(&it, order, "payment") && BSON_ITER_HOLDS_DOCUMENT(&it) &&
	    bson_iter_recurse(&it, &sub) && bson_iter_find(&sub, "transaction") &&
	    BSON_ITER_HOLDS_UTF8(&sub))
		holder = bson_iter_utf8(&sub, NULL);
	if (!payments_decide(w->effect, me, paid_status ? paid_status : "pending", holder,
	                     status ? status : "pending", &to))
		return 0;
	/*
	 * Cancelling the order with the payment: first the order's paid slot,
	 * so no other transaction can be paying it meanwhile (the order
	 * document may not show such a payment yet).
	 */
	if (to != NULL && status != NULL && strcmp(to, status) != 0) {
		switch (payments_slots(client, "paid", tx, 1, db_now_ms(), payments_judge_paid,
		                       error)) {
		case PAYMENTS_CLAIM_OK:
		case PAYMENTS_CLAIM_CANCELLED:
			break;
		case PAYMENTS_CLAIM_PAID:
		case PAYMENTS_CLAIM_BUSY:
			return 0;
		case PAYMENTS_CLAIM_ERROR:
			return -1;
		}
	}
	out->payment_status = payments_status_of[w->effect];
	out->status = to;
	out->message = "Payment cancelled";
	out->by_kind = tx->provider;
	BSON_APPEND_UTF8(&out->payment, "provider", tx->provider);
	BSON_APPEND_UTF8(&out->payment, "transaction", me);
	BSON_APPEND_INT64(&out->payment, "amount", tx->amount / 100);
	if (tx->perform_time != 0)
		BSON_APPEND_DATE_TIME(&out->payment, "paidAt", tx->perform_time);
	if (tx->cancel_time != 0)
		BSON_APPEND_DATE_TIME(&out->payment,
		                      w->effect == PAYMENTS_EFFECT_REFUNDED ? "refundedAt"
		                                                            : "cancelledAt",
		                      tx->cancel_time);
	return 1;
}

int
payments_order_apply(mongoc_client_t *client, const struct payment_tx *tx,
                     enum payments_effect effect, bson_t **changed, bson_error_t *error)
{
	struct payments_write w = {tx, effect};
	struct order_result res;
	int rc = order_record_payment(client, &tx->order, payments_decide_write, &w, &res);

	*changed = res.order;
	res.order = NULL;
	if (rc != 0) {
		if (res.status == 404) {
			/* Nothing to write into: logged, never retried forever. */
			log_error("payment %s:%s names a missing order", tx->provider, tx->ext_id);
			rc = 0;
		} else {
			bson_set_error(error, 0, 0, "%s", res.message);
		}
	}
	order_result_free(&res);
	return rc;
}

void
payments_announce(mongoc_client_t *client, const bson_t *order, enum payments_effect effect,
                  const char *provider)
{
	const char *status = db_doc_utf8(order, "status"), *language = NULL, *colon;
	const char *paid = db_doc_utf8(order, "paymentStatus");
	int64_t number = db_doc_int(order, "number", 0);
	char hex[25], ohex[25];
	bson_iter_t it, lang;
	bson_oid_t oid;
	char *line, *text;

	if (bson_iter_init(&it, order) &&
	    bson_iter_find_descendant(&it, "customer.language", &lang) &&
	    BSON_ITER_HOLDS_UTF8(&lang))
		language = bson_iter_utf8(&lang, NULL);
	/* "Order #17: <its status>" and the payment's news on the next line. */
	line = payments_text(language, number, effect, provider);
	colon = strstr(line, ": ");
	text = telegram_status_text(language, number, status, colon ? colon + 2 : line);
	/* The board, the customer's page and their Telegram, as for a status change. */
	order_announce_status(client, order, colon ? colon + 2 : line);
	db_doc_oid(order, "_id", &oid);
	bson_oid_to_string(&oid, ohex);
	if (db_doc_oid(order, "user", &oid) == 0) {
		json_object *ev = json_object_new_object();
		bson_oid_to_string(&oid, hex);
		json_object_object_add(ev, "orderId", json_object_new_string(ohex));
		json_object_object_add(ev, "number", json_object_new_int64(number));
		json_object_object_add(ev, "status", json_object_new_string(status ? status : ""));
		json_object_object_add(ev, "paymentStatus",
		                       json_object_new_string(paid ? paid : ""));
		json_object_object_add(ev, "message", json_object_new_string(text));
		notify_publish(client, "user", hex, "payment-updated", ev);
		json_object_put(ev);
	}
	free(text);
	free(line);
}

/* ------------------------------------------------------------ repair */

int
payments_effect_mark(mongoc_client_t *client, const struct payment_tx *tx, bson_error_t *error)
{
	char key[128];
	bson_t doc = BSON_INITIALIZER;
	int rc;

	payments_key(key, sizeof(key), tx->provider, tx->ext_id, NULL);
	BSON_APPEND_UTF8(&doc, "_id", key);
	BSON_APPEND_UTF8(&doc, "provider", tx->provider);
	BSON_APPEND_UTF8(&doc, "extId", tx->ext_id);
	BSON_APPEND_OID(&doc, "order", &tx->order);
	BSON_APPEND_DATE_TIME(&doc, "at", db_now_ms());
	rc = db_insert(client, PAYMENTS_EFFECTS, &doc, error);
	bson_destroy(&doc);
	/* Marked already (a repeat, a twin): the mark stands. */
	return rc == 0 || db_error_is_duplicate(error) ? 0 : -1;
}

void
payments_effect_done(mongoc_client_t *client, const struct payment_tx *tx)
{
	char key[128];
	bson_t *filter;
	mongoc_collection_t *coll = db_collection(client, PAYMENTS_EFFECTS);
	bson_error_t error;

	payments_key(key, sizeof(key), tx->provider, tx->ext_id, NULL);
	filter = BCON_NEW("_id", BCON_UTF8(key));
	/* A mark left behind only costs the repair job one idempotent apply. */
	if (!mongoc_collection_delete_one(coll, filter, NULL, NULL, &error))
		log_warn("payment mark %s: %s", key, error.message);
	bson_destroy(filter);
	mongoc_collection_destroy(coll);
}

/* Settles one mark: 1 the order changed, 0 nothing to do now, -1 error. */
static int
payments_repair_one(mongoc_client_t *client, const bson_t *mark, int64_t now, bson_error_t *error)
{
	const char *provider = db_doc_utf8(mark, "provider"), *ext = db_doc_utf8(mark, "extId");
	int64_t at = now;
	enum payments_effect effect;
	struct payment_tx tx;
	bson_t *changed = NULL;
	bson_iter_t it;
	int rc;

	if (bson_iter_init_find(&it, mark, "at") && BSON_ITER_HOLDS_DATE_TIME(&it))
		at = bson_iter_date_time(&it);
	if (provider == NULL || ext == NULL)
		return 0;
	rc = payments_tx_load(client, provider, ext, &tx, error);
	if (rc < 0)
		return -1;
	if (rc == 0 || tx.rejected != 0 ||
	    (tx.state == PAYMENT_CREATED && now - at > EFFECT_STALE_MS)) {
		if (rc == 1)
			payments_effect_done(client, &tx);
		return 0;
	}
	switch (tx.state) {
	case PAYMENT_PERFORMED:
		effect = PAYMENTS_EFFECT_PAID;
		break;
	case PAYMENT_REFUNDED:
		effect = PAYMENTS_EFFECT_REFUNDED;
		break;
	case PAYMENT_CANCELLED:
		effect = PAYMENTS_EFFECT_CANCELLED;
		break;
	default:
		return 0; /* still in flight */
	}
	if (payments_order_apply(client, &tx, effect, &changed, error) != 0)
		return -1;
	payments_effect_done(client, &tx);
	if (changed == NULL)
		return 0;
	log_warn("repaired %s:%s: its order now shows the payment's outcome", provider, ext);
	payments_announce(client, changed, effect, tx.provider);
	bson_destroy(changed);
	return 1;
}

int
payments_repair(mongoc_client_t *client, int64_t min_age_ms, bson_error_t *error)
{
	int64_t now = db_now_ms();
	mongoc_collection_t *coll = db_collection(client, PAYMENTS_EFFECTS);
	bson_t *filter = BCON_NEW("at", "{", "$lt", BCON_DATE_TIME(now - min_age_ms), "}");
	bson_t *opts = BCON_NEW("limit", BCON_INT64(1000));
	mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	const bson_t *doc;
	int changed = 0, rc;

	/* The collection holds only what is in flight: reading it whole is cheap. */
	while (mongoc_cursor_next(cursor, &doc)) {
		rc = payments_repair_one(client, doc, now, error);
		if (rc < 0) {
			changed = -1;
			break;
		}
		changed += rc;
	}
	if (changed >= 0 && mongoc_cursor_error(cursor, error))
		changed = -1;
	mongoc_cursor_destroy(cursor);
	bson_destroy(opts);
	bson_destroy(filter);
	mongoc_collection_destroy(coll);
	return changed;
}

/* ------------------------------------------------------- fiscal receipt */

/* A product's VAT rate: an integer 0..100, stored as any BSON number; else -1. */
static int
payments_vat(const bson_t *doc)
{
	bson_iter_t it;
	double d;

	if (doc == NULL || !bson_iter_init_find(&it, doc, "vatPercent"))
		return 0; /* not a VAT payer: Payme's 0 */
	if (BSON_ITER_HOLDS_INT32(&it) || BSON_ITER_HOLDS_INT64(&it)) {
		int64_t v = bson_iter_as_int64(&it);
		return v >= 0 && v <= 100 ? (int)v : -1;
	}
	if (BSON_ITER_HOLDS_DOUBLE(&it)) {
		d = bson_iter_double(&it);
		return d >= 0 && d <= 100 && d == (double)(int)d ? (int)d : -1;
	}
	return -1;
}

int
payments_payme_detail(mongoc_client_t *client, const bson_t *order, json_object **detail,
                      bson_error_t *error)
{
	static bson_t *fields;
	struct payme_item items[ORDER_ITEMS_MAX];
	bson_oid_t ids[ORDER_ITEMS_MAX];
	bson_t *docs[ORDER_ITEMS_MAX] = {0};
	char missing[512] = "";
	size_t n = 0, used = 0;
	bson_iter_t it, arr;
	int rc = 0;

	*detail = NULL;
	if (fields == NULL)
		fields = BCON_NEW("projection", "{", "mxikCode", BCON_INT32(1), "packageCode",
		                  BCON_INT32(1), "vatPercent", BCON_INT32(1), "}");
	if (!bson_iter_init_find(&it, order, "items") || !BSON_ITER_HOLDS_ARRAY(&it) ||
	    !bson_iter_recurse(&it, &arr))
		return 0;
	while (bson_iter_next(&arr) && n < ORDER_ITEMS_MAX) {
		bson_t line;
		const uint8_t *data;
		uint32_t len;
		size_t k;
		int vat;

		if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
			continue;
		bson_iter_document(&arr, &len, &data);
		if (!bson_init_static(&line, data, len) ||
		    db_doc_oid(&line, "productId", &ids[n]) != 0)
			continue;
		/* One equality read per distinct product (FerretDB scans for $in). */
		for (k = 0; k < n && !bson_oid_equal(&ids[k], &ids[n]); k++)
			;
		if (k == n) {
			bson_t *filter = BCON_NEW("_id", BCON_OID(&ids[n]));
			int found =
			    db_find_one(client, "products", filter, fields, &docs[n], error);
			bson_destroy(filter);
			if (found < 0) {
				rc = -1;
				goto done;
			}
		} else {
			docs[n] = docs[k] != NULL ? bson_copy(docs[k]) : NULL;
		}
		items[n].title = db_doc_utf8(&line, "name") ? db_doc_utf8(&line, "name") : "";
		items[n].price = db_doc_int(&line, "price", 0) * 100;
		items[n].count = db_doc_int(&line, "quantity", 0);
		items[n].code = db_doc_utf8(docs[n], "mxikCode");
		items[n].package_code = db_doc_utf8(docs[n], "packageCode");
		vat = payments_vat(docs[n]);
		items[n].vat_percent = vat;
		if (!payme_ikpu_ok(items[n].code) || items[n].package_code == NULL ||
		    items[n].package_code[0] == '\0' || vat < 0) {
			char hex[25];
			int w;
			bson_oid_to_string(&ids[n], hex);
			w = snprintf(missing + used, sizeof(missing) - used, "%s%s (%s)",
			             used ? ", " : "", items[n].title, hex);
			if (w > 0 && used + (size_t)w < sizeof(missing))
				used += (size_t)w;
		}
		n++;
	}
	if (used > 0) {
		char hex[25];
		bson_oid_t oid;
		if (db_doc_oid(order, "_id", &oid) == 0)
			bson_oid_to_string(&oid, hex);
		else
			snprintf(hex, sizeof(hex), "?");
		log_warn(
		    "payme: order %s goes without a fiscal receipt detail: no valid mxikCode / "
		    "packageCode / vatPercent for %s",
		    hex, missing);
		goto done;
	}
	*detail =
	    payme_detail(items, n, "Yetkazib berish", db_doc_int(order, "deliveryFee", 0) * 100);
done:
	for (size_t i = 0; i < n + (rc < 0 ? 1 : 0) && i < ORDER_ITEMS_MAX; i++)
		if (docs[i] != NULL)
			bson_destroy(docs[i]);
	return rc;
}
