/*
 * analytics.c - Tashkent days and the daily rollup: accumulation of orders
 * (the cron job) and of stored rollups (the read side), with the rules
 * stated in analytics.h. Calendar arithmetic is done on day numbers
 * (days since 1970-01-01, proleptic Gregorian), never through the C
 * library's local time zone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics.h"
#include "oshxona.h"

#define DAY_MS      ((int64_t)86400 * 1000)
#define TASHKENT_MS ((int64_t)5 * 3600 * 1000)

const char *const analytics_types[ANALYTICS_NTYPES] = {"delivery", "pickup", "dine_in"};
const char *const analytics_methods[ANALYTICS_NMETHODS] = {"cash", "card", "click", "payme"};

/* ------------------------------------------------------------- days */

/* Days since 1970-01-01 of y-m-d (Howard Hinnant's days_from_civil). */
static int64_t
analytics_days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
analytics_civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

static int
analytics_days_in_month(int64_t y, int64_t m)
{
	static const int len[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : len[m - 1];
}

/* Parses a valid day into its day number; -1 (and no *out) if invalid. */
static int
analytics_day_number(const char *s, int64_t *out)
{
	int64_t y = 0, m = 0, d = 0;

	if (s == NULL || strlen(s) != ANALYTICS_DAY_LEN || s[4] != '-' || s[7] != '-')
		return -1;
	for (int i = 0; i < ANALYTICS_DAY_LEN; i++) {
		if (i == 4 || i == 7)
			continue;
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (i < 4)
			y = y * 10 + (s[i] - '0');
		else if (i < 7)
			m = m * 10 + (s[i] - '0');
		else
			d = d * 10 + (s[i] - '0');
	}
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > analytics_days_in_month(y, m))
		return -1;
	*out = analytics_days_from_civil(y, m, d);
	return 0;
}

static void
analytics_day_format(int64_t n, char *out)
{
	int64_t y, m, d;

	analytics_civil_from_days(n, &y, &m, &d);
	snprintf(out, ANALYTICS_DAY_LEN + 1, "%04d-%02d-%02d", (int)y, (int)m, (int)d);
}

int
analytics_day_valid(const char *s)
{
	int64_t n;

	return analytics_day_number(s, &n) == 0;
}

void
analytics_day_of(int64_t utc_ms, char *out)
{
	int64_t local = utc_ms + TASHKENT_MS;
	/* Floor division: instants before 1970 stay on the right day. */
	int64_t n = local / DAY_MS - (local % DAY_MS < 0 ? 1 : 0);

	analytics_day_format(n, out);
}

int
analytics_day_add(const char *day, int delta, char *out)
{
	int64_t n;

	if (analytics_day_number(day, &n) != 0)
		return -1;
	analytics_day_format(n + delta, out);
	return 0;
}

int64_t
analytics_day_diff(const char *a, const char *b)
{
	int64_t na = 0, nb = 0;

	analytics_day_number(a, &na);
	analytics_day_number(b, &nb);
	return nb - na;
}

int64_t
analytics_day_start_ms(const char *day)
{
	int64_t n;

	if (analytics_day_number(day, &n) != 0)
		return -1;
	return n * DAY_MS - TASHKENT_MS;
}

int64_t
analytics_avg(int64_t sum, int64_t n)
{
	if (n <= 0)
		return 0;
	/* Half up for the non-negative sums money gives. */
	return (sum + n / 2) / n;
}

/* ----------------------------------------------------------- rollup */

void
analytics_rollup_init(struct analytics_rollup *r)
{
	memset(r, 0, sizeof(*r));
}

void
analytics_rollup_free(struct analytics_rollup *r)
{
	for (size_t i = 0; i < r->nproducts; i++) {
		free(r->products[i].name);
		free(r->products[i].name_ru);
	}
	free(r->products);
	memset(r, 0, sizeof(*r));
}

static int
analytics_index(const char *s, const char *const *table, int n)
{
	for (int i = 0; s != NULL && i < n; i++)
		if (strcmp(s, table[i]) == 0)
			return i;
	return -1;
}

