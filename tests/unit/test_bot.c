/*
 * test_bot.c - the bot's pure parts: the Update parser (lib/tgupdate.c),
 * the message catalogue (lib/botmsg.c), and the order input rules the bot
 * relies on (order_input_check, order_input_from_json in lib/order.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "oshxona.h"
#include "bot.h"
#include "order.h"

static struct tg_update u;
static char err[160];

static int
parse(const char *s)
{
	err[0] = '\0';
	return tgupdate_parse(s, strlen(s), &u, err, sizeof(err));
}

/* Each of the n updates is refused, with a reason. */
static void
refused(const char *const *bad, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (parse(bad[i]) != -1)
			fail_msg("accepted: %s", bad[i]);
		if (err[0] == '\0')
			fail_msg("no reason for: %s", bad[i]);
	}
}

static void
test_update_message_text(void **state)
{
	(void)state;
	assert_int_equal(parse("{\"update_id\": 10, \"message\": {\"message_id\": 3, \"from\": "
	                       "{\"id\": 77, \"first_name\": \"Sardor\", \"language_code\": "
	                       "\"uz\"}, \"chat\": {\"id\": 77, \"type\": \"private\"}, "
	                       "\"text\": \"/start\"}}"),
	                 0);
	assert_int_equal(u.update_id, 10);
	assert_int_equal(u.kind, TG_MESSAGE);
	assert_int_equal(u.chat_id, 77);
	assert_int_equal(u.from_id, 77);
	assert_int_equal(u.message_id, 3);
	assert_string_equal(u.chat_type, "private");
	assert_string_equal(u.first_name, "Sardor");
	assert_string_equal(u.language_code, "uz");
	assert_true(u.has_text);
	assert_string_equal(u.text, "/start");
	assert_false(u.has_contact || u.has_location || u.has_web_app_data);
}

static void
test_update_contact_location_webapp(void **state)
{
	(void)state;
	assert_int_equal(parse("{\"update_id\": 1, \"message\": {\"message_id\": 1, \"chat\": "
	                       "{\"id\": 5}, \"from\": {\"id\": 5}, \"contact\": "
	                       "{\"phone_number\": \"998901234567\", \"user_id\": 5}, "
	                       "\"location\": {\"latitude\": 41.3, \"longitude\": 69}, "
	                       "\"web_app_data\": {\"data\": \"{}\"}}}"),
	                 0);
	assert_true(u.has_contact && u.has_location && u.has_web_app_data);
	assert_string_equal(u.contact_phone, "998901234567");
	assert_int_equal(u.contact_user_id, 5);
	assert_true(u.lat > 41.29 && u.lat < 41.31 && u.lng == 69.0);
	assert_string_equal(u.web_app_data, "{}");
}

static void
test_update_callback(void **state)
{
	(void)state;
	assert_int_equal(parse("{\"update_id\": 2, \"callback_query\": {\"id\": \"abc\", \"from\": "
	                       "{\"id\": 9}, \"message\": {\"message_id\": 4, \"chat\": {\"id\": "
	                       "-100, \"type\": \"supergroup\"}, \"photo\": []}, \"data\": "
	                       "\"sc:65a000000000000000000001\"}}"),
	                 0);
	assert_int_equal(u.kind, TG_CALLBACK);
	assert_string_equal(u.callback_id, "abc");
	assert_int_equal(u.chat_id, -100);
	assert_int_equal(u.message_id, 4);
	assert_true(u.on_photo);
	assert_true(u.has_callback_data);
	assert_string_equal(u.callback_data, "sc:65a000000000000000000001");
	/* Exactly 64 bytes passes, 65 does not. */
	char buf[512];
	snprintf(buf, sizeof(buf),
	         "{\"update_id\": 2, \"callback_query\": {\"id\": \"a\", \"from\": {\"id\": 9}, "
	         "\"data\": \"%064d\"}}",
	         0);
	assert_int_equal(parse(buf), 0);
	assert_int_equal(strlen(u.callback_data), 64);
	assert_int_equal(u.chat_id, 0); /* an inline-mode message: no chat */
	snprintf(buf, sizeof(buf),
	         "{\"update_id\": 2, \"callback_query\": {\"id\": \"a\", \"from\": {\"id\": 9}, "
	         "\"data\": \"%065d\"}}",
	         0);
	assert_int_equal(parse(buf), -1);
	assert_non_null(strstr(err, "callback_query.data"));
}

