/*
 * payme.c - the pure half of Payme's merchant API: JSON-RPC 2.0 requests
 * parsed and shape-checked per method, the Basic auth check, the answers
 * with Payme's error codes in three languages, the checkout link. What
 * the methods do with the database is fcgi-apps/payments and payments.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "oshxona.h"
#include "payments.h"
#include "valid.h"

/* NULL-terminated: the values of the envelope's method (VK_ENUM). */
static const char *const payme_methods[PAYME_METHOD__MAX + 1] = {
    [PAYME_CHECK_PERFORM] = "CheckPerformTransaction",
    [PAYME_CREATE] = "CreateTransaction",
    [PAYME_PERFORM] = "PerformTransaction",
    [PAYME_CANCEL] = "CancelTransaction",
    [PAYME_CHECK] = "CheckTransaction",
    [PAYME_STATEMENT] = "GetStatement",
};

/* What each error says, in the three languages Payme shows. */
static const struct payme_message {
	int code;
	const char *ru, *uz, *en;
} payme_messages[] = {
    {PAYME_ERR_PARSE, "Ошибка разбора JSON", "JSON xato", "Parse error"},
    {PAYME_ERR_REQUEST, "Неверный запрос", "Notoʻgʻri soʻrov", "Invalid request"},
    {PAYME_ERR_METHOD, "Метод не найден", "Metod topilmadi", "Method not found"},
    {PAYME_ERR_PRIVILEGE, "Недостаточно привилегий", "Ruxsat yoʻq", "Insufficient privilege"},
    {PAYME_ERR_SYSTEM, "Системная ошибка", "Tizim xatosi", "System error"},
    {PAYME_ERR_AMOUNT, "Неверная сумма", "Notoʻgʻri summa", "Wrong amount"},
    {PAYME_ERR_TX_NOT_FOUND, "Транзакция не найдена", "Tranzaksiya topilmadi",
     "Transaction not found"},
    {PAYME_ERR_CANNOT_CANCEL, "Невозможно отменить транзакцию: заказ выполнен",
     "Tranzaksiyani bekor qilib boʻlmaydi: buyurtma bajarilgan",
     "The transaction cannot be cancelled: the order is completed"},
    {PAYME_ERR_CANNOT_PERFORM, "Невозможно выполнить операцию", "Amalni bajarib boʻlmaydi",
     "The operation cannot be performed"},
    {PAYME_ERR_ORDER_NOT_FOUND, "Заказ не найден", "Buyurtma topilmadi", "Order not found"},
    {PAYME_ERR_ORDER_STATE, "Заказ нельзя оплатить через Payme",
     "Buyurtmani Payme orqali toʻlab boʻlmaydi", "The order cannot be paid with Payme"},
    {PAYME_ERR_ORDER_PAID, "Заказ уже оплачен", "Buyurtma allaqachon toʻlangan",
     "The order is paid already"},
    {PAYME_ERR_ORDER_BUSY, "Заказ ожидает оплаты по другой транзакции",
     "Buyurtma boshqa tranzaksiya boʻyicha toʻlovni kutmoqda",
     "The order awaits payment by another transaction"},
};

/*
 * The JSON-RPC 2.0 envelope, declared (lib/valid.h). Open: members of
 * later protocol versions are ignored. In order, as Payme checks them: an
 * id of the wrong type, then jsonrpc, then method (a string that names no
 * method is -32601, anything else -32600: payme_envelope_code), then
 * params, whose members are the method's table's (below).
 */
static const char *const payme_jsonrpc[] = {"2.0", NULL};

enum { PE_ID, PE_JSONRPC, PE_METHOD, PE_PARAMS, PE__MAX };
static const struct valid_field payme_envelope_fields[PE__MAX] = {
    [PE_ID] = VALID_FIELD("id", VK_RPCID, VALID_VERBATIM, .min = 0, .max = PAYME_RPCID_MAX),
    [PE_JSONRPC] = VALID_FIELD("jsonrpc", VK_ENUM, 0, .values = payme_jsonrpc),
    [PE_METHOD] = VALID_FIELD("method", VK_ENUM, VALID_REQUIRED, .values = payme_methods),
    /* opaque here: payme_params_schema[method] checks its members */
    [PE_PARAMS] = VALID_FIELD("params", VK_OBJECT, VALID_REQUIRED),
};
const struct valid_schema payme_envelope_schema =
    VALID_SCHEMA_FLAGS(payme_envelope_fields, NULL, VALID_OPEN | VALID_IN_ORDER);

