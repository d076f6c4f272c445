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

usage: bench_history.py PORT DB_PORT BOT_TOKEN OWNER_PASSWORD
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

    def _new_customer(self):
        uid = ObjectId()
        tg = 10_000_000 + self.rng.randrange(10**9)
        self.db.users.insert_one({
            "_id": uid, "telegramId": tg, "firstName": "Gen", "language": "uz",
            "createdAt": self.now, "updatedAt": self.now})
        key = hashlib.sha256(uid.binary).hexdigest()
        self.db.sessions.insert_one({
            "_id": key, "userId": uid, "createdAt": self.now, "touchedAt": self.now,
            "expiresAt": self.now + timedelta(days=30), "touches": 0})
        self.db.login_attempts.insert_one({
            "key": f"tg:{tg}", "at": self.now, "expiresAt": self.now + timedelta(minutes=15)})
        self.customer, self.customer_left = uid, PER_CUSTOMER

    def grow(self, total):
        # The numbers the API claimed since: generated claims go on after them.
        for c in self.db.order_counters.find({"_id": {"$in": self.branches}}):
            self.numbers[c["_id"]] = max(self.numbers[c["_id"]], c.get("last", 0))
        orders, events, numbers, idem = [], [], [], []
        while self.n < total:
            if self.customer_left == 0:
                self._new_customer()
            self.customer_left -= 1
            # The n-th newest order: PER_DAY a day going back from now.
            age = timedelta(days=self.n / PER_DAY)
            at = self.now - age
            branch = self.branches[self.n % len(self.branches)]
            self.numbers[branch] += 1
            number = self.numbers[branch]
            oid = ObjectId()
            p = self.products[self.n % len(self.products)]
            status = STATUSES[self.n % len(STATUSES)]
            orders.append({
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
            events.append({"_id": f"{oid}:1", "order": oid, "version": 1, "from": "pending",
                           "to": status, "byKind": "staff", "byId": oid, "at": at})
            numbers.append({"_id": f"{branch}:{number}", "branch": branch, "number": number,
                            "order": oid, "at": at})
            if self.n % 2 == 0:
                idem.append({"_id": f"{self.customer}:gen-{self.n}", "order": oid,
                             "createdAt": at, "expiresAt": at + timedelta(days=1)})
            self.n += 1
            if len(orders) == BATCH or self.n == total:
                for coll, docs in (("orders", orders), ("order_events", events),
                                   ("order_numbers", numbers), ("idempotency_keys", idem)):
                    if docs:
                        self.db[coll].insert_many(docs, ordered=False)
                orders, events, numbers, idem = [], [], [], []
        for branch, last in self.numbers.items():
            self.db.order_counters.update_one({"_id": branch}, {"$set": {"last": last}},
                                              upsert=True)


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


def measure(port, ctx, history_ids):
    """Median milliseconds of each hot request over ROUNDS rounds."""
    cust = {"Cookie": ctx["cookie"]}
    owner = {"Authorization": f"Bearer {ctx['token']}"}
    branch = ctx["branch"]
    order = {"items": [{"productId": ctx["product"], "quantity": 1}],
             "orderType": "pickup", "paymentMethod": "cash", "branchId": branch}
    times = {k: [] for k in ("create", "status", "read", "mine", "board", "session")}
    rng = random.Random(5)
    for i in range(ROUNDS):
        placed = {}

        def create():
            key = f"bench-{time.time_ns()}-{i}"
            _, body = call(port, "POST", "/api/orders", order,
                           dict(cust, **{"Idempotency-Key": key}))
            placed.update(body["data"])

        times["create"].append(timed(create))
        oid = placed["_id"]
        times["status"].append(timed(lambda: call(
            port, "PUT", f"/api/orders/{oid}/status", {"status": "confirmed"}, owner)))
        old = rng.choice(history_ids)
        times["read"].append(timed(lambda: call(port, "GET", f"/api/orders/{old}", None, owner)))
        times["mine"].append(timed(lambda: call(port, "GET", "/api/orders?limit=20", None, cust)))
        times["board"].append(timed(lambda: call(
            port, "GET", f"/api/admin/orders?branch={branch}&limit=20", None, owner)))
        times["session"].append(timed(lambda: call(port, "GET", "/api/auth/me", None, cust)))
        # Keep the bench customer's own history at PER_CUSTOMER orders.
        ctx["db"].orders.delete_one({"_id": ObjectId(oid)})
    return {k: statistics.median(v) for k, v in times.items()}


def main():
    port, db_port, bot, owner_pw = sys.argv[1:5]
    port = int(port)
    db = pymongo.MongoClient(f"mongodb://127.0.0.1:{db_port}/", socketTimeoutMS=600000)["oshxona"]
    hours = {d: {"open": "00:00", "close": "24:00"}
             for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    db.branches.update_many({}, {"$set": {"workingHours": hours, "isOpen": True}})
    branches = [b["_id"] for b in db.branches.find({"isActive": True})]
    products = list(db.products.find({"isActive": True, "isAvailable": True}))
    history = History(db, branches, products)

    # The bench customer: signed in through Telegram, with PER_CUSTOMER
    # orders of its own among the generated ones.
    cookie, me = telegram_sign_in(port, bot, 4242420)
    _, login = call(port, "POST", "/api/auth/login", {"login": "owner", "password": owner_pw})
    ctx = {"cookie": cookie, "token": login["token"], "branch": str(branches[0]),
           "product": str(products[0]["_id"]), "db": db}
    history.customer = ObjectId(me["user"]["id"])
    history.customer_left = PER_CUSTOMER

    results = {}
    for size in SIZES:
        start = time.monotonic()
        history.grow(size)
        grew = time.monotonic() - start
        ids = [str(d["_id"]) for d in db.orders.find({"branch": branches[0]},
                                                     {"_id": 1}).limit(2000)]
        call(port, "GET", "/api/orders", None, {"Cookie": cookie})  # warm up
        results[size] = measure(port, ctx, ids)
        print(f"bench: history of {size} orders generated in {grew:.1f} s "
              f"({db.orders.estimated_document_count()} in the database)", flush=True)
    names = [("status", "status change (PUT /api/orders/{id}/status)"),
             ("read", "order read (GET /api/orders/{id})"),
             ("mine", "customer list (GET /api/orders)"),
             ("board", "branch admin list (GET /api/admin/orders)"),
             ("session", "session check (GET /api/auth/me)"),
             ("create", "order creation (POST /api/orders)")]
    lo, hi = SIZES[0], SIZES[-1]
    print(f"{'median ms over ' + str(ROUNDS) + ' rounds':46} {lo:>9} {hi:>9} {'ratio':>7}")
    worst = 0.0
    for key, label in names:
        a, b = results[lo][key], results[hi][key]
        worst = max(worst, b / a)
        print(f"{label:46} {a:9.2f} {b:9.2f} {b / a:7.2f}")
    print(f"history ratio, worst: {worst:.2f} (issue 11 asks <= 1.5)")


if __name__ == "__main__":
    main()
