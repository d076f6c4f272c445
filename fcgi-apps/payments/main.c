/*
 * payments - Payme's merchant API and Click's SHOP-API, which the
 * providers call from their servers, and the customer's checkout link.
 *
 *   POST /payments/payme              JSON-RPC 2.0, Basic auth Paycom:<PAYME_KEY>;
 *                                     always HTTP 200 with a result or an error object
 *   POST /payments/click/prepare      form-urlencoded, signed with CLICK_SECRET_KEY;
 *   POST /payments/click/complete     JSON {click_trans_id, ..., error, error_note}
 *   GET  /api/orders/{id}/pay?provider=payme|click   the customer's checkout link
 *
 * Every provider call is idempotent per the provider's transaction id, and
 * every state change is a claim on a unique key (lib/payments.c), so a
 * repeat or a parallel twin gets the same answer and nothing happens twice.
 * The order shows paymentStatus "paid" only once the transaction is
 * performed; the board, the customer's page and Telegram hear of it after
 * the provider has its answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oshxona.h"
#include "payments.h"
#include "valid.h"

static struct payments_config cfg;

/* What to announce once the provider has its answer. */
struct pending {
	bson_t *order; /* the order as changed; owned */
	enum payments_effect effect;
	char provider[8]; /* a copy: the transaction is gone by then */
};

static void
pending_set(struct pending *p, bson_t *order, enum payments_effect effect, const char *provider)
{
	if (order == NULL)
		return;
	if (p->order != NULL)
		bson_destroy(p->order);
	p->order = order;
	p->effect = effect;
	snprintf(p->provider, sizeof(p->provider), "%s", provider);
}

static void
pending_run(struct req *r, mongoc_client_t *client, struct pending *p)
{
	if (p->order == NULL)
		return;
	/*
	 * The provider has its whole answer (Content-Length) once it is
	 * flushed: it must not wait for Telegram's up to 3 s.
	 */
	FCGX_FFlush(r->fcgx->out);
	payments_announce(client, p->order, p->effect, p->provider);
	bson_destroy(p->order);
	p->order = NULL;
}

/*
 * Applies the transaction's outcome to its order. Returns 0, or -1 after
 * logging (the order is repaired by the provider's retry or the next
 * call for the transaction).
 */
static int
apply(mongoc_client_t *client, const struct payment_tx *tx, enum payments_effect effect,
      struct pending *p)
{
	bson_t *changed = NULL;
	bson_error_t error;

	if (payments_order_apply(client, tx, effect, &changed, &error) != 0) {
		log_error("%s:%s: the order could not be updated (cron/payments-repair will): %s",
		          tx->provider, tx->ext_id, error.message);
		return -1;
	}
	payments_effect_done(client, tx);
	if (changed != NULL)
		log_info("%s:%s: order paymentStatus is now %s", tx->provider, tx->ext_id,
		         effect == PAYMENTS_EFFECT_PAID        ? "paid"
		         : effect == PAYMENTS_EFFECT_CANCELLED ? "cancelled"
		                                               : "refunded");
	pending_set(p, changed, effect, tx->provider);
	return 0;
}

/* ------------------------------------------------------------- Payme */

static json_object *
payme_db_error(struct payme_request *q, const bson_error_t *error)
{
	log_error("payme: database: %s", error->message);
	return payme_error(q->id, PAYME_ERR_SYSTEM, "Database error, try again", NULL);
}

/* The order checks shared by CheckPerformTransaction and CreateTransaction. */
static json_object *
payme_order_refusal(struct payme_request *q, enum payments_order_state st,
                    const bson_error_t *error)
{
	switch (st) {
	case PAYMENTS_ORDER_OK:
		return NULL;
	case PAYMENTS_ORDER_NOT_FOUND:
		return payme_error(q->id, PAYME_ERR_ORDER_NOT_FOUND, NULL, "order_id");
	case PAYMENTS_ORDER_WRONG_METHOD:
		return payme_error(q->id, PAYME_ERR_ORDER_STATE,
		                   "The order is not to be paid with Payme", "order_id");
	case PAYMENTS_ORDER_CANCELLED:
		return payme_error(q->id, PAYME_ERR_ORDER_STATE, "The order is cancelled",
		                   "order_id");
	case PAYMENTS_ORDER_PAID:
		return payme_error(q->id, PAYME_ERR_ORDER_PAID, NULL, "order_id");
	case PAYMENTS_ORDER_AMOUNT:
		return payme_error(q->id, PAYME_ERR_AMOUNT, NULL, NULL);
	case PAYMENTS_ORDER_ERROR:
		return payme_db_error(q, error);
	}
	abort();
}