/* The entry for id, made (with empty names) when it is not there yet. */
static struct analytics_product *
analytics_product(struct analytics_rollup *r, const bson_oid_t *id)
{
	struct analytics_product *p;

	for (size_t i = 0; i < r->nproducts; i++)
		if (bson_oid_equal(&r->products[i].id, id))
			return &r->products[i];
	if (r->nproducts == r->capproducts) {
		r->capproducts = r->capproducts ? r->capproducts * 2 : 32;
		r->products = xrealloc(r->products, r->capproducts * sizeof(*r->products));
	}
	p = &r->products[r->nproducts++];
	memset(p, 0, sizeof(*p));
	bson_oid_copy(id, &p->id);
	p->last_ms = INT64_MIN;
	p->name = xstrdup("");
	p->name_ru = xstrdup("");
	return p;
}

/* Takes the names when they are newer than what p holds. */
static void
analytics_product_names(struct analytics_product *p, const char *name, const char *name_ru,
                        int64_t at_ms)
{
	if (at_ms < p->last_ms)
		return;
	p->last_ms = at_ms;
	free(p->name);
	free(p->name_ru);
	p->name = xstrdup(name != NULL ? name : "");
	p->name_ru = xstrdup(name_ru != NULL ? name_ru : "");
}

/* Integer field of the iterator's current value, any BSON number type. */
static int
analytics_iter_int(const bson_iter_t *it, int64_t *out)
{
	if (BSON_ITER_HOLDS_INT32(it) || BSON_ITER_HOLDS_INT64(it)) {
		*out = bson_iter_as_int64(it);
		return 0;
	}
	if (BSON_ITER_HOLDS_DOUBLE(it)) {
		/* Money is integral; a double from another writer is taken whole. */
		*out = (int64_t)bson_iter_double(it);
		return 0;
	}
	return -1;
}

/* One items[] line of an order. */
static void
analytics_add_line(struct analytics_rollup *r, bson_iter_t *line, int64_t at_ms)
{
	const char *name = NULL, *name_ru = NULL;
	int64_t price = 0, quantity = 0;
	bson_oid_t id;
	int has_id = 0;

	while (bson_iter_next(line)) {
		const char *k = bson_iter_key(line);

		if (strcmp(k, "productId") == 0 && BSON_ITER_HOLDS_OID(line)) {
			bson_oid_copy(bson_iter_oid(line), &id);
			has_id = 1;
		} else if (strcmp(k, "name") == 0 && BSON_ITER_HOLDS_UTF8(line)) {
			name = bson_iter_utf8(line, NULL);
		} else if (strcmp(k, "nameRu") == 0 && BSON_ITER_HOLDS_UTF8(line)) {
			name_ru = bson_iter_utf8(line, NULL);
		} else if (strcmp(k, "price") == 0) {
			analytics_iter_int(line, &price);
		} else if (strcmp(k, "quantity") == 0) {
			analytics_iter_int(line, &quantity);
		}
	}
	if (has_id) {
		struct analytics_product *p = analytics_product(r, &id);

		p->quantity += quantity;
		p->revenue += price * quantity;
		analytics_product_names(p, name, name_ru, at_ms);
	}
}

int
analytics_add_order(struct analytics_rollup *r, const bson_t *order)
{
	const char *status = NULL, *type = NULL, *method = NULL;
	int64_t created = 0, total = 0;
	int has_created = 0, has_total = 0, cancelled, t, m;
	struct tashkent_time lt;
	bson_iter_t it, items, line;
	int has_items = 0;

	if (!bson_iter_init(&it, order))
		return -1;
	while (bson_iter_next(&it)) {
		const char *k = bson_iter_key(&it);

		if (strcmp(k, "createdAt") == 0 && BSON_ITER_HOLDS_DATE_TIME(&it)) {
			created = bson_iter_date_time(&it);
			has_created = 1;
		} else if (strcmp(k, "status") == 0 && BSON_ITER_HOLDS_UTF8(&it)) {
			status = bson_iter_utf8(&it, NULL);
		} else if (strcmp(k, "orderType") == 0 && BSON_ITER_HOLDS_UTF8(&it)) {
			type = bson_iter_utf8(&it, NULL);
		} else if (strcmp(k, "paymentMethod") == 0 && BSON_ITER_HOLDS_UTF8(&it)) {
			method = bson_iter_utf8(&it, NULL);
		} else if (strcmp(k, "total") == 0) {
			has_total = analytics_iter_int(&it, &total) == 0;
		} else if (strcmp(k, "items") == 0 && BSON_ITER_HOLDS_ARRAY(&it)) {
			has_items = bson_iter_recurse(&it, &items);
		}
	}
	if (!has_created || status == NULL || !has_total)
		return -1;
	cancelled = strcmp(status, "cancelled") == 0;
	tashkent_time(created, &lt);
	t = analytics_index(type, analytics_types, ANALYTICS_NTYPES);
	m = analytics_index(method, analytics_methods, ANALYTICS_NMETHODS);

	r->total_orders++;
	r->hours[lt.hour].orders++;
	if (t >= 0)
		r->types[t].orders++;
	if (m >= 0)
		r->methods[m].orders++;
	if (cancelled) {
		r->cancelled++;
		return 0;
	}
	if (strcmp(status, "completed") == 0)
		r->completed++;
	else
		r->open++;
	r->total_revenue += total;
	r->hours[lt.hour].revenue += total;
	if (t >= 0)
		r->types[t].revenue += total;
	if (m >= 0)
		r->methods[m].revenue += total;
	while (has_items && bson_iter_next(&items)) {
		if (BSON_ITER_HOLDS_DOCUMENT(&items) && bson_iter_recurse(&items, &line))
			analytics_add_line(r, &line, created);
	}
	return 0;
}

