/*
 * test_analytics.c - lib/analytics.c: Tashkent day and hour bucketing at
 * the edges (local midnight is 19:00 UTC), calendar arithmetic, the
 * average's rounding, the revenue rules, and the stored form read back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analytics.h"
#include "oshxona.h"

/* UTC milliseconds of y-m-d h:m:s.ms, computed independently with timegm. */
static int64_t
utc_ms(int y, int mo, int d, int h, int mi, int s, int ms)
{
	struct tm tm = {0};

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm) * 1000 + ms;
}

static void
test_day_valid(void **state)
{
	(void)state;
	assert_true(analytics_day_valid("2026-12-03"));
	assert_true(analytics_day_valid("2024-02-29"));
	assert_true(analytics_day_valid("2000-02-29"));
	assert_true(analytics_day_valid("1970-01-01"));
	assert_false(analytics_day_valid("2026-02-29"));
	assert_false(analytics_day_valid("1900-02-29"));
	assert_false(analytics_day_valid("2026-04-31"));
	assert_false(analytics_day_valid("2026-13-01"));
	assert_false(analytics_day_valid("2026-00-10"));
	assert_false(analytics_day_valid("2026-01-00"));
	assert_false(analytics_day_valid("2026-1-01"));
	assert_false(analytics_day_valid("2026-01-011"));
	assert_false(analytics_day_valid("2026/01/01"));
	assert_false(analytics_day_valid("+026-01-01"));
	assert_false(analytics_day_valid(" 2026-01-01"));
	assert_false(analytics_day_valid("1969-12-31"));
	assert_false(analytics_day_valid(""));
	assert_false(analytics_day_valid(NULL));
}

static void
test_day_of_midnight(void **state)
{
	char day[11];

	(void)state;
	/* 23:59:59.999 in Tashkent is 18:59:59.999 UTC: still that day. */
	analytics_day_of(utc_ms(2026, 11, 3, 18, 59, 59, 999), day);
	assert_string_equal(day, "2026-11-03");
	analytics_day_of(utc_ms(2026, 11, 3, 19, 0, 0, 0), day);
	assert_string_equal(day, "2026-11-04");
	/* The UTC day and the local day differ for five hours each evening. */
	analytics_day_of(utc_ms(2026, 11, 3, 23, 30, 0, 0), day);
	assert_string_equal(day, "2026-11-04");
	analytics_day_of(utc_ms(2026, 12, 31, 19, 0, 0, 0), day);
	assert_string_equal(day, "2027-01-01");
	analytics_day_of(utc_ms(2024, 2, 28, 19, 0, 0, 0), day);
	assert_string_equal(day, "2024-02-29");
	analytics_day_of(utc_ms(2026, 3, 1, 4, 59, 59, 999), day);
	assert_string_equal(day, "2026-03-01");
	analytics_day_of(0, day);
	assert_string_equal(day, "1970-01-01");
}

static void
test_day_arithmetic(void **state)
{
	char day[11];

	(void)state;
	assert_int_equal(analytics_day_add("2026-12-31", 1, day), 0);
	assert_string_equal(day, "2027-01-01");
	assert_int_equal(analytics_day_add("2024-03-01", -1, day), 0);
	assert_string_equal(day, "2024-02-29");
	assert_int_equal(analytics_day_add("2026-03-01", -1, day), 0);
	assert_string_equal(day, "2026-02-28");
	assert_int_equal(analytics_day_add("2026-12-03", -365, day), 0);
	assert_string_equal(day, "2025-12-03");
	assert_int_equal(analytics_day_add("2026-02-30", 1, day), -1);
	assert_int_equal(analytics_day_diff("2026-01-01", "2027-01-01"), 365);
	assert_int_equal(analytics_day_diff("2024-01-01", "2025-01-01"), 366);
	assert_int_equal(analytics_day_diff("2026-12-03", "2026-11-27"), -6);
	assert_true(analytics_day_start_ms("2026-12-01") == utc_ms(2026, 11, 30, 19, 0, 0, 0));
	assert_true(analytics_day_start_ms("1970-01-01") == -5 * 3600 * 1000);
	assert_true(analytics_day_start_ms("2026-12-32") == -1);
	/* Every instant of a day maps back to it, both ends. */
	for (int i = 0; i < 800; i++) {
		char d[11], back[11];
		int64_t start;
		analytics_day_add("2025-06-01", i, d);
		start = analytics_day_start_ms(d);
		analytics_day_of(start, back);
		assert_string_equal(back, d);
		analytics_day_of(start + 86400 * 1000 - 1, back);
		assert_string_equal(back, d);
		analytics_day_of(start - 1, back);
		assert_string_not_equal(back, d);
	}
}