static json_object *
payme_check_perform(mongoc_client_t *client, struct payme_request *q)
{
	bson_t *order = NULL;
	bson_error_t error;
	enum payments_order_state st =
	    payments_order_check(client, q->order_id, "payme", q->amount, &order, &error);
	json_object *ans = payme_order_refusal(q, st, &error), *res, *detail = NULL;

	/* The fiscal receipt: omitted (and logged) when a product lacks its codes. */
	if (ans == NULL && payments_payme_detail(client, order, &detail, &error) != 0)
		ans = payme_db_error(q, &error);
	if (order != NULL)
		bson_destroy(order);
	if (ans != NULL)
		return ans;
	res = json_object_new_object();
	json_object_object_add(res, "allow", json_object_new_boolean(1));
	if (detail != NULL)
		json_object_object_add(res, "detail", detail);
	return payme_result(q->id, res);
}

static json_object *
payme_created_answer(struct payme_request *q, const struct payment_tx *tx)
{
	json_object *res = json_object_new_object();

	json_object_object_add(res, "create_time", json_object_new_int64(tx->create_time));
	json_object_object_add(res, "transaction", json_object_new_string(tx->txn));
	json_object_object_add(res, "state", json_object_new_int(tx->state));
	return payme_result(q->id, res);
}

/* A created transaction past 12 hours is cancelled with reason 4 (Payme's rule). */
static json_object *
payme_expire(mongoc_client_t *client, struct payme_request *q, struct payment_tx *tx, int64_t now,
             struct pending *p)
{
	bson_error_t error;

	if (payments_effect_mark(client, tx, &error) != 0 ||
	    payments_tx_cancel(client, tx, 4, now, &error) < 0)
		return payme_db_error(q, &error);
	if (tx->state == PAYMENT_CANCELLED)
		apply(client, tx, PAYMENTS_EFFECT_CANCELLED, p);
	log_info("payme:%s: expired after 12 hours, cancelled", tx->ext_id);
	return payme_error(q->id, PAYME_ERR_CANNOT_PERFORM, "The transaction has expired", NULL);
}

static json_object *
payme_create(mongoc_client_t *client, struct payme_request *q, struct pending *p)
{
	struct payment_tx tx;
	bson_error_t error;
	bson_t *order = NULL;
	int64_t now = db_now_ms();
	enum payments_order_state st;
	json_object *ans;
	int rc = payments_tx_load(client, "payme", q->tx_id, &tx, &error);

	if (rc < 0)
		return payme_db_error(q, &error);
	if (rc == 0) {
		st = payments_order_check(client, q->order_id, "payme", q->amount, &order, &error);
		if (order != NULL)
			bson_destroy(order);
		if ((ans = payme_order_refusal(q, st, &error)) != NULL)
			return ans;
		if (now - q->time > PAYME_TIMEOUT_MS)
			return payme_error(q->id, PAYME_ERR_CANNOT_PERFORM,
			                   "The transaction is older than 12 hours", NULL);
		memset(&tx, 0, sizeof(tx));
		snprintf(tx.provider, sizeof(tx.provider), "payme");
		snprintf(tx.ext_id, sizeof(tx.ext_id), "%s", q->tx_id);
		parse_oid(q->order_id, &tx.order);
		tx.amount = q->amount;
		tx.provider_time = q->time;
		tx.create_time = now;
		if (payments_tx_create(client, &tx, &error) < 0)
			return payme_db_error(q, &error);
	}
	/* New, repeated or a racing twin: the same rules from here. */
	if (tx.rejected != 0)
		return payme_error(q->id, tx.rejected, NULL, "order_id");
	if (tx.state != PAYMENT_CREATED)
		return payme_error(q->id, PAYME_ERR_CANNOT_PERFORM,
		                   "The transaction is performed or cancelled", NULL);
	if (now - tx.create_time > PAYME_TIMEOUT_MS)
		return payme_expire(client, q, &tx, now, p);
	switch (payments_claim_active(client, &tx, now, &error)) {
	case PAYMENTS_CLAIM_OK:
		log_info("payme:%s: created for order %s, %lld tiyin", tx.ext_id, q->order_id,
		         (long long)tx.amount);
		return payme_created_answer(q, &tx);
	case PAYMENTS_CLAIM_BUSY:
		rc = PAYME_ERR_ORDER_BUSY;
		break;
	case PAYMENTS_CLAIM_PAID:
		rc = PAYME_ERR_ORDER_PAID;
		break;
	case PAYMENTS_CLAIM_CANCELLED:
		rc = PAYME_ERR_ORDER_STATE;
		break;
	case PAYMENTS_CLAIM_ERROR:
		return payme_db_error(q, &error);
	}
	if (payments_tx_reject(client, &tx, rc, now, &error) < 0)
		return payme_db_error(q, &error);
	return payme_error(q->id, tx.rejected != 0 ? tx.rejected : PAYME_ERR_CANNOT_PERFORM, NULL,
	                   "order_id");
}

