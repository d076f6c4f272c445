/*
 * test_order_body.c - the order bodies as declared in lib/order.c
 * (order_body_schema, order_status_schema): every refusal with its status
 * and the field it names, the statuses kept from before the table (a
 * client's price or total is 400), the bot's C input refused by the same
 * table with the same words, and what auth relies on: VALID_VERBATIM and
 * an opaque VK_OBJECT (no schema).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "oshxona.h"
#include "order.h"
#include "valid.h"

#define PID  "65a000000000000000000001"
#define BID  "65a000000000000000000002"
#define LINE "{\"productId\": \"" PID "\", \"quantity\": 2}"
/* A pickup order; a test appends its fields after these. */
#define BASE "\"orderType\": \"pickup\", \"paymentMethod\": \"cash\", \"branchId\": \"" BID "\""

static char err[160];

/* body (JSON text) through order_input_from_json: its status (0 = accepted). */
static int
from_json(const char *body, struct order_input *in, struct order_result *res)
{
	json_object *o = json_parse(body, strlen(body), err, sizeof(err));
	int rc;

	if (o == NULL)
		fail_msg("test body is not JSON: %s (%s)", body, err);
	memset(res, 0, sizeof(*res));
	rc = order_input_from_json(o, in, res);
	json_object_put(o);
	return rc == 0 ? 0 : res->status;
}

static void
refused(const char *body, int status, const char *words)
{
	static struct order_input in;
	struct order_result res;

	assert_int_equal(from_json(body, &in, &res), status);
	assert_int_equal(res.reason, ORDER_INVALID);
	if (strstr(res.message, words) == NULL)
		fail_msg("%s: \"%s\" lacks \"%s\"", body, res.message, words);
}

static void
test_accepted_and_read_back(void **state)
{
	static struct order_input in;
	struct order_result res;
	json_object *o;
	const char *body = "{\"items\": [{\"productId\": \"" PID "\", \"quantity\": 3, "
	                   "\"notes\": \"  achchiq  \", \"price\": 45000, \"name\": \"Osh\"}, " LINE
	                   "], \"orderType\": \"delivery\", \"paymentMethod\": \"payme\", "
	                   "\"branchId\": \"" BID "\", \"address\": \"Chilonzor 9, 12\", "
	                   "\"location\": {\"lat\": 41.3, \"lng\": 69.2}, \"phone\": \"+998 90 "
	                   "123-45-67\", \"comment\": null, \"tableNumber\": null, \"total\": 0}";

	(void)state;
	o = json_parse(body, strlen(body), err, sizeof(err));
	assert_non_null(o);
	memset(&res, 0, sizeof(res));
	assert_int_equal(order_input_from_json(o, &in, &res), 0);
	assert_int_equal(in.nitems, 2);
	assert_int_equal(in.items[0].quantity, 3);
	assert_string_equal(in.items[0].notes, "achchiq"); /* trimmed */
	assert_true(in.items[0].has_price && in.items[0].price == 45000);
	assert_false(in.items[1].has_price);
	assert_null(in.items[1].notes);
	assert_string_equal(in.order_type, "delivery");
	assert_string_equal(in.payment_method, "payme");
	assert_string_equal(in.phone, "+998 90 123-45-67");
	assert_true(in.has_location && in.lat > 41.2 && in.lng < 69.3);
	assert_null(in.comment);              /* null is absent */
	assert_int_equal(in.table_number, 0); /* null is absent */
	assert_true(in.has_total && in.total == 0);
	/* What the parser accepted, the bot's check accepts too. */
	assert_int_equal(order_input_check(&in, &res), 0);
	json_object_put(o);
}

