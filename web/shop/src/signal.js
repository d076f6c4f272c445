// The smallest observable value: the app's few shared states (language,
// the signed-in user, the cart, the route) without a state library.
import { useEffect, useState } from "preact/hooks";

export function signal(value) {
	const subs = new Set();
	return {
		get: () => value,
		set(next) {
			if (next === value) return;
			value = next;
			subs.forEach((f) => f(value));
		},
		sub(f) {
			subs.add(f);
			return () => subs.delete(f);
		},
	};
}

/* Re-renders the calling component whenever s changes; returns its value. */
export function useSig(s) {
	const [, force] = useState(0);
	useEffect(() => s.sub(() => force((n) => n + 1)), [s]);
	return s.get();
}
