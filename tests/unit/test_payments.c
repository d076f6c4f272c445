/*
 * test_payments.c - the pure parts of online payment: standard base64,
 * Payme's JSON-RPC parsing, Basic auth, answers and checkout link,
 * Click's form, md5 signature, answers and checkout link, amounts and
 * the customer's texts (lib/payme.c, lib/click.c, lib/payments.c).
 * Expected signatures and encodings were computed with Python's hashlib
 * and base64, not with the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "oshxona.h"
#include "payments.h"

static void
test_base64_vectors(void **state)
{
	/* RFC 4648 section 10 */
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const coded[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
	                                    "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	char out[16];
	unsigned char back[16];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		assert_int_equal(payments_base64_encode((const unsigned char *)plain[i],
		                                        strlen(plain[i]), out, sizeof(out)),
		                 strlen(coded[i]));
		assert_string_equal(out, coded[i]);
		assert_int_equal(
		    payments_base64_decode(coded[i], strlen(coded[i]), back, sizeof(back), &n), 0);
		assert_int_equal(n, strlen(plain[i]));
		assert_memory_equal(back, plain[i], n);
	}
	/* too small: the NUL counts */
	assert_int_equal(payments_base64_encode((const unsigned char *)"foo", 3, out, 4), 0);
	assert_int_equal(payments_base64_encode((const unsigned char *)"foo", 3, out, 5), 4);
}

static void
test_base64_decode_is_strict(void **state)
{
	static const char *const bad[] = {
	    "Zg",       /* no padding */
	    "Zg=",      /* short padding */
	    "Zh==",     /* unused bits set */
	    "Zm9=",     /* unused bits set */
	    "Z===",     /* too much padding */
	    "Zg==Zg==", /* padding in the middle */
	    "Zm9v\n",   /* whitespace */
	    "Zm-v",     /* url alphabet */
	    "=Zm9",     /* padding first */
	};
	unsigned char out[16];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    payments_base64_decode(bad[i], strlen(bad[i]), out, sizeof(out), &n), -1);
	/* out must hold the bytes and a NUL */
	assert_int_equal(payments_base64_decode("Zm9v", 4, out, 3, &n), -1);
	assert_int_equal(payments_base64_decode("Zm9v", 4, out, 4, &n), 0);
}

static void
test_payme_auth(void **state)
{
	(void)state;
	assert_true(payme_auth_ok("Basic UGF5Y29tOmtleQ==", "key"));
	assert_true(payme_auth_ok("basic UGF5Y29tOmtleQ==", "key"));
	assert_false(payme_auth_ok("Basic UGF5Y29tOmtleQ==", "kez"));
	assert_false(payme_auth_ok("Basic UGF5Y29tOmtleQ==", "ke"));
	assert_false(payme_auth_ok("Basic UGF5Y29tOmtleQ==", "keyy"));
	assert_false(payme_auth_ok("Basic UGF5Y29tOmtleQ==", ""));
	assert_false(payme_auth_ok("Basic UGF5Y29tOmtleQ==", NULL));
	assert_false(payme_auth_ok(NULL, "key"));
	assert_false(payme_auth_ok("Bearer UGF5Y29tOmtleQ==", "key"));
	assert_false(payme_auth_ok("Basic UGF5Y29tOmtleQ", "key"));
	assert_false(payme_auth_ok("Basic", "key"));
	/* "paycom:key", "Paycom:key\n", ":key" */
	assert_false(payme_auth_ok("Basic cGF5Y29tOmtleQ==", "key"));
	assert_false(payme_auth_ok("Basic UGF5Y29tOmtleQo=", "key"));
	assert_false(payme_auth_ok("Basic OmtleQ==", "key"));
}

static int
parse(const char *body, struct payme_request *q)
{
	char err[160];

	return payme_parse(body, strlen(body), q, err, sizeof(err));
}

