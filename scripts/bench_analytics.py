"""Analytics bench (issue 13), on a running bench stack:
  1. generates BENCH_ANALYTICS_ORDERS orders (1,000,000) over the last 365
     Tashkent days and the demo branches, straight into the database with
     parallel insert_many, in the orders program's shape;
  2. rolls the last 7 days (a week of rollups), times each analytics
     endpoint BENCH_ANALYTICS_REQUESTS times (p50, p99);
  3. rolls the whole year with `analytics-rollup --backfill` (one pass):
     orders/s overall and in C alone, as the job prints them;
  4. times the same endpoints again, now over a year of rollups.
The requests are the same in 2 and 4 (the last 7 days), so any difference
is what history costs.

usage: bench_analytics.py PORT DB_PORT OWNER_PASSWORD LOCK_DIR
"""

import os
import random
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pymongo
from bson import Int64, ObjectId

from bench_prep import call

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JOB = os.path.join(ROOT, "build", "bin", "analytics-rollup")
TASHKENT = timezone(timedelta(hours=5))
N = int(os.environ.get("BENCH_ANALYTICS_ORDERS", "1000000"))
REQUESTS = int(os.environ.get("BENCH_ANALYTICS_REQUESTS", "50"))
BATCH = 5000
WRITERS = 4
DAYS = 365
TYPES = ("delivery", "pickup", "dine_in")
METHODS = ("cash", "card", "click", "payme")
STATUSES = ["completed"] * 17 + ["cancelled"] * 2 + ["preparing"]
# The last 7 days each: rolled in both states, so the answers are the same.
ENDPOINTS = ["/api/admin/analytics/daily", "/api/admin/analytics/top-products?days=7",
             "/api/admin/analytics/peak-hours?days=7",
             "/api/admin/analytics/summary?from={week_from}"]


def batch(rng, start_n, count, branches, products, now):
    docs = []
    span_ms = DAYS * 86_400_000
    for i in range(start_n, start_n + count):
        at = now - timedelta(milliseconds=rng.randrange(span_ms))
        lt = at.astimezone(TASHKENT)
        branch = branches[i % len(branches)]
        items = []
        for p in rng.sample(products, rng.randint(1, 3)):
            q = rng.randint(1, 3)
            items.append({"productId": p["_id"], "name": p["name"], "nameRu": p.get("nameRu", ""),
                          "price": Int64(p["price"]), "quantity": Int64(q),
                          "total": Int64(p["price"] * q)})
        sub = sum(x["total"] for x in items)
        t = TYPES[i % 3]
        fee = 10000 if t == "delivery" else 0
        status = STATUSES[i % len(STATUSES)] if lt.date() != now.astimezone(TASHKENT).date() \
            else "completed"
        docs.append({
            "_id": ObjectId(), "number": Int64(i), "branch": branch, "user": ObjectId(),
            "customer": {"firstName": "Bench", "language": "uz"}, "items": items,
            "subtotal": Int64(sub), "deliveryFee": Int64(fee), "total": Int64(sub + fee),
            "orderType": t, "paymentMethod": METHODS[i % 4], "paymentStatus": "pending",
            "status": status, "version": Int64(1),
            "statusHistory": [{"status": "pending", "message": None, "timestamp": at},
                              {"status": status, "message": None, "timestamp": at}],
            "localDay": lt.strftime("%Y-%m-%d"), "localHour": lt.hour,
            "createdAt": at, "updatedAt": at})
    return docs


def generate(db, branches, products):
    now = datetime.now(timezone.utc) - timedelta(minutes=1)
    t0 = time.monotonic()

    def write(start):
        rng = random.Random(start)
        db.orders.insert_many(batch(rng, start, min(BATCH, N - start), branches, products, now),
                              ordered=False)

    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(write, range(0, N, BATCH)))
    dt = time.monotonic() - t0
    print(f"analytics bench: {N} orders generated in {dt:.1f} s ({N / dt:.0f}/s, "
          f"{WRITERS} writers, insert_many of {BATCH})", flush=True)


def job(lock_dir, db_port, *args):
    env = dict(os.environ, MONGODB_URI=f"mongodb://127.0.0.1:{db_port}/oshxona",
               OSHXONA_ENV_FILE="/dev/null", OSHXONA_LOCK_DIR=lock_dir, LOG_LEVEL="error")
    p = subprocess.run([JOB, *args], env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"analytics-rollup {args}: {p.returncode} {p.stderr}")
    return p.stdout.strip()


def latencies(port, token, week_from):
    out = {}
    h = {"Authorization": f"Bearer {token}"}
    for p in ENDPOINTS:
        path = p.format(week_from=week_from)
        call(port, "GET", path, headers=h)
        ms = []
        for _ in range(REQUESTS):
            t0 = time.perf_counter()
            call(port, "GET", path, headers=h)
            ms.append((time.perf_counter() - t0) * 1000)
        ms.sort()
        out[p] = (statistics.median(ms), ms[min(len(ms) - 1, int(len(ms) * 0.99))])
    return out


def main():
    port, db_port, owner_pw, lock_dir = sys.argv[1:5]
    port = int(port)
    db = pymongo.MongoClient(f"mongodb://127.0.0.1:{db_port}/", socketTimeoutMS=600000)["oshxona"]
    branches = [b["_id"] for b in db.branches.find({}, {"_id": 1})]
    products = list(db.products.find({"isActive": True}, {"name": 1, "nameRu": 1, "price": 1}))
    _, login = call(port, "POST", "/api/auth/login", {"login": "owner", "password": owner_pw})
    token = login["token"]
    generate(db, branches, products)
    today = datetime.now(TASHKENT).date()
    week_from = (today - timedelta(days=6)).isoformat()
    year_from = (today - timedelta(days=DAYS)).isoformat()
    print("analytics bench: week rollup: " + job(lock_dir, db_port, "--backfill", week_from,
                                                  today.isoformat()), flush=True)
    week = latencies(port, token, week_from)
    print("analytics bench: year rollup: " + job(lock_dir, db_port, "--backfill", year_from,
                                                  today.isoformat()), flush=True)
    print(f"analytics bench: daily_stats holds {db.daily_stats.count_documents({})} rollups",
          flush=True)
    year = latencies(port, token, week_from)
    print(f"{'analytics endpoint (owner, all branches)':44} {'week p50':>9} {'p99':>7} "
          f"{'year p50':>9} {'p99':>7}  ms")
    for path in ENDPOINTS:
        print(f"{path.replace('{week_from}', 'D-6'):44} {week[path][0]:9.1f} {week[path][1]:7.1f} {year[path][0]:9.1f} "
              f"{year[path][1]:7.1f}")


if __name__ == "__main__":
    main()
