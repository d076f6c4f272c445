// My orders, and one order tracked live.
import { useCallback, useRef, useState, useEffect } from "preact/hooks";
import { api, explain, isAbort } from "./api.js";
import { t, loc, money } from "./i18n.js";
import { useSig } from "./signal.js";
import { me } from "./telegram.js";
import { useLive } from "./live.js";
import { dateTime, clock } from "./time.js";
import { useApi, Loaded, Title } from "./ui.jsx";
import { SignIn } from "./checkout.jsx";

const FLOW = ["pending", "confirmed", "preparing", "ready", "delivering", "completed"];

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
	const conn = useLive(user && `/sub/user/${user.id}`, r.reload, (ev) => ev.event === "status-updated" && r.reload());
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
		if (ev.event !== "status-updated" || d.orderId !== id) return;
		// Show the new status at once; the re-read brings its time and history.
		setOrder((o) => (o && d.status ? { ...o, status: d.status } : o));
		load();
	};
	const conn = useLive(user && `/sub/user/${user.id}`, load, onEvent);
	const branches = useApi(user ? "/branches" : null);

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
