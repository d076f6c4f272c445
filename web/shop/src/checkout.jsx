// The cart, sign-in and checkout.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, explain, ApiError } from "./api.js";
import { t, loc, money, lang } from "./i18n.js";
import { cart, setQty, setNotes, refresh, clear, loadPrefs, savePrefs, NOTES_MAX } from "./cart.js";
import { useSig } from "./signal.js";
import { navigate } from "./router.js";
import { me, authError, botName, rememberReturn, useLoginWidget } from "./telegram.js";
import { branchState, DAYS } from "./time.js";
import { useApi, Loaded, Photo, Stepper, MainAction, Title } from "./ui.jsx";

/*
 * The cart's products as the API has them now: {id: product} for those
 * found, {id: null} for those gone (404). The snapshot in the cart is
 * replaced, so prices shown are the server's.
 */
function useFresh(lines) {
	const ids = lines.map((l) => l.productId).join(",");
	const [fresh, setFresh] = useState({});
	const [error, setError] = useState(null);
	const [n, setN] = useState(0);
	useEffect(() => {
		if (!ids) return;
		let live = true;
		setError(null);
		Promise.all(
			ids.split(",").map((id) =>
				api(`/products/${id}`).then(
					(r) => [id, r.data],
					(e) => {
						if (e instanceof ApiError && e.status === 404) return [id, null];
						throw e;
					},
				),
			),
		).then(
			(pairs) => {
				if (!live) return;
				const map = Object.fromEntries(pairs);
				setFresh(map);
				refresh(Object.fromEntries(pairs.filter(([, p]) => p)));
			},
			(e) => live && setError(e),
		);
		return () => {
			live = false;
		};
	}, [ids, n]);
	return { fresh, error, reload: () => setN((x) => x + 1) };
}

const orderable = (fresh, l) => fresh[l.productId] !== null && !(fresh[l.productId] && fresh[l.productId].isAvailable === false);

function totals(lines, fresh) {
	let sum = 0;
	let known = true;
	for (const l of lines) {
		const p = fresh[l.productId];
		if (p === undefined) known = false;
		sum += (p ? p.price : l.price || 0) * l.quantity;
	}
	return { sum, known };
}

export function SignIn() {
	const ref = useRef(null);
	const l = useSig(lang);
	const err = useSig(authError);
	const bot = botName();
	useEffect(() => rememberReturn(location.pathname), []);
	useLoginWidget(ref, l);
	return (
		<div class="notice">
			<h2>{t("signInTitle")}</h2>
			<p>{t("signInWhy")}</p>
			{err && (
				<p class="error" role="alert">
					{err.status === 401 ? t("err.signInFailed") : explain(err)}
				</p>
			)}
			{bot && <div class="widget" ref={ref} />}
			{bot && (
				<p>
					<a class="btn" href={`https://t.me/${bot}`} rel="noopener">
						{t("signInOpenBot")}
					</a>
				</p>
			)}
		</div>
	);
}

export function Cart() {
	const c = useSig(cart);
	const user = useSig(me);
	const { fresh, error, reload } = useFresh(c.lines);
	const { sum, known } = totals(c.lines, fresh);
	const blocked = c.lines.some((l) => !orderable(fresh, l));
	const go = () => !blocked && c.lines.length && navigate("/shop/checkout");
	if (!c.lines.length)
		return (
			<section>
				<Title>{t("cart")}</Title>
				<p>{t("cartEmpty")}</p>
				<a class="btn" href="/shop/">
					{t("toMenu")}
				</a>
			</section>
		);
	return (
		<section>
			<Title>{t("cart")}</Title>
			{error && (
				<div class="notice error" role="alert">
					<p>{explain(error)}</p>
					<button type="button" class="btn" onClick={reload}>
						{t("retry")}
					</button>
				</div>
			)}
			<ul class="lines">
				{c.lines.map((l) => {
					const name = loc(l, "name");
					const ok = orderable(fresh, l);
					return (
						<li key={l.productId} class={ok ? "line" : "line out"}>
							<Photo p={l} />
							<div class="line-body">
								<a class="line-name" href={`/shop/product/${l.productId}`}>
									{name}
								</a>
								<span class="muted">
									{money(l.price)} × {l.quantity} = <strong>{money(l.price * l.quantity)}</strong>
								</span>
								{!ok && (
									<p class="error" role="alert">
										{t("unavailableLine")}
									</p>
								)}
								<div class="line-tools">
									<Stepper id={l.productId} name={name} quantity={l.quantity} onChange={(q) => setQty(l.productId, q)} />
									<button type="button" class="link" aria-label={t("removeLabel", { name })} onClick={() => setQty(l.productId, 0)}>
										{t("remove")}
									</button>
								</div>
								<label class="line-label" for={`note-${l.productId}`}>
									{t("comment")}
									<span class="sr-only">: {name}</span>
								</label>
								<input
									id={`note-${l.productId}`}
									class="line-note"
									type="text"
									maxLength={NOTES_MAX}
									value={l.notes || ""}
									placeholder={t("notesPlaceholder")}
									onInput={(e) => setNotes(l.productId, e.currentTarget.value)}
								/>
							</div>
						</li>
					);
				})}
			</ul>
			<p class="total-row">
				<span>{t("subtotal")}</span> <strong id="cart-total">{money(sum)}</strong>
			</p>
			{known && <p class="muted small">{t("priceNow")}</p>}
			{!user && user !== undefined && <SignIn />}
			<MainAction visible={!!user} text={`${t("toCheckout")} · ${money(sum)}`} disabled={blocked || !known} onClick={go} />
		</section>
	);
}