/* ------------------------------------------------------ stored form */

static void
analytics_count_to_bson(bson_t *parent, const char *key, const struct analytics_count *c)
{
	bson_t sub;

	BSON_APPEND_DOCUMENT_BEGIN(parent, key, &sub);
	BSON_APPEND_INT64(&sub, "orders", c->orders);
	BSON_APPEND_INT64(&sub, "revenue", c->revenue);
	bson_append_document_end(parent, &sub);
}

static int
analytics_oid_cmp(const void *a, const void *b)
{
	const struct analytics_product *const *pa = a, *const *pb = b;

	return bson_oid_compare(&(*pa)->id, &(*pb)->id);
}

void
analytics_rollup_to_bson(const struct analytics_rollup *r, const char *branch_name, int final,
                         int64_t computed_ms, bson_t *out)
{
	char hex[25], id[25 + 1 + ANALYTICS_DAY_LEN + 1], month[8], k[24];
	const struct analytics_product **sorted;
	bson_t sub, arr, el, detail = BSON_INITIALIZER;

	bson_oid_to_string(&r->branch, hex);
	snprintf(id, sizeof(id), "%s:%s", hex, r->day);
	snprintf(month, sizeof(month), "%.7s", r->day);
	BSON_APPEND_UTF8(out, "_id", id);
	BSON_APPEND_OID(out, "branch", &r->branch);
	BSON_APPEND_UTF8(out, "branchName", branch_name != NULL ? branch_name : "");
	BSON_APPEND_UTF8(out, "day", r->day);
	BSON_APPEND_UTF8(out, "month", month);
	BSON_APPEND_INT64(out, "totalOrders", r->total_orders);
	BSON_APPEND_INT64(out, "totalRevenue", r->total_revenue);
	BSON_APPEND_INT64(out, "avgOrderValue",
	                  analytics_avg(r->total_revenue, r->total_orders - r->cancelled));
	BSON_APPEND_INT64(out, "completedOrders", r->completed);
	BSON_APPEND_INT64(out, "cancelledOrders", r->cancelled);
	BSON_APPEND_INT64(out, "openOrders", r->open);
	BSON_APPEND_DOCUMENT_BEGIN(&detail, "byOrderType", &sub);
	for (int i = 0; i < ANALYTICS_NTYPES; i++)
		analytics_count_to_bson(&sub, analytics_types[i], &r->types[i]);
	bson_append_document_end(&detail, &sub);
	BSON_APPEND_DOCUMENT_BEGIN(&detail, "byPaymentMethod", &sub);
	for (int i = 0; i < ANALYTICS_NMETHODS; i++)
		analytics_count_to_bson(&sub, analytics_methods[i], &r->methods[i]);
	bson_append_document_end(&detail, &sub);
	BSON_APPEND_ARRAY_BEGIN(&detail, "hours", &arr);
	for (int h = 0; h < ANALYTICS_HOURS; h++) {
		snprintf(k, sizeof(k), "%d", h);
		BSON_APPEND_DOCUMENT_BEGIN(&arr, k, &el);
		BSON_APPEND_INT32(&el, "hour", h);
		BSON_APPEND_INT64(&el, "orders", r->hours[h].orders);
		BSON_APPEND_INT64(&el, "revenue", r->hours[h].revenue);
		bson_append_document_end(&arr, &el);
	}
	bson_append_array_end(&detail, &arr);
	/* Sorted, so that rolling the same orders again writes the same bytes. */
	sorted = xcalloc(r->nproducts + 1, sizeof(*sorted));
	for (size_t i = 0; i < r->nproducts; i++)
		sorted[i] = &r->products[i];
	qsort(sorted, r->nproducts, sizeof(*sorted), analytics_oid_cmp);
	BSON_APPEND_ARRAY_BEGIN(&detail, "products", &arr);
	for (size_t i = 0; i < r->nproducts; i++) {
		snprintf(k, sizeof(k), "%zu", i);
		BSON_APPEND_DOCUMENT_BEGIN(&arr, k, &el);
		BSON_APPEND_OID(&el, "productId", &sorted[i]->id);
		BSON_APPEND_UTF8(&el, "name", sorted[i]->name);
		BSON_APPEND_UTF8(&el, "nameRu", sorted[i]->name_ru);
		BSON_APPEND_INT64(&el, "quantity", sorted[i]->quantity);
		BSON_APPEND_INT64(&el, "revenue", sorted[i]->revenue);
		BSON_APPEND_DATE_TIME(&el, "lastOrderAt", sorted[i]->last_ms);
		bson_append_document_end(&arr, &el);
	}
	bson_append_array_end(&detail, &arr);
	free(sorted);
	/*
	 * FerretDB decodes every value of a document it returns, ~10 µs each:
	 * the ~500 values of the breakdowns, hours and products cost 5 ms a
	 * rollup there, packed as one binary BSON value ~0.5 ms.
	 */
	BSON_APPEND_BINARY(out, "detail", BSON_SUBTYPE_BINARY, bson_get_data(&detail), detail.len);
	bson_destroy(&detail);
	BSON_APPEND_BOOL(out, "final", final != 0);
	BSON_APPEND_DATE_TIME(out, "computedAt", computed_ms);
}