static void
test_update_other_kinds_are_not_errors(void **state)
{
	(void)state;
	assert_int_equal(parse("{\"update_id\": 3, \"edited_message\": {}}"), 0);
	assert_int_equal(u.kind, TG_OTHER);
	assert_int_equal(parse("{\"update_id\": 0}"), 0);
	assert_int_equal(u.kind, TG_OTHER);
}

static void
test_update_refusals(void **state)
{
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{}",
	    "{\"update_id\": -1}",
	    "{\"update_id\": 1.5}",
	    "{\"update_id\": \"1\"}",
	    "{\"update_id\": 1, \"message\": {\"chat\": {\"id\": 1}}}",
	    "{\"update_id\": 1, \"message\": {\"message_id\": 1}}",
	    "{\"update_id\": 1, \"message\": {\"message_id\": 1, \"chat\": {\"id\": 0}}}",
	    "{\"update_id\": 1, \"message\": {\"message_id\": 1, \"chat\": {\"id\": 1}, "
	    "\"text\": 5}}",
	    "{\"update_id\": 1, \"message\": {\"message_id\": 1, \"chat\": {\"id\": 1}, "
	    "\"text\": \"a\\u0000b\"}}",
	    "{\"update_id\": 1, \"message\": {\"message_id\": 1, \"chat\": {\"id\": 1}, "
	    "\"location\": {\"latitude\": 0, \"longitude\": 181}}}",
	    "{\"update_id\": 1, \"message\": {\"message_id\": 1, \"chat\": {\"id\": 1}, "
	    "\"contact\": {}}}",
	    "{\"update_id\": 1, \"message\": {\"message_id\": 1, \"chat\": {\"id\": 1}, "
	    "\"from\": {\"id\": 0}}}",
	    "{\"update_id\": 1, \"callback_query\": {\"from\": {\"id\": 1}}}",
	    "{\"update_id\": 1, \"callback_query\": {\"id\": \"x\"}}",
	    "{\"update_id\": 1} trailing",
	};

	(void)state;
	refused(bad, sizeof(bad) / sizeof(bad[0]));
}

/*
 * Declared as lib/valid tables (tg_update_schema): unknown members ignored
 * at every level, the declared ones checked whatever else is there.
 */
static void
test_update_open_tables(void **state)
{
	static const char *const bad[] = {
	    /* stricter than the hand parser, which read a declared member of
	       the wrong type as absent (Telegram sends objects there) */
	    "{\"update_id\": 1, \"message\": 5}",
	    "{\"update_id\": 1, \"callback_query\": []}",
	    "{\"update_id\": 1, \"message\": {\"message_id\": 1, \"chat\": {\"id\": 1}, "
	    "\"from\": \"x\"}}",
	    "{\"update_id\": 1, \"message\": {\"message_id\": 1, \"chat\": {\"id\": 1}, "
	    "\"contact\": 5}}",
	    "{\"update_id\": 1, \"callback_query\": {\"id\": \"x\", \"from\": {\"id\": 1}, "
	    "\"message\": true}}",
	    /* as before: the buffer of a non-name string is a limit, not a cut */
	    "{\"update_id\": 1, \"message\": {\"message_id\": 1, \"chat\": {\"id\": 1, "
	    "\"type\": \"supergroupxxxxxx\"}}}",
	    "{\"update_id\": 1, \"message\": {\"message_id\": 1, \"chat\": {\"id\": 1}, "
	    "\"contact\": {\"phone_number\": \"1\", \"user_id\": null}}}",
	    "{\"update_id\": 1, \"message\": {\"message_id\": 1, \"chat\": {\"id\": 1}, "
	    "\"location\": {\"latitude\": \"41\", \"longitude\": 69}}}",
	    "{\"update_id\": 1, \"callback_query\": {\"id\": \"\", \"from\": {\"id\": 1}}}",
	};

	(void)state;
	refused(bad, sizeof(bad) / sizeof(bad[0]));
	assert_int_equal(parse("{\"update_id\": 1, \"message\": {\"message_id\": 1, \"chat\": "
	                       "{\"id\": 1}, \"contact\": 5}}"),
	                 -1);
	assert_string_equal(err, "message.contact must be an object");
	/* unknown members, even operator-shaped ones, are never read */
	assert_int_equal(parse("{\"update_id\": 9, \"$where\": 1, \"message\": {\"message_id\": 2, "
	                       "\"date\": 1700000000, \"chat\": {\"id\": 3, \"type\": \"private\", "
	                       "\"first_name\": \"A\"}, \"from\": {\"id\": 3, \"is_bot\": false, "
	                       "\"is_premium\": true, \"a.b\": {}}, \"text\": \"line\\nline\\t\", "
	                       "\"entities\": [{\"type\": \"bot_command\"}], \"location\": "
	                       "{\"latitude\": -41.5, \"longitude\": 180, \"live_period\": 60}}}"),
	                 0);
	assert_int_equal(u.kind, TG_MESSAGE);
	assert_int_equal(u.update_id, 9);
	assert_string_equal(u.text, "line\nline\t"); /* verbatim: kept as sent */
	assert_true(u.has_location && u.lat == -41.5 && u.lng == 180);
	/* message wins; a null member is an absent one */
	assert_int_equal(parse("{\"update_id\": 1, \"message\": null, \"callback_query\": "
	                       "{\"id\": \"q\", \"from\": {\"id\": 4, \"first_name\": null}, "
	                       "\"message\": {\"message_id\": 8, \"chat\": {\"id\": 4}, \"photo\": "
	                       "null}, \"data\": null}}"),
	                 0);
	assert_int_equal(u.kind, TG_CALLBACK);
	assert_true(u.on_photo);
	assert_false(u.has_callback_data);
	assert_int_equal(u.message_id, 8);
}

