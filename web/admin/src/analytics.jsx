// The owner's dashboard: summary figures, revenue by day, top products and
// the peak-hours heat map, drawn as plain SVG (no chart library: a few
// hundred bytes instead of tens of kilobytes). Reads the analytics API
// (fcgi-apps/analytics, rollups made by cron); a 404 means this server has
// no analytics yet, which the page says instead of drawing empty charts.
import { useState } from "preact/hooks";
import { get, qs } from "./api.js";
import { t, money, num, localDay, localName } from "./i18n.js";
import { errorText, useLoad } from "./ui.jsx";

const BASE = "/api/admin/analytics";
const PERIODS = [7, 14, 30];

const unwrap = (r) => (r && r.data !== undefined ? r.data : r);

function dayList(days) {
  const out = [];
  for (let i = days - 1; i >= 0; i--) out.push(localDay(i));
  return out;
}

// Revenue per day: from the summary when it carries a per-day series,
// else one /daily read per day.
async function revenueByDay(summary, days, branchId) {
  const series = summary && (summary.days || summary.byDay || summary.daily);
  if (Array.isArray(series)) {
    return series.map((d) => ({
      day: d.date || d.day || d.localDay || d._id,
      revenue: Number(d.totalRevenue) || 0,
      orders: Number(d.totalOrders) || 0,
    }));
  }
  const list = dayList(days);
  const answers = await Promise.all(list.map((date) => get(`${BASE}/daily${qs({ date, branchId })}`).then(unwrap)));
  return list.map((day, i) => ({
    day,
    revenue: Number(answers[i] && answers[i].totalRevenue) || 0,
    orders: Number(answers[i] && answers[i].totalOrders) || 0,
  }));
}

async function loadAll(days, branchId) {
  const from = localDay(days - 1);
  const to = localDay(0);
  const summary = unwrap(await get(`${BASE}/summary${qs({ from, to, branchId })}`));
  const [byDay, top, peak] = await Promise.all([
    revenueByDay(summary, days, branchId),
    get(`${BASE}/top-products${qs({ days, limit: 10, branchId })}`).then(unwrap),
    get(`${BASE}/peak-hours${qs({ days, branchId })}`).then(unwrap),
  ]);
  return { summary, byDay, top: normalizeTop(top), peak: normalizePeak(peak) };
}

function normalizeTop(top) {
  const list = Array.isArray(top) ? top : (top && (top.products || top.items)) || [];
  return list.map((x) => ({
    name: (x.product && localName(x.product)) || localName(x) || x.productName || x.name || String(x._id || ""),
    sold: Number(x.totalSold) || 0,
    revenue: Number(x.totalRevenue) || 0,
  }));
}

// Per hour 0..23 (and per weekday when the API gives one): orderCount.
function normalizePeak(peak) {
  const list = Array.isArray(peak) ? peak : (peak && (peak.hours || peak.items)) || [];
  const cells = [];
  for (const x of list) {
    const hour = Number(x.hour ?? (typeof x._id === "object" && x._id ? x._id.hour : x._id));
    if (!(hour >= 0 && hour < 24)) continue;
    const dow = x.dayOfWeek ?? x.weekday ?? (typeof x._id === "object" && x._id ? x._id.dayOfWeek : undefined);
    cells.push({ hour, dow: dow === undefined ? null : Number(dow), count: Number(x.orderCount) || 0, revenue: Number(x.totalRevenue) || 0 });
  }
  return cells;
}

// ------------------------------------------------------------- charts

function BarChart({ data }) {
  const W = 640;
  const H = 220;
  const pad = { l: 8, r: 8, t: 16, b: 28 };
  const max = Math.max(1, ...data.map((d) => d.revenue));
  const bw = (W - pad.l - pad.r) / Math.max(1, data.length);
  return (
    <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={t("revenueByDay")}>
      <line x1={pad.l} x2={W - pad.r} y1={H - pad.b} y2={H - pad.b} class="axis" />
      {data.map((d, i) => {
        const h = ((H - pad.t - pad.b) * d.revenue) / max;
        const x = pad.l + i * bw + bw * 0.15;
        return (
          <g key={d.day} data-day={d.day} data-revenue={d.revenue}>
            <rect x={x} y={H - pad.b - h} width={bw * 0.7} height={h} class="bar">
              <title>
                {d.day}: {money(d.revenue)} · {t("ordersCount", { n: d.orders })}
              </title>
            </rect>
            {data.length <= 14 || i % 2 === 0 ? (
              <text x={x + bw * 0.35} y={H - 10} class="tick" text-anchor="middle">
                {String(d.day).slice(8, 10)}.{String(d.day).slice(5, 7)}
              </text>
            ) : null}
          </g>
        );
      })}
      <text x={W - pad.r} y={12} class="tick" text-anchor="end">
        max {money(max)}
      </text>
    </svg>
  );
}

