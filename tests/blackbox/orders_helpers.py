"""What the order tests drive a private stack by (test_orders.py,
test_realtime.py and the other modules on an ordering stack).

`OrdersStack` wraps a started harness.Stack (harness.private_stack(request,
name, OrdersStack)): its OPTIONS ask for a fake Telegram Bot API
(fake_telegram.py) as TELEGRAM_API_BASE, the general rate limit out of the
way and four FastCGI children per program, so that concurrent requests
really run in parallel; each such module has a stack of its own, so the
session stack the menu tests use never sees an order, a changed branch or
a stopped program.

The demo branches keep real working hours (Tashkent time), which would make
every test depend on the clock: OrdersStack opens them around the clock and
the closed-branch tests close one on purpose.
"""

import hashlib
import hmac
import json
import os
import queue
import socket
import threading
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

from bson import ObjectId

from harness import DEMO_PATH, TEST_BOT_TOKEN

BOT_TOKEN = TEST_BOT_TOKEN
DEMO = json.loads(DEMO_PATH.read_text(encoding="utf-8"))
STAFF = {s["login"]: s for s in DEMO["staff"]}
BRANCH_NAMES = {b["key"]: b["name"] for b in DEMO["branches"]}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALL_DAY = {d: {"open": "00:00", "close": "24:00"} for d in DAYS}
TASHKENT = timezone(timedelta(hours=5))

# Texts a customer reads per status (lib/notify.h: "Buyurtma #17: tayyorlanmoqda").
STATUS_TEXT = {
    "uz": {"pending": "qabul qilindi, tasdiqlanishi kutilmoqda", "confirmed": "tasdiqlandi",
           "preparing": "tayyorlanmoqda", "ready": "tayyor", "delivering": "yetkazib berilmoqda",
           "completed": "yakunlandi", "cancelled": "bekor qilindi"},
    "ru": {"pending": "принят, ожидает подтверждения", "confirmed": "подтверждён",
           "preparing": "готовится", "ready": "готов", "delivering": "в пути",
           "completed": "выполнен", "cancelled": "отменён"},
}


def status_text(language, number, status, message=None):
    prefix = "Заказ №" if language == "ru" else "Buyurtma #"
    text = f"{prefix}{number}: {STATUS_TEXT[language][status]}"
    return text + (f"\n{message}" if message else "")


_counter = [0]
_counter_lock = threading.Lock()


def _next():
    with _counter_lock:
        _counter[0] += 1
        return _counter[0]


def fresh_ip():
    """A client address no other request of this run used (login failures
    are limited per address)."""
    n = _next() + (os.getpid() % 50) * 10000
    return f"10.{200 + (n >> 16) % 50}.{(n >> 8) & 255}.{n & 255}"


def fresh_telegram_id():
    return 930_000_000 + (os.getpid() % 1000) * 10_000 + _next()


def tashkent_day(delta_days=0):
    return (datetime.now(TASHKENT) + timedelta(days=delta_days)).strftime("%Y-%m-%d")


