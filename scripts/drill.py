#!/usr/bin/env python3
"""The fault drill (issue 12): orders placed under faults, then counted.

On a private stack of its own (fresh ports and directory, a fake Telegram
Bot API, four FastCGI children per program) CONNECTIONS clients place
orders for SECONDS, each with an Idempotency-Key and retries as a careful
client makes them (same key and body on a timeout, a 5xx, a 409 "still in
progress" or a 429), while a kitchen thread confirms what arrives and
staff boards listen on every branch channel. Meanwhile:

  - the Bot API stops answering (accepts, never replies), later comes back;
  - the database is stopped for 10 s and started again (stack.sh db-stop,
    db-start);
  - one FastCGI child of each program is killed (SIGKILL);
  - nginx is reloaded (SIGHUP to the master).

Then it checks and prints: every order a client got 201/200 for is stored
exactly once (lost, doubled), order numbers are unique per branch, no key
is stuck (a last retry of every key that never got its order must get it),
every board that stayed connected or re-synced from the REST API saw every
order of its branch, the outbox drains (cron/outbox-retry, run here), and
the 5xx answers by status. Exits 1 on any loss, doubling, stuck key,
duplicate number, missed order on a board or undrained outbox.

    scripts/drill.py [--seconds 180] [--connections 50]   (make drill)
"""

import argparse
import collections
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "blackbox"))

from harness import Stack  # noqa: E402
from orders_helpers import BOT_TOKEN, EventSource, OrdersStack, WebSocketSub  # noqa: E402

RETRY_WINDOW_S = 45  # a client keeps retrying one order this long
CLIENT_TIMEOUT_S = 25  # nginx gives up on a program after 20 s
STUCK_WINDOW_S = 40  # the last retry of a key may wait out a lease (10 s)
DB_DOWN_S = 10