/* Loads Payme's transaction; NULL, or the -31003 / -32400 answer. */
static json_object *
payme_load(mongoc_client_t *client, struct payme_request *q, struct payment_tx *tx)
{
	bson_error_t error;
	int rc = payments_tx_load(client, "payme", q->tx_id, tx, &error);

	if (rc < 0)
		return payme_db_error(q, &error);
	/* A refused create never existed as far as Payme knows. */
	if (rc == 0 || tx->rejected != 0)
		return payme_error(q->id, PAYME_ERR_TX_NOT_FOUND, NULL, NULL);
	return NULL;
}

static json_object *
payme_performed_answer(struct payme_request *q, const struct payment_tx *tx)
{
	json_object *res = json_object_new_object();

	json_object_object_add(res, "transaction", json_object_new_string(tx->txn));
	json_object_object_add(res, "perform_time", json_object_new_int64(tx->perform_time));
	json_object_object_add(res, "state", json_object_new_int(tx->state));
	return payme_result(q->id, res);
}

static json_object *
payme_perform(mongoc_client_t *client, struct payme_request *q, struct pending *p)
{
	struct payment_tx tx;
	bson_error_t error;
	bson_t *order = NULL;
	int64_t now = db_now_ms();
	enum payments_order_state st;
	char ohex[25];
	json_object *ans = payme_load(client, q, &tx);

	if (ans != NULL)
		return ans;
	if (tx.state == PAYMENT_CREATED) {
		if (now - tx.create_time > PAYME_TIMEOUT_MS)
			return payme_expire(client, q, &tx, now, p);
		bson_oid_to_string(&tx.order, ohex);
		st = payments_order_check(client, ohex, "payme", -1, &order, &error);
		if (order != NULL)
			bson_destroy(order);
		if (st == PAYMENTS_ORDER_ERROR)
			return payme_db_error(q, &error);
		/*
		 * Paid may be by this very transaction: a repeat racing the
		 * first perform reads the order after it was marked. The paid
		 * claim below tells the two apart (its holder is this one).
		 */
		if (st != PAYMENTS_ORDER_OK && st != PAYMENTS_ORDER_PAID)
			return payme_error(q->id, PAYME_ERR_CANNOT_PERFORM,
			                   st == PAYMENTS_ORDER_CANCELLED
			                       ? "The order is cancelled"
			                       : "The order cannot be paid",
			                   NULL);
		switch (payments_claim_paid(client, &tx, &error)) {
		case PAYMENTS_CLAIM_OK:
			break;
		case PAYMENTS_CLAIM_PAID:
			return payme_error(q->id, PAYME_ERR_CANNOT_PERFORM,
			                   "The order is paid by another transaction", NULL);
		case PAYMENTS_CLAIM_BUSY:
			return payme_error(q->id, PAYME_ERR_CANNOT_PERFORM,
			                   "Another payment of the order is in progress", NULL);
		case PAYMENTS_CLAIM_CANCELLED:
			return payme_error(q->id, PAYME_ERR_CANNOT_PERFORM,
			                   "The order is cancelled", NULL);
		case PAYMENTS_CLAIM_ERROR:
			return payme_db_error(q, &error);
		}
		if (payments_effect_mark(client, &tx, &error) != 0 ||
		    payments_tx_perform(client, &tx, now, &error) < 0)
			return payme_db_error(q, &error);
		if (tx.state == PAYMENT_PERFORMED)
			log_info("payme:%s: performed, order %s paid", tx.ext_id, ohex);
	}
	if (tx.state != PAYMENT_PERFORMED)
		return payme_error(q->id, PAYME_ERR_CANNOT_PERFORM, "The transaction is cancelled",
		                   NULL);
	/* Also on a repeat: whatever a crash left unwritten is written now. */
	if (apply(client, &tx, PAYMENTS_EFFECT_PAID, p) != 0)
		return payme_error(q->id, PAYME_ERR_SYSTEM, "The order could not be updated, retry",
		                   NULL);
	return payme_performed_answer(q, &tx);
}