function newKey() {
	const b = new Uint8Array(16);
	crypto.getRandomValues(b);
	return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/*
 * One Idempotency-Key per checkout: kept for the session until an order
 * is placed, so a double tap, a retry after a lost answer or a reload of
 * this page sends the same key and the server answers with the same order.
 */
const KEY = "oshxona.checkout.key";
function checkoutKey() {
	try {
		let k = sessionStorage.getItem(KEY);
		if (!k) sessionStorage.setItem(KEY, (k = newKey()));
		return k;
	} catch {
		return newKey();
	}
}
function dropKey() {
	try {
		sessionStorage.removeItem(KEY);
	} catch {
		/* ignore */
	}
}

function BranchOption({ b, checked, onPick }) {
	const st = branchState(b);
	let when;
	if (st.open) when = t("openNow", { close: st.today.text.close });
	else if (st.next) when = t("opensAt", { day: st.next.inDays === 0 ? t("today") : st.next.inDays === 1 ? t("tomorrow") : t(`days.${DAYS[st.next.wday]}`), open: st.next.open });
	else when = t("closedNow");
	const hours = st.today ? t("hoursToday", { open: st.today.text.open, close: st.today.text.close }) : t("dayOff");
	const id = `branch-${b._id}`;
	return (
		<li class={st.open ? "choice" : "choice closed"}>
			<input type="radio" id={id} name="branch" value={b._id} checked={checked} disabled={!st.open} onChange={() => onPick(b._id)} aria-describedby={`${id}-d`} />
			<label for={id}>
				<strong>{loc(b, "name")}</strong>
				<span id={`${id}-d`} class="choice-d">
					<span class={st.open ? "open" : "closed-text"}>{when}</span> · {hours}
					<br />
					{loc(b, "address")}
				</span>
			</label>
		</li>
	);
}

function Radios({ name, legend, options, value, onPick }) {
	return (
		<fieldset class="radios">
			<legend>{legend}</legend>
			{options.map((o) => (
				<span class="radio" key={o}>
					<input type="radio" id={`${name}-${o}`} name={name} value={o} checked={value === o} onChange={() => onPick(o)} />
					<label for={`${name}-${o}`}>{t(o)}</label>
				</span>
			))}
		</fieldset>
	);
}

export function Checkout() {
	const c = useSig(cart);
	const user = useSig(me);
	const branches = useApi("/branches");
	const { fresh } = useFresh(c.lines);
	const prefs = useRef(loadPrefs()).current;
	const [branchId, setBranch] = useState(prefs.branchId || "");
	const [type, setType] = useState(prefs.orderType || "pickup");
	const [address, setAddress] = useState(prefs.address || "");
	const [where, setWhere] = useState(null);
	const [locating, setLocating] = useState(false);
	const [locErr, setLocErr] = useState(false);
	const [phone, setPhone] = useState(prefs.phone || "");
	const [table, setTable] = useState("");
	const [pay, setPay] = useState(prefs.paymentMethod || "cash");
	const [comment, setComment] = useState("");
	const [busy, setBusy] = useState(false);
	const [err, setErr] = useState(null);
	const sending = useRef(false);
	const errRef = useRef(null);

	const list = (branches.data && branches.data.data) || [];
	const openIds = list.filter((b) => branchState(b).open).map((b) => b._id);
	// The remembered branch if it is open now, else the first open one.
	useEffect(() => {
		if (list.length && !openIds.includes(branchId)) setBranch(openIds[0] || "");
	}, [branches.data]);
	useEffect(() => {
		if (err && errRef.current) errRef.current.focus();
	}, [err]);

	const branch = list.find((b) => b._id === branchId);
	const { sum } = totals(c.lines, fresh);
	const fee = type === "delivery" && branch ? branch.deliveryFee || 0 : 0;
	const belowMin = type === "delivery" && branch && sum < (branch.minOrder || 0);

	if (user === null) return (<section><Title>{t("checkout")}</Title><SignIn /></section>);
	if (!c.lines.length)
		return (
			<section>
				<Title>{t("checkout")}</Title>
				<p>{t("cartEmpty")}</p>
				<a class="btn" href="/shop/">
					{t("toMenu")}
				</a>
			</section>
		);

	const locate = () => {
		if (!navigator.geolocation) return setLocErr(true);
		setLocating(true);
		setLocErr(false);
		navigator.geolocation.getCurrentPosition(
			(pos) => {
				setLocating(false);
				setWhere({ lat: +pos.coords.latitude.toFixed(6), lng: +pos.coords.longitude.toFixed(6) });
			},
			() => {
				setLocating(false);
				setLocErr(true);
			},
			{ enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
		);
	};

	const submit = async () => {
		if (sending.current) return; // a double tap sends once; a retry reuses the key
		setErr(null);
		if (!branchId) return setErr(new ApiError(422, "branch"));
		sending.current = true;
		setBusy(true);
		const body = {
			items: c.lines.map((l) => (l.notes && l.notes.trim() ? { productId: l.productId, quantity: l.quantity, notes: l.notes.trim() } : { productId: l.productId, quantity: l.quantity })),
			orderType: type,
			paymentMethod: pay,
			branchId,
		};
		if (phone.trim()) body.phone = phone.replace(/[\s()-]/g, "");
		if (type === "delivery") {
			if (address.trim()) body.address = address.trim();
			if (where) body.location = where;
		}
		if (type === "dine_in" && table) body.tableNumber = Number(table);
		if (comment.trim()) body.comment = comment.trim();
		try {
			const r = await api("/orders", { method: "POST", body, headers: { "Idempotency-Key": checkoutKey() } });
			dropKey();
			savePrefs({ branchId, orderType: type, address, phone, paymentMethod: pay });
			clear();
			navigate(`/shop/track/${r.data._id}`, { replace: true });
		} catch (e) {
			setErr(e);
		} finally {
			sending.current = false;
			setBusy(false);
		}
	};

	let errText = null;
	if (err) errText = err.message === "branch" ? t("err.branch") : explain(err);
	const unavailable = err && /^Not available now/.test(err.message || "");

	return (
		<section>
			<Title>{t("checkout")}</Title>
			<form class="form" onSubmit={(e) => { e.preventDefault(); submit(); }} noValidate>
				<fieldset class="branches">
					<legend>{t("branch")}</legend>
					<Loaded r={branches}>
						{() => (
							<ul class="choices">
								{list.map((b) => (
									<BranchOption key={b._id} b={b} checked={b._id === branchId} onPick={setBranch} />
								))}
							</ul>
						)}
					</Loaded>
				</fieldset>
				<Radios name="type" legend={t("orderType")} options={["pickup", "delivery", "dine_in"]} value={type} onPick={setType} />
				{type === "delivery" && (
					<div class="group">
						<div class="field">
							<label for="address">{t("address")}</label>
							<textarea id="address" rows={2} maxLength={300} value={address} placeholder={t("addressPlaceholder")} onInput={(e) => setAddress(e.currentTarget.value)} />
						</div>
						<div class="field">
							{where ? (
								<p class="ok">
									{t("locationSet", where)}{" "}
									<button type="button" class="link" onClick={() => setWhere(null)}>
										{t("clearLocation")}
									</button>
								</p>
							) : (
								<button type="button" class="btn" onClick={locate} disabled={locating}>
									{locating ? t("locating") : t("useLocation")}
								</button>
							)}
							{locErr && (
								<p class="error" role="alert">
									{t("locationDenied")}
								</p>
							)}
						</div>
						{branch && <p class="muted">{t("minOrder", { sum: money(branch.minOrder || 0) })}</p>}
						{belowMin && (
							<p class="warn" role="status">
								{t("err.minimum", { sum: money(branch.minOrder) })}
							</p>
						)}
					</div>
				)}
				<div class="field">
					<label for="phone">{t("phone")}</label>
					<input id="phone" type="tel" inputMode="tel" autocomplete="tel" maxLength={20} value={phone} aria-describedby="phone-hint" onInput={(e) => setPhone(e.currentTarget.value)} />
					<span id="phone-hint" class="muted small">
						{t("phoneHint")}
					</span>
				</div>
				{type === "dine_in" && (
					<div class="field">
						<label for="table">{t("table")}</label>
						<input id="table" type="number" inputMode="numeric" min={1} max={999} value={table} onInput={(e) => setTable(e.currentTarget.value)} />
					</div>
				)}
				<Radios name="pay" legend={t("payment")} options={["cash", "card", "click", "payme"]} value={pay} onPick={setPay} />
				<div class="field">
					<label for="comment">{t("comment")}</label>
					<textarea id="comment" rows={2} maxLength={500} value={comment} placeholder={t("commentPlaceholder")} onInput={(e) => setComment(e.currentTarget.value)} />
				</div>
				<div class="summary">
					<p class="total-row">
						<span>{t("subtotal")}</span> <span>{money(sum)}</span>
					</p>
					{fee > 0 && (
						<p class="total-row">
							<span>{t("deliveryFee")}</span> <span>{money(fee)}</span>
						</p>
					)}
					<p class="total-row grand">
						<span>{t("total")}</span> <strong id="checkout-total">{money(sum + fee)}</strong>
					</p>
				</div>
				{errText && (
					<div class="notice error" role="alert" tabIndex={-1} ref={errRef} id="checkout-error">
						<p>{errText}</p>
						{unavailable && (
							<a class="btn" href="/shop/cart">
								{t("cart")}
							</a>
						)}
					</div>
				)}
			</form>
			<MainAction text={busy ? t("placing") : t("placeOrder", { sum: money(sum + fee) })} onClick={submit} busy={busy} disabled={!user} />
		</section>
	);
}
