/*
 * payments.h - online payment through Payme (merchant API, JSON-RPC 2.0)
 * and Click (SHOP-API, prepare/complete). The protocol parts (payme.c,
 * click.c: parsing, signatures, answers, checkout links) are pure and
 * unit-tested; payments.c keeps the transactions in MongoDB and applies
 * their effect to the order.
 *
 * Nothing here trusts an amount from the client: every amount is compared
 * with the order total the server stored when the order was placed.
 * Every write that must happen once is an insert under a unique _id
 * (FACTS.md "Concurrency"), so parallel repeats of a provider's call can
 * neither pay an order twice nor open two transactions for it.
 */
#ifndef OSHXONA_PAYMENTS_H
#define OSHXONA_PAYMENTS_H

#include <stddef.h>
#include <stdint.h>

#include <json.h>
#include <mongoc/mongoc.h>

#include "valid.h"

/* ------------------------------------------------------------ payments.c */

/* Settings from the environment; "" when not set. */
struct payments_config {
	const char *payme_merchant_id; /* PAYME_MERCHANT_ID: the cashbox id */
	const char *payme_key;         /* PAYME_KEY: the cashbox key (Basic auth password) */
	const char *payme_checkout;    /* PAYME_CHECKOUT_URL, https://checkout.paycom.uz */
	const char *click_service_id;  /* CLICK_SERVICE_ID */
	const char *click_merchant_id; /* CLICK_MERCHANT_ID */
	const char *click_secret_key;  /* CLICK_SECRET_KEY */
	const char *click_checkout;    /* CLICK_CHECKOUT_URL, https://my.click.uz/services/pay */
	const char *return_url;        /* PAYMENT_RETURN_URL, else USER_FRONTEND_URL */
};

/* Fills cfg from the environment (pointers into it). */
void payments_config_load(struct payments_config *cfg);
/* 1 when the provider's merchant id and key are set. */
int payments_payme_ready(const struct payments_config *cfg);
int payments_click_ready(const struct payments_config *cfg);

/*
 * The customer's checkout link for order (its _id and server total) with
 * provider "payme" or "click" (payme_checkout_url, click_checkout_url),
 * for the pay endpoint and for the bot alike. Does not check that the
 * order may be paid: payments_order_check does. Returns the length, -2
 * when the provider is not configured, -1 when out is too small.
 */
int payments_checkout_url(const struct payments_config *cfg, const char *provider,
                          const bson_t *order, char *out, size_t outlen);

/*
 * Standard base64 (RFC 4648 section 4) with padding, as HTTP Basic auth
 * and Payme's checkout links use it. Encode returns the length written
 * (NUL-terminated) or 0 when out is too small; decode is strict (padding
 * required, no whitespace, unused bits zero) and NUL-terminates out:
 * 0 with *n set, or -1.
 */
size_t payments_base64_encode(const unsigned char *in, size_t len, char *out, size_t outlen);
int payments_base64_decode(const char *in, size_t len, unsigned char *out, size_t outlen,
                           size_t *n);

#define PAYME_TIMEOUT_MS ((int64_t)12 * 3600 * 1000) /* an unperformed transaction expires */

/* Transaction states, Payme's numbers (Click uses the same internally). */
enum payment_state {
	PAYMENT_CREATED = 1,    /* waiting for perform / complete */
	PAYMENT_PERFORMED = 2,  /* money taken: the order is paid */
	PAYMENT_CANCELLED = -1, /* cancelled before perform (incl. timeout, reason 4) */
	PAYMENT_REFUNDED = -2,  /* cancelled after perform: money returned */
};

#define PAYMENT_EXT_ID_MAX 64 /* a provider's transaction id */

/* A transaction as stored: its creation document plus the claims on it. */
struct payment_tx {
	char provider[8];                    /* "payme" | "click" */
	char ext_id[PAYMENT_EXT_ID_MAX + 1]; /* Payme's id / Click's click_trans_id */
	char txn[25];                        /* our id of it (24 hex), "transaction" to Payme */
	bson_oid_t order;                    /* the order paid */
	int64_t amount;                      /* tiyin (so'm x 100), both providers */
	int64_t provider_time;               /* Payme's "time" of the create call (ms) */
	int64_t create_time;                 /* ms, ours */
	int64_t perform_time;                /* ms, 0 until performed */
	int64_t cancel_time;                 /* ms, 0 unless cancelled */
	int state;                           /* enum payment_state */
	int reason;                          /* cancel reason, 0 = none */
	int rejected;                        /* a create refused with this Payme code */
	int64_t prepare_id;                  /* Click: merchant_prepare_id */
	char click_amount[32];               /* Click: the amount string as received */
	char click_service_id[24];           /* Click: service_id as received */
};