static void
test_shape_refusals_are_400(void **state)
{
	(void)state;
	refused("{" BASE "}", 400, "items is required");
	refused("{\"items\": {}, " BASE "}", 400, "items must be an array");
	refused("{\"items\": [5], " BASE "}", 400, "items[0] must be an object");
	refused("{\"items\": [" LINE "], \"coupon\": \"FREE\", " BASE "}", 400,
	        "coupon is not a known field");
	refused("{\"items\": [{\"productId\": \"" PID
	        "\", \"quantity\": 1, \"discount\": 5}], " BASE "}",
	        400, "items[0].discount is not a known field");
	refused("{\"items\": [{\"productId\": \"toy-oshi\", \"quantity\": 1}], " BASE "}", 400,
	        "items[0].productId");
	refused("{\"items\": [{\"productId\": \"" PID "\"}], " BASE "}", 400,
	        "items[0].quantity is required");
	refused("{\"items\": [{\"productId\": \"" PID "\", \"quantity\": 2.5}], " BASE "}", 400,
	        "items[0].quantity must be an integer");
	refused("{\"items\": [{\"productId\": \"" PID "\", \"quantity\": \"2\"}], " BASE "}", 400,
	        "items[0].quantity");
	refused("{\"items\": [{\"productId\": \"" PID "\", \"quantity\": 1, \"notes\": {\"a\": "
	        "[{\"$where\": \"1\"}]}}], " BASE "}",
	        400, "items[0].notes");
	refused("{\"items\": [" LINE "], \"orderType\": \"takeaway\", \"paymentMethod\": \"cash\", "
	        "\"branchId\": \"" BID "\"}",
	        400, "orderType must be delivery, pickup or dine_in");
	refused("{\"items\": [" LINE
	        "], \"orderType\": \"pickup\", \"paymentMethod\": \"bitcoin\", "
	        "\"branchId\": \"" BID "\"}",
	        400, "paymentMethod must be cash, card, click or payme");
	refused("{\"items\": [" LINE "], \"orderType\": \"pickup\", \"paymentMethod\": \"cash\"}",
	        400, "branchId is required");
	refused("{\"items\": [" LINE "], " BASE ", \"$where\": \"1\"}", 400, "'$'");
	refused("{\"items\": [" LINE "], " BASE ", \"items.0.price\": 1}", 400, "'.'");
	refused("{\"items\": [" LINE "], " BASE ", \"location\": {\"lat\": \"41\", \"lng\": 69}}",
	        400, "location must be");
	refused("{\"items\": [" LINE "], " BASE
	        ", \"location\": {\"lat\": 41, \"lng\": 69, \"$where\": \"1\"}}",
	        400, "location.$where");
	refused("{\"items\": [" LINE "], " BASE ", \"total\": null}", 400, "total");
}

static void
test_client_prices_stay_400(void **state)
{
	(void)state;
	/* As before the table: a price or total the client believes is 400, not 422. */
	refused("{\"items\": [{\"productId\": \"" PID "\", \"quantity\": 1, \"price\": -1}], " BASE
	        "}",
	        400, "items[0].price must be an integer number of so'm");
	refused("{\"items\": [" LINE "], " BASE ", \"total\": -5}", 400,
	        "total must be an integer number of so'm");
	refused("{\"items\": [" LINE "], " BASE ", \"total\": 9223372036854775807}", 400,
	        "total must be an integer number of so'm");
	refused("{\"items\": [" LINE "], " BASE ", \"total\": 1.5}", 400, "total");
}

static void
test_value_refusals_are_422(void **state)
{
	char body[8192];
	size_t n = 0;

	(void)state;
	refused("{\"items\": [], " BASE "}", 422, "items must hold 1..50 items");
	n += (size_t)snprintf(body + n, sizeof(body) - n, "{\"items\": [");
	for (int i = 0; i < 51; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "%s" LINE, i ? ", " : "");
	snprintf(body + n, sizeof(body) - n, "], " BASE "}");
	refused(body, 422, "items must hold 1..50 items");
	refused("{\"items\": [{\"productId\": \"" PID "\", \"quantity\": 0}], " BASE "}", 422,
	        "items[0].quantity must be 1..99");
	refused("{\"items\": [" LINE ", {\"productId\": \"" PID "\", \"quantity\": 100}], " BASE
	        "}",
	        422, "items[1].quantity must be 1..99");
	refused("{\"items\": [" LINE "], " BASE ", \"phone\": \"call me maybe\"}", 422, "phone");
	refused("{\"items\": [" LINE "], " BASE ", \"phone\": \"+99890\"}", 422, "phone");
	/* The one phone rule: +998 numbers have exactly 12 digits. */
	refused("{\"items\": [" LINE "], " BASE ", \"phone\": \"+9989012345678\"}", 422, "phone");
	refused("{\"items\": [" LINE "], " BASE ", \"address\": \"uy\"}", 422,
	        "address must be 5..300 characters");
	refused("{\"items\": [" LINE "], " BASE ", \"tableNumber\": 0}", 422,
	        "tableNumber must be 1..999");
	refused("{\"items\": [" LINE "], " BASE ", \"location\": {\"lat\": 91, \"lng\": 69}}", 422,
	        "location is out of range");
	refused("{\"items\": [" LINE "], " BASE ", \"comment\": \"a\\u0001b\"}", 422,
	        "comment must not contain control characters");
}

