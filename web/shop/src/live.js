// A live channel (Nchan, EventSource): the customer's /sub/user/{id}, the
// public /sub/menu. Nchan does not resume (client message ids are
// stripped: FACTS.md), so every (re)connect calls onSync(first), which
// re-reads state from the REST API, and only then are events applied. EventSource gives up for good on a non-200
// answer (e.g. the authorizer down): reconnecting is done here, with
// backoff, and at once when the device comes back online or visible.
import { useEffect, useRef, useState } from "preact/hooks";

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000];

export function useLive(path, onSync, onEvent) {
	const [state, setState] = useState("connecting");
	const sync = useRef(onSync);
	const event = useRef(onEvent);
	sync.current = onSync;
	event.current = onEvent;
	useEffect(() => {
		if (!path) return;
		let es = null;
		let timer = null;
		let attempt = 0;
		let stopped = false;
		let first = true;
		const connect = () => {
			clearTimeout(timer);
			if (es) es.close();
			setState("connecting");
			es = new EventSource(path);
			es.onopen = () => {
				attempt = 0;
				setState("live");
				if (sync.current) sync.current(first);
				first = false;
			};
			es.onmessage = (m) => {
				let ev;
				try {
					ev = JSON.parse(m.data);
				} catch {
					return;
				}
				if (ev && ev.event) event.current && event.current(ev);
			};
			es.onerror = () => {
				if (es) es.close();
				es = null;
				if (stopped) return;
				setState("offline");
				const base = BACKOFF_MS[Math.min(attempt++, BACKOFF_MS.length - 1)];
				timer = setTimeout(connect, base * (0.75 + Math.random() * 0.5));
			};
		};
		const now = () => {
			if (!stopped && !document.hidden && (!es || es.readyState === 2)) {
				attempt = 0;
				connect();
			}
		};
		window.addEventListener("online", now);
		document.addEventListener("visibilitychange", now);
		connect();
		return () => {
			stopped = true;
			clearTimeout(timer);
			if (es) es.close();
			window.removeEventListener("online", now);
			document.removeEventListener("visibilitychange", now);
		};
	}, [path]);
	return state;
}