static json_object *
payme_cancelled_answer(struct payme_request *q, const struct payment_tx *tx)
{
	json_object *res = json_object_new_object();

	json_object_object_add(res, "transaction", json_object_new_string(tx->txn));
	json_object_object_add(res, "cancel_time", json_object_new_int64(tx->cancel_time));
	json_object_object_add(res, "state", json_object_new_int(tx->state));
	return payme_result(q->id, res);
}

static json_object *
payme_cancel(mongoc_client_t *client, struct payme_request *q, struct pending *p)
{
	struct payment_tx tx;
	bson_error_t error;
	int64_t now = db_now_ms();
	json_object *ans = payme_load(client, q, &tx);

	if (ans != NULL)
		return ans;
	if (tx.state == PAYMENT_CREATED &&
	    (payments_effect_mark(client, &tx, &error) != 0 ||
	     payments_tx_cancel(client, &tx, q->reason, now, &error) < 0))
		return payme_db_error(q, &error);
	if (tx.state == PAYMENT_PERFORMED) {
		/* A refund: not once the customer has the food. */
		bson_t *filter = BCON_NEW("_id", BCON_OID(&tx.order)), *order = NULL;
		int rc = db_find_one(client, "orders", filter, NULL, &order, &error);
		const char *status = rc == 1 ? db_doc_utf8(order, "status") : NULL;
		int completed = status != NULL && strcmp(status, "completed") == 0;
		bson_destroy(filter);
		if (order != NULL)
			bson_destroy(order);
		if (rc < 0)
			return payme_db_error(q, &error);
		if (completed)
			return payme_error(q->id, PAYME_ERR_CANNOT_CANCEL, NULL, NULL);
		if (payments_effect_mark(client, &tx, &error) != 0 ||
		    payments_tx_refund(client, &tx, q->reason, now, &error) < 0)
			return payme_db_error(q, &error);
		log_info("payme:%s: refunded (reason %d)", tx.ext_id, tx.reason);
	}
	if (apply(client, &tx,
	          tx.state == PAYMENT_REFUNDED ? PAYMENTS_EFFECT_REFUNDED
	                                       : PAYMENTS_EFFECT_CANCELLED,
	          p) != 0)
		return payme_error(q->id, PAYME_ERR_SYSTEM, "The order could not be updated, retry",
		                   NULL);
	return payme_cancelled_answer(q, &tx);
}

static json_object *
payme_check(mongoc_client_t *client, struct payme_request *q)
{
	struct payment_tx tx;
	json_object *ans = payme_load(client, q, &tx);

	return ans != NULL ? ans : payme_result(q->id, payme_tx_check(&tx));
}

static json_object *
payme_statement(mongoc_client_t *client, struct payme_request *q)
{
	json_object *arr = json_object_new_array(), *res;
	bson_error_t error;

	if (payments_statement(client, q->from, q->to, arr, &error) != 0) {
		json_object_put(arr);
		return payme_db_error(q, &error);
	}
	res = json_object_new_object();
	json_object_object_add(res, "transactions", arr);
	return payme_result(q->id, res);
}

/* Payme answers HTTP 200 whatever happened; the error is in the body. */
static void
payme_send(struct req *r, json_object *ans)
{
	resp_header(r, "Cache-Control", "no-store");
	resp_json(r, 200, ans);
	json_object_put(ans);
}

/* POST /payments/payme */
static void
payme_endpoint(struct req *r)
{
	struct payme_request q;
	struct pending p = {0};
	char err[160] = "";
	mongoc_client_t *client;
	json_object *ans = NULL;
	int code, st;

	st = req_read_body(r, PAYME_BODY_MAX);
	if (st != 0) {
		payme_send(r, payme_error(NULL, st == 413 ? PAYME_ERR_REQUEST : PAYME_ERR_PARSE,
		                          st == 413 ? "The request is too large"
		                                    : "Malformed request body",
		                          NULL));
		return;
	}
	/* payme_envelope_schema, then payme_params_schema[method] (lib/payme.c) */
	code = payme_parse(r->body, r->body_len, &q, err, sizeof(err));
	if (!payments_payme_ready(&cfg)) {
		log_error("payme: PAYME_MERCHANT_ID and PAYME_KEY are not set");
		ans = payme_error(q.id, PAYME_ERR_SYSTEM, "Payme is not configured on this server",
		                  NULL);
	} else if (!payme_auth_ok(req_header(r, "Authorization"), cfg.payme_key)) {
		log_warn("payme: refused a request without the right Basic auth");
		ans = payme_error(q.id, PAYME_ERR_PRIVILEGE, NULL, NULL);
	} else if (code != 0) {
		ans = payme_error(q.id, code, err,
		                  code == PAYME_ERR_ORDER_NOT_FOUND ? "order_id" : NULL);
	}
	if (ans != NULL) {
		payme_send(r, ans);
		payme_request_free(&q);
		return;
	}
	client = db_pop();
	switch (q.method) {
	case PAYME_CHECK_PERFORM:
		ans = payme_check_perform(client, &q);
		break;
	case PAYME_CREATE:
		ans = payme_create(client, &q, &p);
		break;
	case PAYME_PERFORM:
		ans = payme_perform(client, &q, &p);
		break;
	case PAYME_CANCEL:
		ans = payme_cancel(client, &q, &p);
		break;
	case PAYME_CHECK:
		ans = payme_check(client, &q);
		break;
	case PAYME_STATEMENT:
		ans = payme_statement(client, &q);
		break;
	default:
		abort();
	}
	payme_send(r, ans);
	pending_run(r, client, &p);
	payme_request_free(&q);
	db_push(client);
}