static void
test_payme_parse_methods(void **state)
{
	struct payme_request q;

	(void)state;
	assert_int_equal(
	    parse("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"CheckPerformTransaction\","
	          "\"params\":{\"amount\":500000,\"account\":{\"order_id\":"
	          "\"5E730E8E0B852A417AA49CEB\"}}}",
	          &q),
	    0);
	assert_int_equal(q.method, PAYME_CHECK_PERFORM);
	assert_int_equal(q.amount, 500000);
	assert_string_equal(q.order_id, "5e730e8e0b852a417aa49ceb");
	assert_int_equal(json_object_get_int(q.id), 7);
	payme_request_free(&q);

	assert_int_equal(parse("{\"id\":\"x\",\"method\":\"CreateTransaction\",\"params\":{\"id\":"
	                       "\"5305e3bab097f420a62ced0b\",\"time\":1399114284039,\"amount\":"
	                       "500000,\"account\":{\"order_id\":\"5e730e8e0b852a417aa49ceb\"}}}",
	                       &q),
	                 0);
	assert_int_equal(q.method, PAYME_CREATE);
	assert_string_equal(q.tx_id, "5305e3bab097f420a62ced0b");
	assert_int_equal(q.time, 1399114284039LL);
	assert_string_equal(json_object_get_string(q.id), "x");
	payme_request_free(&q);

	assert_int_equal(
	    parse("{\"method\":\"PerformTransaction\",\"params\":{\"id\":\"abc\"}}", &q), 0);
	assert_int_equal(q.method, PAYME_PERFORM);
	assert_null(q.id);
	payme_request_free(&q);

	assert_int_equal(parse("{\"id\":1,\"method\":\"CancelTransaction\",\"params\":{\"id\":"
	                       "\"abc\",\"reason\":5}}",
	                       &q),
	                 0);
	assert_int_equal(q.method, PAYME_CANCEL);
	assert_int_equal(q.reason, 5);
	payme_request_free(&q);

	assert_int_equal(parse("{\"id\":1,\"method\":\"CheckTransaction\",\"params\":{\"id\":"
	                       "\"abc\"}}",
	                       &q),
	                 0);
	assert_int_equal(q.method, PAYME_CHECK);
	payme_request_free(&q);

	assert_int_equal(parse("{\"id\":1,\"method\":\"GetStatement\",\"params\":{\"from\":"
	                       "1399114284039,\"to\":1399120284000}}",
	                       &q),
	                 0);
	assert_int_equal(q.method, PAYME_STATEMENT);
	assert_int_equal(q.from, 1399114284039LL);
	assert_int_equal(q.to, 1399120284000LL);
	payme_request_free(&q);

	/* members Payme or the cashbox add are ignored, whatever their names */
	assert_int_equal(parse("{\"id\":1,\"method\":\"CreateTransaction\",\"params\":{\"id\":"
	                       "\"t-1_A\",\"time\":0,\"amount\":1,\"$x\":1,\"account\":{"
	                       "\"phone\":\"998901234567\",\"order_id\":"
	                       "\"5e730e8e0b852a417aa49ceb\",\"a.b\":{}},\"receivers\":null}}",
	                       &q),
	                 0);
	assert_string_equal(q.tx_id, "t-1_A");
	assert_int_equal(q.amount, 1);
	assert_string_equal(q.order_id, "5e730e8e0b852a417aa49ceb");
	payme_request_free(&q);
}