/*
 * Each method's params, declared (lib/valid.h): payme_params_schema.
 * Open: Payme may send members we do not read. In order: the first
 * failed check decides the code (payme_code), so the tables list the
 * fields in the order they are checked: id, time, amount, account.
 */

/* Payme's ids are 24 hex digits; anything of this alphabet is accepted. */
static int
payme_id_rule(json_object *v, const char *path, struct valid_error *e)
{
	const char *s = json_object_get_string(v);

	for (size_t i = 0; s[i] != '\0'; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_'))
			return valid_fail(e, 422, path, "%s is not a transaction id", path);
	return 0;
}

/* account: ours is order_id; a cashbox may configure more (ignored). */
static const struct valid_field payme_account_fields[] = {
    VALID_FIELD("order_id", VK_ID, VALID_REQUIRED),
};
static const struct valid_schema payme_account_schema =
    VALID_SCHEMA_FLAGS(payme_account_fields, NULL, VALID_OPEN);

/* The params' fields, each declared once; the methods' tables list them. */
#define PAYME_ID                                                                                   \
	VALID_FIELD("id", VK_STRING, VALID_REQUIRED | VALID_VERBATIM, .min = 1,                    \
	            .max = PAYMENT_EXT_ID_MAX, .rule = payme_id_rule)
#define PAYME_MS(name_) VALID_FIELD(name_, VK_INT, VALID_REQUIRED, .min = 0, .max = INT64_MAX / 2)
/* tiyin; a fraction is a wrong amount (-31001), a string a wrong request (-32600) */
#define PAYME_AMOUNT                                                                               \
	VALID_FIELD("amount", VK_INT, VALID_REQUIRED | VALID_NUMBER, .min = 1, .max = INT64_MAX / 2)
#define PAYME_ACCOUNT                                                                              \
	VALID_FIELD("account", VK_OBJECT, VALID_REQUIRED, .schema = &payme_account_schema)

static const struct valid_field payme_check_perform_params[] = {PAYME_AMOUNT, PAYME_ACCOUNT};
static const struct valid_field payme_create_params[] = {PAYME_ID, PAYME_MS("time"), PAYME_AMOUNT,
                                                         PAYME_ACCOUNT};
static const struct valid_field payme_id_params[] = {PAYME_ID}; /* Perform, Check */
static const struct valid_field payme_cancel_params[] = {
    PAYME_ID, VALID_FIELD("reason", VK_INT, VALID_REQUIRED, .min = 1, .max = 99)};
static const struct valid_field payme_statement_params[] = {PAYME_MS("from"), PAYME_MS("to")};

#define PAYME_PARAMS(fields_) VALID_SCHEMA_FLAGS(fields_, NULL, VALID_OPEN | VALID_IN_ORDER)
const struct valid_schema payme_params_schema[PAYME_METHOD__MAX] = {
    [PAYME_CHECK_PERFORM] = PAYME_PARAMS(payme_check_perform_params),
    [PAYME_CREATE] = PAYME_PARAMS(payme_create_params),
    [PAYME_PERFORM] = PAYME_PARAMS(payme_id_params),
    [PAYME_CANCEL] = PAYME_PARAMS(payme_cancel_params),
    [PAYME_CHECK] = PAYME_PARAMS(payme_id_params),
    [PAYME_STATEMENT] = PAYME_PARAMS(payme_statement_params),
};

/*
 * Payme's code for a refusal of method's params: the account's order_id
 * names no order (-31050), an amount that is a number but not a positive
 * whole one (-31001), a malformed transaction id (-31003: no such
 * transaction; but -32600 when CreateTransaction is to open it); every
 * other shape or type -32600.
 */
static int
payme_code(enum payme_method method, const struct valid_error *e)
{
	if (strncmp(e->field, "account.", 8) == 0)
		return PAYME_ERR_ORDER_NOT_FOUND;
	if (e->status == 422 && strcmp(e->field, "amount") == 0)
		return PAYME_ERR_AMOUNT;
	if (e->status == 422 && strcmp(e->field, "id") == 0 && method != PAYME_CREATE)
		return PAYME_ERR_TX_NOT_FOUND;
	return PAYME_ERR_REQUEST;
}

/* Payme's code for a refusal of the envelope: -32601 for a method string we lack. */
static int
payme_envelope_code(json_object *root, const struct valid_error *e)
{
	json_object *m;

	if (strcmp(e->field, "method") == 0 && json_object_object_get_ex(root, "method", &m) &&
	    json_object_is_type(m, json_type_string))
		return PAYME_ERR_METHOD;
	return PAYME_ERR_REQUEST;
}

/* The envelope: payme_envelope_schema; the params: payme_params_schema[method]. */
int
payme_parse(const char *body, size_t len, struct payme_request *req, char *err, size_t errlen)
{
	json_object *params;
	const char *s;
	struct valid_error e;
	int code = 0;

	memset(req, 0, sizeof(*req));
	req->method = PAYME_METHOD__MAX;
	req->root = json_parse(body, len, err, errlen);
	if (req->root == NULL)
		return PAYME_ERR_PARSE;
	if (valid_body(&payme_envelope_schema, req->root, VALID_CREATE, &e) < 0)
		code = payme_envelope_code(req->root, &e);
	/* The id is checked first: refused or not, the answer carries a well-formed one. */
	if ((code == 0 || strcmp(e.field, "id") != 0) &&
	    json_object_is_type(req->root, json_type_object))
		json_object_object_get_ex(req->root, "id", &req->id);
	if (code != 0) {
		snprintf(err, errlen, "%s", e.message);
		return code;
	}
	req->method =
	    (enum payme_method)valid_get_enum(req->root, &payme_envelope_fields[PE_METHOD]);
	params = valid_get_object(req->root, "params");
	if (valid_body(&payme_params_schema[req->method], params, VALID_CREATE, &e) < 0) {
		snprintf(err, errlen, "params.%s", e.message);
		return payme_code(req->method, &e);
	}
	/* Checked: the typed reads below cannot fail. */
	valid_copy_str(params, "id", req->tx_id, sizeof(req->tx_id));
	req->time = valid_get_int(params, "time", 0);
	req->amount = valid_get_int(params, "amount", 0);
	req->reason = (int)valid_get_int(params, "reason", 0);
	req->from = valid_get_int(params, "from", 0);
	req->to = valid_get_int(params, "to", 0);
	if ((s = valid_get_str(valid_get_object(params, "account"), "order_id")) != NULL)
		for (size_t i = 0; i <= 24; i++)
			req->order_id[i] = (char)tolower((unsigned char)s[i]);
	return 0;
}

void
payme_request_free(struct payme_request *req)
{
	json_object_put(req->root);
	memset(req, 0, sizeof(*req));
}

int
payme_auth_ok(const char *authorization, const char *key)
{
	static const char user[] = "Paycom:";
	unsigned char got[512];
	char want[512];
	size_t n, wlen;
	int eq;

	if (authorization == NULL || key == NULL || *key == '\0')
		return 0;
	if (strncasecmp(authorization, "Basic ", 6) != 0)
		return 0;
	authorization += 6;
	while (*authorization == ' ')
		authorization++;
	wlen = (size_t)snprintf(want, sizeof(want), "%s%s", user, key);
	if (wlen >= sizeof(want))
		return 0;
	if (payments_base64_decode(authorization, strlen(authorization), got, sizeof(got), &n) != 0)
		return 0;
	eq = bytes_equal_ct(got, n, want, wlen);
	memset(want, 0, sizeof(want));
	memset(got, 0, sizeof(got));
	return eq;
}

static json_object *
payme_envelope(json_object *id)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(o, "id", id != NULL ? json_object_get(id) : NULL);
	return o;
}