/* ------------------------------------------------------------- Click */

static void
click_send(struct req *r, const struct click_form *f, int complete, int64_t id, int error,
           const char *note)
{
	json_object *o = click_answer(f, complete, id, error, note);

	if (error != CLICK_OK)
		log_info("click %s %lld: error %d (%s)", complete ? "complete" : "prepare",
		         (long long)f->trans_id, error, note);
	resp_header(r, "Cache-Control", "no-store");
	resp_json(r, 200, o);
	json_object_put(o);
}

/*
 * The checks both calls start with: configuration, body, form, signature,
 * action, service. Returns 0, or -1 after answering.
 */
static int
click_begin(struct req *r, int complete, struct click_form *f)
{
	char err[160];
	int st;

	if (!payments_click_ready(&cfg)) {
		memset(f, 0, sizeof(*f));
		log_error("click: CLICK_SERVICE_ID, CLICK_MERCHANT_ID and CLICK_SECRET_KEY are not "
		          "set");
		json_object *o = click_answer(f, complete, 0, CLICK_ERR_UPDATE,
		                              "Click is not configured on this server");
		resp_json(r, 503, o);
		json_object_put(o);
		return -1;
	}
	st = req_read_body(r, CLICK_BODY_MAX);
	if (st != 0) {
		memset(f, 0, sizeof(*f));
		click_send(r, f, complete, 0, CLICK_ERR_REQUEST,
		           st == 413 ? "The request is too large" : "Malformed request body");
		return -1;
	}
	/* the form: click_form_schema[complete] (lib/click.c) */
	if (click_parse(r->body, r->body_len, complete, f, err, sizeof(err)) != 0) {
		click_send(r, f, complete, 0, CLICK_ERR_REQUEST, err);
		return -1;
	}
	if (!click_sign_ok(f, cfg.click_secret_key, complete)) {
		log_warn("click: refused a request with a wrong sign_string");
		click_send(r, f, complete, 0, CLICK_ERR_SIGN, "SIGN CHECK FAILED!");
		return -1;
	}
	if (f->action != complete) {
		click_send(r, f, complete, 0, CLICK_ERR_ACTION, "Action not found");
		return -1;
	}
	if (strcmp(f->v[CLICK_SERVICE_ID], cfg.click_service_id) != 0) {
		click_send(r, f, complete, 0, CLICK_ERR_REQUEST, "Unknown service_id");
		return -1;
	}
	return 0;
}

/* An order refusal as Click's code and note; 0 for none. */
static int
click_order_refusal(enum payments_order_state st, const char **note)
{
	switch (st) {
	case PAYMENTS_ORDER_OK:
		*note = "Success";
		return CLICK_OK;
	case PAYMENTS_ORDER_NOT_FOUND:
		*note = "Order not found";
		return CLICK_ERR_ORDER;
	case PAYMENTS_ORDER_WRONG_METHOD:
		*note = "The order is not to be paid with Click";
		return CLICK_ERR_ORDER;
	case PAYMENTS_ORDER_CANCELLED:
		*note = "The order is cancelled";
		return CLICK_ERR_CANCELLED;
	case PAYMENTS_ORDER_PAID:
		*note = "Already paid";
		return CLICK_ERR_PAID;
	case PAYMENTS_ORDER_AMOUNT:
		*note = "Incorrect parameter amount";
		return CLICK_ERR_AMOUNT;
	case PAYMENTS_ORDER_ERROR:
		*note = "Failed to update the order, try again";
		return CLICK_ERR_UPDATE;
	}
	abort();
}

