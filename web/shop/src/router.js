// History API routes under /shop/ (nginx answers every /shop/ path that is
// not a file with index.html). The URL's fragment stays Telegram's: the Mini
// App's launch data arrives there.
import { signal } from "./signal.js";

export const BASE = "/shop/";

const ROUTES = [
	["menu", /^$/],
	["category", /^category\/([0-9a-f]{24})$/],
	["product", /^product\/([0-9a-f]{24})$/],
	["cart", /^cart$/],
	["checkout", /^checkout$/],
	["orders", /^orders$/],
	["track", /^track\/([0-9a-f]{24})$/],
	["login", /^login$/],
];

function parse(pathname) {
	const rest = pathname.startsWith(BASE) ? pathname.slice(BASE.length).replace(/\/$/, "") : "";
	for (const [name, re] of ROUTES) {
		const m = re.exec(rest);
		if (m) return { name, id: m[1] || null, path: pathname };
	}
	return { name: "notfound", id: null, path: pathname };
}

export const route = signal(parse(location.pathname));
let depth = 0; // pages pushed by this app, for the back button

export function navigate(to, { replace = false } = {}) {
	if (to === location.pathname + location.search) return;
	if (replace) history.replaceState({ depth }, "", to);
	else history.pushState({ depth: ++depth }, "", to);
	route.set(parse(location.pathname));
	window.scrollTo(0, 0);
}

export function back() {
	if (depth > 0) history.back();
	else navigate(BASE, { replace: true });
}

window.addEventListener("popstate", (e) => {
	depth = (e.state && e.state.depth) || 0;
	route.set(parse(location.pathname));
});

/* Same-origin links inside /shop/ move without a page load. */
document.addEventListener("click", (e) => {
	if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
	const a = e.target.closest && e.target.closest("a[href]");
	if (!a || a.target || a.hasAttribute("download") || a.getAttribute("href").startsWith("#")) return;
	const url = new URL(a.href, location.href);
	if (url.origin !== location.origin || !url.pathname.startsWith(BASE)) return;
	e.preventDefault();
	navigate(url.pathname + url.search);
});