/*
 * Loads provider's transaction ext_id with its current state. Returns 1
 * found (tx filled), 0 unknown, -1 on a database error.
 */
int payments_tx_load(mongoc_client_t *client, const char *provider, const char *ext_id,
                     struct payment_tx *tx, bson_error_t *error);

/*
 * Creates the transaction (state 1) by inserting its document under the
 * unique _id "<provider>:<ext_id>". Returns 1 created, 0 when it existed
 * already (tx then holds the stored one: a repeat, or a racing twin), -1
 * on error.
 */
int payments_tx_create(mongoc_client_t *client, struct payment_tx *tx, bson_error_t *error);

/*
 * Ends a created transaction: performed (state 2) or cancelled (state -1
 * with reason), decided by one unique claim "<provider>:<ext_id>:end", so
 * a perform racing a cancel has exactly one winner. Returns 1 when this
 * call decided it, 0 when it had been decided already (tx reloaded: look
 * at tx->state), -1 on error.
 */
int payments_tx_perform(mongoc_client_t *client, struct payment_tx *tx, int64_t now,
                        bson_error_t *error);
int payments_tx_cancel(mongoc_client_t *client, struct payment_tx *tx, int reason, int64_t now,
                       bson_error_t *error);
/*
 * A create refused after its document was written (the order was busy
 * or paid): ends it with the Payme error code, so a repeat of the create
 * gets the same answer and nothing else sees it. Same returns.
 */
int payments_tx_reject(mongoc_client_t *client, struct payment_tx *tx, int code, int64_t now,
                       bson_error_t *error);
/* Performed -> refunded (-2), by the claim "<provider>:<ext_id>:refund". Same returns. */
int payments_tx_refund(mongoc_client_t *client, struct payment_tx *tx, int reason, int64_t now,
                       bson_error_t *error);

enum payments_claim {
	PAYMENTS_CLAIM_OK,        /* the slot is this transaction's */
	PAYMENTS_CLAIM_PAID,      /* the order is paid by another transaction */
	PAYMENTS_CLAIM_BUSY,      /* another transaction holds the order now */
	PAYMENTS_CLAIM_CANCELLED, /* the order was cancelled with a payment */
	PAYMENTS_CLAIM_ERROR      /* database error (error set) */
};

/*
 * The one active Payme transaction of an order: claims slot n of
 * "payme-active:<order>:<n>", moving past slots whose transaction was
 * cancelled (a created one older than PAYME_TIMEOUT_MS is cancelled here
 * with reason 4 first).
 */
enum payments_claim payments_claim_active(mongoc_client_t *client, const struct payment_tx *tx,
                                          int64_t now, bson_error_t *error);

/*
 * The one payment of an order, whichever provider: claims
 * "paid:<order>:<n>" before the transaction is performed, moving past
 * slots whose holder was cancelled instead. BUSY while a holder is
 * between its claim and its perform; CANCELLED when a cancelled payment
 * took the slot to cancel the order (payments_order_apply), so an order
 * is never both cancelled that way and paid.
 */
enum payments_claim payments_claim_paid(mongoc_client_t *client, const struct payment_tx *tx,
                                        bson_error_t *error);

/*
 * Payme's GetStatement: every Payme transaction whose create call's time
 * lies in [from, to], oldest first, as payme_tx_statement entries
 * appended to arr (at most PAYMENTS_STATEMENT_MAX). Returns 0 or -1.
 */
#define PAYMENTS_STATEMENT_MAX 10000
int payments_statement(mongoc_client_t *client, int64_t from, int64_t to, json_object *arr,
                       bson_error_t *error);

/* Whether an order may be paid online, and for how much. */
enum payments_order_state {
	PAYMENTS_ORDER_OK,
	PAYMENTS_ORDER_NOT_FOUND,
	PAYMENTS_ORDER_WRONG_METHOD, /* its paymentMethod is not this provider */
	PAYMENTS_ORDER_CANCELLED,    /* the order is cancelled */
	PAYMENTS_ORDER_PAID,         /* paid (or paid and refunded) already */
	PAYMENTS_ORDER_AMOUNT,       /* amount is not the order's total x 100 */
	PAYMENTS_ORDER_ERROR,        /* database error (error set) */
};

