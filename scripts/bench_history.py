"""Does request cost grow with history? Times the hot requests with
1,000 and then with 100,000 orders in the database and prints both and
their ratio (issue 11: every ratio must stay <= 1.5).

History is generated straight into the database (pymongo insert_many),
as a chain accumulates it: BENCH_ORDERS_PER_DAY orders a day (500) over
the demo branches, so 1,000 orders are two days and 100,000 are 200 days;
about BENCH_ORDERS_PER_CUSTOMER (20) orders per customer, each with a
session, a number claim and a status event, plus idempotency keys and
login attempts. The bench customer has the same 20 orders in both runs:
what grows is everyone else's history, as in a restaurant's life.

Two stacks (one per size) are measured in alternation, round by round,
so a shared machine's load falls on both sizes alike.

usage: bench_history.py PORT_A DB_PORT_A PORT_B DB_PORT_B BOT_TOKEN OWNER_PASSWORD
"""

import hashlib
import hmac
import json
import os
import random
import statistics
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pymongo
from bson import ObjectId

from bench_prep import call

TASHKENT = timezone(timedelta(hours=5))
SIZES = [int(x) for x in os.environ.get("BENCH_HISTORY_SIZES", "1000,100000").split(",")]
ROUNDS = int(os.environ.get("BENCH_HISTORY_ROUNDS", "40"))
PER_DAY = int(os.environ.get("BENCH_ORDERS_PER_DAY", "500"))
PER_CUSTOMER = int(os.environ.get("BENCH_ORDERS_PER_CUSTOMER", "20"))
BATCH = 1000
WRITERS = 4
STATUSES = ["completed"] * 8 + ["cancelled", "delivering"]


class History:
    """Writes generated history; remembers where it stopped."""

    def __init__(self, db, branches, products):
        self.db = db
        self.branches = branches
        self.products = products
        self.n = 0  # generated orders so far
        self.numbers = {b: 0 for b in branches}
        self.customer = None
        self.customer_left = 0
        self.rng = random.Random(11)
        self.now = datetime.now(timezone.utc)

    def _new_customer(self, batch):
        uid = ObjectId()
        tg = 10_000_000 + self.rng.randrange(10**9)
        batch["users"].append({
            "_id": uid, "telegramId": tg, "firstName": "Gen", "language": "uz",
            "createdAt": self.now, "updatedAt": self.now})
        batch["sessions"].append({
            "_id": hashlib.sha256(uid.binary).hexdigest(), "userId": uid,
            "createdAt": self.now, "touchedAt": self.now,
            "expiresAt": self.now + timedelta(days=30), "touches": 0})
        batch["login_attempts"].append({
            "key": f"tg:{tg}", "at": self.now, "expiresAt": self.now + timedelta(minutes=15)})
        self.customer, self.customer_left = uid, PER_CUSTOMER

    def grow(self, total):
        # The numbers the API claimed since: generated claims go on after them.
        for c in self.db.order_counters.find({"_id": {"$in": self.branches}}):
            self.numbers[c["_id"]] = max(self.numbers[c["_id"]], c.get("last", 0))
        # PostgreSQL takes concurrent writers: a few batches at once.
        with ThreadPoolExecutor(WRITERS) as pool:
            pending = []
            while self.n < total:
                pending.append(pool.submit(self._write, self._batch(min(total, self.n + BATCH))))
                if len(pending) >= 2 * WRITERS:
                    pending.pop(0).result()
            for f in pending:
                f.result()
        for branch, last in self.numbers.items():
            self.db.order_counters.update_one({"_id": branch}, {"$set": {"last": last}},
                                              upsert=True)

    def _write(self, batch):
        for coll, docs in batch.items():
            if docs:
                self.db[coll].insert_many(docs, ordered=False)

    def _batch(self, upto):
        batch = {k: [] for k in ("users", "sessions", "login_attempts", "orders",
                                 "order_events", "order_numbers", "idempotency_keys")}
        while self.n < upto:
            if self.customer_left == 0:
                self._new_customer(batch)
            self.customer_left -= 1
            # The n-th newest order: PER_DAY a day going back from now.
            at = self.now - timedelta(days=self.n / PER_DAY)
            branch = self.branches[self.n % len(self.branches)]
            self.numbers[branch] += 1
            number = self.numbers[branch]
            oid = ObjectId()
            p = self.products[self.n % len(self.products)]
            status = STATUSES[self.n % len(STATUSES)]
            batch["orders"].append({
                "_id": oid, "number": number, "branch": branch, "user": self.customer,
                "customer": {"firstName": "Gen", "language": "uz"},
                "items": [{"productId": p["_id"], "name": p["name"], "nameRu": p.get("nameRu", ""),
                           "price": p["price"], "quantity": 2, "total": 2 * p["price"]}],
                "subtotal": 2 * p["price"], "deliveryFee": 0, "total": 2 * p["price"],
                "orderType": "pickup", "paymentMethod": "cash", "paymentStatus": "pending",
                "status": status, "version": 1,
                "statusHistory": [{"status": "pending", "message": None, "timestamp": at},
                                  {"status": status, "message": None, "timestamp": at}],
                "localDay": at.astimezone(TASHKENT).strftime("%Y-%m-%d"),
                "localHour": at.astimezone(TASHKENT).hour,
                "createdAt": at, "updatedAt": at})
            batch["order_events"].append({
                "_id": f"{oid}:1", "order": oid, "version": 1, "from": "pending", "to": status,
                "byKind": "staff", "byId": oid, "at": at})
            batch["order_numbers"].append({
                "_id": f"{branch}:{number}", "branch": branch, "number": number, "order": oid,
                "at": at})
            if self.n % 2 == 0:
                batch["idempotency_keys"].append({
                    "_id": f"{self.customer}:gen-{self.n}", "order": oid, "createdAt": at,
                    "expiresAt": at + timedelta(days=1)})
            self.n += 1
        return batch