def init_data(user_id, first_name="Sardor", language_code=None):
    """Telegram Mini App initData for user_id, signed with BOT_TOKEN."""
    user = {"id": user_id, "first_name": first_name, "username": f"u{user_id}"}
    if language_code is not None:
        user["language_code"] = language_code
    fields = {
        "query_id": "AA" + os.urandom(8).hex(),
        "user": json.dumps(user, separators=(",", ":"), ensure_ascii=False),
        "auth_date": str(int(time.time())),
    }
    dcs = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    key = hmac.new(b"WebAppData", BOT_TOKEN.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(key, dcs.encode(), hashlib.sha256).hexdigest()
    return urllib.parse.urlencode(fields, quote_via=urllib.parse.quote)


def cookie_value(resp, name):
    for v in resp.header_all("Set-Cookie"):
        first = v.split(";", 1)[0].strip()
        k, _, val = first.partition("=")
        if k == name:
            return val
    raise AssertionError(f"no Set-Cookie {name}: {resp!r}")


class Customer:
    def __init__(self, sid, user_id, telegram_id, language):
        self.sid = sid
        self.id = user_id  # 24 hex
        self.telegram_id = telegram_id
        self.language = language
        self.headers = {"Cookie": f"oshxona_sid={sid}"}


class Staff:
    def __init__(self, login, token):
        self.login = login
        self.token = token
        self.headers = {"Authorization": f"Bearer {token}"}
        self.cookie = {"Cookie": f"oshxona_token={token}"}


class OrdersStack:
    """A started stack plus what the order tests need to drive it; what
    it does not define (db, tg, api, dir, the bot worker...) is the
    stack's."""

    OPTIONS = dict(telegram=True, children=4, env=dict(RATE_LIMIT_API="1000000"))

    def __init__(self, stack):
        self.stack = stack
        self.db.branches.update_many({}, {"$set": {"workingHours": ALL_DAY, "isOpen": True}})
        self.branches = {}
        for key, name in BRANCH_NAMES.items():
            doc = self.db.branches.find_one({"name": name})
            assert doc is not None, f"demo branch {name} not in the database"
            self.branches[key] = doc
        self.products = {p["name"]: p for p in self.db.products.find({})}
        self.staff = {login: self.login(login) for login in STAFF}

    def __getattr__(self, name):
        return getattr(self.stack, name)

    # --------------------------------------------------------- people

    def login(self, login):
        r = self.post("/api/auth/login", {"login": login, "password": STAFF[login]["password"]},
                      {"X-Forwarded-For": fresh_ip()})
        assert r.status == 200, r
        return Staff(login, r.json["token"])

    def customer(self, language_code=None, first_name="Sardor"):
        tg_id = fresh_telegram_id()
        r = self.post("/api/auth/telegram",
                      {"initData": init_data(tg_id, first_name, language_code)})
        assert r.status == 200, r
        user = r.json["user"]
        return Customer(cookie_value(r, "oshxona_sid"), user["id"], tg_id,
                        user.get("language"))

    # ----------------------------------------------------------- HTTP

    def post(self, path, body, headers=None, raw=False):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        data = body if raw else json.dumps(body, ensure_ascii=False).encode()
        return self.api.request("POST", path, headers=h, body=data, timeout=30)

    def put(self, path, body, headers=None):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        return self.api.request("PUT", path, headers=h, body=json.dumps(body).encode(),
                                timeout=30)

    def get(self, path, headers=None):
        return self.api.request("GET", path, headers=headers or {}, timeout=30)

    # --------------------------------------------------------- orders

    def branch_id(self, key="chilonzor"):
        return str(self.branches[key]["_id"])

    def product(self, name):
        return self.products[name]

    def pid(self, name):
        return str(self.products[name]["_id"])

    def active_products(self):
        return [p for p in self.products.values() if p.get("isActive") and p.get("isAvailable")]

    def body(self, items=None, order_type="pickup", branch="chilonzor", **extra):
        """A valid order body: pickup of one Toʻy oshi unless told."""
        if items is None:
            items = [{"productId": self.pid("Toʻy oshi"), "quantity": 1}]
        b = {"items": items, "orderType": order_type, "paymentMethod": "cash",
             "branchId": self.branch_id(branch) if branch in self.branches else branch}
        if order_type == "delivery":
            b.update(address="Chilonzor 9-kvartal, 12-uy", phone="+998901234567")
        if order_type == "dine_in":
            b["tableNumber"] = 7
        b.update(extra)
        return {k: v for k, v in b.items() if v is not _DROP}

    def place(self, customer, body=None, headers=None, expect=201, **kw):
        h = dict(customer.headers)
        h.update(headers or {})
        r = self.post("/api/orders", body if body is not None else self.body(**kw), h)
        if expect is not None:
            assert r.status == expect, r
        return r

    def order(self, customer, **kw):
        """Places an order and returns its data."""
        return self.place(customer, **kw).json["data"]

    def set_status(self, order_id, status, who, message=None, expect=None):
        body = {"status": status}
        if message is not None:
            body["message"] = message
        r = self.put(f"/api/orders/{order_id}/status", body, who.headers)
        if expect is not None:
            assert r.status == expect, (status, r)
        return r

    def advance(self, order_id, statuses, who):
        for s in statuses:
            self.set_status(order_id, s, who, expect=200)

    def read(self, order_id, who=None):
        r = self.get(f"/api/orders/{order_id}", (who or self.staff["owner"]).headers)
        assert r.status == 200, r
        return r.json["data"]

    def count_orders(self, filt=None):
        return self.db.orders.count_documents(filt or {})

    def new_branch(self, **fields):
        """A branch of our own, open around the clock, like Chilonzor."""
        doc = {k: v for k, v in self.branches["chilonzor"].items() if k != "_id"}
        doc.update(name=f"Test branch {_next()}", workingHours=ALL_DAY, isOpen=True,
                   isActive=True)
        doc.update(fields)
        doc["_id"] = ObjectId()
        self.db.branches.insert_one(doc)
        return doc


_DROP = object()  # body(field=DROP) leaves a default field out
DROP = _DROP


# ------------------------------------------------------------ subscribers


class EventSource:
    """GET <path> with Accept: text/event-stream on a raw socket; a thread
    parses the stream into (monotonic time received, event JSON) pairs."""

    def __init__(self, port, path, headers=None, timeout=5.0):
        self.events = queue.Queue()
        self.raw_events = []
        self.closed = threading.Event()
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        h = {"Host": f"127.0.0.1:{port}", "Accept": "text/event-stream",
             "Cache-Control": "no-cache"}
        h.update(headers or {})
        req = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items())
        self.sock.sendall(req.encode("latin-1") + b"\r\n")
        buf = b""
        while b"\r\n\r\n" not in buf:
            c = self.sock.recv(65536)
            if not c:
                break
            buf += c
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode("iso-8859-1").split("\r\n")
        self.status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/") else 0
        self.headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.body = rest
        if self.status == 200:
            self.sock.settimeout(None)
            self._thread = threading.Thread(target=self._read, args=(rest,), daemon=True)
            self._thread.start()
        else:
            # Read the (small) error body, then close.
            n = int(self.headers.get("content-length", "0") or 0)
            try:
                while len(self.body) < n:
                    c = self.sock.recv(65536)
                    if not c:
                        break
                    self.body += c
            except OSError:
                pass
            self.close()

    def _read(self, pending):
        buf = pending
        data = []
        try:
            while True:
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    line = line.rstrip(b"\r").decode("utf-8", "replace")
                    if line == "":
                        if data:
                            text = "\n".join(data)
                            self.raw_events.append(text)
                            try:
                                obj = json.loads(text)
                            except ValueError:
                                obj = {"unparsed": text}
                            self.events.put((time.monotonic(), obj))
                        data = []
                    elif line.startswith("data:"):
                        value = line[5:]
                        data.append(value[1:] if value.startswith(" ") else value)
                c = self.sock.recv(65536)
                if not c:
                    break
                buf += c
        except OSError:
            pass
        finally:
            self.closed.set()

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class WebSocketSub:
    """A websocket-client connection; a thread queues (time, event JSON)."""

    def __init__(self, port, path, headers=None, timeout=5.0):
        import websocket  # websocket-client

        self.events = queue.Queue()
        self.closed = threading.Event()
        self.status = None
        self.ws = None
        hdrs = [f"{k}: {v}" for k, v in (headers or {}).items()]
        try:
            self.ws = websocket.create_connection(f"ws://127.0.0.1:{port}{path}", header=hdrs,
                                                  timeout=timeout)
            self.status = 101
        except websocket.WebSocketBadStatusException as e:
            self.status = e.status_code
            return
        self.ws.settimeout(None)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        try:
            while True:
                msg = self.ws.recv()
                if msg in ("", None, b""):
                    # websocket-client answers pings itself; an empty frame
                    # is a close.
                    if not self.ws.connected:
                        break
                    continue
                if isinstance(msg, bytes):
                    msg = msg.decode("utf-8", "replace")
                try:
                    obj = json.loads(msg)
                except ValueError:
                    obj = {"unparsed": msg}
                self.events.put((time.monotonic(), obj))
        except Exception:  # noqa: BLE001 - any end of the connection
            pass
        finally:
            self.closed.set()

    def close(self):
        if self.ws is not None:
            try:
                self.ws.close(timeout=1)
            except Exception:  # noqa: BLE001
                pass


def next_event(sub, timeout=2.0, pred=None):
    """The next (time, event) of sub that pred accepts; fails on timeout."""
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no matching event within {timeout} s; saw {seen!r}")
        try:
            t, ev = sub.events.get(timeout=left)
        except queue.Empty:
            continue
        if pred is None or pred(ev):
            return t, ev
        seen.append(ev)


def no_event(sub, wait=0.5, pred=None):
    """Asserts that nothing (matching pred) arrives within wait seconds."""
    try:
        _, ev = next_event(sub, wait, pred)
    except AssertionError:
        return
    raise AssertionError(f"unexpected event {ev!r}")