/*
 * Loads order order_hex (24 hex) and checks it can take provider's
 * payment of amount tiyin (amount < 0: any amount). *order gets the
 * document when found (the caller's, bson_destroy), else NULL.
 */
enum payments_order_state payments_order_check(mongoc_client_t *client, const char *order_hex,
                                               const char *provider, int64_t amount, bson_t **order,
                                               bson_error_t *error);

/* payments_order_check's verdict on an order document already read (pure). */
enum payments_order_state payments_order_state(const bson_t *order, const char *provider,
                                               int64_t amount);

/* What a transaction's outcome does to its order. */
enum payments_effect {
	PAYMENTS_EFFECT_PAID,      /* paymentStatus "paid" */
	PAYMENTS_EFFECT_CANCELLED, /* "cancelled"; a still pending order is cancelled */
	PAYMENTS_EFFECT_REFUNDED,  /* "refunded" */
};

/*
 * Writes the transaction's outcome into its order (paymentStatus and the
 * payment sub-document; for a cancel, a still pending order becomes
 * cancelled, after taking the order's paid slot), through
 * order_record_payment (lib/order.h): a versioned order event like every
 * order write. Idempotent: an order already showing the outcome is left
 * alone, and a cancel or refund never touches an order paid by another
 * transaction. Returns 0 with *changed the order as written by this call
 * (the caller's, bson_destroy; NULL when there was nothing to do), or -1
 * on a database error (the caller answers a retryable error; the
 * provider's retry or cron/payments-repair applies it).
 */
int payments_order_apply(mongoc_client_t *client, const struct payment_tx *tx,
                         enum payments_effect effect, bson_t **changed, bson_error_t *error);

/*
 * After answering the provider: what a status change announces
 * (order_announce_status: "order-updated" with the board's summary,
 * paymentStatus included, "status-updated" on the customer's channel and
 * their Telegram, through the outbox) with the payment's news as the
 * message, e.g. "Buyurtma #17: tayyorlanmoqda\ntoʻlov qabul qilindi
 * (Payme)"; and "payment-updated" {orderId, number, status,
 * paymentStatus, message} on the customer's channel.
 */
void payments_announce(mongoc_client_t *client, const bson_t *order, enum payments_effect effect,
                       const char *provider);

/*
 * The outcome of a transaction must reach its order even when the order
 * write fails after the transaction's state was claimed (the database
 * went away, the process died): before claiming a perform, cancel or
 * refund the caller marks the transaction in payment_effects ({_id:
 * "<provider>:<ext id>"}, a collection that only holds what is in
 * flight); payments_effect_done removes the mark once the order shows
 * the outcome; cron/payments-repair applies what is left. 0 or -1.
 */
int payments_effect_mark(mongoc_client_t *client, const struct payment_tx *tx, bson_error_t *error);
void payments_effect_done(mongoc_client_t *client, const struct payment_tx *tx);

/*
 * The repair job's pass: every mark older than min_age_ms is settled:
 * a performed, cancelled or refunded transaction's outcome is applied to
 * the order (and announced), a transaction still waiting after 15
 * minutes had nothing to apply; both lose their mark. Returns the
 * number of orders changed, or -1 on a database error.
 */
int payments_repair(mongoc_client_t *client, int64_t min_age_ms, bson_error_t *error);

/*
 * The customer's message about a payment, in their language ("ru", else
 * Uzbek): e.g. "Buyurtma #17: to'lov qabul qilindi (Payme)". New string
 * (free()).
 */
char *payments_text(const char *language, int64_t number, enum payments_effect effect,
                    const char *provider);

/*
 * Parses a money amount as Click sends it ("15000", "15000.5",
 * "15000.00") into tiyin (hundredths). Strict: digits, at most one '.',
 * at most two decimals, no sign, no spaces, at most 12 integer digits.
 */
int payments_parse_amount(const char *s, int64_t *tiyin);

/* -------------------------------------------------------------- payme.c */

enum payme_method {
	PAYME_CHECK_PERFORM,
	PAYME_CREATE,
	PAYME_PERFORM,
	PAYME_CANCEL,
	PAYME_CHECK,
	PAYME_STATEMENT,
	PAYME_METHOD__MAX
};