/* Adds {orders, revenue} under it to c. */
static void
analytics_count_add(struct analytics_count *c, bson_iter_t *it)
{
	bson_iter_t sub;
	int64_t v;

	if (!BSON_ITER_HOLDS_DOCUMENT(it) || !bson_iter_recurse(it, &sub))
		return;
	while (bson_iter_next(&sub)) {
		if (analytics_iter_int(&sub, &v) != 0)
			continue;
		if (strcmp(bson_iter_key(&sub), "orders") == 0)
			c->orders += v;
		else if (strcmp(bson_iter_key(&sub), "revenue") == 0)
			c->revenue += v;
	}
}

/* Adds a byOrderType / byPaymentMethod document to the table's counts. */
static void
analytics_counts_add(struct analytics_count *counts, const char *const *names, int n,
                     bson_iter_t *it)
{
	bson_iter_t sub;
	int i;

	if (!BSON_ITER_HOLDS_DOCUMENT(it) || !bson_iter_recurse(it, &sub))
		return;
	while (bson_iter_next(&sub)) {
		i = analytics_index(bson_iter_key(&sub), names, n);
		if (i >= 0)
			analytics_count_add(&counts[i], &sub);
	}
}

static void
analytics_hours_add(struct analytics_rollup *r, bson_iter_t *it)
{
	bson_iter_t arr, el;
	int64_t hour, v;

	if (!BSON_ITER_HOLDS_ARRAY(it) || !bson_iter_recurse(it, &arr))
		return;
	while (bson_iter_next(&arr)) {
		struct analytics_count c = {0, 0};

		if (!BSON_ITER_HOLDS_DOCUMENT(&arr) || !bson_iter_recurse(&arr, &el))
			continue;
		hour = -1;
		while (bson_iter_next(&el)) {
			const char *k = bson_iter_key(&el);

			if (analytics_iter_int(&el, &v) != 0)
				continue;
			if (strcmp(k, "hour") == 0)
				hour = v;
			else if (strcmp(k, "orders") == 0)
				c.orders = v;
			else if (strcmp(k, "revenue") == 0)
				c.revenue = v;
		}
		if (hour >= 0 && hour < ANALYTICS_HOURS) {
			r->hours[hour].orders += c.orders;
			r->hours[hour].revenue += c.revenue;
		}
	}
}

