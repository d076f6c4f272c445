// My orders, and one order tracked live.
import { useCallback, useRef, useState, useEffect } from "preact/hooks";
import { api, explain, isAbort, ApiError } from "./api.js";
import { t, loc, money } from "./i18n.js";
import { useSig } from "./signal.js";
import { me, openExternal, useMainButton } from "./telegram.js";
import { useLive } from "./live.js";
import { dateTime, clock } from "./time.js";
import { useApi, Loaded, Title } from "./ui.jsx";
import { SignIn } from "./checkout.jsx";

const FLOW = ["pending", "confirmed", "preparing", "ready", "delivering", "completed"];
const ONLINE = { payme: "Payme", click: "Click" };

/* An order the customer can still pay online (the pay endpoint decides; this only hides the button). */
export const payable = (o) =>
	!!o && !!ONLINE[o.paymentMethod] && o.status !== "cancelled" && o.paymentStatus !== "paid" && o.paymentStatus !== "refunded";

/* The pay endpoint's refusals a customer can act on. */
function payError(e) {
	if (e instanceof ApiError && e.status === 409) return /paid already/i.test(e.message) ? t("err.paidAlready") : t("err.notPayable");
	if (e instanceof ApiError && e.status === 503) return t("err.payUnavailable");
	return explain(e);
}

function Connection({ state }) {
	return (
		<p class={`conn ${state}`} role="status" data-state={state}>
			<span class="dot" aria-hidden="true" />
			{t(state)}
		</p>
	);
}

export function Orders() {
	const user = useSig(me);
	const r = useApi(user ? "/orders?limit=50" : null);
	// A status change anywhere refreshes the list (after a reconnect too).
	const conn = useLive(user && `/sub/user/${user.id}`, r.reload, (ev) => (ev.event === "status-updated" || ev.event === "payment-updated") && r.reload());
	if (user === null)
		return (
			<section>
				<Title>{t("myOrders")}</Title>
				<SignIn />
			</section>
		);
	return (
		<section>
			<Title>{t("myOrders")}</Title>
			<Connection state={conn} />
			<Loaded r={r}>
				{() =>
					r.data.data.length ? (
						<ul class="orders">
							{r.data.data.map((o) => (
								<li key={o._id}>
									<a class="order-link" href={`/shop/track/${o._id}`}>
										<strong>{t("orderNo", { n: o.number })}</strong>
										<span class={`status s-${o.status}`}>{t(`st.${o.status}`)}</span>
										{payable(o) && <span class="status s-unpaid">{t("awaitingPayment")}</span>}
										<span class="muted">{dateTime(o.createdAt)}</span>
										<span>{money(o.total)}</span>
									</a>
								</li>
							))}
						</ul>
					) : (
						<p>{t("noOrders")}</p>
					)
				}
			</Loaded>
		</section>
	);
}

/*
 * One order, live: the channel's events say when something changed; the
 * order itself is always re-read from the API (on every (re)connect and
 * every event), so the page shows the database's truth, not a replay.
 */