json_object *
payme_result(json_object *id, json_object *result)
{
	json_object *o = payme_envelope(id);

	json_object_object_add(o, "result", result);
	return o;
}

json_object *
payme_error(json_object *id, int code, const char *detail, const char *data)
{
	const struct payme_message *m = NULL;
	json_object *o = payme_envelope(id), *e = json_object_new_object(), *msg;

	for (size_t i = 0; i < sizeof(payme_messages) / sizeof(payme_messages[0]); i++)
		if (payme_messages[i].code == code)
			m = &payme_messages[i];
	if (m == NULL)
		m = &payme_messages[4]; /* system error */
	msg = json_object_new_object();
	json_object_object_add(msg, "ru", json_object_new_string(m->ru));
	json_object_object_add(msg, "uz", json_object_new_string(m->uz));
	json_object_object_add(msg, "en",
	                       json_object_new_string(detail != NULL && *detail ? detail : m->en));
	json_object_object_add(e, "code", json_object_new_int(code));
	json_object_object_add(e, "message", msg);
	if (data != NULL)
		json_object_object_add(e, "data", json_object_new_string(data));
	json_object_object_add(o, "error", e);
	return o;
}

/* A Payme transaction's times, our id, state and reason (null when none). */
static void
payme_tx_fields(json_object *o, const struct payment_tx *tx)
{
	json_object_object_add(o, "create_time", json_object_new_int64(tx->create_time));
	json_object_object_add(o, "perform_time", json_object_new_int64(tx->perform_time));
	json_object_object_add(o, "cancel_time", json_object_new_int64(tx->cancel_time));
	json_object_object_add(o, "transaction", json_object_new_string(tx->txn));
	json_object_object_add(o, "state", json_object_new_int(tx->state));
	json_object_object_add(o, "reason",
	                       tx->reason != 0 ? json_object_new_int(tx->reason) : NULL);
}

