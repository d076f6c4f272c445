// The admin panel: sign-in, the shell (navigation, branch picker,
// connection indicator, language), and the hash router. The live board of
// the chosen branch runs for as long as the panel is open, whatever page
// is shown, so a new order rings while staff edit the stop-list.
import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import "./style.css";
import { api, get, onUnauthorized } from "./api.js";
import { t, getLang, setLang, localName } from "./i18n.js";
import { BoardLive } from "./live.js";
import { ring, unlockAudio, soundState, onSoundState } from "./sound.js";
import { Toasts, toast, errorText } from "./ui.jsx";
import { Board, OrderDetails, OrdersList } from "./orders.jsx";
import { Products, ProductForm, Categories } from "./catalog.jsx";
import { Branches, BranchSettings } from "./branches.jsx";
import { Analytics } from "./analytics.jsx";

const FRESH_MS = 8000; // how long a new order's card stays highlighted

function useHash() {
  const [hash, setHash] = useState(location.hash || "#/board");
  useEffect(() => {
    const on = () => setHash(location.hash || "#/board");
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return hash;
}

function Login({ onIn, message }) {
  const [login, setLogin] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState(message || null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    unlockAudio(); // the sign-in tap is the gesture that lets the chime play
    setBusy(true);
    setError(null);
    try {
      const r = await api("POST", "/api/auth/login", { login: login.trim(), password });
      onIn(r.staff);
    } catch (err) {
      setError(err.status === 401 ? t("signInFailed") : err.status === 429 ? t("tooManyAttempts") : errorText(err));
    }
    setBusy(false);
  };
  return (
    <main class="login">
      <form class="card stack" onSubmit={submit}>
        <h1>{t("appName")}</h1>
        <LangSwitch />
        <label>
          {t("login")}
          <input name="login" autocomplete="username" required value={login} onInput={(e) => setLogin(e.currentTarget.value)} />
        </label>
        <label>
          {t("password")}
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button class="btn primary big" type="submit" disabled={busy}>
          {t("signIn")}
        </button>
      </form>
    </main>
  );
}

function LangSwitch({ onChange }) {
  const [, force] = useState(0);
  return (
    <div class="lang" role="group" aria-label="Til / Язык">
      {["uz", "ru"].map((l) => (
        <button
          key={l}
          type="button"
          class={`btn ghost${getLang() === l ? " on" : ""}`}
          aria-pressed={getLang() === l ? "true" : "false"}
          onClick={() => {
            setLang(l);
            force((n) => n + 1);
            if (onChange) onChange();
          }}
        >
          {l === "uz" ? "Oʻzb" : "Рус"}
        </button>
      ))}
    </div>
  );
}

function ConnIndicator({ conn }) {
  return (
    <span class={`conn conn-${conn}`} data-conn={conn} role="status" title={t(`conn_${conn}`) || conn}>
      <span class="dot" />
      <span class="conn-text">{conn === "denied" ? t("notYourBranch") : t(`conn_${conn}`)}</span>
    </span>
  );
}

function pickBranch(branches, wanted) {
  if (wanted && branches.some((b) => b._id === wanted)) return wanted;
  let saved = null;
  try {
    saved = localStorage.getItem("oshxona.branch");
  } catch (e) {
    saved = null;
  }
  if (saved && branches.some((b) => b._id === saved)) return saved;
  const open = branches.find((b) => b.isActive !== false);
  return open ? open._id : branches[0] ? branches[0]._id : null;
}

function Shell({ me, onOut }) {
  const hash = useHash();
  const [, setLangTick] = useState(0);
  const [branches, setBranches] = useState(null);
  const [branchId, setBranchId] = useState(null);
  const [live, setLive] = useState(null);
  const [, setTick] = useState(0);
  const [fresh, setFresh] = useState(new Set());
  const [sound, setSound] = useState(soundState());
  const isOwner = me.role === "owner";

  useEffect(() => onSoundState(setSound), []);
  useEffect(() => {
    // Any tap turns the chime on if the browser kept it suspended.
    const on = () => unlockAudio();
    document.addEventListener("pointerdown", on);
    document.addEventListener("keydown", on);
    return () => {
      document.removeEventListener("pointerdown", on);
      document.removeEventListener("keydown", on);
    };
  }, []);

  useEffect(() => {
    get("/api/admin/branches").then(
      (r) => {
        const list = r.data || [];
        setBranches(list);
        setBranchId(pickBranch(list, null));
      },
      (e) => {
        toast(errorText(e), "error");
        setBranches([]);
      },
    );
  }, []);

  // The route may name a board (#/board/<id>); only branches the server
  // listed for this staff member are offered or opened.
  const parts = hash.replace(/^#\/?/, "").split("/");
  const page = parts[0] || "board";
  const routeBranch = page === "board" && parts[1] ? parts[1] : null;
  const denied = routeBranch && branches && !branches.some((b) => b._id === routeBranch);
  useEffect(() => {
    if (routeBranch && branches && !denied && routeBranch !== branchId) setBranchId(routeBranch);
  }, [routeBranch, branches]);

  useEffect(() => {
    if (!branchId) return undefined;
    try {
      localStorage.setItem("oshxona.branch", branchId);
    } catch (e) {
      /* not remembered */
    }
    const timers = [];
    const b = new BoardLive(
      branchId,
      () => setTick((n) => n + 1),
      (orders) => {
        ring();
        const ids = orders.map((o) => o._id);
        setFresh((s) => new Set([...s, ...ids]));
        timers.push(
          setTimeout(
            () =>
              setFresh((s) => {
                const n = new Set(s);
                ids.forEach((id) => n.delete(id));
                return n;
              }),
            FRESH_MS,
          ),
        );
      },
    );
    setLive(b);
    b.start();
    const wake = () => document.visibilityState !== "hidden" && b.retryNow();
    window.addEventListener("online", wake);
    document.addEventListener("visibilitychange", wake);
    return () => {
      b.stop();
      timers.forEach(clearTimeout);
      window.removeEventListener("online", wake);
      document.removeEventListener("visibilitychange", wake);
    };
  }, [branchId]);

  const pending = live ? live.pendingCount() : 0;
  useEffect(() => {
    document.title = pending > 0 ? `(${pending}) ${t("appName")}` : t("appName");
  }, [pending, hash]);

  const signOut = async () => {
    try {
      await api("POST", "/api/auth/logout");
    } catch (e) {
      /* signed out anyway */
    }
    onOut();
  };

  if (!branches) return <p class="empty">{t("loading")}</p>;

  const nav = [
    ["board", t("board")],
    ["orders", t("orders")],
    ["products", t("products")],
    ...(isOwner ? [["categories", t("categories")]] : []),
    ["branches", t("branches")],
    ["analytics", t("analytics")],
  ];

  let body;
  if (page === "board") {
    body = denied ? <p class="empty error">{t("notYourBranch")}</p> : <Board live={live} freshIds={fresh} />;
  } else if (page === "order" && parts[1]) {
    body = <OrderDetails key={parts[1]} id={parts[1]} live={live} me={me} />;
  } else if (page === "orders") {
    body = <OrdersList branches={branches} defaultBranch={branchId} isOwner={isOwner} />;
  } else if (page === "products" && parts[1]) {
    // Keyed by id: after "create" the form of the new product starts from
    // what the server stored, never from the half-typed state of "new".
    body = <ProductForm key={parts[1]} id={parts[1]} isOwner={isOwner} />;
  } else if (page === "products") {
    body = <Products isOwner={isOwner} />;
  } else if (page === "categories" && isOwner) {
    body = <Categories />;
  } else if (page === "branches" && parts[1]) {
    body = (
      <BranchSettings
        key={parts[1]}
        id={parts[1]}
        onSaved={(b) => setBranches((list) => list.map((x) => (x._id === b._id ? { ...x, ...b } : x)))}
      />
    );
  } else if (page === "branches") {
    body = <Branches branches={branches} />;
  } else if (page === "analytics") {
    body = <Analytics branches={branches} isOwner={isOwner} defaultBranch={branchId} />;
  } else {
    body = <p class="empty">{t("nothing")}</p>;
  }

  return (
    <div class="shell">
      <header class="top">
        <strong class="brand">Oshxona</strong>
        {branches.length > 1 ? (
          <select
            class="branch-picker"
            name="branch-picker"
            aria-label={t("branch")}
            value={branchId || ""}
            onChange={(e) => {
              setBranchId(e.currentTarget.value);
              if (page === "board") location.hash = "#/board";
            }}
          >
            {branches.map((b) => (
              <option key={b._id} value={b._id}>
                {localName(b)}
              </option>
            ))}
          </select>
        ) : (
          <span class="branch-name">{branches[0] ? localName(branches[0]) : t("noBranches")}</span>
        )}
        {live && <ConnIndicator conn={live.conn} />}
        <span class="spacer" />
        <span class="me" data-login={me.login} title={`${me.login} · ${t(`role_${me.role}`)}`}>
          {me.name || me.login}
          <small> · {t(`role_${me.role}`)}</small>
        </span>
        <LangSwitch onChange={() => setLangTick((n) => n + 1)} />
        <button class="btn ghost" data-action="sign-out" onClick={signOut}>
          {t("signOut")}
        </button>
      </header>
      <nav class="tabs">
        {nav.map(([key, label]) => (
          <a key={key} href={`#/${key}`} class={page === key || (key === "board" && page === "order") ? "on" : ""}>
            {label}
            {key === "board" && pending > 0 && (
              <span class="badge" data-testid="pending-badge">
                {pending}
              </span>
            )}
          </a>
        ))}
      </nav>
      {sound !== "running" && (
        <button class="soundbar" onClick={unlockAudio}>
          🔔 {t("soundOff")}
        </button>
      )}
      <main class="page">{body}</main>
    </div>
  );
}

function App() {
  const [me, setMe] = useState(undefined); // undefined: asking; null: signed out
  const [message, setMessage] = useState(null);
  const meRef = useRef(me);
  meRef.current = me;
  useEffect(() => {
    onUnauthorized(() => {
      if (meRef.current) setMe(null);
    });
    get("/api/auth/me").then(
      (r) => {
        if (r.kind === "staff") setMe(r.staff);
        else {
          setMessage(t("notStaff"));
          setMe(null);
        }
      },
      () => setMe(null),
    );
  }, []);
  return (
    <>
      {me === undefined ? (
        <p class="empty">{t("loading")}</p>
      ) : me === null ? (
        <Login onIn={setMe} message={message} />
      ) : (
        <Shell me={me} onOut={() => setMe(null)} />
      )}
      <Toasts />
    </>
  );
}

render(<App />, document.getElementById("app"));