static void
test_payme_parse_errors(void **state)
{
	static const struct {
		const char *body;
		int code;
	} cases[] = {
	    {"", PAYME_ERR_PARSE},
	    {"{", PAYME_ERR_PARSE},
	    {"{} x", PAYME_ERR_PARSE},
	    {"[]", PAYME_ERR_REQUEST},
	    {"{\"id\":1}", PAYME_ERR_REQUEST},
	    {"{\"id\":{},\"method\":\"CheckTransaction\",\"params\":{\"id\":\"a\"}}",
	     PAYME_ERR_REQUEST},
	    {"{\"jsonrpc\":\"1.0\",\"method\":\"CheckTransaction\",\"params\":{\"id\":\"a\"}}",
	     PAYME_ERR_REQUEST},
	    {"{\"method\":\"ChangePassword\",\"params\":{}}", PAYME_ERR_METHOD},
	    {"{\"method\":\"CheckTransaction\"}", PAYME_ERR_REQUEST},
	    {"{\"method\":\"CheckTransaction\",\"params\":\"x\"}", PAYME_ERR_REQUEST},
	    {"{\"method\":\"CheckTransaction\",\"params\":{}}", PAYME_ERR_REQUEST},
	    {"{\"method\":\"CheckTransaction\",\"params\":{\"id\":\"a b\"}}",
	     PAYME_ERR_TX_NOT_FOUND},
	    {"{\"method\":\"CreateTransaction\",\"params\":{\"id\":\"a b\",\"time\":1,"
	     "\"amount\":1,\"account\":{\"order_id\":\"5e730e8e0b852a417aa49ceb\"}}}",
	     PAYME_ERR_REQUEST},
	    {"{\"method\":\"CreateTransaction\",\"params\":{\"id\":\"a\",\"amount\":1,"
	     "\"account\":{\"order_id\":\"5e730e8e0b852a417aa49ceb\"}}}",
	     PAYME_ERR_REQUEST},
	    {"{\"method\":\"CheckPerformTransaction\",\"params\":{\"amount\":0,\"account\":{"
	     "\"order_id\":\"5e730e8e0b852a417aa49ceb\"}}}",
	     PAYME_ERR_AMOUNT},
	    {"{\"method\":\"CheckPerformTransaction\",\"params\":{\"amount\":1.5,\"account\":{"
	     "\"order_id\":\"5e730e8e0b852a417aa49ceb\"}}}",
	     PAYME_ERR_AMOUNT},
	    {"{\"method\":\"CheckPerformTransaction\",\"params\":{\"amount\":\"1\",\"account\":{"
	     "\"order_id\":\"5e730e8e0b852a417aa49ceb\"}}}",
	     PAYME_ERR_REQUEST},
	    {"{\"method\":\"CheckPerformTransaction\",\"params\":{\"amount\":1,\"account\":{"
	     "\"order_id\":\"5e730e8e0b852a417aa49ce\"}}}",
	     PAYME_ERR_ORDER_NOT_FOUND},
	    {"{\"method\":\"CheckPerformTransaction\",\"params\":{\"amount\":1,\"account\":{}}}",
	     PAYME_ERR_ORDER_NOT_FOUND},
	    {"{\"method\":\"CheckPerformTransaction\",\"params\":{\"amount\":1}}",
	     PAYME_ERR_REQUEST},
	    {"{\"method\":\"CancelTransaction\",\"params\":{\"id\":\"a\",\"reason\":0}}",
	     PAYME_ERR_REQUEST},
	    {"{\"method\":\"GetStatement\",\"params\":{\"from\":1}}", PAYME_ERR_REQUEST},
	    /* the first failed check decides, in the documented order */
	    {"{\"method\":\"CancelTransaction\",\"params\":{\"id\":\"a b\"}}",
	     PAYME_ERR_TX_NOT_FOUND},
	    {"{\"method\":\"CheckPerformTransaction\",\"params\":{\"amount\":1.5}}",
	     PAYME_ERR_AMOUNT},
	    {"{\"method\":\"CheckPerformTransaction\",\"params\":{\"amount\":-3,\"account\":"
	     "null}}",
	     PAYME_ERR_AMOUNT},
	    {"{\"method\":\"CheckPerformTransaction\",\"params\":{\"amount\":1,\"account\":"
	     "null}}",
	     PAYME_ERR_REQUEST},
	    {"{\"method\":\"CheckPerformTransaction\",\"params\":{\"amount\":1,\"account\":{"
	     "\"order_id\":5}}}",
	     PAYME_ERR_ORDER_NOT_FOUND},
	    {"{\"method\":\"CreateTransaction\",\"params\":{\"id\":\"a\",\"time\":1.5,"
	     "\"amount\":1.5}}",
	     PAYME_ERR_REQUEST},
	    {"{\"method\":\"CreateTransaction\",\"params\":{\"id\":\"a\",\"time\":1,"
	     "\"amount\":true,\"account\":{}}}",
	     PAYME_ERR_REQUEST},
	    {"{\"method\":\"CreateTransaction\",\"params\":{\"id\":null}}", PAYME_ERR_REQUEST},
	    {"{\"method\":\"PerformTransaction\",\"params\":{\"id\":\"\"}}",
	     PAYME_ERR_TX_NOT_FOUND},
	    {"{\"method\":\"CancelTransaction\",\"params\":{\"id\":\"a\",\"reason\":1.0}}",
	     PAYME_ERR_REQUEST},
	};
	struct payme_request q;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse(cases[i].body, &q);
		if (rc != cases[i].code)
			fail_msg("case %zu (%s): %d, want %d", i, cases[i].body, rc, cases[i].code);
		payme_request_free(&q);
	}
	/* the id survives an error, so the answer can carry it */
	assert_int_equal(parse("{\"id\":42,\"method\":\"Nope\",\"params\":{}}", &q),
	                 PAYME_ERR_METHOD);
	assert_int_equal(json_object_get_int(q.id), 42);
	payme_request_free(&q);
}

/* payme_parse(body) answers code (0: accepted). */
static void
expect_code(const char *body, int code)
{
	struct payme_request q;
	int rc = parse(body, &q);

	payme_request_free(&q);
	if (rc != code)
		fail_msg("%s: %d, want %d", body, rc, code);
}