json_object *
payme_tx_check(const struct payment_tx *tx)
{
	json_object *o = json_object_new_object();

	payme_tx_fields(o, tx);
	return o;
}

json_object *
payme_tx_statement(const struct payment_tx *tx)
{
	json_object *o = json_object_new_object(), *acc = json_object_new_object();
	char hex[25];

	bson_oid_to_string(&tx->order, hex);
	json_object_object_add(acc, "order_id", json_object_new_string(hex));
	json_object_object_add(o, "id", json_object_new_string(tx->ext_id));
	json_object_object_add(o, "time", json_object_new_int64(tx->provider_time));
	json_object_object_add(o, "amount", json_object_new_int64(tx->amount));
	json_object_object_add(o, "account", acc);
	payme_tx_fields(o, tx);
	json_object_object_add(o, "receivers", NULL);
	return o;
}

int
payme_checkout_url(const char *base, const char *merchant, const char *order_hex, int64_t tiyin,
                   char *out, size_t outlen)
{
	char params[256], b64[400];
	int n = snprintf(params, sizeof(params), "m=%s;ac.order_id=%s;a=%lld", merchant, order_hex,
	                 (long long)tiyin);
	size_t blen = strlen(base);

	if (n < 0 || (size_t)n >= sizeof(params))
		return -1;
	if (payments_base64_encode((const unsigned char *)params, (size_t)n, b64, sizeof(b64)) == 0)
		return -1;
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	n = snprintf(out, outlen, "%.*s/%s", (int)blen, base, b64);
	return n < 0 || (size_t)n >= outlen ? -1 : n;
}

int
payme_ikpu_ok(const char *code)
{
	size_t n = 0;

	if (code == NULL)
		return 0;
	for (; code[n] != '\0'; n++)
		if (code[n] < '0' || code[n] > '9')
			return 0;
	return n == PAYME_IKPU_LEN;
}

json_object *
payme_detail(const struct payme_item *items, size_t n, const char *shipping_title,
             int64_t shipping_tiyin)
{
	json_object *d = json_object_new_object(), *arr = json_object_new_array();

	json_object_object_add(d, "receipt_type", json_object_new_int(0));
	if (shipping_tiyin > 0) {
		json_object *s = json_object_new_object();
		json_object_object_add(s, "title", json_object_new_string(shipping_title));
		json_object_object_add(s, "price", json_object_new_int64(shipping_tiyin));
		json_object_object_add(d, "shipping", s);
	}
	for (size_t i = 0; i < n; i++) {
		json_object *it = json_object_new_object();
		json_object_object_add(it, "title", json_object_new_string(items[i].title));
		json_object_object_add(it, "price", json_object_new_int64(items[i].price));
		json_object_object_add(it, "count", json_object_new_int64(items[i].count));
		json_object_object_add(it, "code", json_object_new_string(items[i].code));
		json_object_object_add(it, "package_code",
		                       json_object_new_string(items[i].package_code));
		json_object_object_add(it, "vat_percent",
		                       json_object_new_int(items[i].vat_percent));
		json_object_array_add(arr, it);
	}
	json_object_object_add(d, "items", arr);
	return d;
}
