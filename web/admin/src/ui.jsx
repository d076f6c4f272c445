// Small shared pieces: toasts, a modal, a pager, the async-load hook.
import { useEffect, useRef, useState } from "preact/hooks";
import { t } from "./i18n.js";

// ------------------------------------------------------------- toasts

let toasts = [];
let toastSeq = 0;
const toastListeners = new Set();

export function toast(text, kind = "info", ms = 7000) {
  const id = ++toastSeq;
  toasts = [...toasts, { id, text, kind }];
  toastListeners.forEach((fn) => fn(toasts));
  setTimeout(() => dismiss(id), ms);
}

function dismiss(id) {
  toasts = toasts.filter((x) => x.id !== id);
  toastListeners.forEach((fn) => fn(toasts));
}

export function Toasts() {
  const [list, setList] = useState(toasts);
  useEffect(() => {
    toastListeners.add(setList);
    return () => toastListeners.delete(setList);
  }, []);
  return (
    <div class="toasts" aria-live="assertive">
      {list.map((x) => (
        <div key={x.id} class={`toast ${x.kind}`} role="alert" onClick={() => dismiss(x.id)}>
          {x.text}
        </div>
      ))}
    </div>
  );
}

export function errorText(e) {
  if (!e) return "";
  if (e.status === 0) return t("networkError");
  return `${t("failed")}: ${e.message}`;
}

// -------------------------------------------------------------- modal

export function Modal({ title, onClose, children }) {
  const ref = useRef(null);
  useEffect(() => {
    const el = ref.current && ref.current.querySelector("textarea, input, select, button");
    if (el) el.focus();
    const onKey = (e) => e.key === "Escape" && onClose();
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);
  return (
    <div class="modal-back" onClick={(e) => e.target === e.currentTarget && onClose()}>
      <div class="modal" role="dialog" aria-modal="true" aria-label={title} ref={ref}>
        <h2>{title}</h2>
        {children}
      </div>
    </div>
  );
}

// -------------------------------------------------------------- pager

export function Pager({ total, limit, offset, onOffset }) {
  if (!total) return null;
  const a = offset + 1;
  const b = Math.min(offset + limit, total);
  return (
    <div class="pager">
      <button class="btn" disabled={offset === 0} onClick={() => onOffset(Math.max(0, offset - limit))}>
        ‹ {t("prev")}
      </button>
      <span class="pager-range">{t("range", { a, b, n: total })}</span>
      <button class="btn" disabled={offset + limit >= total} onClick={() => onOffset(offset + limit)}>
        {t("next")} ›
      </button>
    </div>
  );
}

// ---------------------------------------------------------- async data

// Runs load() whenever deps change; drops answers of superseded runs.
export function useLoad(load, deps) {
  const [state, setState] = useState({ loading: true, data: null, error: null });
  const run = useRef(0);
  const reload = () => {
    const mine = ++run.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => mine === run.current && setState({ loading: false, data, error: null }),
      (error) => mine === run.current && setState({ loading: false, data: null, error }),
    );
  };
  useEffect(reload, deps);
  return [state, reload];
}

export function imageUrl(image) {
  if (!image) return null;
  return typeof image === "string" ? image : image.url || null;
}
