// The Oshxona storefront, also the bot's Telegram Mini App.
import { render } from "preact";
import { useEffect, useRef } from "preact/hooks";
import "./style.css";
import { t, lang, setLang, LANGS } from "./i18n.js";
import { cart, count } from "./cart.js";
import { useSig } from "./signal.js";
import { route, navigate, back, BASE } from "./router.js";
import { me, tg, initTelegram, signIn, signOut, useBackButton } from "./telegram.js";
import { Menu, Product } from "./menu.jsx";
import { Cart, Checkout } from "./checkout.jsx";
import { Orders, Track } from "./orders.jsx";
import { Title } from "./ui.jsx";

function Header() {
	const l = useSig(lang);
	const c = useSig(cart);
	const user = useSig(me);
	const n = count(c);
	return (
		<header class="top">
			<a class="skip" href="#main">
				{l === "ru" ? "К содержанию" : "Asosiy qismga"}
			</a>
			<a class="brand" href={BASE}>
				Oshxona
			</a>
			<nav class="nav" aria-label="Oshxona">
				<a href="/shop/orders">{t("orders")}</a>
				<a href="/shop/cart" class="cart-link" aria-label={`${t("cart")}: ${n}`}>
					{t("cart")}
					{n > 0 && (
						<span class="count" aria-hidden="true">
							{n}
						</span>
					)}
				</a>
			</nav>
			<div class="langs" role="group" aria-label={t("language")}>
				{LANGS.map((x) => (
					<button type="button" key={x.code} lang={x.code} class={l === x.code ? "lang on" : "lang"} aria-pressed={l === x.code ? "true" : "false"} title={x.label} onClick={() => setLang(x.code)}>
						{x.short}
					</button>
				))}
			</div>
			{user && !tg() && (
				<button type="button" class="link out" onClick={signOut}>
					{t("signOut")}
				</button>
			)}
		</header>
	);
}

function Page({ r }) {
	switch (r.name) {
		case "menu":
			return <Menu />;
		case "category":
			return <Menu categoryId={r.id} />;
		case "product":
			return <Product id={r.id} />;
		case "cart":
			return <Cart />;
		case "checkout":
			return <Checkout />;
		case "orders":
			return <Orders />;
		case "track":
			return <Track id={r.id} />;
		case "login":
			return (
				<p class="muted" role="status">
					{t("signingIn")}
				</p>
			);
		default:
			return (
				<section>
					<Title>{t("err.notFound")}</Title>
					<a class="btn" href={BASE}>
						{t("toMenu")}
					</a>
				</section>
			);
	}
}

function App() {
	const r = useSig(route);
	const l = useSig(lang);
	useSig(me);
	const main = useRef(null);
	const first = useRef(true);
	useEffect(() => {
		document.documentElement.lang = l;
	}, [l]);
	// After a move, focus goes to the new page's heading (screen readers
	// hear where they are); not on the first load.
	useEffect(() => {
		if (first.current) {
			first.current = false;
			return;
		}
		const h = main.current && main.current.querySelector("h1");
		if (h) h.focus({ preventScroll: true });
	}, [r.path]);
	useBackButton(r.name !== "menu" && r.name !== "category", back);
	return (
		<div class="app">
			<Header />
			<main id="main" ref={main} tabIndex={-1}>
				<Page r={r} />
			</main>
		</div>
	);
}

async function start() {
	await initTelegram();
	const root = document.getElementById("app");
	root.textContent = ""; // the boot line
	render(<App />, root);
	const next = await signIn();
	if (next) navigate(next, { replace: true });
}

start();