function TopProducts({ data }) {
  if (!data.length) return <p class="empty">{t("nothing")}</p>;
  const max = Math.max(1, ...data.map((d) => d.sold));
  const row = 28;
  const W = 640;
  const labelW = 220;
  // The value goes in its own right-aligned column: after the bar it ran
  // past the card's edge for the longest bar ("1 234 sold · 12 345 678 so'm").
  const valueW = 240;
  return (
    <svg class="chart" viewBox={`0 0 ${W} ${data.length * row + 4}`} role="img" aria-label={t("topProducts")}>
      {data.map((d, i) => {
        const w = ((W - labelW - valueW - 8) * d.sold) / max;
        const y = i * row + 2;
        return (
          <g key={i} data-product={d.name} data-sold={d.sold}>
            <text x={0} y={y + 18} class="label">
              {d.name.length > 28 ? `${d.name.slice(0, 27)}…` : d.name}
            </text>
            <rect x={labelW} y={y + 4} width={Math.max(2, w)} height={row - 8} class="bar alt" />
            <text x={W} y={y + 18} class="tick" text-anchor="end">
              {num(d.sold)} {t("sold")} · {money(d.revenue)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

const DOW = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function Heatmap({ cells }) {
  const rows = cells.some((c) => c.dow !== null) ? 7 : 1;
  const grid = Array.from({ length: rows }, () => Array(24).fill(null));
  for (const c of cells) {
    const r = rows === 1 ? 0 : ((c.dow % 7) + 7) % 7;
    const cur = grid[r][c.hour];
    grid[r][c.hour] = cur ? { ...cur, count: cur.count + c.count, revenue: cur.revenue + c.revenue } : c;
  }
  const max = Math.max(1, ...cells.map((c) => c.count));
  const cw = 24;
  const ch = 24;
  const left = rows === 1 ? 4 : 40;
  return (
    <svg class="chart heat" viewBox={`0 0 ${left + 24 * cw + 4} ${rows * ch + 22}`} role="img" aria-label={t("peakHours")}>
      {grid.map((row, r) => (
        <g key={r}>
          {rows > 1 && (
            <text x={0} y={r * ch + 16} class="tick">
              {t(DOW[r]).slice(0, 3)}
            </text>
          )}
          {row.map((c, h) => (
            <rect
              key={h}
              data-hour={h}
              data-count={c ? c.count : 0}
              x={left + h * cw}
              y={r * ch}
              width={cw - 2}
              height={ch - 2}
              rx={3}
              class="cell"
              fill={`rgba(180, 83, 9, ${c ? 0.08 + (0.92 * c.count) / max : 0.04})`}
            >
              <title>
                {String(h).padStart(2, "0")}:00 — {t("ordersCount", { n: c ? c.count : 0 })}
                {c ? `, ${money(c.revenue)}` : ""}
              </title>
            </rect>
          ))}
        </g>
      ))}
      {[0, 6, 12, 18, 23].map((h) => (
        <text key={h} x={left + h * cw + cw / 2} y={rows * ch + 16} class="tick" text-anchor="middle">
          {h}
        </text>
      ))}
    </svg>
  );
}

export function Analytics({ branches, isOwner, defaultBranch }) {
  const [days, setDays] = useState(7);
  const [branchId, setBranchId] = useState(isOwner ? "" : defaultBranch || "");
  const [state] = useLoad(() => loadAll(days, branchId || undefined), [days, branchId]);
  const notAvailable = state.error && state.error.status === 404;
  const s = state.data && state.data.summary;
  return (
    <section class="analytics">
      <h1>{t("analytics")}</h1>
      <div class="filters">
        {(isOwner || branches.length > 1) && (
          <label>
            {t("branch")}
            <select name="branchId" value={branchId} onChange={(e) => setBranchId(e.currentTarget.value)}>
              {isOwner && <option value="">{t("allBranches")}</option>}
              {branches.map((b) => (
                <option key={b._id} value={b._id}>
                  {localName(b)}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          {t("days")}
          <select name="days" value={days} onChange={(e) => setDays(Number(e.currentTarget.value))}>
            {PERIODS.map((d) => (
              <option key={d} value={d}>
                {t("lastDays", { n: d })}
              </option>
            ))}
          </select>
        </label>
      </div>
      {notAvailable && (
        <p class="empty notice" data-state="analytics-unavailable">
          {t("analyticsNA")}
        </p>
      )}
      {state.error && !notAvailable && <p class="empty error">{errorText(state.error)}</p>}
      {state.loading && !state.data && !state.error && <p class="empty">{t("loading")}</p>}
      {s && (
        <>
          <p class="row end">
            <a
              class="btn ghost"
              data-action="csv"
              href={`${BASE}/summary${qs({ from: localDay(days - 1), to: localDay(0), branchId: branchId || undefined, format: "csv" })}`}
              download={`oshxona-${localDay(days - 1)}-${localDay(0)}.csv`}
            >
              CSV ⤓
            </a>
          </p>
          <div class="kpis">
            {["totalOrders", "totalRevenue", "avgOrderValue", "completedOrders", "cancelledOrders"].map((k) =>
              s[k] === undefined ? null : (
                <div class="kpi" key={k} data-kpi={k} data-value={s[k]}>
                  <span class="muted">{t(k)}</span>
                  <strong>{k === "totalRevenue" || k === "avgOrderValue" ? money(Math.round(s[k])) : num(s[k])}</strong>
                </div>
              ),
            )}
          </div>
          <h2>{t("revenueByDay")}</h2>
          <BarChart data={state.data.byDay} />
          <h2>{t("topProducts")}</h2>
          <TopProducts data={state.data.top} />
          <h2>{t("peakHours")}</h2>
          <Heatmap cells={state.data.peak} />
        </>
      )}
    </section>
  );
}