static void
test_update_long_name_cut_at_character(void **state)
{
	char buf[2048];
	size_t n;

	(void)state;
	n = (size_t)snprintf(
	    buf, sizeof(buf),
	    "{\"update_id\": 1, \"message\": {\"message_id\": 1, \"chat\": {\"id\": "
	    "1}, \"from\": {\"id\": 2, \"first_name\": \"");
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "ш");
	snprintf(buf + n, sizeof(buf) - n, "\"}}}");
	assert_int_equal(parse(buf), 0);
	assert_true(strlen(u.first_name) < sizeof(u.first_name));
	assert_int_equal(strlen(u.first_name) % 2, 0);
	assert_true(utf8_valid(u.first_name, strlen(u.first_name)));
}

/* Counts printf conversions (%s, %lld, ...), not "%%". */
static int
conversions(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++) {
		if (*s != '%')
			continue;
		if (s[1] == '%')
			s++;
		else
			n++;
	}
	return n;
}

static void
test_catalogue_complete_in_both_languages(void **state)
{
	(void)state;
	for (int id = 0; id < BOTMSG__MAX; id++) {
		const char *uz = botmsg((enum botmsg)id, "uz"), *ru = botmsg((enum botmsg)id, "ru");
		if (*uz == '\0' || *ru == '\0')
			fail_msg("message %d is missing a language", id);
		if (conversions(uz) != conversions(ru))
			fail_msg("message %d: the languages take different arguments", id);
		if (!utf8_valid(uz, strlen(uz)) || !utf8_valid(ru, strlen(ru)))
			fail_msg("message %d is not UTF-8", id);
	}
	assert_string_equal(botmsg(B_MENU, "ru"), "🍽 Меню");
	assert_string_equal(botmsg(B_MENU, "en"), "🍽 Menyu");
	assert_string_equal(botmsg(B_MENU, NULL), "🍽 Menyu");
	assert_string_equal(botmsg(BOTMSG__MAX, "uz"), "");
}

static void
test_catalogue_buttons_and_money(void **state)
{
	char out[32];

	(void)state;
	assert_int_equal(botmsg_button("🛒 Savat"), B_CART);
	assert_int_equal(botmsg_button("🛒 Корзина"), B_CART);
	assert_int_equal(botmsg_button("Savat"), BOTMSG__MAX);
	assert_int_equal(botmsg_button(NULL), BOTMSG__MAX);
	botmsg_money(0, out, sizeof(out));
	assert_string_equal(out, "0");
	botmsg_money(999, out, sizeof(out));
	assert_string_equal(out, "999");
	botmsg_money(45000, out, sizeof(out));
	assert_string_equal(out, "45 000");
	botmsg_money(1234567, out, sizeof(out));
	assert_string_equal(out, "1 234 567");
	botmsg_money(-5000, out, sizeof(out));
	assert_string_equal(out, "-5 000");
	botmsg_money(INT64_MIN, out, sizeof(out));
	assert_string_equal(out, "-9 223 372 036 854 775 808");
}

