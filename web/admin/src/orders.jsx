// Order actions (next status, cancel), the live board, order details and
// the filtered order list.
import { useEffect, useState } from "preact/hooks";
import { api, get, qs } from "./api.js";
import { t, money, dateTime, timeOnly, localDay, localName } from "./i18n.js";
import { ACTIVE, nextStatus } from "./live.js";
import { Modal, Pager, toast, errorText, useLoad } from "./ui.jsx";

const ALL_STATUSES = ["pending", "confirmed", "preparing", "ready", "delivering", "completed", "cancelled"];

// PUT the status; on 409 (someone else was first, or the flow refuses)
// the server's message is shown and the order re-read: the board shows
// the truth, never the loser's guess.
export async function changeStatus(order, status, message, live) {
  try {
    const r = await api("PUT", `/api/orders/${order._id}/status`, message ? { status, message } : { status });
    if (live && r.data) live.apply([r.data]);
    return r.data;
  } catch (e) {
    if (e.status === 409) {
      toast(`${t("conflict")}: ${e.message}`, "conflict", 10000);
      try {
        const fresh = await get(`/api/orders/${order._id}`);
        if (live && fresh.data) live.apply([fresh.data]);
        if (live) live.resync();
        return fresh.data;
      } catch (e2) {
        if (live) live.resync();
      }
      return null;
    }
    toast(errorText(e), "error");
    return null;
  }
}

function CancelDialog({ order, onClose, onDone }) {
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    if (!reason.trim()) return;
    setBusy(true);
    await onDone(reason.trim());
    setBusy(false);
    onClose();
  };
  return (
    <Modal title={`${t("cancelOrder")} #${order.number}`} onClose={onClose}>
      <form onSubmit={submit} class="stack">
        <label>
          {t("cancelReason")}
          <textarea
            name="reason"
            required
            maxLength={500}
            rows={3}
            value={reason}
            onInput={(e) => setReason(e.currentTarget.value)}
          />
        </label>
        <div class="row end">
          <button type="button" class="btn" onClick={onClose}>
            {t("keep")}
          </button>
          <button type="submit" class="btn danger" disabled={busy || !reason.trim()} data-action="confirm-cancel">
            {t("cancelOrder")}
          </button>
        </div>
      </form>
    </Modal>
  );
}

// The two actions of an active order: one tap to the next status, cancel
// with a reason.
export function OrderActions({ order, live, onChanged }) {
  const [busy, setBusy] = useState(false);
  const [cancelling, setCancelling] = useState(false);
  const next = nextStatus(order);
  if (!next) return null;
  const go = async (status, message) => {
    setBusy(true);
    const r = await changeStatus(order, status, message, live);
    setBusy(false);
    if (onChanged) onChanged(r);
  };
  return (
    <div class="actions">
      <button
        class={`btn primary next to-${next}`}
        disabled={busy}
        data-action="next"
        data-next={next}
        onClick={(e) => {
          e.stopPropagation();
          go(next);
        }}
      >
        {t(`go_${next}`)} ›
      </button>
      <button
        class="btn ghost danger"
        disabled={busy}
        data-action="cancel"
        onClick={(e) => {
          e.stopPropagation();
          setCancelling(true);
        }}
      >
        {t("cancel")}
      </button>
      {cancelling && (
        <CancelDialog order={order} onClose={() => setCancelling(false)} onDone={(reason) => go("cancelled", reason)} />
      )}
    </div>
  );
}

// Whether the money is in: cash and card are paid at the counter or to
// the courier; Payme and Click show the provider's state, which the
// branch channel's order-updated carries (paymentStatus) when a payment
// lands.
export function payState(order) {
  if (order.paymentMethod !== "payme" && order.paymentMethod !== "click") return "cash";
  return ["paid", "cancelled", "refunded"].includes(order.paymentStatus) ? order.paymentStatus : "pending";
}

function PayBadge({ order }) {
  const s = payState(order);
  return (
    <span class={`tag pay pay-${s}`} data-payment={s}>
      {t(`pay_${order.paymentMethod}`)} · {t(`pay_st_${s}`)}
    </span>
  );
}

function minutesAgo(iso) {
  const m = Math.floor((Date.now() - new Date(iso).getTime()) / 60000);
  return m < 1 ? t("justNow") : t("minAgo", { n: m });
}

function OrderCard({ order, live, fresh }) {
  return (
    <article
      class={`card order${fresh ? " fresh" : ""}`}
      data-order-id={order._id}
      data-number={order.number}
      data-status={order.status}
      onClick={() => (location.hash = `#/order/${order._id}`)}
    >
      <header>
        <strong class="num">#{order.number}</strong>
        <span class={`tag type-${order.orderType}`}>
          {t(`type_${order.orderType}`)}
          {order.tableNumber ? ` · ${t("table")} ${order.tableNumber}` : ""}
        </span>
        <time title={dateTime(order.createdAt)}>
          {timeOnly(order.createdAt)} · {minutesAgo(order.createdAt)}
        </time>
      </header>
      <ul class="lines">
        {(order.items || []).map((it, i) => (
          <li key={i}>
            <b>{it.quantity}×</b> {localName(it)}
            {it.notes ? <em> — {it.notes}</em> : null}
          </li>
        ))}
      </ul>
      {order.orderType === "delivery" && order.address ? <p class="muted addr">{order.address}</p> : null}
      <p class="paybadge">
        <PayBadge order={order} />
      </p>
      <footer>
        <span class="total">{money(order.total)}</span>
        <span class="muted">{order.customer && order.customer.firstName}</span>
      </footer>
      <OrderActions order={order} live={live} />
    </article>
  );
}

