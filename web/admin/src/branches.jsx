// Branch settings: hours per day, the open flag, delivery fee, minimum
// order, and the Telegram staff chat that gets each new order with
// Confirm/Cancel buttons (staffChatId, a group's id, negative; and the
// language of its messages). Owners edit every branch; other staff their own (the server
// decides: GET /api/admin/branches lists only what this staff may see).
import { useEffect, useState } from "preact/hooks";
import { api, get } from "./api.js";
import { t, money, localName, getLang } from "./i18n.js";
import { toast, errorText, useLoad } from "./ui.jsx";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
// The staff chat's labels: only this form uses them.
const STAFF_CHAT = {
  uz: {
    title: "Telegram: xodimlar guruhi",
    chatId: "Guruh ID (masalan -1001234567890; boʻsh: yoʻq)",
    language: "Xabarlar tili",
    bad: "Guruh ID butun son boʻlishi kerak",
  },
  ru: {
    title: "Telegram: группа сотрудников",
    chatId: "ID группы (например -1001234567890; пусто: нет)",
    language: "Язык сообщений",
    bad: "ID группы должен быть целым числом",
  },
};
const sc = (k) => (STAFF_CHAT[getLang()] || STAFF_CHAT.uz)[k];
// Telegram's chat ids fit in 52 bits, so a JS number holds them exactly.
const CHAT_ID = /^-?[1-9][0-9]{0,15}$/;
// Hours are typed as 24-hour HH:MM text: <input type=time> follows the
// device's locale (12:00 AM on an English tablet) and cannot say 24:00,
// which the API takes as "until midnight".