/* The envelope as a table (payme_envelope_schema): the same codes, in order. */
static void
test_payme_envelope(void **state)
{
	struct payme_request q;
	char err[160];
	char id[PAYME_RPCID_MAX + 40];

	(void)state;
	/* an id of every JSON-RPC type, and members of later versions, pass */
	expect_code("{\"id\":\"a-1\",\"method\":\"CheckTransaction\",\"params\":{\"id\":\"a\"}}",
	            0);
	expect_code("{\"id\":1.5,\"method\":\"CheckTransaction\",\"params\":{\"id\":\"a\"}}", 0);
	expect_code("{\"id\":null,\"jsonrpc\":\"2.0\",\"method\":\"CheckTransaction\",\"params\":"
	            "{\"id\":\"a\"},\"meta\":{\"$x\":1}}",
	            0);
	/* the id is checked first, then jsonrpc, then method, then params */
	expect_code("{\"id\":true,\"method\":\"Nope\"}", PAYME_ERR_REQUEST);
	expect_code("{\"id\":[],\"jsonrpc\":\"1.0\"}", PAYME_ERR_REQUEST);
	expect_code("{\"jsonrpc\":2.0,\"method\":\"CheckTransaction\",\"params\":{\"id\":\"a\"}}",
	            PAYME_ERR_REQUEST);
	expect_code("{\"jsonrpc\":null,\"method\":\"CheckTransaction\",\"params\":{\"id\":\"a\"}}",
	            PAYME_ERR_REQUEST);
	expect_code("{\"method\":\"Nope\"}", PAYME_ERR_METHOD);
	expect_code("{\"method\":\"\",\"params\":{}}", PAYME_ERR_METHOD);
	expect_code("{\"method\":null,\"params\":{}}", PAYME_ERR_REQUEST);
	expect_code("{\"method\":[\"CheckTransaction\"],\"params\":{}}", PAYME_ERR_REQUEST);
	expect_code("{\"params\":{\"id\":\"a\"}}", PAYME_ERR_REQUEST);
	expect_code("{\"method\":\"CheckTransaction\",\"params\":null}", PAYME_ERR_REQUEST);
	/* stricter than the hand parser: a NUL no longer hides a tail */
	expect_code("{\"method\":\"CheckTransaction\\u0000x\",\"params\":{\"id\":\"a\"}}",
	            PAYME_ERR_METHOD);
	/* a refused id is not echoed; a good one is, whatever fails after it */
	assert_int_equal(parse("{\"id\":{},\"method\":\"CheckTransaction\"}", &q),
	                 PAYME_ERR_REQUEST);
	assert_null(q.id);
	payme_request_free(&q);
	assert_int_equal(parse("{\"id\":\"r7\",\"jsonrpc\":\"3\"}", &q), PAYME_ERR_REQUEST);
	assert_string_equal(json_object_get_string(q.id), "r7");
	payme_request_free(&q);
	/* a string id of up to PAYME_RPCID_MAX characters */
	snprintf(id, sizeof(id), "{\"id\":\"%0*d\",\"method\":\"X\"}", PAYME_RPCID_MAX, 0);
	assert_int_equal(parse(id, &q), PAYME_ERR_METHOD);
	assert_non_null(q.id);
	payme_request_free(&q);
	snprintf(id, sizeof(id), "{\"id\":\"%0*d\",\"method\":\"X\"}", PAYME_RPCID_MAX + 1, 0);
	assert_int_equal(parse(id, &q), PAYME_ERR_REQUEST);
	assert_null(q.id);
	payme_request_free(&q);
	/* the reason names the field */
	assert_int_equal(payme_parse("{\"method\":1}", 12, &q, err, sizeof(err)),
	                 PAYME_ERR_REQUEST);
	assert_non_null(strstr(err, "method"));
	payme_request_free(&q);
}

static void
assert_json(json_object *o, const char *want)
{
	assert_string_equal(json_object_to_json_string_ext(o, JSON_OUT_FLAGS), want);
	json_object_put(o);
}