static void
analytics_products_add(struct analytics_rollup *r, bson_iter_t *it)
{
	bson_iter_t arr, el;

	if (!BSON_ITER_HOLDS_ARRAY(it) || !bson_iter_recurse(it, &arr))
		return;
	while (bson_iter_next(&arr)) {
		const char *name = NULL, *name_ru = NULL;
		int64_t quantity = 0, revenue = 0, last = INT64_MIN;
		struct analytics_product *p;
		bson_oid_t id;
		int has_id = 0;

		if (!BSON_ITER_HOLDS_DOCUMENT(&arr) || !bson_iter_recurse(&arr, &el))
			continue;
		while (bson_iter_next(&el)) {
			const char *k = bson_iter_key(&el);

			if (strcmp(k, "productId") == 0 && BSON_ITER_HOLDS_OID(&el)) {
				bson_oid_copy(bson_iter_oid(&el), &id);
				has_id = 1;
			} else if (strcmp(k, "name") == 0 && BSON_ITER_HOLDS_UTF8(&el)) {
				name = bson_iter_utf8(&el, NULL);
			} else if (strcmp(k, "nameRu") == 0 && BSON_ITER_HOLDS_UTF8(&el)) {
				name_ru = bson_iter_utf8(&el, NULL);
			} else if (strcmp(k, "quantity") == 0) {
				analytics_iter_int(&el, &quantity);
			} else if (strcmp(k, "revenue") == 0) {
				analytics_iter_int(&el, &revenue);
			} else if (strcmp(k, "lastOrderAt") == 0 &&
			           BSON_ITER_HOLDS_DATE_TIME(&el)) {
				last = bson_iter_date_time(&el);
			}
		}
		if (!has_id)
			continue;
		p = analytics_product(r, &id);
		p->quantity += quantity;
		p->revenue += revenue;
		analytics_product_names(p, name, name_ru, last);
	}
}

int
analytics_add_rollup(struct analytics_rollup *r, const bson_t *doc)
{
	bson_iter_t it;
	int64_t v;

	if (!bson_iter_init(&it, doc))
		return -1;
	while (bson_iter_next(&it)) {
		const char *k = bson_iter_key(&it);

		if (strcmp(k, "detail") == 0 && BSON_ITER_HOLDS_BINARY(&it)) {
			const uint8_t *data;
			uint32_t len;
			bson_subtype_t sub;
			bson_t inner;

			bson_iter_binary(&it, &sub, &len, &data);
			if (!bson_init_static(&inner, data, len) ||
			    analytics_add_rollup(r, &inner) != 0)
				return -1;
		} else if (strcmp(k, "byOrderType") == 0)
			analytics_counts_add(r->types, analytics_types, ANALYTICS_NTYPES, &it);
		else if (strcmp(k, "byPaymentMethod") == 0)
			analytics_counts_add(r->methods, analytics_methods, ANALYTICS_NMETHODS,
			                     &it);
		else if (strcmp(k, "hours") == 0)
			analytics_hours_add(r, &it);
		else if (strcmp(k, "products") == 0)
			analytics_products_add(r, &it);
		else if (analytics_iter_int(&it, &v) != 0)
			continue;
		else if (strcmp(k, "totalOrders") == 0)
			r->total_orders += v;
		else if (strcmp(k, "totalRevenue") == 0)
			r->total_revenue += v;
		else if (strcmp(k, "completedOrders") == 0)
			r->completed += v;
		else if (strcmp(k, "cancelledOrders") == 0)
			r->cancelled += v;
		else if (strcmp(k, "openOrders") == 0)
			r->open += v;
	}
	return 0;
}

int
analytics_product_cmp(const void *a, const void *b)
{
	const struct analytics_product *pa = a, *pb = b;

	if (pa->quantity != pb->quantity)
		return pa->quantity > pb->quantity ? -1 : 1;
	if (pa->revenue != pb->revenue)
		return pa->revenue > pb->revenue ? -1 : 1;
	return bson_oid_compare(&pa->id, &pb->id);
}