export function Board({ live, freshIds }) {
  // "5 min ago" on the cards moves on by itself.
  const [, setNow] = useState(0);
  useEffect(() => {
    const h = setInterval(() => setNow(Date.now()), 30000);
    return () => clearInterval(h);
  }, []);
  if (!live) return <p class="empty">{t("noBranches")}</p>;
  if (live.conn === "denied") return <p class="empty error">{t("notYourBranch")}</p>;
  const cols = live.columns();
  return (
    <section class="board" data-branch={live.branchId} aria-label={t("board")}>
      {ACTIVE.map((s) => (
        <div class={`col col-${s}`} key={s} data-column={s}>
          <h2>
            {t(`st_${s}`)} <span class={`count${s === "pending" && cols[s].length ? " hot" : ""}`}>{cols[s].length}</span>
          </h2>
          {cols[s].length === 0 && <p class="empty">{t("emptyColumn")}</p>}
          {cols[s].map((o) => (
            <OrderCard key={o._id} order={o} live={live} fresh={freshIds.has(o._id)} />
          ))}
        </div>
      ))}
      {!live.loaded && <p class="empty">{t("loading")}</p>}
    </section>
  );
}

// ----------------------------------------------------------- details

function mapLinks(loc) {
  if (!loc || typeof loc.lat !== "number" || typeof loc.lng !== "number") return null;
  const { lat, lng } = loc;
  return (
    <span class="maplinks">
      <a href={`https://yandex.uz/maps/?pt=${lng},${lat}&z=17&l=map`} target="_blank" rel="noopener noreferrer">
        Yandex
      </a>{" "}
      ·{" "}
      <a href={`https://www.google.com/maps/search/?api=1&query=${lat},${lng}`} target="_blank" rel="noopener noreferrer">
        Google
      </a>{" "}
      <span class="muted">
        ({lat.toFixed(5)}, {lng.toFixed(5)})
      </span>
    </span>
  );
}

function whoName(id, order, me) {
  if (!id) return "—";
  if (me && id === me.id) return `${t("you")} (${me.name || me.login})`;
  if (order && id === order.user) return `${t("customer")}${order.customer && order.customer.firstName ? ` (${order.customer.firstName})` : ""}`;
  return `${t("staffMember")} ·${String(id).slice(-6)}`;
}