/* POST /payments/click/prepare */
static void
click_prepare(struct req *r)
{
	struct click_form *f = xmalloc(sizeof(*f));
	struct payment_tx tx;
	mongoc_client_t *client = NULL;
	bson_t *order = NULL;
	bson_error_t error;
	enum payments_order_state st;
	const char *note;
	int64_t tiyin;
	uint32_t rnd;
	int code, rc;

	if (click_begin(r, 0, f) != 0)
		goto done;
	if (payments_parse_amount(f->v[CLICK_AMOUNT], &tiyin) != 0 || tiyin <= 0) {
		click_send(r, f, 0, 0, CLICK_ERR_AMOUNT, "Incorrect parameter amount");
		goto done;
	}
	client = db_pop();
	st = payments_order_check(client, f->v[CLICK_MERCHANT_TRANS_ID], "click", tiyin, &order,
	                          &error);
	if (st == PAYMENTS_ORDER_ERROR)
		log_error("click prepare: database: %s", error.message);
	if ((code = click_order_refusal(st, &note)) != CLICK_OK) {
		click_send(r, f, 0, 0, code, note);
		goto done;
	}
	memset(&tx, 0, sizeof(tx));
	snprintf(tx.provider, sizeof(tx.provider), "click");
	snprintf(tx.ext_id, sizeof(tx.ext_id), "%lld", (long long)f->trans_id);
	parse_oid(f->v[CLICK_MERCHANT_TRANS_ID], &tx.order);
	tx.amount = tiyin;
	tx.create_time = db_now_ms();
	snprintf(tx.click_amount, sizeof(tx.click_amount), "%s", f->v[CLICK_AMOUNT]);
	snprintf(tx.click_service_id, sizeof(tx.click_service_id), "%s", f->v[CLICK_SERVICE_ID]);
	random_bytes(&rnd, sizeof(rnd));
	tx.prepare_id = (int64_t)(rnd & 0x7fffffff) + 1; /* Click's ids are 32-bit integers */
	rc = payments_tx_create(client, &tx, &error);
	if (rc < 0) {
		log_error("click prepare: database: %s", error.message);
		click_send(r, f, 0, 0, CLICK_ERR_UPDATE, "Failed to update the order, try again");
		goto done;
	}
	if (rc == 0) {
		/* A repeat of click_trans_id: it must be the same payment. */
		bson_oid_t oid;
		parse_oid(f->v[CLICK_MERCHANT_TRANS_ID], &oid);
		if (!bson_oid_equal(&oid, &tx.order) ||
		    strcmp(tx.click_amount, f->v[CLICK_AMOUNT]) != 0) {
			click_send(r, f, 0, 0, CLICK_ERR_REQUEST,
			           "click_trans_id was prepared for another order or amount");
			goto done;
		}
		if (tx.state == PAYMENT_PERFORMED || tx.state == PAYMENT_REFUNDED) {
			click_send(r, f, 0, 0, CLICK_ERR_PAID, "Already paid");
			goto done;
		}
		if (tx.state == PAYMENT_CANCELLED) {
			click_send(r, f, 0, 0, CLICK_ERR_CANCELLED, "Transaction cancelled");
			goto done;
		}
	} else {
		log_info("click:%s: prepared for order %s, %s so'm", tx.ext_id,
		         f->v[CLICK_MERCHANT_TRANS_ID], tx.click_amount);
	}
	click_send(r, f, 0, tx.prepare_id, CLICK_OK, "Success");
done:
	if (order != NULL)
		bson_destroy(order);
	if (client != NULL)
		db_push(client);
	free(f);
}

/* Cancels a prepared Click transaction and tells its order. */
static int
click_cancel(mongoc_client_t *client, struct payment_tx *tx, int reason, struct pending *p)
{
	bson_error_t error;

	if (tx->state == PAYMENT_CREATED &&
	    (payments_effect_mark(client, tx, &error) != 0 ||
	     payments_tx_cancel(client, tx, reason, db_now_ms(), &error) < 0)) {
		log_error("click complete: database: %s", error.message);
		return -1;
	}
	if (tx->state == PAYMENT_CANCELLED)
		apply(client, tx, PAYMENTS_EFFECT_CANCELLED, p);
	return 0;
}