static void
test_payme_answers(void **state)
{
	json_object *id = json_object_new_int(9);
	struct payment_tx tx;

	(void)state;
	assert_json(payme_error(id, PAYME_ERR_ORDER_NOT_FOUND, NULL, "order_id"),
	            "{\"jsonrpc\":\"2.0\",\"id\":9,\"error\":{\"code\":-31050,\"message\":{\"ru\":"
	            "\"Заказ не найден\",\"uz\":\"Buyurtma topilmadi\",\"en\":\"Order not found\"},"
	            "\"data\":\"order_id\"}}");
	assert_json(
	    payme_error(NULL, PAYME_ERR_PRIVILEGE, "detail", NULL),
	    "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32504,\"message\":{"
	    "\"ru\":\"Недостаточно привилегий\",\"uz\":\"Ruxsat yoʻq\",\"en\":\"detail\"}}}");
	assert_json(payme_result(id, json_object_new_object()),
	            "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{}}");

	memset(&tx, 0, sizeof(tx));
	snprintf(tx.ext_id, sizeof(tx.ext_id), "5305e3bab097f420a62ced0b");
	snprintf(tx.txn, sizeof(tx.txn), "6b1126b72da43db44c06d171");
	bson_oid_init_from_string(&tx.order, "5e730e8e0b852a417aa49ceb");
	tx.amount = 500000;
	tx.provider_time = 1399114284039LL;
	tx.create_time = 1399114284040LL;
	tx.state = PAYMENT_CREATED;
	assert_json(payme_tx_check(&tx),
	            "{\"create_time\":1399114284040,\"perform_time\":0,\"cancel_time\":0,"
	            "\"transaction\":\"6b1126b72da43db44c06d171\",\"state\":1,\"reason\":null}");
	tx.state = PAYMENT_REFUNDED;
	tx.perform_time = 1399114285000LL;
	tx.cancel_time = 1399114286000LL;
	tx.reason = 5;
	assert_json(payme_tx_statement(&tx),
	            "{\"id\":\"5305e3bab097f420a62ced0b\",\"time\":1399114284039,\"amount\":500000,"
	            "\"account\":{\"order_id\":\"5e730e8e0b852a417aa49ceb\"},\"create_time\":"
	            "1399114284040,\"perform_time\":1399114285000,\"cancel_time\":1399114286000,"
	            "\"transaction\":\"6b1126b72da43db44c06d171\",\"state\":-2,\"reason\":5,"
	            "\"receivers\":null}");
	json_object_put(id);
}

static void
test_payme_checkout_url(void **state)
{
	char out[256];
	static const char want[] =
	    "https://checkout.paycom.uz/bT01ZTczMGU4ZTBiODUyYTQxN2FhNDljZWI7YWMub3JkZXJfaWQ9NmIxMT"
	    "I2YjcyZGE0M2RiNDRjMDZkMTcxO2E9NDUwMDAwMA==";

	(void)state;
	assert_int_equal(payme_checkout_url("https://checkout.paycom.uz",
	                                    "5e730e8e0b852a417aa49ceb", "6b1126b72da43db44c06d171",
	                                    4500000, out, sizeof(out)),
	                 strlen(want));
	assert_string_equal(out, want);
	assert_int_equal(payme_checkout_url("https://checkout.paycom.uz/",
	                                    "5e730e8e0b852a417aa49ceb", "6b1126b72da43db44c06d171",
	                                    4500000, out, sizeof(out)),
	                 strlen(want));
	assert_string_equal(out, want);
	assert_int_equal(payme_checkout_url("https://checkout.paycom.uz", "m",
	                                    "6b1126b72da43db44c06d171", 1, out, 20),
	                 -1);
}

#define CLICK_BODY                                                                                 \
	"click_trans_id=123&service_id=30120&click_paydoc_id=456&merchant_trans_id="               \
	"5e730e8e0b852a417aa49ceb&amount=15000.00&action=0&error=0&error_note=Success&"            \
	"sign_time=2026-12-03+10%3A00%3A00&sign_string=b590c8076cdcfd9c78ba7f9014816cfe"