static void
test_avg_rounding(void **state)
{
	(void)state;
	assert_int_equal(analytics_avg(0, 0), 0);
	assert_int_equal(analytics_avg(100, 0), 0);
	assert_int_equal(analytics_avg(10, 4), 3); /* 2.5 -> 3: half up */
	assert_int_equal(analytics_avg(9, 4), 2);  /* 2.25 */
	assert_int_equal(analytics_avg(11, 4), 3); /* 2.75 */
	assert_int_equal(analytics_avg(5, 2), 3);  /* 2.5 */
	assert_int_equal(analytics_avg(7, 2), 4);  /* 3.5 */
	assert_int_equal(analytics_avg(100000, 3), 33333);
	assert_int_equal(analytics_avg(200000, 3), 66667);
}

static bson_oid_t prod_a, prod_b, branch;

/* An order as the orders program stores it (the fields a rollup reads). */
static bson_t *
order(int64_t created, const char *status, const char *type, const char *method, const char *name_a,
      int64_t qty_a, int64_t qty_b)
{
	bson_t *o = bson_new(), items, line;
	int64_t subtotal = 25000 * qty_a + 12000 * qty_b, fee = 0;
	int n = 0;

	BSON_APPEND_OID(o, "_id", &branch);
	BSON_APPEND_OID(o, "branch", &branch);
	BSON_APPEND_ARRAY_BEGIN(o, "items", &items);
	if (qty_a > 0) {
		BSON_APPEND_DOCUMENT_BEGIN(&items, n > 0 ? "1" : "0", &line);
		n++;
		BSON_APPEND_OID(&line, "productId", &prod_a);
		BSON_APPEND_UTF8(&line, "name", name_a);
		BSON_APPEND_UTF8(&line, "nameRu", "Плов");
		BSON_APPEND_INT64(&line, "price", 25000);
		BSON_APPEND_INT64(&line, "quantity", qty_a);
		BSON_APPEND_INT64(&line, "total", 25000 * qty_a);
		bson_append_document_end(&items, &line);
	}
	if (qty_b > 0) {
		BSON_APPEND_DOCUMENT_BEGIN(&items, n > 0 ? "1" : "0", &line);
		n++;
		BSON_APPEND_OID(&line, "productId", &prod_b);
		BSON_APPEND_UTF8(&line, "name", "Somsa");
		BSON_APPEND_UTF8(&line, "nameRu", "Самса");
		BSON_APPEND_INT64(&line, "price", 12000);
		BSON_APPEND_INT32(&line, "quantity", (int32_t)qty_b);
		bson_append_document_end(&items, &line);
	}
	bson_append_array_end(o, &items);
	if (strcmp(type, "delivery") == 0)
		fee = 10000;
	BSON_APPEND_INT64(o, "total", subtotal + fee);
	BSON_APPEND_UTF8(o, "orderType", type);
	BSON_APPEND_UTF8(o, "paymentMethod", method);
	BSON_APPEND_UTF8(o, "status", status);
	BSON_APPEND_DATE_TIME(o, "createdAt", created);
	return o;
}

static void
add(struct analytics_rollup *r, bson_t *o)
{
	assert_int_equal(analytics_add_order(r, o), 0);
	bson_destroy(o);
}

static const struct analytics_product *
find_product(const struct analytics_rollup *r, const bson_oid_t *id)
{
	for (size_t i = 0; i < r->nproducts; i++)
		if (bson_oid_equal(&r->products[i].id, id))
			return &r->products[i];
	fail_msg("product missing");
	return NULL;
}

static void
fill(struct analytics_rollup *r)
{
	int64_t eve = utc_ms(2026, 11, 3, 18, 59, 59, 999); /* 23:59:59.999 local */
	int64_t noon = utc_ms(2026, 11, 3, 7, 0, 0, 0);     /* 12:00 local */

	analytics_rollup_init(r);
	add(r, order(noon, "completed", "pickup", "cash", "Osh", 2, 0));
	add(r, order(noon + 1000, "cancelled", "delivery", "payme", "Osh", 5, 5));
	add(r, order(eve, "preparing", "delivery", "click", "Toʻy oshi", 1, 3));
	add(r, order(noon - 3600 * 1000, "completed", "dine_in", "card", "Old name", 0, 1));
}

