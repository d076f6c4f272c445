/*
 * outbox-retry - drains the outbox: Telegram messages and Nchan events
 * that could not leave at once (notify.h) are tried again with backoff,
 * and given up on after OUTBOX_MAX_ATTEMPTS (outbox_dead). Runs every
 * minute from cron (cron/crontab) under a lock, so there is only ever one
 * runner; it stops after about 50 s of passes so that one run rarely
 * makes the next one skip.
 */
#include <stdio.h>
#include <stdlib.h>

#include "oshxona.h"

#define RETRY_BATCH     50 /* items per pass: at 3 s per dead send, a pass ends within minutes */
#define RETRY_BUDGET_MS ((int64_t)50 * 1000) /* no new pass after this */

int
main(void)
{
	mongoc_client_t *client;
	int64_t start, total = 0;
	int n, rc = 0;

	rc = job_start("outbox-retry", &client);
	if (client == NULL)
		return rc;
	start = db_now_ms();
	for (;;) {
		n = outbox_run(client, RETRY_BATCH);
		if (n < 0) {
			rc = 1;
			break;
		}
		total += n;
		if (n == 0 || db_now_ms() - start >= RETRY_BUDGET_MS)
			break;
	}
	if (total > 0)
		log_info("outbox: %lld items delivered", (long long)total);
	job_end(client);
	return rc;
}