/* Payme's error codes (merchant API documentation). */
#define PAYME_ERR_PARSE           -32700
#define PAYME_ERR_REQUEST         -32600 /* not JSON-RPC, or params of the wrong type */
#define PAYME_ERR_METHOD          -32601
#define PAYME_ERR_PRIVILEGE       -32504 /* wrong or missing Basic auth */
#define PAYME_ERR_SYSTEM          -32400
#define PAYME_ERR_AMOUNT          -31001
#define PAYME_ERR_TX_NOT_FOUND    -31003
#define PAYME_ERR_CANNOT_CANCEL   -31007
#define PAYME_ERR_CANNOT_PERFORM  -31008
#define PAYME_ERR_ORDER_NOT_FOUND -31050 /* account.order_id names no order */
#define PAYME_ERR_ORDER_STATE     -31051 /* cancelled, or not a Payme order */
#define PAYME_ERR_ORDER_PAID      -31052
#define PAYME_ERR_ORDER_BUSY      -31053 /* another transaction is waiting */

#define PAYME_BODY_MAX 8192

/* A parsed, shape-checked request. */
struct payme_request {
	json_object *root;                  /* the parsed body; owned */
	json_object *id;                    /* the request id (borrowed; NULL: null) */
	enum payme_method method;           /* valid when parse returned 0 */
	char tx_id[PAYMENT_EXT_ID_MAX + 1]; /* params.id */
	int64_t time;                       /* params.time (Create) */
	int64_t amount;                     /* params.amount, tiyin (CheckPerform, Create) */
	char order_id[25];                  /* params.account.order_id, "" when absent */
	int reason;                         /* params.reason (Cancel) */
	int64_t from, to;                   /* params.from/to (GetStatement) */
};

/* A request id's characters, when a string (Payme sends numbers). */
#define PAYME_RPCID_MAX 128

/*
 * The JSON-RPC 2.0 envelope {jsonrpc, id, method, params} as a lib/valid
 * table (payme.c): what payme_parse checks first.
 */
extern const struct valid_schema payme_envelope_schema;

/*
 * Each method's params as a lib/valid table (payme.c), indexed by method:
 * what payme_parse checks them against.
 */
extern const struct valid_schema payme_params_schema[PAYME_METHOD__MAX];

/*
 * Parses a JSON-RPC 2.0 request, checks it against payme_envelope_schema
 * and the params against payme_params_schema[method].
 * Returns 0, or a Payme error code: -32700 (not JSON), -32600 (not an
 * object, no method or params, a member of the wrong type), -32601
 * (unknown method), -31050 (account without a well-formed order_id),
 * -31001 (an amount that is not a positive integer). err gets the reason.
 * req->id is set whenever the body was a JSON object with an id of the
 * right type (a string, a number or null), even on error; free
 * with payme_request_free in every case.
 */
int payme_parse(const char *body, size_t len, struct payme_request *req, char *err, size_t errlen);
void payme_request_free(struct payme_request *req);

/*
 * 1 when authorization is "Basic base64(Paycom:<key>)" with the right key,
 * compared in constant time; 0 otherwise (or when key is empty).
 */
int payme_auth_ok(const char *authorization, const char *key);

/*
 * The answers: {"jsonrpc": "2.0", "id", "result"} (result consumed) and
 * {"jsonrpc": "2.0", "id", "error": {"code", "message": {"ru", "uz",
 * "en"}, "data"}} with the message for code (detail, when given, replaces
 * the English one; data may be NULL). New objects, the caller's.
 */
json_object *payme_result(json_object *id, json_object *result);
json_object *payme_error(json_object *id, int code, const char *detail, const char *data);

/* A transaction's fields as Payme's methods answer them. New objects. */
json_object *payme_tx_check(const struct payment_tx *tx);     /* CheckTransaction */
json_object *payme_tx_statement(const struct payment_tx *tx); /* a GetStatement entry */

/*
 * The customer's checkout link: base + "/" + base64("m=<merchant>;
 * ac.order_id=<order>;a=<tiyin>"). Returns the length, or -1 when out is
 * too small.
 */
int payme_checkout_url(const char *base, const char *merchant, const char *order_hex, int64_t tiyin,
                       char *out, size_t outlen);

/*
 * Fiscalization (Uzbekistan's law on online payments): the receipt Payme
 * prints, as the "detail" of CheckPerformTransaction's result. One line
 * per order item, amounts in tiyin per unit; code is the item's IKPU
 * (MXIK) class code, 17 digits; the delivery fee is "shipping".
 */
