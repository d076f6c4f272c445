/*
 * order.h - placing an order and moving it through the kitchen, without
 * HTTP: the one implementation behind POST /api/orders, PUT
 * /api/orders/{id}/status and the Telegram bot. Every function answers
 * with a struct order_result holding an HTTP-like status and a message
 * instead of writing a response, so each caller words the refusal its
 * own way (JSON for the API, a message in the chat for the bot).
 *
 * The writes follow FACTS.md "Concurrency": order numbers, status
 * versions and idempotency keys are claims on unique keys, exact on
 * FerretDB and MongoDB alike. Announcements (Nchan events, Telegram
 * messages) are separate calls made after the caller has answered, so
 * nobody waits on them; they never fail the write.
 */
#ifndef OSHXONA_ORDER_H
#define OSHXONA_ORDER_H

#include <stdint.h>

#include <json.h>
#include <mongoc/mongoc.h>

struct who;

#define ORDER_ITEMS_MAX    50
#define ORDER_QTY_MAX      99
#define ORDER_NOTES_MAX    200
#define ORDER_COMMENT_MAX  500
#define ORDER_ADDRESS_MAX  300
#define ORDER_MESSAGE_MAX  500
#define ORDER_IDEM_KEY_MAX 128
#define ORDER_NAME_MAX     200 /* a line's name as the client shows it (ignored) */
#define ORDER_TABLE_MAX    999

/*
 * The bodies, declared (lib/valid.h tables, in lib/order.c): POST
 * /api/orders (order_input_from_json, order_input_check) and PUT
 * /api/orders/{id}/status {status, message?} (order_change_status).
 */
struct valid_schema;
extern const struct valid_schema order_body_schema;
extern const struct valid_schema order_status_schema;

/*
 * What a valid order request holds. Strings are borrowed: they must stay
 * alive for as long as the struct is used (they point into the parsed
 * JSON body for the API, into the chat state for the bot).
 */
struct order_input {
	size_t nitems;
	struct order_input_line {
		bson_oid_t product;
		int64_t quantity;  /* 1..ORDER_QTY_MAX */
		const char *notes; /* NULL or at most ORDER_NOTES_MAX code points */
		int has_price;
		int64_t price; /* what the client believes the price is: checked, never used */
	} items[ORDER_ITEMS_MAX];
	const char *order_type;     /* delivery | pickup | dine_in */
	const char *payment_method; /* cash | card | click | payme */
	bson_oid_t branch;
	const char *address; /* NULL or 5..ORDER_ADDRESS_MAX code points */
	int has_location;
	double lat, lng;
	const char *phone;    /* NULL or a phone number (valid_phone) */
	const char *comment;  /* NULL or at most ORDER_COMMENT_MAX code points */
	int64_t table_number; /* 0 when absent, else 1..ORDER_TABLE_MAX */
	int has_total;
	int64_t total;               /* what the client believes the total is */
	const char *idempotency_key; /* NULL, or 1..ORDER_IDEM_KEY_MAX visible ASCII */
};

/* Why a request was refused, for callers that word refusals themselves. */
enum order_reason {
	ORDER_OK,
	ORDER_INVALID,        /* 400/422: the input breaks a rule (message says which) */
	ORDER_NO_BRANCH,      /* 422: no such active branch */
	ORDER_BRANCH_CLOSED,  /* 422: outside working hours or switched off */
	ORDER_UNAVAILABLE,    /* 409: a product is unknown, hidden or out of stock */
	ORDER_PRICE_CHANGED,  /* 409: a line's or the total's price is not the client's */
	ORDER_MIN_ORDER,      /* 422: below the branch's delivery minimum */
	ORDER_IN_PROGRESS,    /* 409: the same idempotency key is still being served */
	ORDER_NOT_FOUND,      /* 404: no such order (or not the customer's) */
	ORDER_FORBIDDEN,      /* 403: not this caller's to change */
	ORDER_CONFLICT,       /* 409: the status flow or a racing change forbids it */
	ORDER_DB_UNAVAILABLE, /* 503: the database cannot be reached */
	ORDER_DB_ERROR,       /* 500 */
	ORDER_KEY_REUSED,     /* 422: the idempotency key was used for a different order */
};

/* The outcome of a call; release with order_result_free. */
struct order_result {
	int status; /* 200, 201 or the refusal's 4xx/5xx */
	enum order_reason reason;
	char message[512]; /* the refusal, in English, for the API's "message" */
	bson_t *order;     /* the stored order when status < 300, else NULL; owned */
	int replayed;      /* 1: an idempotent retry answered with the first order */
	bson_t *rolled;    /* an order whose dead claimant's change this call completed
	                      (roll-forward), or NULL; owned: announce it with
	                      order_announce_rolled after answering */
};

void order_result_free(struct order_result *res);

/* The seven statuses, NULL-terminated (a valid.h enum). */
extern const char *const order_statuses[];

/* 1 when s is one of the seven statuses, order types, payment methods. */
int order_status_valid(const char *s);
int order_type_valid(const char *s);
int order_payment_valid(const char *s);