static void
test_rollup_rules(void **state)
{
	struct analytics_rollup r;
	const struct analytics_product *a, *b;
	bson_t *bad = BCON_NEW("status", "completed");

	(void)state;
	fill(&r);
	assert_int_equal(r.total_orders, 4);
	assert_int_equal(r.cancelled, 1);
	assert_int_equal(r.completed, 2);
	assert_int_equal(r.open, 1);
	/* 50000 + (25000 + 36000 + 10000) + 12000; the cancelled one is not revenue. */
	assert_int_equal(r.total_revenue, 50000 + 71000 + 12000);
	assert_int_equal(r.hours[12].orders, 2);
	assert_int_equal(r.hours[12].revenue, 50000);
	assert_int_equal(r.hours[23].orders, 1);
	assert_int_equal(r.hours[23].revenue, 71000);
	assert_int_equal(r.hours[11].orders, 1);
	assert_int_equal(r.hours[0].orders, 0);
	assert_int_equal(r.types[0].orders, 2); /* delivery, one cancelled */
	assert_int_equal(r.types[0].revenue, 71000);
	assert_int_equal(r.methods[3].orders, 1); /* payme: cancelled */
	assert_int_equal(r.methods[3].revenue, 0);
	assert_int_equal(r.nproducts, 2);
	a = find_product(&r, &prod_a);
	b = find_product(&r, &prod_b);
	assert_int_equal(a->quantity, 3);
	assert_int_equal(a->revenue, 75000);
	/* The latest order's name, whatever the order the orders came in. */
	assert_string_equal(a->name, "Toʻy oshi");
	assert_int_equal(b->quantity, 4);
	assert_int_equal(b->revenue, 48000);
	assert_string_equal(b->name_ru, "Самса");
	assert_int_equal(analytics_add_order(&r, bad), -1);
	assert_int_equal(r.total_orders, 4);
	bson_destroy(bad);
	analytics_rollup_free(&r);
}

static void
test_stored_form_round_trip(void **state)
{
	struct analytics_rollup r, back;
	bson_t doc = BSON_INITIALIZER;
	bson_iter_t it;

	(void)state;
	fill(&r);
	bson_oid_copy(&branch, &r.branch);
	memcpy(r.day, "2026-11-03", 11);
	analytics_rollup_to_bson(&r, "Chilonzor", 0, 1234, &doc);
	assert_true(bson_iter_init_find(&it, &doc, "_id"));
	{
		char want[64], hex[25];
		bson_oid_to_string(&branch, hex);
		snprintf(want, sizeof(want), "%s:2026-11-03", hex);
		assert_string_equal(bson_iter_utf8(&it, NULL), want);
	}
	assert_string_equal(db_doc_utf8(&doc, "month"), "2026-11");
	assert_int_equal(db_doc_int(&doc, "avgOrderValue", -1), 44333); /* 133000 / 3 */
	analytics_rollup_init(&back);
	/* Two days of the same data merge into doubled counters. */
	assert_int_equal(analytics_add_rollup(&back, &doc), 0);
	assert_int_equal(analytics_add_rollup(&back, &doc), 0);
	assert_int_equal(back.total_orders, 8);
	assert_int_equal(back.total_revenue, 2 * r.total_revenue);
	assert_int_equal(back.cancelled, 2);
	assert_int_equal(back.completed, 4);
	assert_int_equal(back.open, 2);
	for (int h = 0; h < ANALYTICS_HOURS; h++) {
		assert_int_equal(back.hours[h].orders, 2 * r.hours[h].orders);
		assert_int_equal(back.hours[h].revenue, 2 * r.hours[h].revenue);
	}
	for (int i = 0; i < ANALYTICS_NTYPES; i++)
		assert_int_equal(back.types[i].revenue, 2 * r.types[i].revenue);
	for (int i = 0; i < ANALYTICS_NMETHODS; i++)
		assert_int_equal(back.methods[i].orders, 2 * r.methods[i].orders);
	assert_int_equal(back.nproducts, 2);
	assert_int_equal(find_product(&back, &prod_a)->quantity, 6);
	assert_string_equal(find_product(&back, &prod_a)->name, "Toʻy oshi");
	/* Top products: most sold first. */
	qsort(back.products, back.nproducts, sizeof(*back.products), analytics_product_cmp);
	assert_true(bson_oid_equal(&back.products[0].id, &prod_b));
	analytics_rollup_free(&back);
	analytics_rollup_free(&r);
	bson_destroy(&doc);
}

static void
test_product_order_ties(void **state)
{
	struct analytics_product p[3];

	(void)state;
	memset(p, 0, sizeof(p));
	bson_oid_init_from_string(&p[0].id, "000000000000000000000003");
	bson_oid_init_from_string(&p[1].id, "000000000000000000000001");
	bson_oid_init_from_string(&p[2].id, "000000000000000000000002");
	p[0].quantity = p[1].quantity = p[2].quantity = 5;
	p[0].revenue = p[1].revenue = 100;
	p[2].revenue = 200;
	qsort(p, 3, sizeof(p[0]), analytics_product_cmp);
	assert_int_equal(p[0].revenue, 200);
	assert_int_equal(p[1].id.bytes[11], 1);
	assert_int_equal(p[2].id.bytes[11], 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_day_valid),
	    cmocka_unit_test(test_day_of_midnight),
	    cmocka_unit_test(test_day_arithmetic),
	    cmocka_unit_test(test_avg_rounding),
	    cmocka_unit_test(test_rollup_rules),
	    cmocka_unit_test(test_stored_form_round_trip),
	    cmocka_unit_test(test_product_order_ties),
	};

	bson_oid_init_from_string(&prod_a, "65a000000000000000000001");
	bson_oid_init_from_string(&prod_b, "65a000000000000000000002");
	bson_oid_init_from_string(&branch, "65b000000000000000000001");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