static void
input_ok(struct order_input *in)
{
	memset(in, 0, sizeof(*in));
	in->nitems = 1;
	parse_oid("65a000000000000000000001", &in->items[0].product);
	in->items[0].quantity = 2;
	in->order_type = "pickup";
	in->payment_method = "cash";
	parse_oid("65a000000000000000000002", &in->branch);
}

static void
expect_refused(const struct order_input *in, int status, const char *word)
{
	struct order_result res;

	memset(&res, 0, sizeof(res));
	assert_int_equal(order_input_check(in, &res), -1);
	assert_int_equal(res.status, status);
	assert_int_equal(res.reason, ORDER_INVALID);
	if (strstr(res.message, word) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", res.message, word);
}

static void
test_order_input_check(void **state)
{
	struct order_input in;
	struct order_result res;

	(void)state;
	input_ok(&in);
	memset(&res, 0, sizeof(res));
	assert_int_equal(order_input_check(&in, &res), 0);
	in.nitems = 0;
	expect_refused(&in, 422, "items");
	input_ok(&in);
	in.items[0].quantity = 100;
	expect_refused(&in, 422, "quantity");
	input_ok(&in);
	in.order_type = "takeaway";
	expect_refused(&in, 400, "orderType");
	input_ok(&in);
	in.payment_method = NULL;
	expect_refused(&in, 400, "paymentMethod");
	input_ok(&in);
	in.order_type = "delivery";
	expect_refused(&in, 422, "address or location");
	in.has_location = 1;
	in.lat = 41.3;
	in.lng = 69.2;
	expect_refused(&in, 422, "phone");
	in.phone = "+998 90";
	expect_refused(&in, 422, "phone");
	in.phone = "+998901234567";
	memset(&res, 0, sizeof(res));
	assert_int_equal(order_input_check(&in, &res), 0);
	in.address = "uy";
	expect_refused(&in, 422, "address");
	input_ok(&in);
	in.order_type = "dine_in";
	expect_refused(&in, 422, "tableNumber");
	in.table_number = 1000;
	expect_refused(&in, 422, "tableNumber");
	input_ok(&in);
	in.comment = "\xff";
	expect_refused(&in, 422, "comment");
	input_ok(&in);
	in.idempotency_key = "has space";
	expect_refused(&in, 400, "Idempotency-Key");
}

static void
test_order_input_from_json_agrees(void **state)
{
	static const char body[] = "{\"items\": [{\"productId\": \"65a000000000000000000001\", "
	                           "\"quantity\": 3, \"price\": 45000}], \"orderType\": "
	                           "\"delivery\", \"paymentMethod\": \"payme\", \"branchId\": "
	                           "\"65a000000000000000000002\", \"address\": \"Chilonzor 9\", "
	                           "\"phone\": \"+998901234567\", \"total\": 145000}";
	struct order_input in;
	struct order_result res;
	json_object *o = json_parse(body, sizeof(body) - 1, err, sizeof(err));

	(void)state;
	assert_non_null(o);
	memset(&res, 0, sizeof(res));
	assert_int_equal(order_input_from_json(o, &in, &res), 0);
	assert_int_equal(in.nitems, 1);
	assert_int_equal(in.items[0].quantity, 3);
	assert_true(in.items[0].has_price && in.items[0].price == 45000);
	assert_true(in.has_total && in.total == 145000);
	assert_string_equal(in.payment_method, "payme");
	/* What the parser accepts, the direct check accepts too. */
	assert_int_equal(order_input_check(&in, &res), 0);
	json_object_put(o);
	o = json_parse("{\"items\": [], \"x\": 1}", 21, err, sizeof(err));
	assert_int_equal(order_input_from_json(o, &in, &res), -1);
	assert_int_equal(res.status, 400);
	json_object_put(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_update_message_text),
	    cmocka_unit_test(test_update_contact_location_webapp),
	    cmocka_unit_test(test_update_callback),
	    cmocka_unit_test(test_update_other_kinds_are_not_errors),
	    cmocka_unit_test(test_update_refusals),
	    cmocka_unit_test(test_update_open_tables),
	    cmocka_unit_test(test_update_long_name_cut_at_character),
	    cmocka_unit_test(test_catalogue_complete_in_both_languages),
	    cmocka_unit_test(test_catalogue_buttons_and_money),
	    cmocka_unit_test(test_order_input_check),
	    cmocka_unit_test(test_order_input_from_json_agrees),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
