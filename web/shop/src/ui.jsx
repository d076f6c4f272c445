// Small pieces every page uses.
import { useEffect, useState } from "preact/hooks";
import { api, explain, isAbort } from "./api.js";
import { t, loc, money } from "./i18n.js";
import { cart, add, setQty, QTY_MAX } from "./cart.js";
import { useSig } from "./signal.js";
import { useMainButton } from "./telegram.js";

/* GET path (null: nothing to fetch) → {data, error, loading, reload}. */
export function useApi(path) {
	const [s, setS] = useState({ data: null, error: null, loading: !!path, path });
	const [n, setN] = useState(0);
	useEffect(() => {
		if (!path) {
			setS({ data: null, error: null, loading: false, path });
			return;
		}
		const ctl = new AbortController();
		setS((p) => ({ data: p.path === path ? p.data : null, error: null, loading: true, path }));
		api(path, { signal: ctl.signal }).then(
			(data) => setS({ data, error: null, loading: false, path }),
			(error) => {
				if (!isAbort(error)) setS({ data: null, error, loading: false, path });
			},
		);
		return () => ctl.abort();
	}, [path, n]);
	return { ...s, reload: () => setN((x) => x + 1) };
}

/* The loading and error states of a useApi result; children when there is data. */
export function Loaded({ r, children }) {
	if (r.error)
		return (
			<div class="notice error" role="alert">
				<p>{explain(r.error)}</p>
				<button type="button" class="btn" onClick={r.reload}>
					{t("retry")}
				</button>
			</div>
		);
	if (!r.data)
		return (
			<p class="muted" role="status">
				{t("loading")}
			</p>
		);
	return children();
}

export function imageUrl(p) {
	const i = p && p.image;
	const u = typeof i === "string" ? i : i && i.url;
	return u && /^(https:\/\/|\/media\/)/.test(u) ? u : null;
}

/* A dish's photo, or its initial on a tinted square when it has none. */
export function Photo({ p, big = false }) {
	const src = imageUrl(p);
	const name = loc(p, "name");
	if (src)
		return (
			<img
				class={big ? "photo big" : "photo"}
				src={src}
				alt={name}
				loading={big ? "eager" : "lazy"}
				decoding="async"
				width={big ? 800 : 320}
				height={big ? 600 : 240}
			/>
		);
	return (
		<div class={big ? "photo big none" : "photo none"} aria-hidden="true">
			<span>{(name || "?").slice(0, 1)}</span>
		</div>
	);
}

export function Stepper({ id, name, quantity, onChange }) {
	return (
		<div class="stepper" role="group" aria-label={`${t("quantity")}: ${name}`}>
			<button type="button" class="step" aria-label={t("less", { name })} onClick={() => onChange(quantity - 1)}>
				−
			</button>
			<output class="qty" aria-live="polite" id={id ? `qty-${id}` : undefined}>
				{quantity}
			</output>
			<button
				type="button"
				class="step"
				aria-label={t("more", { name })}
				disabled={quantity >= QTY_MAX}
				onClick={() => onChange(quantity + 1)}
			>
				+
			</button>
		</div>
	);
}

/* Add to cart, or the quantity already in it; nothing orderable when out of stock. */
export function AddButton({ p }) {
	const c = useSig(cart);
	const name = loc(p, "name");
	if (p.isAvailable === false) return <span class="badge out">{t("outOfStock")}</span>;
	const line = c.lines.find((l) => l.productId === p._id);
	if (line) return <Stepper id={p._id} name={name} quantity={line.quantity} onChange={(q) => setQty(p._id, q)} />;
	return (
		<button type="button" class="btn small" aria-label={`${t("addToCart")}: ${name}`} onClick={() => add(p, 1)}>
			{t("add")}
		</button>
	);
}

export function ProductCard({ p }) {
	return (
		<li class={p.isAvailable === false ? "card out" : "card"}>
			<a class="card-link" href={`/shop/product/${p._id}`}>
				<Photo p={p} />
				<span class="card-name">{loc(p, "name")}</span>
			</a>
			<div class="card-foot">
				<span class="price">{money(p.price)}</span>
				<AddButton p={p} />
			</div>
		</li>
	);
}

/*
 * The page's primary action: Telegram's main button inside the Mini App,
 * an ordinary button elsewhere.
 */
export function MainAction({ text, onClick, disabled, busy, visible = true }) {
	const native = useMainButton({ text, onClick, disabled, busy, visible });
	if (native || !visible) return null;
	return (
		<div class="main-action">
			<button type="button" class="btn primary wide" onClick={onClick} disabled={disabled || busy} aria-busy={busy ? "true" : "false"}>
				{text}
			</button>
		</div>
	);
}

export function Title({ children }) {
	useEffect(() => {
		document.title = `${children} · Oshxona`;
	});
	return <h1 tabIndex={-1} class="page-title">{children}</h1>;
}
