/*
 * dbfields.c - the fields that requests filter on by equality, per
 * collection: the other half of db.c's index list.
 *
 * A MongoDB index serves these filters on MongoDB. On FerretDB's
 * PostgreSQL backend (the embedded default) it does not: an equality
 * reaches SQL as (_jsonb->'field') @> value, which FerretDB's own btree
 * indexes cannot serve, so every such query would read the whole table.
 * oshxona-init makes a GIN (jsonb_path_ops) expression index on FerretDB's
 * table for each field below; then a query costs what it matches, not
 * what the collection holds (README.md, "FerretDB notes").
 *
 * Ranges ($gt, $lte), $in and sorts never reach SQL in FerretDB 1.24:
 * every hot query pairs them with at least one field from this list.
 */
#include "oshxona.h"

static const struct db_field db_fields[] = {
    /* order read, status change (with version, checked in FerretDB) */
    {"orders", "_id"},
    /* the customer's list */
    {"orders", "user"},
    /* the branch board: one (branch, local day) per query */
    {"orders", "branch"},
    {"orders", "localDay"},
    {"order_events", "_id"},
    {"order_counters", "_id"},
    {"idempotency_keys", "_id"},
    {"products", "_id"},
    {"products", "categoryId"},
    {"products", "searchPrefixes"},
    {"categories", "_id"},
    {"branches", "_id"},
    {"staff", "_id"},
    {"staff", "login"},
    {"sessions", "_id"},
    {"users", "_id"},
    {"users", "telegramId"},
    {"login_attempts", "key"},
    {"telegram_auth_claims", "_id"},
    {"outbox", "_id"},
    /* payments (lib/payments.c): every lookup is by _id; GetStatement by provider */
    {"payments", "_id"},
    {"payments", "provider"},
    {"payment_claims", "_id"},
    {"payment_effects", "_id"},
    /* analytics: the job's not-final days, the program's months and days */
    {"daily_stats", "_id"},
    {"daily_stats", "month"},
    {"daily_stats", "day"},
    {"daily_stats", "branch"},
    {"daily_stats", "final"},
    {"analytics_state", "_id"},
};

const struct db_field *
db_equality_fields(size_t *n)
{
	*n = sizeof(db_fields) / sizeof(db_fields[0]);
	return db_fields;
}
