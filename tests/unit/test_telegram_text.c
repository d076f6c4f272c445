/*
 * test_telegram_text.c - the customer's order status messages from
 * lib/telegram.c (telegram_status_text), and the one telegram_send_message
 * outcome that needs no network: no BOT_TOKEN.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "oshxona.h"

/* Checks telegram_status_text(lang, n, status, msg) == want, freeing it. */
static void
check_text(const char *lang, int64_t n, const char *status, const char *msg, const char *want)
{
	char *got = telegram_status_text(lang, n, status, msg);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void
test_uzbek_every_status(void **state)
{
	(void)state;
	check_text("uz", 1, "pending", NULL,
	           "Buyurtma #1: qabul qilindi, tasdiqlanishi kutilmoqda");
	check_text("uz", 2, "confirmed", NULL, "Buyurtma #2: tasdiqlandi");
	check_text("uz", 17, "preparing", NULL, "Buyurtma #17: tayyorlanmoqda");
	check_text("uz", 3, "ready", NULL, "Buyurtma #3: tayyor");
	check_text("uz", 4, "delivering", NULL, "Buyurtma #4: yetkazib berilmoqda");
	check_text("uz", 5, "completed", NULL, "Buyurtma #5: yakunlandi");
	check_text("uz", 6, "cancelled", NULL, "Buyurtma #6: bekor qilindi");
}

static void
test_russian_every_status(void **state)
{
	(void)state;
	check_text("ru", 1, "pending", NULL, "Заказ №1: принят, ожидает подтверждения");
	check_text("ru", 2, "confirmed", NULL, "Заказ №2: подтверждён");
	check_text("ru", 17, "preparing", NULL, "Заказ №17: готовится");
	check_text("ru", 3, "ready", NULL, "Заказ №3: готов");
	check_text("ru", 4, "delivering", NULL, "Заказ №4: в пути");
	check_text("ru", 5, "completed", NULL, "Заказ №5: выполнен");
	check_text("ru", 6, "cancelled", NULL, "Заказ №6: отменён");
}

static void
test_staff_message_on_new_line(void **state)
{
	(void)state;
	check_text("uz", 17, "cancelled", "Mahsulot tugadi",
	           "Buyurtma #17: bekor qilindi\nMahsulot tugadi");
	check_text("ru", 17, "ready", "Заберите у стойки", "Заказ №17: готов\nЗаберите у стойки");
	/* An empty message is no message: no trailing newline. */
	check_text("uz", 9, "ready", "", "Buyurtma #9: tayyor");
	check_text("ru", 9, "ready", "", "Заказ №9: готов");
}

static void
test_unknown_status_is_shown_raw(void **state)
{
	(void)state;
	check_text("uz", 8, "refunded", NULL, "Buyurtma #8: refunded");
	check_text("ru", 8, "refunded", "x", "Заказ №8: refunded\nx");
	/* Matching is exact: another case is another (unknown) status. */
	check_text("uz", 8, "READY", NULL, "Buyurtma #8: READY");
	check_text("uz", 8, "", NULL, "Buyurtma #8: ");
	check_text("uz", 8, NULL, NULL, "Buyurtma #8: ");
}

static void
test_unknown_language_is_uzbek(void **state)
{
	(void)state;
	check_text("en", 4, "ready", NULL, "Buyurtma #4: tayyor");
	check_text("", 4, "ready", NULL, "Buyurtma #4: tayyor");
	check_text(NULL, 4, "ready", NULL, "Buyurtma #4: tayyor");
	check_text("RU", 4, "ready", NULL, "Buyurtma #4: tayyor");
	check_text("ru-RU", 4, "ready", NULL, "Buyurtma #4: tayyor");
}

static void
test_number_range(void **state)
{
	(void)state;
	check_text("uz", 0, "ready", NULL, "Buyurtma #0: tayyor");
	check_text("ru", INT64_MAX, "ready", NULL, "Заказ №9223372036854775807: готов");
}

static void
test_long_message_whole(void **state)
{
	size_t n = 5000;
	char *msg = malloc(n + 1), *got;
	const char *head = "Buyurtma #1: tayyor\n";

	(void)state;
	assert_non_null(msg);
	memset(msg, 'a', n);
	msg[n] = '\0';
	got = telegram_status_text("uz", 1, "ready", msg);
	assert_int_equal(strlen(got), strlen(head) + n);
	assert_memory_equal(got, head, strlen(head));
	assert_memory_equal(got + strlen(head), msg, n);
	free(got);
	free(msg);
}

static void
test_send_without_token_is_permanent(void **state)
{
	int64_t retry_after = 42;
	char err[128];

	(void)state;
	unsetenv("BOT_TOKEN");
	assert_int_equal(telegram_send_message(1, "hi", &retry_after, err, sizeof(err)),
	                 TELEGRAM_PERMANENT);
	assert_true(retry_after == 0);
	assert_non_null(strstr(err, "BOT_TOKEN"));
	setenv("BOT_TOKEN", "", 1);
	assert_int_equal(telegram_send_message(1, "hi", &retry_after, err, sizeof(err)),
	                 TELEGRAM_PERMANENT);
	/* A token that would change the URL's shape is refused before any request. */
	setenv("BOT_TOKEN", "123:abc/../x", 1);
	assert_int_equal(telegram_send_message(1, "hi", &retry_after, err, sizeof(err)),
	                 TELEGRAM_PERMANENT);
	/* So are an empty text and a text that is not UTF-8. */
	setenv("BOT_TOKEN", "123:abc", 1);
	assert_int_equal(telegram_send_message(1, "", &retry_after, err, sizeof(err)),
	                 TELEGRAM_PERMANENT);
	assert_int_equal(telegram_send_message(1, "\xff\xfe", &retry_after, err, sizeof(err)),
	                 TELEGRAM_PERMANENT);
	assert_int_equal(telegram_send_message(1, NULL, NULL, NULL, 0), TELEGRAM_PERMANENT);
	unsetenv("BOT_TOKEN");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uzbek_every_status),
	    cmocka_unit_test(test_russian_every_status),
	    cmocka_unit_test(test_staff_message_on_new_line),
	    cmocka_unit_test(test_unknown_status_is_shown_raw),
	    cmocka_unit_test(test_unknown_language_is_uzbek),
	    cmocka_unit_test(test_number_range),
	    cmocka_unit_test(test_long_message_whole),
	    cmocka_unit_test(test_send_without_token_is_permanent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
