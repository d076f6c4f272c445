// Products (list, search, stop-list toggle, create, edit, soft delete,
// photo by drag and drop) and categories (owners).
import { useEffect, useRef, useState } from "preact/hooks";
import { api, get, qs, uploadImage } from "./api.js";
import { t, money, localName } from "./i18n.js";
import { Modal, Pager, toast, errorText, useLoad, imageUrl } from "./ui.jsx";

const LIMIT = 20;
const IMAGE_MAX = 5 * 1024 * 1024;

// Categories for pickers: owners read the admin list (inactive ones too),
// other staff the public one.
function loadCategories(isOwner) {
  return get(isOwner ? "/api/admin/categories" : "/api/categories").then((r) => r.data || []);
}

function AvailabilityToggle({ product, onChange }) {
  const [busy, setBusy] = useState(false);
  const on = product.isAvailable !== false;
  const flip = async (e) => {
    e.stopPropagation();
    setBusy(true);
    try {
      const r = await api("PATCH", `/api/admin/products/${product._id}/availability`, { isAvailable: !on });
      onChange(r.data);
    } catch (err) {
      toast(errorText(err), "error");
    }
    setBusy(false);
  };
  return (
    <button
      class={`switch${on ? " on" : ""}`}
      role="switch"
      aria-checked={on ? "true" : "false"}
      disabled={busy}
      data-action="availability"
      onClick={flip}
      title={on ? t("available") : t("stopList")}
    >
      <span class="knob" />
      <span class="label">{on ? t("available") : t("stopList")}</span>
    </button>
  );
}

