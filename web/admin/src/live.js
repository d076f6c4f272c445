// The live order board of one branch: the active orders, kept current by
// the branch channel (/sub/branch/{id}, EventSource) and re-read from the
// REST API on every (re)connect. Nchan never replays what a board missed
// (client message ids are stripped on purpose, FACTS.md), so the REST
// re-sync is what makes a reconnect lose nothing.

import { get, qs } from "./api.js";
import { localDay } from "./i18n.js";

const AUTH_CHECK_EVERY = 4; // failed connects between two "am I still signed in?" checks

export const ACTIVE = ["pending", "confirmed", "preparing", "ready", "delivering"];
const PAGE = 100; // the API's largest page
const PAGES_MAX = 5;
// The API lists one Tashkent day unless told (and at most 31): the board
// asks for a week, so an order placed before midnight and still cooking,
// or one forgotten on "ready" for days, stays on it.
const LOOKBACK_DAYS = 7;
const BACKOFF_MIN = 500;
const BACKOFF_MAX = 4000;

// The next status a tap moves an order to (the server's flow).
export function nextStatus(order) {
  switch (order.status) {
    case "pending":
      return "confirmed";
    case "confirmed":
      return "preparing";
    case "preparing":
      return "ready";
    case "ready":
      return order.orderType === "delivery" ? "delivering" : "completed";
    case "delivering":
      return "completed";
    default:
      return null;
  }
}

export class BoardLive {
  // onChange(state) after every change; onNew(orders) for orders that
  // appeared after the board was first loaded (the chime).
  constructor(branchId, onChange, onNew) {
    this.branchId = branchId;
    this.onChange = onChange;
    this.onNew = onNew;
    this.orders = new Map(); // id -> order summary
    this.known = new Set(); // every id this board has shown
    this.loaded = false;
    this.conn = "connecting"; // connecting | syncing | live | offline | denied
    this.es = null;
    this.timer = null;
    this.backoff = BACKOFF_MIN;
    this.epoch = 0; // bumps on stop and reconnect: late answers are dropped
    this.stopped = false;
  }

  start() {
    this.connect();
  }

  stop() {
    this.stopped = true;
    this.epoch++;
    clearTimeout(this.timer);
    if (this.es) this.es.close();
    this.es = null;
  }

  emit() {
    if (!this.stopped) this.onChange(this);
  }

  setConn(c) {
    this.conn = c;
    this.emit();
  }

  connect() {
    if (this.stopped) return;
    const epoch = ++this.epoch;
    this.setConn("connecting");
    const es = new EventSource(`/sub/branch/${this.branchId}`);
    this.es = es;
    es.onopen = () => {
      if (epoch !== this.epoch) return;
      this.backoff = BACKOFF_MIN;
      this.failures = 0;
      this.resync(epoch);
    };
    es.onmessage = (e) => {
      if (epoch !== this.epoch) return;
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      if (msg && (msg.event === "new-order" || msg.event === "order-updated") && msg.data) {
        this.apply([msg.data]);
      }
    };
    // EventSource retries by itself only after some failures and gives up
    // after an HTTP error (a 502 while nginx restarts): every error closes
    // it and a fresh one is opened with backoff, which then re-syncs.
    es.onerror = () => {
      if (epoch !== this.epoch) return;
      es.close();
      this.epoch++;
      this.setConn("offline");
      // A channel refused for an expired session looks like any failure
      // to EventSource: now and then ask the API, whose 401 signs out.
      this.failures = (this.failures || 0) + 1;
      if (this.failures % AUTH_CHECK_EVERY === 0) get("/api/auth/me").catch(() => {});
      clearTimeout(this.timer);
      // Jitter: the tablets of a chain do not all come back at one instant.
      this.timer = setTimeout(() => this.connect(), this.backoff * (0.75 + Math.random() * 0.5));
      this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX);
    };
  }

  // The network or the screen came back: try at once instead of waiting
  // out the backoff.
  retryNow() {
    if (this.stopped || this.conn !== "offline") return;
    clearTimeout(this.timer);
    this.backoff = BACKOFF_MIN;
    this.connect();
  }

  // Reads every active order of the branch, one status at a time (the API
  // filters on one status; the board must see old unfinished orders too).
  async resync(epoch = this.epoch) {
    if (this.conn !== "offline") this.setConn("syncing");
    const startedAt = this.seq();
    try {
      const lists = await Promise.all(ACTIVE.map((status) => this.readStatus(status)));
      if (epoch !== this.epoch) return;
      const fresh = new Map();
      for (const list of lists) for (const o of list) fresh.set(o._id, o);
      // Events that arrived while the lists were read may be newer than
      // what the lists say: keep the higher version of each order.
      for (const [id, o] of this.orders) {
        if (o._seq > startedAt) {
          const f = fresh.get(id);
          if (!f || (f.version ?? 0) < (o.version ?? 0)) fresh.set(id, o);
        }
      }
      const appeared = [];
      for (const [id, o] of fresh) {
        if (!this.known.has(id)) {
          if (this.loaded && o.status === "pending") appeared.push(o);
          this.known.add(id);
        }
      }
      this.orders = fresh;
      this.loaded = true;
      this.conn = this.es && this.es.readyState === 1 ? "live" : this.conn;
      this.emit();
      if (appeared.length) this.onNew(appeared);
    } catch (e) {
      if (epoch !== this.epoch) return;
      if (e.status === 403 || e.status === 401) {
        // Not this staff member's branch (or signed out): stop for good.
        this.error = e;
        this.epoch++;
        if (this.es) this.es.close();
        this.es = null;
        this.setConn("denied");
        return;
      }
      // The API answered badly (nginx restarting): reconnect and retry.
      if (this.es) this.es.onerror();
    }
  }

  // Every order of one status, a page of PAGE at a time (a busy evening
  // can leave more than one page of orders waiting in one column).
  async readStatus(status) {
    const out = [];
    for (let offset = 0; offset < PAGES_MAX * PAGE; offset += PAGE) {
      const p = await get(
        `/api/admin/orders${qs({ branch: this.branchId, status, from: localDay(LOOKBACK_DAYS - 1), to: localDay(0), limit: PAGE, offset })}`,
      );
      out.push(...(p.data || []));
      if (out.length >= (p.total || 0) || !(p.data || []).length) break;
    }
    return out;
  }

  seq() {
    this._seq = (this._seq || 0) + 1;
    return this._seq;
  }

  // Applies order summaries (events or an answer): a version never goes
  // back, finished orders leave the board.
  apply(list) {
    const appeared = [];
    for (const o of list) {
      if (!o || !o._id) continue;
      const cur = this.orders.get(o._id);
      if (cur && (cur.version ?? 0) > (o.version ?? 0)) continue;
      const merged = { ...(cur || {}), ...o, _seq: this.seq() };
      // Finished orders stay in the map (a version never goes back) but
      // no column shows them; the next re-sync drops them.
      this.orders.set(o._id, merged);
      if (!this.known.has(o._id)) {
        this.known.add(o._id);
        if (this.loaded && o.status === "pending") appeared.push(merged);
      }
    }
    this.emit();
    if (appeared.length) this.onNew(appeared);
  }

  columns() {
    const cols = Object.fromEntries(ACTIVE.map((s) => [s, []]));
    for (const o of this.orders.values()) if (cols[o.status]) cols[o.status].push(o);
    for (const s of ACTIVE) cols[s].sort((a, b) => String(a.createdAt).localeCompare(String(b.createdAt)));
    return cols;
  }

  pendingCount() {
    let n = 0;
    for (const o of this.orders.values()) if (o.status === "pending") n++;
    return n;
  }
}