def log(msg):
    print(f"drill: [{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.answers = collections.Counter()  # status (or "conn-error") -> count
        self.records = []  # one per order attempted (a key)
        self.kitchen = collections.Counter()

    def answer(self, status):
        with self.lock:
            self.answers[status] += 1


def request(port, method, path, headers, body=None, timeout=CLIENT_TIMEOUT_S):
    """(status or "conn-error", parsed JSON or None)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        try:
            return r.status, json.loads(data)
        except ValueError:
            return r.status, None
    except (OSError, http.client.HTTPException):
        return "conn-error", None
    finally:
        conn.close()


def place(port, customer, key, body):
    h = dict(customer.headers)
    h.update({"Content-Type": "application/json", "Idempotency-Key": key})
    return request(port, "POST", "/api/orders", h, body)


def retryable(status, data):
    if status == "conn-error" or status >= 500 or status == 429:
        return True
    return status == 409 and "in progress" in ((data or {}).get("message") or "")


def order_body(st, branches, products):
    items = [{"productId": str(p["_id"]), "quantity": random.randint(1, 3)}
             for p in random.sample(products, random.randint(1, 3))]
    body = {"items": items, "orderType": "pickup", "paymentMethod": "cash",
            "branchId": str(random.choice(branches)["_id"])}
    return json.dumps(body).encode()


def client_loop(st, stats, customer, branches, products, stop_at, created):
    port = st.stack.port
    while time.monotonic() < stop_at:
        rec = {"key": str(uuid.uuid4()), "user": customer.id, "body": order_body(
            st, branches, products), "answers": [], "order": None, "final": None,
            "customer": customer, "first_sent": time.monotonic()}
        deadline = time.monotonic() + RETRY_WINDOW_S
        tries = 0
        while True:
            status, data = place(port, customer, rec["key"], rec["body"])
            stats.answer(status)
            rec["answers"].append(status)
            if status in (200, 201):
                d = data["data"]
                rec["order"], rec["final"] = d["_id"], status
                created.append((d["_id"], d.get("branch")))
                break
            if not retryable(status, data) or time.monotonic() > deadline:
                rec["final"] = status
                break
            tries += 1
            time.sleep(min(2.0, 0.1 * 2 ** min(tries, 5)) * random.uniform(0.5, 1.0))
        with stats.lock:
            stats.records.append(rec)
        time.sleep(random.uniform(0.5, 2.0))


def kitchen_loop(st, stats, created, stop):
    """Confirms orders as they come: status changes send Telegram messages."""
    owner = st.staff["owner"]
    h = dict(owner.headers, **{"Content-Type": "application/json"})
    done = 0
    while not stop.is_set():
        if done >= len(created):
            time.sleep(0.05)
            continue
        oid, _ = created[done]
        done += 1
        status, _ = request(st.stack.port, "PUT", f"/api/orders/{oid}/status", h,
                            json.dumps({"status": "confirmed"}).encode())
        stats.answer(status)
        with stats.lock:
            stats.kitchen[status] += 1


class Board:
    """A staff board on one branch channel: events while connected, then,
    if the connection dropped, a re-sync from the REST API."""

    def __init__(self, st, branch, kind):
        self.st, self.branch, self.kind = st, branch, kind
        self.path = f"/sub/branch/{branch['_id']}"
        self.owner = st.staff["owner"]
        cls = EventSource if kind == "es" else WebSocketSub
        self.sub = cls(st.stack.port, self.path, self.owner.headers)
        assert self.sub.status in (200, 101), (kind, self.sub.status)
        self.seen = set()
        self.resynced = False
        self.since = time.monotonic()  # orders placed from now on must be heard
        self.resync_error = None
        self.resync_s = 0.0

    def drain(self):
        while True:
            try:
                _, ev = self.sub.events.get_nowait()
            except Exception:  # noqa: BLE001 - queue.Empty
                return
            if ev.get("event") == "new-order" and isinstance(ev.get("data"), dict):
                self.seen.add(ev["data"].get("_id"))

    @property
    def connected(self):
        return not self.sub.closed.is_set()

    def resync(self, cache):
        """What a board does on reconnect: subscribe, then read the state
        (one read per branch: boards of a branch would read the same)."""
        self.drain()
        self.sub.close()
        cls = EventSource if self.kind == "es" else WebSocketSub
        self.sub = cls(self.st.stack.port, self.path, self.owner.headers)
        self.resynced = True
        t0 = time.monotonic()
        if self.path in cache:
            self.seen.update(cache[self.path])
            return
        offset, ids = 0, set()
        while True:
            for attempt in range(6):  # as the front end does: retry a failed read
                status, data = request(self.st.stack.port, "GET",
                                       f"/api/admin/orders?branch={self.branch['_id']}"
                                       f"&limit=100&offset={offset}", self.owner.headers)
                if status == 200:
                    break
                time.sleep(2 * attempt + 1)
            if status != 200:
                self.resync_error = f"page at offset {offset}: {status}"
                return
            page = data["data"]
            ids.update(o["_id"] for o in page)
            offset += len(page)
            if not page or offset >= data["total"]:
                break
        cache[self.path] = ids
        self.seen.update(ids)
        self.resync_s = time.monotonic() - t0


def faults(st, t0, seconds, events):
    """The fault timeline, relative to the start of the load."""
    run = st.dir / "run"

    def at(frac, what, fn, extra=0.0):
        events.append((t0 + frac * seconds + extra, what, fn))

    def tg_down():
        st.tg.delay = 3600

    def tg_up():
        st.tg.delay = 0

    def kill_children():
        killed = []
        for f in sorted(run.glob("*.children")):
            pids = [int(x) for x in f.read_text().split()]
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(f"{f.stem}:{pids[0]}")
        return " ".join(killed)

    def reload_nginx():
        os.kill(int((run / "nginx.pid").read_text().split()[0]), signal.SIGHUP)

    at(0.15, "Bot API stops answering", tg_down)
    def db_outage():
        st.stack.stack_sh("db-stop")
        log(f"database stopped for {DB_DOWN_S} s")
        time.sleep(DB_DOWN_S)
        st.stack.stack_sh("db-start")

    at(0.25, "database started again", db_outage)
    at(0.55, "one child of each program killed", kill_children)
    at(0.65, "nginx reloaded", reload_nginx)
    at(0.80, "Bot API answers again", tg_up)


def run_faults(events):
    for when, what, fn in sorted(events, key=lambda e: e[0]):
        time.sleep(max(0.0, when - time.monotonic()))
        out = fn()
        log(what + (f" ({out})" if isinstance(out, str) and out else ""))


def outbox_retry(st, scratch):
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    env.update(MONGODB_URI=f"mongodb://127.0.0.1:{st.stack.db_port}/oshxona",
               OSHXONA_ENV_FILE="/dev/null", OSHXONA_LOCK_DIR=str(scratch),
               BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_BASE=st.tg.base,
               NCHAN_PUBLISH_SOCKET=str(st.dir / "run" / "nchan-publish.sock"),
               LOG_FILE=str(st.dir / "logs" / "outbox-retry.log"))
    subprocess.run([str(ROOT / "build" / "bin" / "outbox-retry")], env=env, timeout=300,
                   check=False)


def drain_outbox(st):
    """Runs the retry job (as cron would, every time it is due) until the
    outbox is empty or 10 runs went by; returns (left, dead)."""
    scratch = Path(tempfile.mkdtemp(prefix="oshxona-drill-lock-"))
    for _ in range(10):
        if st.db.outbox.count_documents({}) == 0:
            break
        # Time passing: every queued item is due now (backoff is the job's
        # business, tested in test_outbox.py).
        st.db.outbox.update_many({}, {"$set": {"nextAt": datetime.now(timezone.utc)}})
        outbox_retry(st, scratch)
    shutil.rmtree(scratch, ignore_errors=True)
    return st.db.outbox.count_documents({}), st.db.outbox_dead.count_documents({})


def print_errors(logs):
    """The error lines of every log, for a failed drill (the stack is removed)."""
    for f in sorted(Path(logs).glob("*.log")):
        lines = [x for x in f.read_text(errors="replace").splitlines()
                 if '"level":"error"' in x or "[alert]" in x or "[crit]" in x
                 or "[emerg]" in x]
        for x in lines[-15:]:
            print(f"drill: {f.name}: {x[:300]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=180)
    ap.add_argument("--connections", type=int, default=50)
    args = ap.parse_args()

    stack = Stack("drill", **OrdersStack.OPTIONS)
    failed = True
    try:
        log(f"starting a private stack in {stack.dir}")
        st = OrdersStack(stack.start())
        branches = [b for b in st.branches.values() if b.get("isActive")]
        products = [p for p in st.products.values() if p.get("isActive") and p.get("isAvailable")]
        customers = [st.customer() for _ in range(args.connections)]
        boards = [Board(st, b, kind) for b in branches for kind in ("es", "ws")]
        stats, created, stop = Stats(), [], threading.Event()

        t0 = time.monotonic()
        stop_at = t0 + args.seconds
        log(f"{args.connections} clients for {args.seconds:.0f} s, {len(boards)} boards")
        events = []
        faults(st, t0, args.seconds, events)
        # Boards that connect after the reload: they must stay connected and
        # hear every order placed from then on.
        late = []
        events.append((t0 + 0.72 * args.seconds, "late boards subscribed",
                       lambda: late.extend(Board(st, b, k) for b in branches
                                           for k in ("es", "ws")) or str(len(late))))
        fault_thread = threading.Thread(target=run_faults, args=(events,), daemon=True)
        fault_thread.start()
        kitchen = threading.Thread(target=kitchen_loop, args=(st, stats, created, stop),
                                   daemon=True)
        kitchen.start()
        clients = [threading.Thread(target=client_loop, args=(
            st, stats, c, branches, products, stop_at, created), daemon=True) for c in customers]
        for c in clients:
            c.start()
        for c in clients:
            c.join()
        fault_thread.join()
        stop.set()
        kitchen.join(timeout=120)
        st.tg.delay = 0
        load_s = time.monotonic() - t0
        log(f"load over after {load_s:.0f} s")

        # No key may be stuck: every order a client gave up on gets a last
        # retry with the same key and body, as a client coming back would.
        unfinished = [r for r in stats.records if r["order"] is None and
                      (r["final"] == "conn-error" or isinstance(r["final"], int) and
                       (r["final"] >= 500 or r["final"] in (409, 429)))]
        stuck = []

        def last_retry(rec):
            deadline = time.monotonic() + STUCK_WINDOW_S
            while True:
                status, data = place(st.stack.port, rec["customer"], rec["key"], rec["body"])
                if status in (200, 201):
                    rec["order"] = data["data"]["_id"]
                    rec["recovered"] = True
                    return
                if not retryable(status, data) or time.monotonic() > deadline:
                    stuck.append((rec["key"], status, (data or {}).get("message")))
                    return
                time.sleep(1.0)

        retriers = [threading.Thread(target=last_retry, args=(r,)) for r in unfinished]
        for t in retriers:
            t.start()
        for t in retriers:
            t.join()

        left, dead = drain_outbox(st)
        time.sleep(1.0)  # the last publishes reach the boards

        # What the database holds.
        orders = list(st.db.orders.find({}, {"_id": 1, "idempotencyKey": 1, "user": 1,
                                             "branch": 1, "number": 1}))
        by_key = collections.defaultdict(list)
        for o in orders:
            if o.get("idempotencyKey"):
                by_key[(str(o["user"]), o["idempotencyKey"])].append(str(o["_id"]))
        answered = [r for r in stats.records if r["order"] is not None]
        lost = [r["key"] for r in answered if r["order"] not in by_key.get((r["user"], r["key"]), [])]
        doubled = [k for k, ids in by_key.items() if len(ids) > 1]
        numbers = collections.Counter((str(o["branch"]), o["number"]) for o in orders)
        dup_numbers = [k for k, n in numbers.items() if n > 1]

        # The boards: connected ones must have heard of every order of their
        # branch; dropped ones re-sync, as the front end does.
        by_branch = collections.defaultdict(set)
        for o in orders:
            by_branch[str(o["branch"])].add(str(o["_id"]))
        placed_at = {r["order"]: r["first_sent"] for r in answered}
        board_report, board_missing, cache = [], 0, {}
        for b in boards + late:
            b.drain()
            state = "connected" if b.connected else "dropped"
            if not b.connected:
                b.resync(cache)
                state = f"re-synced in {b.resync_s:.1f} s"
                if b.resync_error:
                    state = f"re-sync FAILED ({b.resync_error})"
                    board_missing += 1
            expected = by_branch[str(b.branch["_id"])]
            if not b.resynced:
                expected = {o for o in expected if placed_at.get(o, 0) >= b.since}
            missing = expected - b.seen
            board_missing += len(missing)
            board_report.append(f"{b.kind} {b.branch['name']} {state}, "
                                f"heard {len(expected & b.seen)} of {len(expected)}")
            b.sub.close()

        fivexx = {s: n for s, n in sorted(stats.answers.items(), key=str)
                  if s == "conn-error" or s >= 500}
        retried = sum(1 for r in stats.records if len(r["answers"]) > 1)
        print("drill: ---------------------------------------------------------------")
        print(f"drill: load {load_s:.0f} s, {args.connections} connections, "
              f"{len(stats.records)} orders attempted, {retried} needed retries")
        print(f"drill: answered 201/200 {len(answered)} "
              f"(after a last retry {sum(1 for r in answered if r.get('recovered'))}), "
              f"refused {sum(1 for r in stats.records if r['order'] is None)}")
        print(f"drill: orders stored {len(orders)}")
        print(f"drill: lost {len(lost)}")
        print(f"drill: doubled {len(doubled)}")
        print(f"drill: stuck {len(stuck)}")
        print(f"drill: duplicate numbers {len(dup_numbers)}")
        for line in board_report:
            print(f"drill: board {line}")
        print(f"drill: outbox left {left}, dead {dead}")
        print(f"drill: status changes {dict(sorted(stats.kitchen.items(), key=str))}")
        print(f"drill: answers {dict(sorted(stats.answers.items(), key=str))}")
        print(f"drill: 5xx by status {fivexx}")
        for what, items in (("lost", lost), ("doubled", doubled), ("stuck", stuck),
                            ("duplicate number", dup_numbers)):
            for x in items[:10]:
                print(f"drill:   {what}: {x}")
        checks = {"lost": not lost, "doubled": not doubled, "stuck": not stuck,
                  "numbers": not dup_numbers, "boards": board_missing == 0,
                  "outbox": left == 0 and dead == 0, "orders": len(answered) > 0}
        bad = [k for k, ok in checks.items() if not ok]
        print(f"drill summary: {len(checks) - len(bad)} passed, {len(bad)} failed"
              + (f" ({', '.join(bad)})" if bad else ""))
        failed = bool(bad)
    finally:
        if failed:
            print_errors(stack.dir / "logs")
        stack.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
