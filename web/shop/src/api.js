// The Oshxona API on the same origin (nginx serves the shop and the API),
// so the session cookie travels and the CSP's connect-src is 'self'.
import { t, money } from "./i18n.js";

const TIMEOUT_MS = 20000; // slow 3G: a cold menu answer can take seconds

export class ApiError extends Error {
	constructor(status, message, body) {
		super(message || `HTTP ${status}`);
		this.status = status; // 0: no answer (network, timeout)
		this.body = body || null;
	}
}

export async function api(path, { method = "GET", body, headers = {}, signal } = {}) {
	const ctl = new AbortController();
	const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
	const onAbort = () => ctl.abort();
	if (signal) signal.addEventListener("abort", onAbort);
	let res;
	try {
		res = await fetch("/api" + path, {
			method,
			credentials: "same-origin",
			headers: {
				Accept: "application/json",
				...(body !== undefined ? { "Content-Type": "application/json" } : {}),
				...headers,
			},
			body: body !== undefined ? JSON.stringify(body) : undefined,
			signal: ctl.signal,
		});
	} catch (e) {
		if (signal && signal.aborted) throw e;
		throw new ApiError(0, e && e.message);
	} finally {
		clearTimeout(timer);
		if (signal) signal.removeEventListener("abort", onAbort);
	}
	let data = null;
	try {
		data = await res.json();
	} catch {
		/* not JSON: judged by the status alone */
	}
	if (!res.ok) {
		const err = new ApiError(res.status, data && data.message, data);
		err.retryAfter = Number(res.headers.get("Retry-After")) || (data && data.retryAfter) || 0;
		throw err;
	}
	return data;
}

export const isAbort = (e) => e && e.name === "AbortError";

/*
 * The server's refusal as a plain sentence in the chosen language. The API
 * answers in English for developers; the storefront recognises the
 * answers a customer can act on (FerretDB-era messages from
 * fcgi-apps/orders) and falls back to a general sentence.
 */
export function explain(err) {
	if (!(err instanceof ApiError)) return t("err.generic");
	const m = err.message || "";
	const s = err.status;
	let x;
	if (s === 0) return t("err.network");
	if (s === 429) return t("err.tooMany", { s: err.retryAfter || 10 });
	if (s === 401) return t("err.signIn");
	if (s === 404) return t("err.notFound");
	if (s >= 500) return t("err.server");
	if ((x = m.match(/^Not available now: (.+)$/))) return t("err.unavailable", { names: x[1] });
	if (/branch is closed/i.test(m)) return t("err.closed");
	if (/names no open branch/i.test(m)) return t("err.noBranch");
	if ((x = m.match(/minimum order for delivery is (\d+)/i))) return t("err.minimum", { sum: money(+x[1]) });
	if (/^The (price of .+|total) is now/.test(m)) return t("err.priceChanged");
	if (/Idempotency-Key is still in progress/.test(m)) return t("err.inProgress");
	if (/^phone/.test(m)) return t("err.phone");
	if (/address or location/.test(m)) return t("err.address");
	if (/tableNumber/.test(m)) return t("err.table");
	return t("err.generic");
}