static void
test_click_parse_and_sign(void **state)
{
	struct click_form *f = xmalloc(sizeof(*f));
	char err[160], sign[33];

	(void)state;
	assert_int_equal(click_parse(CLICK_BODY, strlen(CLICK_BODY), 0, f, err, sizeof(err)), 0);
	assert_int_equal(f->trans_id, 123);
	assert_int_equal(f->action, 0);
	assert_int_equal(f->error, 0);
	assert_string_equal(f->v[CLICK_SIGN_TIME], "2026-12-03 10:00:00");
	assert_string_equal(f->v[CLICK_AMOUNT], "15000.00");
	click_sign(f, "secret", 0, sign);
	assert_string_equal(sign, "b590c8076cdcfd9c78ba7f9014816cfe");
	assert_true(click_sign_ok(f, "secret", 0));
	assert_false(click_sign_ok(f, "secreT", 0));
	assert_false(click_sign_ok(f, "", 0));
	/* as complete, the signature covers merchant_prepare_id: missing here */
	assert_int_equal(click_parse(CLICK_BODY, strlen(CLICK_BODY), 1, f, err, sizeof(err)), -1);

	static const char complete[] =
	    "click_trans_id=123&service_id=30120&merchant_trans_id=5e730e8e0b852a417aa49ceb&"
	    "merchant_prepare_id=777&amount=15000.00&action=1&error=-5017&error_note=x&"
	    "sign_time=2026-12-03%2010:00:00&sign_string=44D183737E4247E09A32905B82A16C44&extra=1";
	assert_int_equal(click_parse(complete, strlen(complete), 1, f, err, sizeof(err)), 0);
	assert_int_equal(f->prepare_id, 777);
	assert_int_equal(f->error, -5017);
	assert_true(click_sign_ok(f, "secret", 1)); /* upper-case hex accepted */
	assert_false(click_sign_ok(f, "secret", 0));

	/* fields Click adds are ignored, even twice; values are kept as received */
	static const char extra[] = CLICK_BODY "&param2=a&param2=b&%24x=1&a.b=&service_id_x=%20";
	assert_int_equal(click_parse(extra, strlen(extra), 0, f, err, sizeof(err)), 0);
	assert_true(click_sign_ok(f, "secret", 0));
	static const char spaced[] =
	    "click_trans_id=1&service_id=+30120+&merchant_trans_id=a&amount=1&action=0&error=0&"
	    "sign_time=t&sign_string=s";
	assert_int_equal(click_parse(spaced, strlen(spaced), 0, f, err, sizeof(err)), 0);
	assert_string_equal(f->v[CLICK_SERVICE_ID], " 30120 ");
	/* a refused form still gives the answer what it held */
	assert_int_equal(click_parse(CLICK_BODY, strlen(CLICK_BODY), 1, f, err, sizeof(err)), -1);
	assert_string_equal(f->v[CLICK_MERCHANT_TRANS_ID], "5e730e8e0b852a417aa49ceb");
	assert_non_null(strstr(err, "merchant_prepare_id"));
	free(f);
}