static void
test_order_type_rules_are_422(void **state)
{
	(void)state;
	refused("{\"items\": [" LINE "], \"orderType\": \"delivery\", \"paymentMethod\": \"cash\", "
	        "\"branchId\": \"" BID "\", \"phone\": \"+998901234567\"}",
	        422, "address or location is required for delivery");
	refused("{\"items\": [" LINE "], \"orderType\": \"delivery\", \"paymentMethod\": \"cash\", "
	        "\"branchId\": \"" BID
	        "\", \"address\": null, \"location\": {\"lat\": 41, \"lng\": "
	        "69}}",
	        422, "phone is required for delivery");
	refused("{\"items\": [" LINE "], \"orderType\": \"dine_in\", \"paymentMethod\": \"cash\", "
	        "\"branchId\": \"" BID "\", \"tableNumber\": null}",
	        422, "tableNumber is required for dine_in");
}

/* The bot's input: refused by the same table, with the same words as the API's body. */
static void
test_check_words_as_the_body(void **state)
{
	static struct order_input in;
	struct order_result res;

	(void)state;
	/* Built in C, as the bot does (the strings are the caller's). */
	memset(&in, 0, sizeof(in));
	in.nitems = 1;
	parse_oid(PID, &in.items[0].product);
	in.order_type = "pickup";
	in.payment_method = "cash";
	parse_oid(BID, &in.branch);
	in.items[0].quantity = 0;
	memset(&res, 0, sizeof(res));
	assert_int_equal(order_input_check(&in, &res), -1);
	assert_int_equal(res.status, 422);
	assert_string_equal(res.message, "items[0].quantity must be 1..99");
	in.items[0].quantity = 1;
	in.nitems = ORDER_ITEMS_MAX + 7; /* more than the struct holds: refused, not read */
	assert_int_equal(order_input_check(&in, &res), -1);
	assert_string_equal(res.message, "items must hold 1..50 items");
	in.nitems = 1;
	in.phone = "+998 90";
	assert_int_equal(order_input_check(&in, &res), -1);
	assert_int_equal(res.status, 422);
	assert_non_null(strstr(res.message, "phone must be a phone number"));
	in.phone = NULL;
	in.has_total = 1;
	in.total = -1;
	assert_int_equal(order_input_check(&in, &res), -1);
	assert_int_equal(res.status, 400);
	in.total = 8000;
	in.idempotency_key = "two words";
	assert_int_equal(order_input_check(&in, &res), -1);
	assert_int_equal(res.status, 400);
	assert_non_null(strstr(res.message, "Idempotency-Key"));
	in.idempotency_key = "tg:1";
	assert_int_equal(order_input_check(&in, &res), 0);
}

static int
status_body(const char *body, struct valid_error *e)
{
	json_object *o = json_parse(body, strlen(body), err, sizeof(err));
	int rc;

	assert_non_null(o);
	rc = valid_body(&order_status_schema, o, VALID_CREATE, e);
	json_object_put(o);
	return rc < 0 ? e->status : 0;
}