export function Track({ id }) {
	const user = useSig(me);
	const [order, setOrder] = useState(null);
	const [error, setError] = useState(null);
	const [cancelling, setCancelling] = useState(false);
	const seq = useRef(0);
	const load = useCallback(() => {
		const n = ++seq.current;
		api(`/orders/${id}`).then(
			(r) => {
				// Only the newest read wins: answers can overtake each other.
				if (n === seq.current) {
					setOrder(r.data);
					setError(null);
				}
			},
			(e) => !isAbort(e) && n === seq.current && setError(e),
		);
	}, [id]);
	useEffect(() => {
		setOrder(null);
		if (user) load();
	}, [id, user]);
	const onEvent = (ev) => {
		const d = ev.data || {};
		if ((ev.event !== "status-updated" && ev.event !== "payment-updated") || d.orderId !== id) return;
		// Show the news at once; the re-read brings its time and history.
		setOrder((o) =>
			o ? { ...o, ...(d.status ? { status: d.status } : {}), ...(d.paymentStatus ? { paymentStatus: d.paymentStatus } : {}) } : o,
		);
		load();
	};
	const conn = useLive(user && `/sub/user/${user.id}`, load, onEvent);
	const branches = useApi(user ? "/branches" : null);

	// Pay online: the server builds the provider's link for its own total.
	const [paying, setPaying] = useState(false);
	const [payMsg, setPayMsg] = useState(null);
	const canPay = payable(order);
	const provider = order && ONLINE[order.paymentMethod];
	const pay = async () => {
		if (paying || !canPay) return;
		setPaying(true);
		setPayMsg(null);
		try {
			const r = await api(`/orders/${id}/pay?provider=${order.paymentMethod}`);
			openExternal(r.data.url);
			setPayMsg({ ok: true, text: t("payOpened", { p: provider }) });
		} catch (e) {
			if (isAbort(e)) return;
			setPayMsg({ ok: false, text: payError(e) });
			if (e instanceof ApiError && e.status === 409) load();
		} finally {
			setPaying(false);
		}
	};
	const payLabel = canPay ? t("payWith", { p: provider, sum: money(order.total) }) : "";
	// In Telegram the pay action is the main button; elsewhere the page's own.
	const inTelegram = useMainButton({ text: paying ? t("paying") : payLabel, onClick: pay, busy: paying, disabled: paying, visible: canPay });

	if (user === null)
		return (
			<section>
				<SignIn />
			</section>
		);
	if (error && !order)
		return (
			<section>
				<div class="notice error" role="alert">
					<p>{explain(error)}</p>
					<button type="button" class="btn" onClick={load}>
						{t("retry")}
					</button>
				</div>
			</section>
		);
	if (!order)
		return (
			<section>
				<p class="muted" role="status">
					{t("loading")}
				</p>
			</section>
		);

	const branch = branches.data && branches.data.data.find((b) => b._id === order.branch);
	const history = order.statusHistory || [];
	const at = {};
	for (const h of history) at[h.status] = h.timestamp;
	const steps = FLOW.filter((s) => s !== "delivering" || order.orderType === "delivery");
	const cancel = async () => {
		if (!window.confirm(t("cancelConfirm"))) return;
		setCancelling(true);
		try {
			setOrder((await api(`/orders/${id}/status`, { method: "PUT", body: { status: "cancelled" } })).data);
		} catch (e) {
			setError(e);
		} finally {
			setCancelling(false);
		}
	};
	return (
		<section class="track">
			<Title>{t("orderNo", { n: order.number })}</Title>
			<Connection state={conn} />
			<p class="now" aria-live="polite" id="order-status" data-status={order.status}>
				{t("statusNow", { status: t(`st.${order.status}`) })}
			</p>
			{ONLINE[order.paymentMethod] && (
				<p id="payment-status" class={`pay-state p-${order.paymentStatus || "pending"}`} data-payment={order.paymentStatus || "pending"} aria-live="polite">
					{t("payNow", { state: t(`pay.${order.paymentStatus || "pending"}`) })}
				</p>
			)}
			{canPay && !inTelegram && (
				<button type="button" class="btn primary wide pay" id="pay" data-provider={order.paymentMethod} onClick={pay} disabled={paying}>
					{paying ? t("paying") : payLabel}
				</button>
			)}
			{payMsg && (canPay || !payMsg.ok) && (
				<p class={`pay-note ${payMsg.ok ? "muted small" : "error"}`} role={payMsg.ok ? "status" : "alert"}>
					{payMsg.text}
				</p>
			)}
			<ol class="steps">
				{(order.status === "cancelled" ? history.map((h) => h.status) : steps).map((s) => (
					<li key={s} class={at[s] ? (s === order.status ? "step-now" : "step-done") : "step-todo"} data-step={s}>
						<span class="step-name">{t(`st.${s}`)}</span>
						{at[s] && <time dateTime={at[s]}>{clock(at[s])}</time>}
					</li>
				))}
			</ol>
			{history.length > 0 && history[history.length - 1].message && <p class="muted">{history[history.length - 1].message}</p>}
			{error && (
				<p class="error" role="alert">
					{explain(error)}
				</p>
			)}
			<h2>{t("items")}</h2>
			<ul class="lines compact">
				{order.items.map((l, i) => (
					<li key={i} class="line">
						<span>
							{loc(l, "name")} × {l.quantity}
							{l.notes && <span class="muted"> — {l.notes}</span>}
						</span>
						<span>{money(l.total)}</span>
					</li>
				))}
			</ul>
			{order.deliveryFee > 0 && (
				<p class="total-row">
					<span>{t("deliveryFee")}</span> <span>{money(order.deliveryFee)}</span>
				</p>
			)}
			<p class="total-row grand">
				<span>{t("total")}</span> <strong>{money(order.total)}</strong>
			</p>
			<p class="muted small">
				{t(order.orderType)} · {t(order.paymentMethod)} · {dateTime(order.createdAt)}
			</p>
			{branch && (
				<p class="small">
					{t("branchLine", { name: loc(branch, "name") })}
					{branch.phone && (
						<>
							{" · "}
							<a href={`tel:${branch.phone.replace(/[^+\d]/g, "")}`}>{t("call", { phone: branch.phone })}</a>
						</>
					)}
				</p>
			)}
			{order.status === "pending" && (
				<button type="button" class="btn" onClick={cancel} disabled={cancelling}>
					{t("cancelOrder")}
				</button>
			)}
		</section>
	);
}