export function Branches({ branches }) {
  return (
    <section class="branches">
      <h1>{t("branches")}</h1>
      <ul class="plist">
        {branches.map((b) => (
          <li key={b._id} class={`prow${b.isActive === false ? " inactive" : ""}`}>
            <span class="pmain">
              <a class="pname" href={`#/branches/${b._id}`}>
                {localName(b)}
              </a>
              <span class="muted">{localName(b, "address")}</span>
            </span>
            <span class={`tag ${b.isOpen ? "st-ready" : "st-cancelled"}`}>{b.isOpen ? t("isOpen") : "—"}</span>
            <a class="btn ghost" href={`#/branches/${b._id}`}>
              {t("edit")}
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function BranchSettings({ id, onSaved }) {
  const [state] = useLoad(() => get(`/api/admin/branches/${id}`).then((r) => r.data), [id]);
  const [f, setF] = useState(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!state.data) return;
    const b = state.data;
    const hours = {};
    for (const d of DAYS) hours[d] = b.workingHours && b.workingHours[d] ? { ...b.workingHours[d] } : null;
    setF({
      isOpen: b.isOpen !== false,
      deliveryFee: b.deliveryFee || 0,
      minOrder: b.minOrder || 0,
      hours,
      staffChatId: b.staffChatId == null ? "" : String(b.staffChatId),
      staffLanguage: b.staffLanguage === "ru" ? "ru" : "uz",
    });
  }, [state.data]);
  if (state.error) return <p class="empty error">{errorText(state.error)}</p>;
  if (!f) return <p class="empty">{t("loading")}</p>;
  const setDay = (d, v) => setF((x) => ({ ...x, hours: { ...x.hours, [d]: v } }));
  const save = async (e) => {
    e.preventDefault();
    const chat = f.staffChatId.trim();
    if (chat !== "" && !CHAT_ID.test(chat)) {
      toast(sc("bad"), "error");
      return;
    }
    const body = {
      isOpen: f.isOpen,
      deliveryFee: Number(f.deliveryFee),
      minOrder: Number(f.minOrder),
      workingHours: f.hours,
    };
    // Sent only when changed, so the rest of the form saves on a server
    // that does not know these fields yet.
    const was = state.data;
    const chatValue = chat === "" ? null : Number(chat);
    if (chatValue !== (was.staffChatId == null ? null : Number(was.staffChatId))) body.staffChatId = chatValue;
    if (f.staffLanguage !== (was.staffLanguage === "ru" ? "ru" : "uz")) body.staffLanguage = f.staffLanguage;
    setBusy(true);
    try {
      const r = await api("PATCH", `/api/admin/branches/${id}`, body);
      toast(t("saved"), "ok", 3000);
      if (onSaved) onSaved(r.data);
    } catch (err) {
      toast(errorText(err), "error");
    }
    setBusy(false);
  };
  return (
    <section class="branch-form">
      <p>
        <a href="#/branches" class="btn ghost">
          ‹ {t("back")}
        </a>
      </p>
      <h1>
        {t("branchSettings")}: {localName(state.data)}
      </h1>
      <form class="stack form" onSubmit={save}>
        <label class="check big">
          <input type="checkbox" name="isOpen" checked={f.isOpen} onChange={(e) => setF({ ...f, isOpen: e.currentTarget.checked })} />{" "}
          {t("isOpen")}
        </label>
        <div class="row">
          <label>
            {t("deliveryFee")} ({t("som")})
            <input type="number" name="deliveryFee" min={0} step={500} value={f.deliveryFee} onInput={(e) => setF({ ...f, deliveryFee: e.currentTarget.value })} />
          </label>
          <label>
            {t("minOrder")} ({t("som")})
            <input type="number" name="minOrder" min={0} step={500} value={f.minOrder} onInput={(e) => setF({ ...f, minOrder: e.currentTarget.value })} />
          </label>
        </div>
        <p class="muted">
          {t("deliveryFee")}: {money(f.deliveryFee)} · {t("minOrder")}: {money(f.minOrder)}
        </p>
        <h2>{sc("title")}</h2>
        <div class="row">
          <label>
            {sc("chatId")}
            <input
              type="text"
              name="staffChatId"
              inputMode="numeric"
              pattern="-?[0-9]*"
              value={f.staffChatId}
              onInput={(e) => setF({ ...f, staffChatId: e.currentTarget.value })}
            />
          </label>
          <label>
            {sc("language")}
            <select name="staffLanguage" value={f.staffLanguage} onChange={(e) => setF({ ...f, staffLanguage: e.currentTarget.value })}>
              <option value="uz">Oʻzbekcha</option>
              <option value="ru">Русский</option>
            </select>
          </label>
        </div>
        <h2>{t("workingHours")}</h2>
        <table class="table hours">
          <tbody>
            {DAYS.map((d) => {
              const h = f.hours[d];
              return (
                <tr key={d} data-day={d}>
                  <th>{t(d)}</th>
                  <td>
                    <label class="check">
                      <input
                        type="checkbox"
                        checked={!h}
                        onChange={(e) => setDay(d, e.currentTarget.checked ? null : { open: "10:00", close: "23:00" })}
                      />{" "}
                      {t("dayOff")}
                    </label>
                  </td>
                  <td>
                    {h && (
                      <input
                        type="text"
                        inputMode="numeric"
                        pattern="([01][0-9]|2[0-3]):[0-5][0-9]"
                        placeholder="HH:MM"
                        aria-label={`${t(d)} ${t("open")}`}
                        value={h.open}
                        onInput={(e) => setDay(d, { ...h, open: e.currentTarget.value })}
                      />
                    )}
                  </td>
                  <td>
                    {h && (
                      <input
                        type="text"
                        inputMode="numeric"
                        pattern="([01][0-9]|2[0-3]):[0-5][0-9]|24:00"
                        placeholder="HH:MM"
                        aria-label={`${t(d)} ${t("close")}`}
                        value={h.close}
                        onInput={(e) => setDay(d, { ...h, close: e.currentTarget.value })}
                      />
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <div class="row end">
          <button class="btn primary" type="submit" disabled={busy} data-action="save">
            {t("save")}
          </button>
        </div>
      </form>
    </section>
  );
}