static void
test_status_body(void **state)
{
	struct valid_error e;
	char big[600];

	(void)state;
	assert_int_equal(status_body("{\"status\": \"confirmed\"}", &e), 0);
	assert_int_equal(status_body("{\"status\": \"cancelled\", \"message\": null}", &e), 0);
	assert_int_equal(status_body("{}", &e), 400);
	assert_string_equal(e.message, "status is required");
	assert_int_equal(status_body("{\"status\": 3}", &e), 400);
	assert_int_equal(status_body("{\"status\": \"confirmed\", \"by\": \"me\"}", &e), 400);
	assert_string_equal(e.field, "by");
	assert_int_equal(status_body("{\"status\": {\"$ne\": \"x\"}}", &e), 400);
	/* An unknown status is the status flow's 422, as before the table. */
	assert_int_equal(status_body("{\"status\": \"burnt\"}", &e), 422);
	assert_non_null(strstr(e.message, "status must be one of pending"));
	assert_int_equal(status_body("{\"status\": \"CONFIRMED\"}", &e), 422);
	snprintf(big, sizeof(big), "{\"status\": \"ready\", \"message\": \"%0501d\"}", 0);
	assert_int_equal(status_body(big, &e), 422);
	assert_string_equal(e.field, "message");
}

/* VALID_VERBATIM (auth's passwords, Telegram's signed fields): kept as sent. */
static void
test_verbatim(void **state)
{
	static const struct valid_field fields[] = {
	    VALID_FIELD("password", VK_STRING, VALID_REQUIRED | VALID_VERBATIM, .min = 1, .max = 8),
	    VALID_FIELD("name", VK_STRING, 0, .min = 0, .max = 8),
	};
	static const struct valid_schema s = VALID_SCHEMA(fields);
	const char *text = "{\"password\": \" a\\tb \", \"name\": \" a \"}";
	struct valid_error e;
	json_object *o;

	(void)state;
	assert_int_equal(valid_json(&s, text, strlen(text), VALID_CREATE, &o, &e), 2);
	assert_string_equal(valid_get_str(o, "password"), " a\tb ");
	assert_string_equal(valid_get_str(o, "name"), "a");
	json_object_put(o);
	text = "{\"password\": \"\\u0000x\"}";
	assert_int_equal(valid_json(&s, text, strlen(text), VALID_CREATE, &o, &e), -1);
	text = "{\"password\": \"123456789\"}";
	assert_int_equal(valid_json(&s, text, strlen(text), VALID_CREATE, &o, &e), -1);
	assert_int_equal(e.status, 422);
}

/* VK_OBJECT without a schema (auth's widget): any members, never stored. */
static void
test_opaque_object(void **state)
{
	static const struct valid_field fields[] = {
	    VALID_FIELD("widget", VK_OBJECT, 0),
	};
	static const struct valid_schema s = VALID_SCHEMA(fields);
	const char *text = "{\"widget\": {\"id\": \"5\", \"auth_date\": 7, \"x\": [null]}}";
	bson_t doc = BSON_INITIALIZER;
	struct valid_error e;
	json_object *o;

	(void)state;
	assert_int_equal(valid_json(&s, text, strlen(text), VALID_CREATE, &o, &e), 1);
	assert_non_null(valid_get_object(o, "widget"));
	valid_to_bson(&s, o, &doc);
	assert_int_equal(bson_count_keys(&doc), 0);
	bson_destroy(&doc);
	json_object_put(o);
	text = "{\"widget\": \"x\"}";
	assert_int_equal(valid_json(&s, text, strlen(text), VALID_CREATE, &o, &e), -1);
	assert_int_equal(e.status, 400);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accepted_and_read_back),
	    cmocka_unit_test(test_shape_refusals_are_400),
	    cmocka_unit_test(test_client_prices_stay_400),
	    cmocka_unit_test(test_value_refusals_are_422),
	    cmocka_unit_test(test_order_type_rules_are_422),
	    cmocka_unit_test(test_check_words_as_the_body),
	    cmocka_unit_test(test_status_body),
	    cmocka_unit_test(test_verbatim),
	    cmocka_unit_test(test_opaque_object),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
