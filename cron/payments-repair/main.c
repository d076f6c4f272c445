/*
 * payments-repair - finishes what a payment call left half-done: a Payme
 * or Click transaction whose state was claimed (performed, cancelled,
 * refunded) but whose order write failed (the database went away, the
 * program died) is applied to its order and announced
 * (payments_effect_mark in lib/payments.h). Runs every minute from cron
 * under a lock; a mark younger than a minute belongs to a call still
 * running and is left alone.
 */
#include <stdlib.h>

#include "oshxona.h"
#include "payments.h"

#define REPAIR_MIN_AGE_MS ((int64_t)60 * 1000)

int
main(void)
{
	mongoc_client_t *client;
	bson_error_t error;
	int rc, n;
	const char *age = getenv("PAYMENTS_REPAIR_MIN_AGE_MS");
	int64_t min_age = REPAIR_MIN_AGE_MS;

	rc = job_start("payments-repair", &client);
	if (client == NULL)
		return rc;
	/* The tests settle marks at once; nobody else needs to. */
	if (age != NULL && parse_int64(age, 0, REPAIR_MIN_AGE_MS, &min_age) != 0)
		min_age = REPAIR_MIN_AGE_MS;
	n = payments_repair(client, min_age, &error);
	if (n < 0) {
		log_error("payments repair: %s", error.message);
		rc = 1;
	} else if (n > 0) {
		log_info("payments repair: %d orders updated", n);
	}
	job_end(client);
	return rc;
}