export function Products({ isOwner }) {
  const [search, setSearch] = useState("");
  const [typed, setTyped] = useState("");
  const [category, setCategory] = useState("");
  const [active, setActive] = useState("true");
  const [offset, setOffset] = useState(0);
  const [cats] = useLoad(() => loadCategories(isOwner), [isOwner]);
  const [state, reload] = useLoad(
    () => get(`/api/admin/products${qs({ search, category, active, limit: LIMIT, offset })}`),
    [search, category, active, offset],
  );
  const [rows, setRows] = useState(null);
  useEffect(() => setRows(state.data ? state.data.data : null), [state.data]);
  // Typing searches after a short pause, not on every key.
  useEffect(() => {
    const h = setTimeout(() => {
      setSearch(typed.trim());
      setOffset(0);
    }, 300);
    return () => clearTimeout(h);
  }, [typed]);
  const catName = Object.fromEntries((cats.data || []).map((c) => [c._id, localName(c)]));
  const replace = (p) => setRows((list) => list.map((x) => (x._id === p._id ? { ...x, ...p } : x)));
  const remove = async (p) => {
    if (!confirm(t("confirmDelete", { name: localName(p) }))) return;
    try {
      await api("DELETE", `/api/admin/products/${p._id}`);
      reload();
    } catch (e) {
      toast(errorText(e), "error");
    }
  };
  return (
    <section class="products">
      <div class="row spread">
        <h1>{t("products")}</h1>
        <a class="btn primary" href="#/products/new">
          + {t("newProduct")}
        </a>
      </div>
      <div class="filters">
        <label class="grow">
          {t("search")}
          <input type="search" name="search" value={typed} onInput={(e) => setTyped(e.currentTarget.value)} />
        </label>
        <label>
          {t("category")}
          <select name="category" value={category} onChange={(e) => (setCategory(e.currentTarget.value), setOffset(0))}>
            <option value="">{t("all")}</option>
            {(cats.data || []).map((c) => (
              <option key={c._id} value={c._id}>
                {localName(c)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("status")}
          <select name="active" value={active} onChange={(e) => (setActive(e.currentTarget.value), setOffset(0))}>
            <option value="true">{t("active")}</option>
            <option value="false">{t("deleted")}</option>
            <option value="">{t("all")}</option>
          </select>
        </label>
      </div>
      {state.error && <p class="empty error">{errorText(state.error)}</p>}
      {rows && rows.length === 0 && <p class="empty">{t("nothing")}</p>}
      {rows && rows.length > 0 && (
        <ul class="plist">
          {rows.map((p) => (
            <li key={p._id} class={`prow${p.isActive === false ? " inactive" : ""}`} data-product-id={p._id}>
              <span class="thumb">{imageUrl(p.image) ? <img src={imageUrl(p.image)} alt="" loading="lazy" /> : <span class="noimg" />}</span>
              <span class="pmain">
                <a href={`#/products/${p._id}`} class="pname">
                  {localName(p)}
                </a>
                <span class="muted">
                  {catName[p.categoryId] || ""} · {money(p.price)}
                  {p.isActive === false ? ` · ${t("deleted")}` : ""}
                </span>
              </span>
              <AvailabilityToggle product={p} onChange={replace} />
              <span class="pbtns">
                <a class="btn ghost" href={`#/products/${p._id}`}>
                  {t("edit")}
                </a>
                {p.isActive !== false && (
                  <button class="btn ghost danger" data-action="delete" onClick={() => remove(p)}>
                    {t("delete")}
                  </button>
                )}
              </span>
            </li>
          ))}
        </ul>
      )}
      {state.data && <Pager total={state.data.total} limit={LIMIT} offset={state.data.offset} onOffset={setOffset} />}
    </section>
  );
}

// Drag and drop (or tap to choose) one image: a preview at once from the
// local file, the upload with a progress bar, then the stored image.
export function ImageDrop({ value, onChange, onBusy }) {
  const input = useRef(null);
  const [over, setOver] = useState(false);
  const [preview, setPreview] = useState(null);
  const [progress, setProgress] = useState(null); // null | 0..100
  const [events, setEvents] = useState(0);
  const [done, setDone] = useState(false); // the server has answered
  const [error, setError] = useState(null);
  useEffect(() => () => preview && URL.revokeObjectURL(preview), [preview]);
  const take = async (file) => {
    if (!file) return;
    setError(null);
    if (!/^image\/(jpeg|png|webp)$/.test(file.type)) {
      setError("JPEG, PNG, WebP");
      return;
    }
    if (file.size > IMAGE_MAX) {
      setError("≤ 5 MB");
      return;
    }
    setPreview(URL.createObjectURL(file));
    setProgress(0);
    setEvents(0);
    setDone(false);
    if (onBusy) onBusy(true);
    try {
      const r = await uploadImage(file, (f) => {
        setProgress(Math.round(f * 100));
        setEvents((n) => n + 1);
      });
      setProgress(100);
      setDone(true);
      onChange({ url: r.data.url, publicId: r.data.publicId });
    } catch (e) {
      setProgress(null);
      setError(errorText(e));
    }
    if (onBusy) onBusy(false);
  };
  const shown = preview || imageUrl(value);
  return (
    <div class="imagefield">
      <div
        class={`drop${over ? " over" : ""}`}
        data-testid="image-drop"
        tabIndex={0}
        role="button"
        aria-label={t("dropImage")}
        onClick={() => input.current.click()}
        onKeyDown={(e) => (e.key === "Enter" || e.key === " ") && input.current.click()}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          take(e.dataTransfer && e.dataTransfer.files[0]);
        }}
      >
        {shown ? <img class="preview" src={shown} alt="" /> : <span>{t("dropImage")}</span>}
        <input
          ref={input}
          type="file"
          accept="image/jpeg,image/png,image/webp"
          hidden
          onChange={(e) => take(e.currentTarget.files[0])}
        />
      </div>
      {progress !== null && (
        <div class="upload" data-progress={progress} data-progress-events={events} data-state={done ? "done" : "uploading"}>
          <progress max={100} value={progress} />
          <span>{done ? t("uploaded") : t("uploading", { p: progress })}</span>
        </div>
      )}
      {error && <p class="error">{error}</p>}
      {(value || preview) && (
        <button
          type="button"
          class="btn ghost"
          onClick={() => {
            setPreview(null);
            setProgress(null);
            onChange(null);
          }}
        >
          {t("removeImage")}
        </button>
      )}
    </div>
  );
}

const EMPTY_PRODUCT = {
  name: "",
  nameRu: "",
  description: "",
  descriptionRu: "",
  price: 0,
  categoryId: "",
  sortOrder: 0,
  isActive: true,
  isAvailable: true,
  image: null,
  // Payme's fiscal receipt needs each product's codes (lib/payments.c).
  mxikCode: "",
  packageCode: "",
  vatPercent: 0,
};
const OPTIONAL_CODES = ["mxikCode", "packageCode"];
const PRODUCT_FIELDS = Object.keys(EMPTY_PRODUCT);

export function ProductForm({ id, isOwner }) {
  const isNew = id === "new";
  const [cats] = useLoad(() => loadCategories(isOwner), [isOwner]);
  const [state] = useLoad(() => (isNew ? Promise.resolve(EMPTY_PRODUCT) : get(`/api/admin/products/${id}`).then((r) => r.data)), [id]);
  const [form, setForm] = useState(null);
  const [busy, setBusy] = useState(false);
  const [uploading, setUploading] = useState(false);
  useEffect(() => {
    if (state.data) setForm({ ...EMPTY_PRODUCT, ...state.data });
  }, [state.data]);
  if (state.error) return <p class="empty error">{errorText(state.error)}</p>;
  if (!form) return <p class="empty">{t("loading")}</p>;
  const set = (k) => (e) => {
    const el = e.currentTarget;
    const v = el.type === "checkbox" ? el.checked : el.type === "number" ? Number(el.value) : el.value;
    setForm((f) => ({ ...f, [k]: v }));
  };
  const save = async (e) => {
    e.preventDefault();
    setBusy(true);
    const body = {};
    for (const k of PRODUCT_FIELDS) {
      let v = form[k];
      if (k === "image") v = v && typeof v === "object" && v.url ? { url: v.url, publicId: v.publicId } : null;
      if ((k === "nameRu" || k === "descriptionRu" || k === "description") && v === "" && isNew) continue;
      if (OPTIONAL_CODES.includes(k)) {
        v = (v ?? "").trim();
        if (!isNew && v === (state.data[k] ?? "")) continue;
        if (v === "") {
          if (isNew) continue;
          v = null; // the API's way to remove a code
        }
        body[k] = v;
        continue;
      }
      // PATCH names only what changed.
      if (!isNew && JSON.stringify(v) === JSON.stringify(state.data[k] ?? EMPTY_PRODUCT[k])) continue;
      body[k] = v;
    }
    try {
      if (isNew) {
        const r = await api("POST", "/api/admin/products", body);
        toast(t("saved"), "ok", 3000);
        location.hash = `#/products/${r.data._id}`;
      } else if (Object.keys(body).length) {
        await api("PATCH", `/api/admin/products/${id}`, body);
        toast(t("saved"), "ok", 3000);
        location.hash = "#/products";
      } else {
        location.hash = "#/products";
      }
    } catch (err) {
      toast(errorText(err), "error");
    }
    setBusy(false);
  };
  return (
    <section class="product-form" data-product-id={isNew ? "new" : id}>
      <p>
        <a href="#/products" class="btn ghost">
          ‹ {t("back")}
        </a>
      </p>
      <h1>{isNew ? t("newProduct") : localName(state.data)}</h1>
      <form class="stack form" onSubmit={save}>
        <div class="grid2">
          <div class="stack">
            <label>
              {t("name")}
              <input name="name" required minLength={2} maxLength={100} value={form.name} onInput={set("name")} />
            </label>
            <label>
              {t("nameRu")}
              <input name="nameRu" minLength={2} maxLength={100} value={form.nameRu || ""} onInput={set("nameRu")} />
            </label>
            <label>
              {t("description")}
              <textarea name="description" maxLength={500} rows={3} value={form.description || ""} onInput={set("description")} />
            </label>
            <label>
              {t("descriptionRu")}
              <textarea name="descriptionRu" maxLength={500} rows={3} value={form.descriptionRu || ""} onInput={set("descriptionRu")} />
            </label>
            <div class="row">
              <label>
                {t("price")} ({t("som")})
                <input name="price" type="number" min={0} step={500} required value={form.price} onInput={set("price")} />
              </label>
              <label>
                {t("sortOrder")}
                <input name="sortOrder" type="number" min={0} value={form.sortOrder} onInput={set("sortOrder")} />
              </label>
            </div>
            <label>
              {t("category")}
              <select name="categoryId" required value={form.categoryId} onChange={set("categoryId")}>
                <option value="">—</option>
                {(cats.data || []).map((c) => (
                  <option key={c._id} value={c._id}>
                    {localName(c)}
                  </option>
                ))}
              </select>
            </label>
            <label class="check">
              <input type="checkbox" name="isActive" checked={form.isActive} onChange={set("isActive")} /> {t("isActive")}
            </label>
            <label class="check">
              <input type="checkbox" name="isAvailable" checked={form.isAvailable} onChange={set("isAvailable")} /> {t("isAvailable")}
            </label>
            <fieldset class="stack">
              <legend>{t("fiscal")}</legend>
              <label>
                {t("mxikCode")}
                <input name="mxikCode" inputMode="numeric" pattern="[0-9]{17}" maxLength={17} value={form.mxikCode || ""} onInput={set("mxikCode")} />
              </label>
              <div class="row">
                <label>
                  {t("packageCode")}
                  <input name="packageCode" inputMode="numeric" pattern="[0-9]{1,20}" maxLength={20} value={form.packageCode || ""} onInput={set("packageCode")} />
                </label>
                <label>
                  {t("vatPercent")}
                  <input name="vatPercent" type="number" min={0} max={100} step={1} value={form.vatPercent ?? 0} onInput={set("vatPercent")} />
                </label>
              </div>
            </fieldset>
          </div>
          <div class="stack">
            <span class="label">{t("image")}</span>
            <ImageDrop value={form.image} onBusy={setUploading} onChange={(img) => setForm((f) => ({ ...f, image: img }))} />
          </div>
        </div>
        <div class="row end">
          <button class="btn primary" type="submit" disabled={busy || uploading} data-action="save">
            {isNew ? t("create") : t("save")}
          </button>
        </div>
      </form>
    </section>
  );
}

// ---------------------------------------------------------- categories

function CategoryDialog({ cat, onClose, onSaved }) {
  const [f, setF] = useState({ name: cat.name || "", nameRu: cat.nameRu || "", sortOrder: cat.sortOrder || 0, isActive: cat.isActive !== false });
  const set = (k) => (e) => {
    const el = e.currentTarget;
    setF((x) => ({ ...x, [k]: el.type === "checkbox" ? el.checked : el.type === "number" ? Number(el.value) : el.value }));
  };
  const save = async (e) => {
    e.preventDefault();
    const body = { ...f };
    if (!body.nameRu) delete body.nameRu;
    try {
      if (cat._id) await api("PATCH", `/api/admin/categories/${cat._id}`, body);
      else await api("POST", "/api/admin/categories", body);
      onSaved();
      onClose();
    } catch (err) {
      toast(errorText(err), "error");
    }
  };
  return (
    <Modal title={cat._id ? localName(cat) : t("newCategory")} onClose={onClose}>
      <form class="stack" onSubmit={save}>
        <label>
          {t("name")}
          <input name="name" required minLength={2} maxLength={50} value={f.name} onInput={set("name")} />
        </label>
        <label>
          {t("nameRu")}
          <input name="nameRu" minLength={2} maxLength={50} value={f.nameRu} onInput={set("nameRu")} />
        </label>
        <label>
          {t("sortOrder")}
          <input name="sortOrder" type="number" min={0} value={f.sortOrder} onInput={set("sortOrder")} />
        </label>
        <label class="check">
          <input type="checkbox" checked={f.isActive} onChange={set("isActive")} /> {t("isActive")}
        </label>
        <div class="row end">
          <button type="button" class="btn" onClick={onClose}>
            {t("keep")}
          </button>
          <button type="submit" class="btn primary">
            {t("save")}
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function Categories() {
  const [state, reload] = useLoad(() => get("/api/admin/categories").then((r) => r.data || []), []);
  const [editing, setEditing] = useState(null);
  const remove = async (c) => {
    if (!confirm(t("confirmDelete", { name: localName(c) }))) return;
    try {
      await api("DELETE", `/api/admin/categories/${c._id}`);
      reload();
    } catch (e) {
      toast(errorText(e), "error");
    }
  };
  return (
    <section class="categories">
      <div class="row spread">
        <h1>{t("categories")}</h1>
        <button class="btn primary" onClick={() => setEditing({})}>
          + {t("newCategory")}
        </button>
      </div>
      {state.error && <p class="empty error">{errorText(state.error)}</p>}
      {state.data && (
        <table class="table">
          <thead>
            <tr>
              <th>{t("sortOrder")}</th>
              <th>{t("name")}</th>
              <th>{t("nameRu")}</th>
              <th>{t("status")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {state.data.map((c) => (
              <tr key={c._id} class={c.isActive === false ? "inactive" : ""}>
                <td>{c.sortOrder}</td>
                <td>{c.name}</td>
                <td>{c.nameRu || ""}</td>
                <td>{c.isActive === false ? t("inactive") : t("active")}</td>
                <td class="pbtns">
                  <button class="btn ghost" onClick={() => setEditing(c)}>
                    {t("edit")}
                  </button>
                  {c.isActive !== false && (
                    <button class="btn ghost danger" onClick={() => remove(c)}>
                      {t("delete")}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editing && <CategoryDialog cat={editing} onClose={() => setEditing(null)} onSaved={reload} />}
    </section>
  );
}
