/*
 * tashkent.c - local time for a chain in Uzbekistan: Asia/Tashkent is
 * UTC+5 all year (no daylight saving since 1992), so a fixed offset is
 * exact and needs no tz database on the host.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "oshxona.h"
#include "valid.h"

#define TASHKENT_OFFSET_S (5 * 3600)

void
tashkent_time(int64_t utc_ms, struct tashkent_time *t)
{
	int64_t s = utc_ms / 1000 - (utc_ms % 1000 < 0 ? 1 : 0);
	time_t local = (time_t)(s + TASHKENT_OFFSET_S);
	struct tm tm;

	gmtime_r(&local, &tm);
	/* strftime: years past 9999 would not fit, and cannot happen here. */
	if (strftime(t->day, sizeof(t->day), "%Y-%m-%d", &tm) == 0)
		t->day[0] = '\0';
	t->hour = tm.tm_hour;
	t->minute = tm.tm_min;
	/* Monday first, as the branches' workingHours keys go. */
	t->wday = (tm.tm_wday + 6) % 7;
}

int
tashkent_is_open(const bson_t *hours, int64_t utc_ms)
{
	static const char *const days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
	struct tashkent_time t;
	bson_iter_t it, day, field;
	int now, open = -1, close = -1;

	tashkent_time(utc_ms, &t);
	now = t.hour * 60 + t.minute;
	for (int back = 0; back < 2; back++) {
		/* back 1: yesterday's hours, for a branch that closes after midnight. */
		const char *key = days[(t.wday + 7 - back) % 7];
		if (!bson_iter_init_find(&it, hours, key) || !BSON_ITER_HOLDS_DOCUMENT(&it) ||
		    !bson_iter_recurse(&it, &day))
			continue;
		open = close = -1;
		while (bson_iter_next(&day)) {
			field = day;
			if (!BSON_ITER_HOLDS_UTF8(&field))
				continue;
			if (strcmp(bson_iter_key(&field), "open") == 0)
				open = valid_hhmm(bson_iter_utf8(&field, NULL), 1);
			else if (strcmp(bson_iter_key(&field), "close") == 0)
				close = valid_hhmm(bson_iter_utf8(&field, NULL), 1);
		}
		if (open < 0 || close < 0)
			continue;
		if (back == 0 &&
		    ((open < close && now >= open && now < close) || (open > close && now >= open)))
			return 1;
		if (back == 1 && open > close && now < close)
			return 1;
	}
	return 0;
}
