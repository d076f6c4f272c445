// The cart, kept in localStorage so it survives reloads and the Mini App
// being closed. Lines keep a snapshot of the product only for drawing the
// cart at once on a slow link; prices and availability are re-read from
// the API before they are shown as totals, and the order's total is the
// server's.
import { signal } from "./signal.js";

const KEY = "oshxona.cart.v1";
export const QTY_MAX = 99;
export const LINES_MAX = 50;
export const NOTES_MAX = 200;

function load() {
	try {
		const v = JSON.parse(localStorage.getItem(KEY) || "null");
		if (v && Array.isArray(v.lines)) {
			v.lines = v.lines.filter((l) => l && /^[0-9a-f]{24}$/.test(l.productId) && l.quantity >= 1);
			return v;
		}
	} catch {
		/* a broken entry is an empty cart */
	}
	return { lines: [] };
}

export const cart = signal(load());

function save(next) {
	try {
		localStorage.setItem(KEY, JSON.stringify(next));
	} catch {
		/* private mode: the cart lives for this page only */
	}
	cart.set(next);
}

// Another tab changed the cart.
window.addEventListener("storage", (e) => {
	if (e.key === KEY) cart.set(load());
});

const snap = (p) => ({ name: p.name, nameRu: p.nameRu, price: p.price, image: p.image || null });

export function add(p, quantity = 1, notes) {
	const c = cart.get();
	const lines = c.lines.slice();
	const i = lines.findIndex((l) => l.productId === p._id);
	if (i >= 0) {
		const l = lines[i];
		lines[i] = { ...l, ...snap(p), quantity: Math.min(QTY_MAX, l.quantity + quantity), notes: notes != null ? notes : l.notes };
	} else {
		if (lines.length >= LINES_MAX) return;
		lines.push({ productId: p._id, quantity: Math.min(QTY_MAX, quantity), notes: notes || "", ...snap(p) });
	}
	save({ ...c, lines });
}

export function setQty(id, quantity) {
	const c = cart.get();
	const lines =
		quantity <= 0
			? c.lines.filter((l) => l.productId !== id)
			: c.lines.map((l) => (l.productId === id ? { ...l, quantity: Math.min(QTY_MAX, quantity) } : l));
	save({ ...c, lines });
}

export function setNotes(id, notes) {
	const c = cart.get();
	save({ ...c, lines: c.lines.map((l) => (l.productId === id ? { ...l, notes: notes.slice(0, NOTES_MAX) } : l)) });
}

/* Fresh product data from the API replaces the snapshot. */
export function refresh(products) {
	const c = cart.get();
	const lines = c.lines.map((l) => (products[l.productId] ? { ...l, ...snap(products[l.productId]) } : l));
	save({ ...c, lines });
}

export function clear() {
	save({ lines: [] });
}

export const count = (c) => c.lines.reduce((n, l) => n + l.quantity, 0);

/* The customer's last checkout details, to fill the next one. */
const PREFS = "oshxona.checkout.v1";
export function loadPrefs() {
	try {
		return JSON.parse(localStorage.getItem(PREFS) || "{}") || {};
	} catch {
		return {};
	}
}
export function savePrefs(p) {
	try {
		localStorage.setItem(PREFS, JSON.stringify(p));
	} catch {
		/* ignore */
	}
}
