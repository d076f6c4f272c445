// The menu by category, search as you type, and one dish.
import { useEffect, useState } from "preact/hooks";
import { t, loc, money } from "./i18n.js";
import { add, cart } from "./cart.js";
import { useSig } from "./signal.js";
import { navigate } from "./router.js";
import { useLive } from "./live.js";
import { useApi, Loaded, ProductCard, Photo, Stepper, MainAction, Title } from "./ui.jsx";

const SEARCH_DELAY_MS = 300; // one request per pause in typing, not per key
const SEARCH_MAX = 60;

export function Menu({ categoryId }) {
	const cats = useApi("/categories");
	const [q, setQ] = useState("");
	const [dq, setDq] = useState("");
	useEffect(() => {
		const id = setTimeout(() => setDq(q.trim()), SEARCH_DELAY_MS);
		return () => clearTimeout(id);
	}, [q]);
	const list = (cats.data && cats.data.data) || [];
	const active = categoryId || (list[0] && list[0]._id);
	const products = useApi(!dq && active ? `/categories/${active}/products` : null);
	const found = useApi(dq ? `/products?search=${encodeURIComponent(dq)}&limit=50` : null);
	// Staff changed the catalogue (a dish ran out, a price moved): re-read.
	const reloadAll = () => {
		cats.reload();
		products.reload();
		found.reload();
	};
	useLive("/sub/menu", (first) => !first && reloadAll(), (ev) => ev.event === "menu-updated" && reloadAll());
	return (
		<section>
			<Title>{t("menu")}</Title>
			<form class="search" role="search" onSubmit={(e) => e.preventDefault()}>
				<label for="q">{t("search")}</label>
				<input
					id="q"
					type="search"
					value={q}
					maxLength={SEARCH_MAX}
					autocomplete="off"
					enterkeyhint="search"
					placeholder={t("searchPlaceholder")}
					onInput={(e) => setQ(e.currentTarget.value)}
				/>
			</form>
			{dq ? (
				<Loaded r={found}>
					{() => {
						const items = found.data.data;
						return (
							<div>
								<p class="muted" role="status">
									{items.length ? t("searchResults", { n: found.data.total }) : t("searchNone", { q: dq })}
								</p>
								<ul class="grid" aria-label={t("search")}>
									{items.map((p) => (
										<ProductCard key={p._id} p={p} />
									))}
								</ul>
							</div>
						);
					}}
				</Loaded>
			) : (
				<Loaded r={cats}>
					{() => (
						<div>
							<nav aria-label={t("categories")}>
								<ul class="chips">
									{list.map((c) => (
										<li key={c._id}>
											<a
												class={c._id === active ? "chip on" : "chip"}
												aria-current={c._id === active ? "page" : undefined}
												href={`/shop/category/${c._id}`}
											>
												{loc(c, "name")}
											</a>
										</li>
									))}
								</ul>
							</nav>
							<Loaded r={products}>
								{() => (
									<ul class="grid" aria-label={loc(list.find((c) => c._id === active), "name")}>
										{products.data.data.map((p) => (
											<ProductCard key={p._id} p={p} />
										))}
									</ul>
								)}
							</Loaded>
						</div>
					)}
				</Loaded>
			)}
		</section>
	);
}

export function Product({ id }) {
	const r = useApi(`/products/${id}`);
	useLive("/sub/menu", (first) => !first && r.reload(), (ev) => ev.event === "menu-updated" && r.reload());
	const c = useSig(cart);
	const [qty, setQty] = useState(1);
	const [notes, setNotes] = useState("");
	const [done, setDone] = useState(false);
	const p = r.data && r.data.data;
	const inCart = p ? c.lines.find((l) => l.productId === p._id) : null;
	const orderable = p && p.isAvailable !== false;
	const onAdd = () => {
		if (!orderable) return;
		add(p, qty, notes.trim() || undefined);
		setDone(true);
		navigate("/shop/cart");
	};
	return (
		<section>
			<Loaded r={r}>
				{() => (
					<article class="product">
						<Photo p={p} big />
						<Title>{loc(p, "name")}</Title>
						<p class="price big">{money(p.price)}</p>
						{loc(p, "description") && <p>{loc(p, "description")}</p>}
						{orderable ? (
							<div class="form">
								<div class="field">
									<span class="label" id="qty-label">
										{t("quantity")}
									</span>
									<Stepper name={loc(p, "name")} quantity={qty} onChange={(q) => setQty(Math.max(1, q))} />
								</div>
								<div class="field">
									<label for="notes">{t("notes")}</label>
									<input
										id="notes"
										type="text"
										maxLength={200}
										value={notes}
										placeholder={t("notesPlaceholder")}
										onInput={(e) => setNotes(e.currentTarget.value)}
									/>
								</div>
								{inCart && <p class="muted">{t("inCart", { n: inCart.quantity })}</p>}
								{done && (
									<p class="ok" role="status">
										{t("added")}
									</p>
								)}
							</div>
						) : (
							<p class="notice warn" role="status">
								<span class="badge out">{t("outOfStock")}</span> {t("outOfStockLong")}
							</p>
						)}
					</article>
				)}
			</Loaded>
			<MainAction visible={!!orderable} text={`${t("addToCart")} · ${p ? money(p.price * qty) : ""}`} onClick={onAdd} />
		</section>
	);
}