#define PAYME_IKPU_LEN 17
struct payme_item {
	const char *title;
	int64_t price; /* tiyin, one unit */
	int64_t count;
	const char *code;         /* IKPU, 17 digits */
	const char *package_code; /* the IKPU's package (unit) code */
	int vat_percent;
};
/* 1 when code is exactly 17 ASCII digits. */
int payme_ikpu_ok(const char *code);
/*
 * {"receipt_type": 0, "shipping": {"title", "price"} (only when
 * shipping_tiyin > 0), "items": [{"title", "price", "count", "code",
 * "package_code", "vat_percent"}]}. New object.
 */
json_object *payme_detail(const struct payme_item *items, size_t n, const char *shipping_title,
                          int64_t shipping_tiyin);

/*
 * The detail for order, reading its products (mxikCode, packageCode,
 * vatPercent) by _id, one equality read per distinct product. Returns 0
 * with *detail set, or with *detail NULL when some product has no valid
 * IKPU code or package code (logged as a warning naming them: Payme then
 * prints no itemised receipt); -1 on a database error.
 */
int payments_payme_detail(mongoc_client_t *client, const bson_t *order, json_object **detail,
                          bson_error_t *error);

/* -------------------------------------------------------------- click.c */

/* Click's error codes (SHOP-API documentation). */
#define CLICK_OK               0
#define CLICK_ERR_SIGN         -1
#define CLICK_ERR_AMOUNT       -2
#define CLICK_ERR_ACTION       -3
#define CLICK_ERR_PAID         -4
#define CLICK_ERR_ORDER        -5 /* user / order not found */
#define CLICK_ERR_TX_NOT_FOUND -6
#define CLICK_ERR_UPDATE       -7
#define CLICK_ERR_REQUEST      -8
#define CLICK_ERR_CANCELLED    -9

#define CLICK_BODY_MAX   4096
#define CLICK_FIELD_MAX  512
#define CLICK_FIELDS_MAX 24

enum click_field {
	CLICK_TRANS_ID,
	CLICK_SERVICE_ID,
	CLICK_PAYDOC_ID,
	CLICK_MERCHANT_TRANS_ID,
	CLICK_MERCHANT_PREPARE_ID,
	CLICK_AMOUNT,
	CLICK_ACTION,
	CLICK_ERROR,
	CLICK_ERROR_NOTE,
	CLICK_SIGN_TIME,
	CLICK_SIGN_STRING,
	CLICK_FIELD__MAX
};

/* A decoded application/x-www-form-urlencoded request from Click. */
struct click_form {
	const char *v[CLICK_FIELD__MAX]; /* decoded values, NULL when absent */
	int64_t trans_id;                /* click_trans_id */
	int64_t prepare_id;              /* merchant_prepare_id (complete) */
	int64_t action;                  /* 0 prepare, 1 complete, else -3 */
	int64_t error;                   /* Click's own error: < 0 means failed */
	char buf[CLICK_BODY_MAX + 1];    /* storage behind v */
};

/*
 * Click's form as a lib/valid table (click.c): [0] prepare, [1] complete
 * (which also requires merchant_prepare_id). What click_parse checks the
 * form against, after reading it into a JSON object of strings.
 */
extern const struct valid_schema click_form_schema[2];

/*
 * Parses Click's form for prepare (complete 0) or complete (1): every
 * field the signature covers must be there, once; the ids and error must
 * be integers; unknown fields are ignored (Click may add some). Returns
 * 0, or -1 with err set (answer -8).
 */
int click_parse(const char *body, size_t len, int complete, struct click_form *f, char *err,
                size_t errlen);

/*
 * md5(click_trans_id service_id SECRET merchant_trans_id [merchant_prepare_id]
 * amount action sign_time) over the values exactly as received, lower-case
 * hex into out (33 bytes).
 */
void click_sign(const struct click_form *f, const char *secret, int complete, char out[33]);
/* 1 when sign_string matches (hex in any case), in constant time. */
int click_sign_ok(const struct click_form *f, const char *secret, int complete);

/*
 * The answer: {"click_trans_id", "merchant_trans_id", "merchant_prepare_id"
 * (prepare) or "merchant_confirm_id" (complete), "error", "error_note"}.
 * id is the prepare or confirm id (omitted when 0). New object.
 */
json_object *click_answer(const struct click_form *f, int complete, int64_t id, int error,
                          const char *note);

/*
 * The customer's checkout link: base?service_id=&merchant_id=&amount=
 * &transaction_param=<order>&return_url= (amount in so'm; values
 * percent-encoded). Returns the length, or -1 when out is too small.
 */
int click_checkout_url(const char *base, const char *service_id, const char *merchant_id,
                       int64_t amount_som, const char *order_hex, const char *return_url, char *out,
                       size_t outlen);

#endif