static void
test_click_parse_errors(void **state)
{
	static const char *const bad[] = {
	    "click_trans_id=1",
	    "click_trans_id=x&service_id=1&merchant_trans_id=a&amount=1&action=0&error=0&"
	    "sign_time=t&sign_string=s",
	    "click_trans_id=1&service_id=1&merchant_trans_id=a&amount=1&action=zero&error=0&"
	    "sign_time=t&sign_string=s",
	    "click_trans_id=1&service_id=1&merchant_trans_id=a&amount=1&action=0&error=0&"
	    "sign_time=t&sign_string=s&amount=2",
	    "click_trans_id=1&service_id=1&merchant_trans_id=a&amount=%zz&action=0&error=0&"
	    "sign_time=t&sign_string=s",
	    "click_trans_id=1&service_id=1&merchant_trans_id=a%00b&amount=1&action=0&error=0&"
	    "sign_time=t&sign_string=s",
	    "click_trans_id=1&service_id=1&merchant_trans_id=a&amount=1&action=0&error=0&"
	    "sign_time=t&sign_string",
	    "=1&click_trans_id=1",
	    "click_trans_id=0&service_id=1&merchant_trans_id=a&amount=1&action=0&error=0&"
	    "sign_time=t&sign_string=s",
	    "click_trans_id=1&service_id=1&merchant_trans_id=a&amount=1&action=0&error=2147483648&"
	    "sign_time=t&sign_string=s",
	    "click_trans_id=1&service_id=1&merchant_trans_id=a&amount=1&action=0&error=0&"
	    "sign_time=t&sign_string=s&sign_time=u",
	    "click_trans_id=1&service_id=1&merchant_trans_id=a&amount=1&action=0&error=0&"
	    "sign_time=t&sign_string=s&error_note=%01",
	};
	struct click_form *f = xmalloc(sizeof(*f));
	char err[160], big[CLICK_BODY_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (click_parse(bad[i], strlen(bad[i]), 0, f, err, sizeof(err)) != -1)
			fail_msg("case %zu accepted: %s", i, bad[i]);
	/* complete: merchant_prepare_id must be a positive integer */
	static const char zero[] =
	    "click_trans_id=1&service_id=1&merchant_trans_id=a&merchant_prepare_id=0&amount=1&"
	    "action=1&error=0&sign_time=t&sign_string=s";
	assert_int_equal(click_parse(zero, strlen(zero), 0, f, err, sizeof(err)), 0);
	assert_int_equal(click_parse(zero, strlen(zero), 1, f, err, sizeof(err)), -1);
	memset(big, 'a', sizeof(big));
	assert_int_equal(click_parse(big, sizeof(big), 0, f, err, sizeof(err)), -1);
	free(f);
}

static void
test_click_answer_and_link(void **state)
{
	struct click_form *f = xmalloc(sizeof(*f));
	char err[160], url[512];

	(void)state;
	assert_int_equal(click_parse(CLICK_BODY, strlen(CLICK_BODY), 0, f, err, sizeof(err)), 0);
	assert_json(click_answer(f, 0, 777, CLICK_OK, "Success"),
	            "{\"click_trans_id\":123,\"merchant_trans_id\":\"5e730e8e0b852a417aa49ceb\","
	            "\"merchant_prepare_id\":777,\"error\":0,\"error_note\":\"Success\"}");
	assert_json(click_answer(f, 1, 0, CLICK_ERR_SIGN, "SIGN CHECK FAILED!"),
	            "{\"click_trans_id\":123,\"merchant_trans_id\":\"5e730e8e0b852a417aa49ceb\","
	            "\"error\":-1,\"error_note\":\"SIGN CHECK FAILED!\"}");
	free(f);

	assert_true(click_checkout_url("https://my.click.uz/services/pay", "30120", "21771", 45000,
	                               "6b1126b72da43db44c06d171", "https://shop.uz/o?a=1&b=2", url,
	                               sizeof(url)) > 0);
	assert_string_equal(url, "https://my.click.uz/services/pay?service_id=30120&merchant_id="
	                         "21771&amount=45000&transaction_param=6b1126b72da43db44c06d171&"
	                         "return_url=https%3A%2F%2Fshop.uz%2Fo%3Fa%3D1%26b%3D2");
	assert_true(click_checkout_url("https://my.click.uz/services/pay", "30120", "21771", 45000,
	                               "6b1126b72da43db44c06d171", "", url, sizeof(url)) > 0);
	assert_null(strstr(url, "return_url"));
	assert_int_equal(click_checkout_url("https://my.click.uz/services/pay", "30120", "21771",
	                                    45000, "6b1126b72da43db44c06d171", "", url, 60),
	                 -1);
}

static void
test_amounts(void **state)
{
	static const struct {
		const char *s;
		int ok;
		int64_t tiyin;
	} cases[] = {
	    {"15000", 1, 1500000},
	    {"15000.00", 1, 1500000},
	    {"15000.5", 1, 1500050},
	    {"15000.05", 1, 1500005},
	    {"0", 1, 0},
	    {"999999999999", 1, 99999999999900},
	    {"", 0, 0},
	    {".5", 0, 0},
	    {"5.", 0, 0},
	    {"5.001", 0, 0},
	    {"-5", 0, 0},
	    {"+5", 0, 0},
	    {" 5", 0, 0},
	    {"5 ", 0, 0},
	    {"1e5", 0, 0},
	    {"1,5", 0, 0},
	    {"1000000000000", 0, 0},
	    {"5.5.5", 0, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t t = -1;
		int rc = payments_parse_amount(cases[i].s, &t);
		if ((rc == 0) != cases[i].ok || (cases[i].ok && t != cases[i].tiyin))
			fail_msg("amount '%s': rc %d, %lld", cases[i].s, rc, (long long)t);
	}
}

static void
test_texts(void **state)
{
	char *t;

	(void)state;
	t = payments_text("uz", 17, PAYMENTS_EFFECT_PAID, "payme");
	assert_string_equal(t, "Buyurtma #17: toʻlov qabul qilindi (Payme)");
	free(t);
	t = payments_text("ru", 17, PAYMENTS_EFFECT_CANCELLED, "click");
	assert_string_equal(t, "Заказ №17: оплата отменена (Click)");
	free(t);
	t = payments_text(NULL, 3, PAYMENTS_EFFECT_REFUNDED, "payme");
	assert_string_equal(t, "Buyurtma #3: pul qaytarildi (Payme)");
	free(t);
}

static void
test_payme_fiscal_detail(void **state)
{
	static const struct payme_item items[] = {
	    {"Toʻy oshi", 4500000, 2, "10202001001000001", "1493467", 12},
	    {"Mastava", 2800000, 1, "10202002001000003", "1520311", 0},
	};

	(void)state;
	assert_json(payme_detail(items, 2, "Yetkazib berish", 1000000),
	            "{\"receipt_type\":0,\"shipping\":{\"title\":\"Yetkazib berish\",\"price\":"
	            "1000000},\"items\":[{\"title\":\"Toʻy oshi\",\"price\":4500000,\"count\":2,"
	            "\"code\":\"10202001001000001\",\"package_code\":\"1493467\",\"vat_percent\":"
	            "12},{\"title\":\"Mastava\",\"price\":2800000,\"count\":1,\"code\":"
	            "\"10202002001000003\",\"package_code\":\"1520311\",\"vat_percent\":0}]}");
	/* No delivery fee: no shipping line. */
	assert_json(payme_detail(items + 1, 1, "Yetkazib berish", 0),
	            "{\"receipt_type\":0,\"items\":[{\"title\":\"Mastava\",\"price\":2800000,"
	            "\"count\":1,\"code\":\"10202002001000003\",\"package_code\":\"1520311\","
	            "\"vat_percent\":0}]}");
	assert_true(payme_ikpu_ok("10202001001000001"));
	assert_false(payme_ikpu_ok(NULL));
	assert_false(payme_ikpu_ok(""));
	assert_false(payme_ikpu_ok("1020200100100000"));   /* 16 */
	assert_false(payme_ikpu_ok("102020010010000011")); /* 18 */
	assert_false(payme_ikpu_ok("1020200100100000a"));
	assert_false(payme_ikpu_ok("10202001001 00001"));
	assert_false(payme_ikpu_ok("-0202001001000001"));
}

/* The order states the pay endpoint, the bot's button and Payme's checks share. */
static void
test_order_state(void **state)
{
	static const struct {
		const char *method, *status, *paid, *provider;
		int64_t amount;
		enum payments_order_state want;
	} cases[] = {
	    {"payme", "pending", "pending", "payme", -1, PAYMENTS_ORDER_OK},
	    {"payme", "confirmed", "cancelled", "payme", -1, PAYMENTS_ORDER_OK},
	    {"payme", "pending", "pending", "payme", 4500000, PAYMENTS_ORDER_OK},
	    {"payme", "pending", "pending", "payme", 4500001, PAYMENTS_ORDER_AMOUNT},
	    {"payme", "pending", "pending", "click", -1, PAYMENTS_ORDER_WRONG_METHOD},
	    {"cash", "pending", "pending", "payme", -1, PAYMENTS_ORDER_WRONG_METHOD},
	    {"click", "cancelled", "pending", "click", -1, PAYMENTS_ORDER_CANCELLED},
	    {"click", "ready", "paid", "click", -1, PAYMENTS_ORDER_PAID},
	    {"click", "cancelled", "refunded", "click", -1, PAYMENTS_ORDER_PAID},
	    {NULL, "pending", "pending", "payme", -1, PAYMENTS_ORDER_WRONG_METHOD},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bson_t *o = BCON_NEW("status", BCON_UTF8(cases[i].status), "paymentStatus",
		                     BCON_UTF8(cases[i].paid), "total", BCON_INT64(45000));
		if (cases[i].method != NULL)
			BSON_APPEND_UTF8(o, "paymentMethod", cases[i].method);
		assert_int_equal(payments_order_state(o, cases[i].provider, cases[i].amount),
		                 cases[i].want);
		bson_destroy(o);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base64_vectors),
	    cmocka_unit_test(test_base64_decode_is_strict),
	    cmocka_unit_test(test_payme_auth),
	    cmocka_unit_test(test_payme_parse_methods),
	    cmocka_unit_test(test_payme_parse_errors),
	    cmocka_unit_test(test_payme_envelope),
	    cmocka_unit_test(test_payme_answers),
	    cmocka_unit_test(test_payme_checkout_url),
	    cmocka_unit_test(test_click_parse_and_sign),
	    cmocka_unit_test(test_click_parse_errors),
	    cmocka_unit_test(test_click_answer_and_link),
	    cmocka_unit_test(test_amounts),
	    cmocka_unit_test(test_texts),
	    cmocka_unit_test(test_payme_fiscal_detail),
	    cmocka_unit_test(test_order_state),
	};

	return cmocka_run_group_tests_name("payments", tests, NULL, NULL);
}