/* 1 when key may be an Idempotency-Key: 1..ORDER_IDEM_KEY_MAX visible ASCII. */
int order_idempotency_key_ok(const char *key);

/*
 * Fills in from a POST /api/orders body checked against order_body_schema
 * (normalized in place: the strings point into body). Returns 0, or -1
 * with res set to 400 (wrong type, unknown field) or 422 (out of range,
 * missing for the order type).
 */
int order_input_from_json(json_object *body, struct order_input *in, struct order_result *res);

/*
 * The rules order_input_from_json enforces, for an input built directly
 * (the bot): the input as a body, checked against the same
 * order_body_schema, then the Idempotency-Key. Returns 0, or -1 with res
 * set to 400/422.
 */
int order_input_check(const struct order_input *in, struct order_result *res);

/*
 * Places an order for who (a customer): checks in, claims the idempotency
 * key if any, checks the branch is open, prices every line from the
 * database, claims the branch's next number and stores the order.
 * Returns 0 with res->status 201 and res->order the stored order, or 200
 * with res->replayed and the first request's order for a retried key; or
 * -1 with res set to the refusal (400, 409, 422, 500, 503; a refused
 * request releases its idempotency key). Announces nothing: call
 * order_announce_placed after answering (not for a replay).
 */
int order_place(mongoc_client_t *client, const struct order_input *in, const struct who *who,
                struct order_result *res);

/*
 * Loads an order for who: the customer who placed it, or staff of its
 * branch. Returns 0 with res->status 200 and res->order, or -1 with 404
 * (a customer never learns that another's order exists), 403 (staff of
 * another branch), 500 or 503.
 */
int order_load(mongoc_client_t *client, const bson_oid_t *id, const struct who *who,
               struct order_result *res);

/*
 * Moves order id to status to on behalf of who, with an optional message
 * (at most ORDER_MESSAGE_MAX code points): customers may only cancel a
 * pending order of theirs; staff of the branch follow the kitchen flow.
 * The change is claimed as order_events {_id: "<order>:<version+1>"}.
 * Returns 0 with res->status 200 and res->order the order as changed, or
 * -1 with 403/404/409/422/500/503. Announces nothing: call
 * order_announce_status after answering.
 */
int order_change_status(mongoc_client_t *client, const bson_oid_t *id, const char *to,
                        const struct who *who, const char *message, struct order_result *res);

/*
 * After a new order: "new-order" to the branch channel, "status-updated"
 * to the customer's own channel.
 */
void order_announce_placed(mongoc_client_t *client, const bson_t *order);

/*
 * After a status change: "order-updated" to the branch channel,
 * "status-updated" to the customer's channel, and the status message to
 * the customer's Telegram chat (through the outbox).
 */
void order_announce_status(mongoc_client_t *client, const bson_t *order, const char *message);

/*
 * The two halves of order_announce_status, for a caller that lets the
 * client go between them: the events (local, fast: the board hears of a
 * change before its author does) and the Telegram message (a remote API
 * nobody should wait for; issue 12).
 */
void order_announce_status_events(mongoc_client_t *client, const bson_t *order,
                                  const char *message);
void order_announce_status_telegram(mongoc_client_t *client, const bson_t *order,
                                    const char *message);

/*
 * After a call that completed a dead claimant's change (res->rolled): the
 * announcements that change would have made (order_announce_status, with
 * its message), so the board and the customer hear of it. Nothing when
 * res->rolled is NULL.
 */
void order_announce_rolled(mongoc_client_t *client, const struct order_result *res);

/* The board's summary of an order (new-order, order-updated events). */
json_object *order_summary(const bson_t *order);

/* ------------------------------------------------------------ payments */

/* A payment's outcome as order_record_payment writes it. */
struct order_payment {
	const char *payment_status; /* "paid" | "cancelled" | "refunded" */
	bson_t payment;      /* the order's payment sub-document (initialized, freed for decide) */
	const char *status;  /* the order's status afterwards (the current one: unchanged) */
	const char *message; /* the statusHistory message when the status changes */
	const char *by_kind; /* who writes: "payme" | "click" */
};

/*
 * Called with the order as it is now: fills *out and returns 1 to write,
 * 0 when there is nothing to do, -1 on an error (error set).
 */
typedef int (*order_payment_decide)(mongoc_client_t *client, const bson_t *order, void *arg,
                                    struct order_payment *out, bson_error_t *error);

/*
 * Records a payment's outcome in order id on behalf of the payment
 * provider (no who: the provider's signature was checked by the caller).
 * Claimed like every order write, as order_events {_id:
 * "<order>:<version+1>", kind: "payment", ...} holding everything the
 * write sets, so a roll-forward can finish it; a racing change makes it
 * read the order again and ask decide again. Returns 0 with res->status
 * 200 and res->order the order as written, or 204 when decide found
 * nothing to do (res->order NULL); -1 with 404, 409 (the order kept
 * changing), 500 or 503. Announces nothing.
 */
int order_record_payment(mongoc_client_t *client, const bson_oid_t *id, order_payment_decide decide,
                         void *arg, struct order_result *res);

#endif
