// Telegram: the Mini App (WebApp script, theme, main and back buttons,
// initData sign-in) and, outside Telegram, the Login Widget's return.
import { useEffect, useRef } from "preact/hooks";
import { api } from "./api.js";
import { adoptLang } from "./i18n.js";
import { signal } from "./signal.js";

const TG_SCRIPT = "https://telegram.org/js/telegram-web-app.js";
const WIDGET_SCRIPT = "https://telegram.org/js/telegram-widget.js?22";
const RETURN_KEY = "oshxona.afterLogin";

export const me = signal(undefined); // undefined: asking; null: nobody; else the customer
export const authError = signal(null);
let app = null;

/* The WebApp object when running as a Mini App, else null. */
export const tg = () => app;

/*
 * Telegram opens a Mini App with its launch data in the URL's fragment;
 * the WebApp script keeps it in sessionStorage for reloads. The script is
 * loaded only then: outside Telegram it would cost a slow link a round
 * trip to telegram.org for nothing.
 */
function launchedInTelegram() {
	try {
		if (/(^#|&)tgWebApp(Data|Version|Platform)=/.test(location.hash)) {
			sessionStorage.setItem("oshxona.tg", "1");
			return true;
		}
		return sessionStorage.getItem("oshxona.tg") === "1";
	} catch {
		return false;
	}
}

function loadScript(src, ms) {
	return new Promise((resolve) => {
		const s = document.createElement("script");
		const done = () => {
			clearTimeout(timer);
			resolve();
		};
		const timer = setTimeout(done, ms);
		s.src = src;
		s.async = true;
		s.onload = done;
		s.onerror = done;
		document.head.appendChild(s);
	});
}

/* Telegram's colours as the page's CSS variables (set through the CSSOM, which the CSP allows). */
const THEME = {
	bg_color: "--bg",
	text_color: "--text",
	hint_color: "--hint",
	link_color: "--link",
	button_color: "--accent",
	button_text_color: "--accent-text",
	secondary_bg_color: "--bg2",
};
function applyTheme() {
	const p = (app && app.themeParams) || {};
	const root = document.documentElement.style;
	for (const [k, v] of Object.entries(THEME)) {
		if (/^#[0-9a-f]{3,8}$/i.test(p[k] || "")) root.setProperty(v, p[k]);
	}
}

export async function initTelegram() {
	if (!(window.Telegram && window.Telegram.WebApp) && launchedInTelegram()) await loadScript(TG_SCRIPT, 8000);
	const w = window.Telegram && window.Telegram.WebApp;
	if (!w || !w.initData) return null;
	app = w;
	try {
		w.ready();
		w.expand();
	} catch {
		/* older clients */
	}
	applyTheme();
	if (w.onEvent) w.onEvent("themeChanged", applyTheme);
	document.documentElement.classList.add("tg");
	const u = w.initDataUnsafe && w.initDataUnsafe.user;
	if (u) adoptLang(u.language_code);
	return w;
}

/* Login Widget in redirect mode: Telegram sends the browser back with the signed fields in the query. */
const WIDGET_FIELDS = ["id", "first_name", "last_name", "username", "photo_url", "auth_date", "hash"];
function widgetReturn() {
	const q = new URLSearchParams(location.search);
	if (!q.get("hash") || !q.get("id") || !q.get("auth_date")) return null;
	const w = {};
	for (const k of WIDGET_FIELDS) if (q.has(k)) w[k] = q.get(k);
	return w;
}

export function rememberReturn(path) {
	try {
		sessionStorage.setItem(RETURN_KEY, path);
	} catch {
		/* ignore */
	}
}
function takeReturn() {
	try {
		const p = sessionStorage.getItem(RETURN_KEY);
		sessionStorage.removeItem(RETURN_KEY);
		return p && p.startsWith("/shop/") ? p : null;
	} catch {
		return null;
	}
}

/*
 * Who is here: an existing session first (initData is accepted once, so a
 * reload must not present it again), then the Mini App's initData, then a
 * Login Widget return. Returns the path to go to after a widget sign-in.
 */
export async function signIn() {
	authError.set(null);
	const tgUser = app && app.initDataUnsafe && app.initDataUnsafe.user;
	try {
		const r = await api("/auth/me");
		if (r.kind === "customer" && (!tgUser || r.user.telegramId === tgUser.id)) {
			me.set(r.user);
			return null;
		}
	} catch (e) {
		if (e.status !== 401) {
			authError.set(e);
			me.set(null);
			return null;
		}
	}
	const w = widgetReturn();
	try {
		if (app && app.initData) {
			me.set((await api("/auth/telegram", { method: "POST", body: { initData: app.initData } })).user);
		} else if (w) {
			me.set((await api("/auth/telegram", { method: "POST", body: { widget: w } })).user);
			return takeReturn() || "/shop/";
		} else {
			me.set(null);
		}
	} catch (e) {
		authError.set(e);
		me.set(null);
	}
	return w ? "/shop/" : null;
}

export async function signOut() {
	try {
		await api("/auth/logout", { method: "POST", body: {} });
	} catch {
		/* the cookie may be gone already */
	}
	me.set(null);
}

export function botName() {
	const m = document.querySelector('meta[name="oshxona-bot"]');
	return (m && m.content) || "";
}

/* Mounts Telegram's Login Widget (redirect mode: no callback, so no eval). */
export function useLoginWidget(ref, lang) {
	useEffect(() => {
		const bot = botName();
		const el = ref.current;
		if (!bot || !el || app) return;
		const s = document.createElement("script");
		s.async = true;
		s.src = WIDGET_SCRIPT;
		s.setAttribute("data-telegram-login", bot);
		s.setAttribute("data-size", "large");
		s.setAttribute("data-request-access", "write");
		s.setAttribute("data-lang", lang);
		s.setAttribute("data-auth-url", location.origin + "/shop/login");
		el.appendChild(s);
		return () => {
			el.textContent = "";
		};
	}, [ref, lang]);
}

/*
 * Telegram's main button for the page's primary action; returns true when
 * it is shown, so the page draws its own button only outside Telegram.
 */
export function useMainButton({ text, onClick, disabled = false, busy = false, visible = true }) {
	const handler = useRef(onClick);
	handler.current = onClick;
	useEffect(() => {
		if (!app || !app.MainButton) return;
		const mb = app.MainButton;
		const fire = () => handler.current && handler.current();
		mb.onClick(fire);
		return () => {
			mb.offClick(fire);
			mb.hide();
		};
	}, []);
	useEffect(() => {
		if (!app || !app.MainButton) return;
		const mb = app.MainButton;
		if (!visible) {
			mb.hide();
			return;
		}
		mb.setText(text);
		if (disabled) mb.disable();
		else mb.enable();
		if (busy) mb.showProgress(false);
		else mb.hideProgress();
		mb.show();
	}, [text, disabled, busy, visible]);
	return !!(app && app.MainButton);
}

/* Telegram's back button on every page but the menu. */
export function useBackButton(visible, onBack) {
	const handler = useRef(onBack);
	handler.current = onBack;
	useEffect(() => {
		if (!app || !app.BackButton) return;
		const fire = () => handler.current();
		app.BackButton.onClick(fire);
		return () => app.BackButton.offClick(fire);
	}, []);
	useEffect(() => {
		if (!app || !app.BackButton) return;
		if (visible) app.BackButton.show();
		else app.BackButton.hide();
	}, [visible]);
}

/*
 * Leaves for a page of another site (a payment provider's checkout): in
 * the Mini App through Telegram, which opens it in the browser and keeps
 * the app open to come back to; elsewhere in this tab.
 */
export function openExternal(url) {
	if (app && app.openLink) app.openLink(url);
	else window.location.assign(url);
}
