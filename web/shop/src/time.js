// Asia/Tashkent is UTC+5 all year (no daylight saving), as lib/tashkent.c
// assumes: branch hours and order times are read in it whatever the
// device's own zone.
const OFFSET_MS = 5 * 3600 * 1000;
export const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function local(ms) {
	const d = new Date(ms + OFFSET_MS);
	return { wday: (d.getUTCDay() + 6) % 7, minutes: d.getUTCHours() * 60 + d.getUTCMinutes(), d };
}

function minutes(s) {
	const m = /^(\d{1,2}):(\d{2})$/.exec(s || "");
	if (!m || +m[1] > 24 || +m[2] > 59) return -1;
	return +m[1] * 60 + +m[2];
}

function hoursOf(b, wday) {
	const h = b.workingHours && b.workingHours[DAYS[wday]];
	if (!h) return null;
	const open = minutes(h.open);
	const close = minutes(h.close);
	return open < 0 || close < 0 ? null : { open, close, text: { open: h.open, close: h.close } };
}

/*
 * Whether a branch takes orders now, by the same rule as the server
 * (its open flag, today's hours, or yesterday's when they pass
 * midnight), plus what to tell the customer: today's hours and, when
 * closed, the next opening within a week.
 */
export function branchState(b, ms = Date.now()) {
	const { wday, minutes: now } = local(ms);
	const today = hoursOf(b, wday);
	const yesterday = hoursOf(b, (wday + 6) % 7);
	let open = false;
	if (today && ((today.open < today.close && now >= today.open && now < today.close) || (today.open > today.close && now >= today.open)))
		open = true;
	if (yesterday && yesterday.open > yesterday.close && now < yesterday.close) open = true;
	open = open && b.isOpen !== false;
	let next = null;
	if (!open && b.isOpen !== false) {
		for (let k = 0; k < 7 && !next; k++) {
			const h = hoursOf(b, (wday + k) % 7);
			if (h && (k > 0 || h.open > now)) next = { inDays: k, wday: (wday + k) % 7, open: h.text.open };
		}
	}
	return { open, today, next };
}

const pad = (n) => String(n).padStart(2, "0");

/* "14:05" in Tashkent time. */
export function clock(iso) {
	const ms = Date.parse(iso);
	if (Number.isNaN(ms)) return "";
	const { d } = local(ms);
	return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

/* "03.12.2026 14:05" in Tashkent time. */
export function dateTime(iso) {
	const ms = Date.parse(iso);
	if (Number.isNaN(ms)) return "";
	const { d } = local(ms);
	return `${pad(d.getUTCDate())}.${pad(d.getUTCMonth() + 1)}.${d.getUTCFullYear()} ${clock(iso)}`;
}