export function OrderDetails({ id, live, me }) {
  const [state, reload] = useLoad(() => get(`/api/orders/${id}`).then((r) => r.data), [id]);
  // A change on the live board (this page or another) re-reads the order.
  const liveVersion = live && live.orders.get(id) ? live.orders.get(id).version : null;
  useEffect(() => {
    if (state.data && liveVersion != null && liveVersion !== state.data.version) reload();
  }, [liveVersion]);
  if (state.loading && !state.data) return <p class="empty">{t("loading")}</p>;
  if (state.error) return <p class="empty error">{errorText(state.error)}</p>;
  const o = state.data;
  return (
    <section class="details" data-order-id={o._id} data-status={o.status}>
      <p>
        <a href="#/board" class="btn ghost">
          ‹ {t("back")}
        </a>
      </p>
      <h1>
        {t("order")} #{o.number} <span class={`tag st-${o.status}`}>{t(`st_${o.status}`)}</span>
      </h1>
      <OrderActions order={o} live={live} onChanged={() => reload()} />
      <div class="grid2">
        <dl class="facts">
          <dt>{t("created")}</dt>
          <dd>{dateTime(o.createdAt)}</dd>
          <dt>{t("orderType")}</dt>
          <dd>
            {t(`type_${o.orderType}`)}
            {o.tableNumber ? ` · ${t("table")} ${o.tableNumber}` : ""}
          </dd>
          <dt>{t("payment")}</dt>
          <dd>
            <PayBadge order={o} />
          </dd>
          <dt>{t("customer")}</dt>
          <dd>{(o.customer && o.customer.firstName) || "—"}</dd>
          {o.phone && (
            <>
              <dt>{t("phone")}</dt>
              <dd>
                <a href={`tel:${o.phone.replace(/\s/g, "")}`}>{o.phone}</a>
              </dd>
            </>
          )}
          {o.address && (
            <>
              <dt>{t("address")}</dt>
              <dd class="address">{o.address}</dd>
            </>
          )}
          {o.location && (
            <>
              <dt>{t("location")}</dt>
              <dd>{mapLinks(o.location)}</dd>
            </>
          )}
          {o.comment && (
            <>
              <dt>{t("comment")}</dt>
              <dd>{o.comment}</dd>
            </>
          )}
        </dl>
        <div>
          <h2>{t("items")}</h2>
          <table class="table items">
            <thead>
              <tr>
                <th>{t("product")}</th>
                <th class="num">{t("qty")}</th>
                <th class="num">{t("price")}</th>
                <th class="num">{t("sum")}</th>
              </tr>
            </thead>
            <tbody>
              {(o.items || []).map((it, i) => (
                <tr key={i}>
                  <td>
                    {localName(it)}
                    {it.notes ? <div class="muted">{it.notes}</div> : null}
                  </td>
                  <td class="num">{it.quantity}</td>
                  <td class="num">{money(it.price)}</td>
                  <td class="num">{money(it.total ?? it.price * it.quantity)}</td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <td colSpan={3}>{t("subtotal")}</td>
                <td class="num">{money(o.subtotal)}</td>
              </tr>
              {o.deliveryFee ? (
                <tr>
                  <td colSpan={3}>{t("deliveryFee")}</td>
                  <td class="num">{money(o.deliveryFee)}</td>
                </tr>
              ) : null}
              <tr class="grand">
                <td colSpan={3}>{t("total")}</td>
                <td class="num">{money(o.total)}</td>
              </tr>
            </tfoot>
          </table>
        </div>
      </div>
      <h2>{t("history")}</h2>
      <table class="table history">
        <thead>
          <tr>
            <th>{t("status")}</th>
            <th>{t("who")}</th>
            <th>{t("when")}</th>
            <th>{t("comment")}</th>
          </tr>
        </thead>
        <tbody>
          {(o.statusHistory || []).map((h, i) => (
            <tr key={i} data-history-status={h.status}>
              <td>{t(`st_${h.status}`)}</td>
              <td>{whoName(h.updatedBy, o, me)}</td>
              <td>{dateTime(h.timestamp)}</td>
              <td>{h.message || ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

// -------------------------------------------------------------- list

const LIST_LIMIT = 20;
const DAY_CHOICES = [1, 7, 30]; // the API lists at most 31 days at once

export function OrdersList({ branches, defaultBranch, isOwner }) {
  const [branch, setBranch] = useState(isOwner ? "" : defaultBranch || "");
  const [status, setStatus] = useState("");
  const [days, setDays] = useState(7);
  const [offset, setOffset] = useState(0);
  const [state] = useLoad(
    () =>
      get(
        `/api/admin/orders${qs({ branch, status, from: localDay(days - 1), to: localDay(0), limit: LIST_LIMIT, offset })}`,
      ),
    [branch, status, days, offset],
  );
  const names = Object.fromEntries(branches.map((b) => [b._id, localName(b)]));
  const filter = (set) => (e) => {
    set(e.currentTarget.value);
    setOffset(0);
  };
  return (
    <section class="orders-list">
      <h1>{t("orders")}</h1>
      <div class="filters">
        <label>
          {t("branch")}
          <select name="branch" value={branch} onChange={filter(setBranch)}>
            {(isOwner || branches.length > 1) && <option value="">{t("allBranches")}</option>}
            {branches.map((b) => (
              <option key={b._id} value={b._id}>
                {localName(b)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("status")}
          <select name="status" value={status} onChange={filter(setStatus)}>
            <option value="">{t("all")}</option>
            {ALL_STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`st_${s}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("days")}
          <select name="days" value={days} onChange={(e) => (setDays(Number(e.currentTarget.value)), setOffset(0))}>
            {DAY_CHOICES.map((d) => (
              <option key={d} value={d}>
                {d === 1 ? t("today") : t("lastDays", { n: d })}
              </option>
            ))}
          </select>
        </label>
      </div>
      {state.error && <p class="empty error">{errorText(state.error)}</p>}
      {state.data && state.data.data.length === 0 && <p class="empty">{t("nothing")}</p>}
      {state.data && state.data.data.length > 0 && (
        <table class="table clickable">
          <thead>
            <tr>
              <th>#</th>
              <th>{t("created")}</th>
              <th>{t("branch")}</th>
              <th>{t("status")}</th>
              <th>{t("customer")}</th>
              <th class="num">{t("total")}</th>
            </tr>
          </thead>
          <tbody>
            {state.data.data.map((o) => (
              <tr key={o._id} data-order-id={o._id} onClick={() => (location.hash = `#/order/${o._id}`)}>
                <td>
                  <a href={`#/order/${o._id}`}>#{o.number}</a>
                </td>
                <td>{dateTime(o.createdAt)}</td>
                <td>{names[o.branch] || "—"}</td>
                <td>
                  <span class={`tag st-${o.status}`}>{t(`st_${o.status}`)}</span>
                </td>
                <td>{(o.customer && o.customer.firstName) || "—"}</td>
                <td class="num">{money(o.total)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {state.data && <Pager total={state.data.total} limit={LIST_LIMIT} offset={state.data.offset} onOffset={setOffset} />}
    </section>
  );
}
