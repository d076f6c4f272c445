/*
 * analytics.h - daily rollups of orders per branch and Tashkent day: the
 * pure part shared by the cron job (cron/analytics) that builds them and
 * the program (fcgi-apps/analytics) that reads and merges them. No
 * database calls here, so every rule is unit-tested (tests/unit).
 *
 * Rules, stated once:
 *  - An order belongs to the Asia/Tashkent day and hour of its createdAt.
 *  - totalOrders counts every order placed, cancelled ones included;
 *    revenue (totalRevenue, per type, per payment method, per hour, per
 *    product) counts every order that is not cancelled, open ones included
 *    (they are expected to complete; a later cancellation is picked up).
 *  - avgOrderValue = totalRevenue / revenueOrders rounded half up to whole
 *    so'm (revenueOrders = totalOrders - cancelledOrders), 0 without orders.
 *  - Per product: quantity and revenue (price x quantity of the line, the
 *    delivery fee is not a product's), and the name snapshot of the latest
 *    order that carried it.
 *  - Per hour: orders placed (all) and revenue (not cancelled).
 */
#ifndef OSHXONA_ANALYTICS_H
#define OSHXONA_ANALYTICS_H

#include <stdint.h>

#include <bson/bson.h>

#define ANALYTICS_HOURS    24
#define ANALYTICS_DAY_LEN  10 /* "YYYY-MM-DD" */
#define ANALYTICS_NTYPES   3
#define ANALYTICS_NMETHODS 4
/* A day's orders can arrive until midnight; this long after, it is closed. */
#define ANALYTICS_GRACE_MS ((int64_t)15 * 60 * 1000)

extern const char *const analytics_types[ANALYTICS_NTYPES];     /* delivery pickup dine_in */
extern const char *const analytics_methods[ANALYTICS_NMETHODS]; /* cash card click payme */

/* ------------------------------------------------------------- days */

/* 1 when s is exactly "YYYY-MM-DD" and a real calendar date (1970..9999). */
int analytics_day_valid(const char *s);
/* The local (Tashkent) day holding utc_ms, into out[11]. */
void analytics_day_of(int64_t utc_ms, char *out);
/* out[11] = day + delta days; -1 if day is not valid. */
int analytics_day_add(const char *day, int delta, char *out);
/* Days from a to b (b - a); a and b must be valid. */
int64_t analytics_day_diff(const char *a, const char *b);
/* UTC milliseconds of the day's local midnight; -1 if not valid. */
int64_t analytics_day_start_ms(const char *day);

/* Whole so'm, half up; 0 when n is 0. */
int64_t analytics_avg(int64_t sum, int64_t n);

/* ----------------------------------------------------------- rollup */

struct analytics_count {
	int64_t orders;  /* placed, cancelled included */
	int64_t revenue; /* so'm of the orders not cancelled */
};

struct analytics_product {
	bson_oid_t id;    /* items[].productId */
	char *name;       /* snapshot of the latest order; owned */
	char *name_ru;    /* same; owned, may be "" */
	int64_t last_ms;  /* createdAt of the order the names came from */
	int64_t quantity; /* units sold in orders not cancelled */
	int64_t revenue;  /* price x quantity over those lines */
};

/* One branch and day (or a merge of several); all counters in so'm/units. */
struct analytics_rollup {
	bson_oid_t branch;               /* unset (zero) for a merge */
	char day[ANALYTICS_DAY_LEN + 1]; /* the day, "" for a merge */
	int64_t total_orders;            /* placed */
	int64_t total_revenue;           /* not cancelled */
	int64_t completed;               /* status completed */
	int64_t cancelled;               /* status cancelled */
	int64_t open;                    /* neither: may still change */
	struct analytics_count hours[ANALYTICS_HOURS];
	struct analytics_count types[ANALYTICS_NTYPES];
	struct analytics_count methods[ANALYTICS_NMETHODS];
	struct analytics_product *products; /* owned array */
	size_t nproducts, capproducts;
};

void analytics_rollup_init(struct analytics_rollup *r);
void analytics_rollup_free(struct analytics_rollup *r);

/*
 * Adds one order document (as stored in orders) to r. Returns 0, or -1
 * when the document lacks what every order has (createdAt, status, total),
 * which the caller logs and skips.
 */
int analytics_add_order(struct analytics_rollup *r, const bson_t *order);

/*
 * Adds a stored rollup document (what analytics_rollup_to_bson wrote) to
 * r: the read side's merge of branches and days. -1 when malformed.
 * detail is read packed (binary) or as plain fields.
 */
int analytics_add_rollup(struct analytics_rollup *r, const bson_t *doc);

/*
 * The document stored for r: _id "<branch>:<day>", branch, branchName,
 * day, month, the counters, final, computedAt, and detail: a BSON document
 * {byOrderType, byPaymentMethod, hours (24 entries), products (sorted by
 * productId)} stored as one binary value. Appends to out.
 */
void analytics_rollup_to_bson(const struct analytics_rollup *r, const char *branch_name, int final,
                              int64_t computed_ms, bson_t *out);

/* qsort order of top products: totalSold desc, revenue desc, id asc. */
int analytics_product_cmp(const void *a, const void *b);

#endif /* OSHXONA_ANALYTICS_H */