def telegram_sign_in(port, bot, tg_id):
    fields = {"query_id": "bench", "auth_date": str(int(time.time())),
              "user": json.dumps({"id": tg_id, "first_name": "Bench"})}
    dcs = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    key = hmac.new(b"WebAppData", bot.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(key, dcs.encode(), hashlib.sha256).hexdigest()
    r, body = call(port, "POST", "/api/auth/telegram", {"initData": urllib.parse.urlencode(fields)})
    return r.getheader("Set-Cookie").split(";")[0], body


def timed(fn):
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def one_round(t, i, rng):
    """One of each hot request against target t; adds milliseconds to t["times"]."""
    port, cust = t["port"], {"Cookie": t["cookie"]}
    owner = {"Authorization": f"Bearer {t['token']}"}
    order = {"items": [{"productId": t["product"], "quantity": 1}],
             "orderType": "pickup", "paymentMethod": "cash", "branchId": t["branch"]}
    times, placed = t["times"], {}

    def create():
        _, body = call(port, "POST", "/api/orders", order,
                       dict(cust, **{"Idempotency-Key": f"bench-{time.time_ns()}-{i}"}))
        placed.update(body["data"])

    times["create"].append(timed(create))
    oid = placed["_id"]
    times["status"].append(timed(lambda: call(
        port, "PUT", f"/api/orders/{oid}/status", {"status": "confirmed"}, owner)))
    old = rng.choice(t["ids"])
    times["read"].append(timed(lambda: call(port, "GET", f"/api/orders/{old}", None, owner)))
    times["mine"].append(timed(lambda: call(port, "GET", "/api/orders?limit=20", None, cust)))
    times["board"].append(timed(lambda: call(
        port, "GET", f"/api/admin/orders?branch={t['branch']}&limit=20", None, owner)))
    times["session"].append(timed(lambda: call(port, "GET", "/api/auth/me", None, cust)))
    # The bench customer keeps its PER_CUSTOMER orders of history.
    t["db"].orders.delete_one({"_id": ObjectId(oid)})


def target(port, db_port, bot, owner_pw):
    """A bench stack: its database, bench customer, owner token, history."""
    db = pymongo.MongoClient(f"mongodb://127.0.0.1:{db_port}/", socketTimeoutMS=600000)["oshxona"]
    hours = {d: {"open": "00:00", "close": "24:00"}
             for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    db.branches.update_many({}, {"$set": {"workingHours": hours, "isOpen": True}})
    branches = [b["_id"] for b in db.branches.find({"isActive": True})]
    products = list(db.products.find({"isActive": True, "isAvailable": True}))
    history = History(db, branches, products)
    cookie, me = telegram_sign_in(port, bot, 4242420)
    _, login = call(port, "POST", "/api/auth/login", {"login": "owner", "password": owner_pw})
    history.customer = ObjectId(me["user"]["id"])
    history.customer_left = PER_CUSTOMER
    return {"port": port, "db": db, "history": history, "cookie": cookie,
            "token": login["token"], "branch": str(branches[0]),
            "product": str(products[0]["_id"]),
            "times": {k: [] for k in ("create", "status", "read", "mine", "board", "session")}}


def main():
    """Two stacks, one with SIZES[0] orders and one with SIZES[-1], measured
    in alternation, so the load of a shared machine falls on both alike."""
    port_a, db_a, port_b, db_b, bot, owner_pw = sys.argv[1:7]
    lo, hi = SIZES[0], SIZES[-1]
    small = target(int(port_a), db_a, bot, owner_pw)
    big = target(int(port_b), db_b, bot, owner_pw)
    for t, size in ((small, lo), (big, hi)):
        start = time.monotonic()
        t["history"].grow(size)
        print(f"bench: {size} orders of history generated in {time.monotonic() - start:.1f} s "
              f"({t['db'].orders.estimated_document_count()} orders in the database)", flush=True)
        t["ids"] = [str(d["_id"]) for d in t["db"].orders.find(
            {"branch": t["history"].branches[0]}, {"_id": 1}).limit(2000)]
        call(t["port"], "GET", "/api/orders", None, {"Cookie": t["cookie"]})  # warm up
    rng = random.Random(5)
    for i in range(ROUNDS):
        for t in (small, big) if i % 2 == 0 else (big, small):
            one_round(t, i, rng)
    names = [("status", "status change (PUT /api/orders/{id}/status)"),
             ("read", "order read (GET /api/orders/{id})"),
             ("mine", "customer list (GET /api/orders)"),
             ("board", "branch admin list (GET /api/admin/orders)"),
             ("session", "session check (GET /api/auth/me)"),
             ("create", "order creation (POST /api/orders)")]
    print(f"{'median ms, ' + str(ROUNDS) + ' rounds':46} {lo:>9} {hi:>9} {'ratio':>7}")
    worst = 0.0
    for key, label in names:
        a = statistics.median(small["times"][key])
        b = statistics.median(big["times"][key])
        worst = max(worst, b / a)
        print(f"{label:46} {a:9.2f} {b:9.2f} {b / a:7.2f}")
    print(f"history ratio, worst: {worst:.2f} (issue 11 asks <= 1.5)")


if __name__ == "__main__":
    main()