/* POST /payments/click/complete */
static void
click_complete(struct req *r)
{
	struct click_form *f = xmalloc(sizeof(*f));
	struct payment_tx tx;
	struct pending p = {0};
	mongoc_client_t *client = NULL;
	bson_t *order = NULL;
	bson_error_t error;
	enum payments_order_state st;
	const char *note = "Success";
	char ohex[25];
	int code = CLICK_OK, rc;

	if (click_begin(r, 1, f) != 0)
		goto done;
	client = db_pop();
	snprintf(ohex, sizeof(ohex), "%lld", (long long)f->trans_id);
	rc = payments_tx_load(client, "click", ohex, &tx, &error);
	if (rc < 0) {
		log_error("click complete: database: %s", error.message);
		click_send(r, f, 1, 0, CLICK_ERR_UPDATE, "Failed to update the order, try again");
		goto done;
	}
	if (rc == 0 || tx.prepare_id != f->prepare_id) {
		click_send(r, f, 1, 0, CLICK_ERR_TX_NOT_FOUND, "Transaction does not exist");
		goto done;
	}
	bson_oid_to_string(&tx.order, ohex);
	if (strcmp(ohex, f->v[CLICK_MERCHANT_TRANS_ID]) != 0) {
		click_send(r, f, 1, 0, CLICK_ERR_TX_NOT_FOUND, "Transaction does not exist");
		goto done;
	}
	if (strcmp(tx.click_amount, f->v[CLICK_AMOUNT]) != 0) {
		click_send(r, f, 1, 0, CLICK_ERR_AMOUNT, "Incorrect parameter amount");
		goto done;
	}

	if (f->error < 0) {
		/* Click could not take the money: the payment is cancelled. */
		if (click_cancel(client, &tx, (int)f->error, &p) != 0) {
			click_send(r, f, 1, 0, CLICK_ERR_UPDATE, "Failed to update the order");
			goto done;
		}
		if (tx.state == PAYMENT_CANCELLED)
			click_send(r, f, 1, 0, CLICK_ERR_CANCELLED, "Transaction cancelled");
		else
			click_send(r, f, 1, 0, CLICK_ERR_PAID, "Already paid");
		goto done;
	}
	if (tx.state == PAYMENT_CREATED) {
		st = payments_order_check(client, ohex, "click", -1, &order, &error);
		/* Paid may be by this very transaction (a repeat racing the
		 * first complete): the paid claim's holder tells. */
		if (st == PAYMENTS_ORDER_OK || st == PAYMENTS_ORDER_PAID) {
			switch (payments_claim_paid(client, &tx, &error)) {
			case PAYMENTS_CLAIM_OK:
				st = PAYMENTS_ORDER_OK;
				break;
			case PAYMENTS_CLAIM_PAID:
				st = PAYMENTS_ORDER_PAID;
				break;
			case PAYMENTS_CLAIM_CANCELLED:
				st = PAYMENTS_ORDER_CANCELLED;
				break;
			case PAYMENTS_CLAIM_BUSY:
				click_send(r, f, 1, 0, CLICK_ERR_UPDATE,
				           "Another payment of the order is in progress");
				goto done;
			case PAYMENTS_CLAIM_ERROR:
				st = PAYMENTS_ORDER_ERROR;
				break;
			}
		}
		if (st == PAYMENTS_ORDER_ERROR) {
			log_error("click complete: database: %s", error.message);
			click_send(r, f, 1, 0, CLICK_ERR_UPDATE, "Failed to update the order");
			goto done;
		}
		if (st != PAYMENTS_ORDER_OK) {
			/*
			 * Click returns the money on an error: end our side too,
			 * leaving the order to whoever paid or cancelled it.
			 */
			code = click_order_refusal(st, &note);
			if (payments_tx_cancel(client, &tx, code, db_now_ms(), &error) < 0)
				log_error("click complete: database: %s", error.message);
			click_send(r, f, 1, 0, code, note);
			goto done;
		}
		if (payments_effect_mark(client, &tx, &error) != 0 ||
		    payments_tx_perform(client, &tx, db_now_ms(), &error) < 0) {
			log_error("click complete: database: %s", error.message);
			click_send(r, f, 1, 0, CLICK_ERR_UPDATE, "Failed to update the order");
			goto done;
		}
		if (tx.state == PAYMENT_PERFORMED)
			log_info("click:%s: completed, order %s paid", tx.ext_id, ohex);
	}
	if (tx.state == PAYMENT_CANCELLED) {
		click_send(r, f, 1, 0, CLICK_ERR_CANCELLED, "Transaction cancelled");
		goto done;
	}
	/*
	 * Performed: the money is ours whatever the order write does, and
	 * an error now would make Click return it. Click does not call
	 * again: try a few times, then cron/payments-repair finishes it.
	 */
	for (int i = 0; i < 3 && apply(client, &tx, PAYMENTS_EFFECT_PAID, &p) != 0; i++)
		;
	click_send(r, f, 1, tx.prepare_id, CLICK_OK, "Success");
done:
	if (client != NULL) {
		pending_run(r, client, &p);
		db_push(client);
	}
	if (order != NULL)
		bson_destroy(order);
	free(f);
}

/* ------------------------------------------------------ checkout link */

/* GET /api/orders/{id}/pay?provider=payme|click (the customer who placed it) */
static const char *const pay_providers[] = {"payme", "click", NULL};
static const struct valid_field pay_link_query[] = {
    VALID_FIELD("provider", VK_ENUM, 0, .values = pay_providers),
};

static void
pay_link(struct req *r)
{
	struct qs_value v[1];
	struct qs q;
	char url[1024], ohex[25];
	mongoc_client_t *client = db_pop();
	struct who who;
	bson_t *order = NULL;
	bson_oid_t owner;
	bson_error_t error;
	enum payments_order_state st;
	const char *provider;
	int64_t total;
	int n;
	json_object *data;

	if (authz(r, client, AUTHZ_CUSTOMER, NULL, &who) != 0)
		goto done;
	if (valid_query(r, &q, pay_link_query, 1, v) != 0)
		goto done;
	if (!v[0].present) {
		resp_error(r, 400, "provider must be payme or click");
		goto done;
	}
	provider = v[0].text;
	if (strlen(r->params[0]) != 24 || parse_oid(r->params[0], &owner) != 0) {
		resp_error(r, 400, "Malformed order id");
		goto done;
	}
	bson_oid_to_string(&owner, ohex);
	st = payments_order_check(client, ohex, provider, -1, &order, &error);
	/* A customer never learns that another's order exists. */
	if (order == NULL || db_doc_oid(order, "user", &owner) != 0 ||
	    !bson_oid_equal(&owner, &who.id)) {
		if (st == PAYMENTS_ORDER_ERROR)
			db_answer_error(r, &error);
		else
			resp_error(r, 404, "Order not found");
		goto done;
	}
	switch (st) {
	case PAYMENTS_ORDER_OK:
		break;
	case PAYMENTS_ORDER_WRONG_METHOD:
		resp_error(r, 409, "The order is to be paid by %s, not %s",
		           db_doc_utf8(order, "paymentMethod") ? db_doc_utf8(order, "paymentMethod")
		                                               : "?",
		           provider);
		goto done;
	case PAYMENTS_ORDER_CANCELLED:
		resp_error(r, 409, "The order is cancelled");
		goto done;
	case PAYMENTS_ORDER_PAID:
		resp_error(r, 409, "The order is paid already");
		goto done;
	default:
		resp_error(r, 500, "Unexpected order state");
		goto done;
	}
	total = db_doc_int(order, "total", -1);
	n = payments_checkout_url(&cfg, provider, order, url, sizeof(url));
	if (n == -2) {
		resp_error(r, 503, "%s is not configured on this server",
		           strcmp(provider, "payme") == 0 ? "Payme" : "Click");
		goto done;
	}
	if (n < 0) {
		resp_error(r, 500, "The checkout link does not fit");
		goto done;
	}
	data = json_object_new_object();
	json_object_object_add(data, "provider", json_object_new_string(provider));
	json_object_object_add(data, "orderId", json_object_new_string(ohex));
	json_object_object_add(data, "amount", json_object_new_int64(total));
	json_object_object_add(data, "url", json_object_new_string(url));
	resp_data(r, 200, data);
done:
	if (order != NULL)
		bson_destroy(order);
	db_push(client);
}

static const struct route payment_routes[] = {
    {HTTP_POST, "/payments/payme", payme_endpoint},
    {HTTP_POST, "/payments/click/prepare", click_prepare},
    {HTTP_POST, "/payments/click/complete", click_complete},
    {HTTP_GET, "/api/orders/{id}/pay", pay_link},
};

int
main(int argc, char **argv)
{
	static const struct app app = {
	    .name = "payments",
	    .uses_db = 1,
	    .routes = payment_routes,
	    .nroutes = sizeof(payment_routes) / sizeof(payment_routes[0]),
	};

	/* config_load (in app_main) reads .env first; the environment wins. */
	const char *envfile = getenv("OSHXONA_ENV_FILE");
	config_read_envfile(envfile != NULL ? envfile : ".env");
	payments_config_load(&cfg);
	return app_main(&app, argc, argv);
}
