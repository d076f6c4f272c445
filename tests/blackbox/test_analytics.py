"""Analytics: cron/analytics rolls a realistic month of orders into daily
rollups; fcgi-apps/analytics answers from them. Every endpoint is checked
against a brute-force computation in Python over the raw orders (read back
from the database), with exact equality.

The month is generated straight into the database in the shape the orders
program writes (checked against a real order placed through the API):
three branches, thousands of orders, cancellations, orders still open in
the last days, orders at 23:59:59.999 and 00:00:00.000 Tashkent time, and a
product renamed mid-month. A private stack (harness.private_stack).
"""

import csv
import io
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from datetime import datetime, timedelta, timezone

import pytest
from bson import Int64, ObjectId

from harness import BIN, private_stack
from orders_helpers import OrdersStack

JOB = BIN / "analytics-rollup"
TASHKENT = timezone(timedelta(hours=5))
UTC = timezone.utc
TYPES = ("delivery", "pickup", "dine_in")
METHODS = ("cash", "card", "click", "payme")
OPEN = ("pending", "confirmed", "preparing", "ready")
MONTH_DAYS = 30
OLD_NAME = "Eski nom (old name)"


# ------------------------------------------------------------ brute force


def local(dt):
    """(day, hour) in Tashkent of a stored createdAt (naive UTC from pymongo)."""
    t = dt.replace(tzinfo=UTC).astimezone(TASHKENT)
    return t.strftime("%Y-%m-%d"), t.hour


def avg(total, n):
    # Half up, whole so'm: what README states.
    return (total + n // 2) // n if n > 0 else 0


def blank():
    return {"totalOrders": 0, "totalRevenue": 0, "completedOrders": 0, "cancelledOrders": 0,
            "openOrders": 0,
            "byOrderType": {t: {"orders": 0, "revenue": 0} for t in TYPES},
            "byPaymentMethod": {m: {"orders": 0, "revenue": 0} for m in METHODS},
            "hours": [{"hour": h, "orders": 0, "revenue": 0} for h in range(24)],
            "products": {}}


def brute(orders, branches, days):
    """Everything the endpoints report, from raw orders of `branches` (a set
    of ObjectIds) on `days` (a set of YYYY-MM-DD)."""
    s = blank()
    for o in orders:
        day, hour = local(o["createdAt"])
        if o["branch"] not in branches or day not in days:
            continue
        cancelled = o["status"] == "cancelled"
        s["totalOrders"] += 1
        s["hours"][hour]["orders"] += 1
        s["byOrderType"][o["orderType"]]["orders"] += 1
        s["byPaymentMethod"][o["paymentMethod"]]["orders"] += 1
        if cancelled:
            s["cancelledOrders"] += 1
            continue
        if o["status"] == "completed":
            s["completedOrders"] += 1
        else:
            s["openOrders"] += 1
        s["totalRevenue"] += o["total"]
        s["hours"][hour]["revenue"] += o["total"]
        s["byOrderType"][o["orderType"]]["revenue"] += o["total"]
        s["byPaymentMethod"][o["paymentMethod"]]["revenue"] += o["total"]
        for it in o["items"]:
            p = s["products"].setdefault(str(it["productId"]),
                                         {"q": 0, "rev": 0, "at": None, "name": "", "nameRu": ""})
            p["q"] += it["quantity"]
            p["rev"] += it["price"] * it["quantity"]
            if p["at"] is None or o["createdAt"] >= p["at"]:
                p["at"], p["name"], p["nameRu"] = o["createdAt"], it["name"], it["nameRu"]
    s["avgOrderValue"] = avg(s["totalRevenue"], s["totalOrders"] - s["cancelledOrders"])
    return s


def totals(s):
    return {k: s[k] for k in ("totalOrders", "totalRevenue", "avgOrderValue", "completedOrders",
                              "cancelledOrders", "openOrders")}


def top(s, limit):
    rows = sorted(s["products"].items(), key=lambda kv: (-kv[1]["q"], -kv[1]["rev"], kv[0]))
    return [{"_id": pid, "totalSold": p["q"], "totalRevenue": p["rev"],
             "product": {"_id": pid, "name": p["name"], "nameRu": p["nameRu"]}}
            for pid, p in rows[:limit]]


def day_range(frm, n):
    d = datetime.strptime(frm, "%Y-%m-%d")
    return [(d + timedelta(days=i)).strftime("%Y-%m-%d") for i in range(n)]


def last_days(n):
    today = datetime.now(TASHKENT).strftime("%Y-%m-%d")
    return day_range((datetime.strptime(today, "%Y-%m-%d") - timedelta(days=n - 1))
                     .strftime("%Y-%m-%d"), n)


# -------------------------------------------------------------- generator


def make_order(rng, branch, products, created, status, number, user, staff):
    """One order as fcgi-apps/orders writes it (order_create, order_apply)."""
    order_type = rng.choices(TYPES, weights=(5, 3, 2))[0]
    items = []
    for p in rng.sample(products, rng.randint(1, 4)):
        q = rng.choices((1, 2, 3, 5), weights=(6, 3, 1, 0.3))[0]
        name = p["name"]
        if p.get("_renamed_before") and created < p["_renamed_before"]:
            name = OLD_NAME
        items.append({"productId": p["_id"], "name": name, "nameRu": p.get("nameRu", ""),
                      "price": Int64(p["price"]), "quantity": Int64(q),
                      "total": Int64(p["price"] * q)})
    subtotal = sum(i["total"] for i in items)
    fee = branch.get("deliveryFee", 0) if order_type == "delivery" else 0
    lt = created.astimezone(TASHKENT)
    hist = [{"status": "pending", "message": None, "timestamp": created, "updatedBy": user}]
    flow = ["confirmed", "preparing", "ready"] + (["delivering"] if order_type == "delivery"
                                                   else [])
    if status == "completed":
        steps = flow + ["completed"]
    elif status == "cancelled":
        steps = flow[:rng.randint(0, 2)] + ["cancelled"]
    else:
        steps = flow[:flow.index(status) + 1] if status != "pending" else []
    t = created
    for s in steps:
        t = t + timedelta(minutes=rng.randint(2, 15))
        hist.append({"status": s, "message": None, "timestamp": t, "updatedBy": staff})
    doc = {"_id": ObjectId(), "number": Int64(number), "branch": branch["_id"], "user": user,
           "customer": {"firstName": "Mijoz", "language": rng.choice(("uz", "ru")),
                        "telegramId": Int64(950_000_000 + number)},
           "items": items, "subtotal": Int64(subtotal), "deliveryFee": Int64(fee),
           "total": Int64(subtotal + fee),
           "orderType": order_type, "paymentMethod": rng.choice(METHODS),
           "paymentStatus": "pending"}
    if order_type == "delivery":
        doc.update(address="Chilonzor 9-kvartal, 12-uy", phone="+998901234567")
    if order_type == "dine_in":
        doc["tableNumber"] = Int64(rng.randint(1, 30))
    doc.update(status=steps[-1] if steps else "pending", version=Int64(len(steps)),
               statusHistory=hist, localDay=lt.strftime("%Y-%m-%d"), localHour=lt.hour,
               createdAt=created, updatedAt=t)
    return doc


def generate_month(db, rng, branches, products, user, staff, now):
    today = now.astimezone(TASHKENT).date()
    first = today - timedelta(days=MONTH_DAYS - 1)
    # One product changes its name on day 12: older orders keep the old one.
    renamed = products[0]
    renamed["_renamed_before"] = datetime(first.year, first.month, first.day,
                                          tzinfo=TASHKENT) + timedelta(days=12)
    docs, number = [], 1000
    for d in range(MONTH_DAYS):
        day = first + timedelta(days=d)
        start = datetime(day.year, day.month, day.day, tzinfo=TASHKENT)
        recent = d >= MONTH_DAYS - 4
        for bi, branch in enumerate(branches):
            stamps = []
            for _ in range(rng.randint(35, 55) - 8 * bi):
                # Busy at lunch and in the evening, a few in the small hours.
                h = rng.choices(range(24), weights=[1, 1, 0.5, 0.3, 0.2, 0.2, 0.5, 1, 2, 3, 5,
                                                    8, 12, 10, 6, 4, 4, 6, 10, 12, 10, 7, 4,
                                                    2])[0]
                stamps.append(start + timedelta(hours=h, milliseconds=rng.randrange(3_600_000)))
            # The edges of the local day (UTC 19:00 is local midnight).
            stamps += [start + timedelta(milliseconds=86_400_000 - 1),
                       start + timedelta(days=1) - timedelta(seconds=1),
                       start, start + timedelta(milliseconds=1)]
            for created in stamps:
                if created > now - timedelta(minutes=5):
                    continue
                # Open orders only in the last days, and few: the late-change
                # test closes them through the API, which is slow on FerretDB/SQLite.
                st = rng.choices(("completed", "cancelled", "open"), weights=(85, 13, 2))[0]
                if st == "open":
                    st = rng.choice(OPEN) if recent else "completed"
                number += 1
                docs.append(make_order(rng, branch, products, created.astimezone(UTC), st,
                                       number, user, staff))
    for i in range(0, len(docs), 1000):
        db.orders.insert_many(docs[i:i + 1000])
    return first.strftime("%Y-%m-%d"), today.strftime("%Y-%m-%d"), len(docs)


# ------------------------------------------------------------------ fixture


class Analytics:
    def __init__(self, st, tmp):
        self.st = st
        self.env = {k: v for k, v in os.environ.items() if k not in ("LOG_FILE", "EXTERNAL_DB")}
        self.env.update(MONGODB_URI=f"mongodb://127.0.0.1:{st.stack.db_port}/oshxona",
                        OSHXONA_ENV_FILE="/dev/null", OSHXONA_LOCK_DIR=str(tmp),
                        LOG_LEVEL="warn")
        self.lockdir = tmp
        self._orders = None

    def job(self, *args, expect=0):
        p = subprocess.run([str(JOB), *args], env=self.env, capture_output=True, text=True,
                           timeout=600)
        assert p.returncode == expect, f"analytics {args}: rc {p.returncode}\n{p.stderr}"
        return p

    def get(self, path, who="owner", headers=None):
        h = dict(self.st.staff[who].headers) if who else {}
        h.update(headers or {})
        return self.st.get(path, h)

    def ok(self, path, who="owner"):
        r = self.get(path, who)
        assert r.status == 200, (path, r)
        assert r.header("Content-Type").startswith("application/json")
        body = r.json
        assert body["success"] is True
        return body

    def orders(self, fresh=False):
        """Every order, raw (read once; again after the test that changes them)."""
        if fresh or self._orders is None:
            self._orders = list(self.st.db.orders.find({}, {"customer": 0,
                                                           "statusHistory": 0}))
        return self._orders


@pytest.fixture(scope="module")
def an(request):
    tmp = tempfile.mkdtemp(prefix="oshx-an-")
    with private_stack(request, "analytics", OrdersStack) as st:
        a = Analytics(st, tmp)
        rng = random.Random(13)
        third = st.new_branch(name="Oshxona Sergeli")
        branches = [st.branches["chilonzor"], st.branches["yunusobod"], third]
        products = sorted(st.active_products(), key=lambda p: p["name"])[:24]
        # A real order first, through the API: the generated ones copy its shape.
        cust = st.customer()
        real = st.order(cust, order_type="delivery",
                        items=[{"productId": str(products[0]["_id"]), "quantity": 4}])
        a.real = st.db.orders.find_one({"_id": ObjectId(real["_id"] if "_id" in real
                                                        else real["id"])})
        staff_id = st.db.staff.find_one({"login": "chilonzor"})["_id"]
        now = datetime.now(UTC)
        a.first, a.today, a.generated = generate_month(st.db, rng, branches, products,
                                                       ObjectId(cust.id), staff_id, now)
        a.branches = {"chilonzor": branches[0]["_id"], "yunusobod": branches[1]["_id"],
                      "sergeli": third["_id"]}
        a.customer = cust
        t0 = time.monotonic()
        a.backfill = a.job("--backfill", a.first, a.today)
        a.backfill_s = time.monotonic() - t0
        yield a
    shutil.rmtree(tmp, ignore_errors=True)


def scopes(a):
    """(who, query, branch set): what each caller may see."""
    allb = set(a.branches.values())
    out = [("owner", "", allb)]
    for k, b in a.branches.items():
        out.append(("owner", f"branchId={b}", {b}))
    out.append(("chilonzor", "", {a.branches["chilonzor"]}))
    out.append(("chilonzor", f"branchId={a.branches['chilonzor']}", {a.branches["chilonzor"]}))
    out.append(("yunusobod", "", {a.branches["yunusobod"]}))
    return out


def q(path, *parts):
    parts = [p for p in parts if p]
    return path + ("?" + "&".join(parts) if parts else "")


# -------------------------------------------------------------------- tests


def test_generated_orders_have_the_real_shape(an):
    gen = an.st.db.orders.find_one({"number": {"$gte": 1001}, "orderType": "delivery"})
    assert set(gen) == set(an.real), set(gen) ^ set(an.real)
    assert set(gen["items"][0]) == set(an.real["items"][0])
    assert set(gen["statusHistory"][0]) == set(an.real["statusHistory"][0])
    for k in ("total", "subtotal", "deliveryFee", "version", "localHour", "number",
              "createdAt", "localDay", "branch"):
        assert type(gen[k]) is type(an.real[k]), k
    for k in an.real["items"][0]:
        assert type(gen["items"][0][k]) is type(an.real["items"][0][k]), k
    assert an.generated > 3000
    assert "orders" in an.backfill.stdout and "rollups" in an.backfill.stdout


def test_daily_matches_brute_force_every_day(an):
    """Every day for the owner (all, and each branch); the other scopes on
    a sample of days (each request costs about a second on FerretDB/SQLite)."""
    orders = an.orders()
    days = day_range(an.first, MONTH_DAYS)
    sample = set(days[:2] + days[12:14] + days[-3:])
    for day in days:
        for who, query, branches in scopes(an):
            if day not in sample and (who != "owner" or not query.startswith("branchId")):
                continue
            body = an.ok(q("/api/admin/analytics/daily", f"date={day}", query), who)
            d = body["data"]
            want = brute(orders, branches, {day})
            assert d["date"] == day
            assert totals(d) == totals(want), (day, who, query)
            assert d["byOrderType"] == want["byOrderType"], (day, who, query)
            assert d["byPaymentMethod"] == want["byPaymentMethod"], (day, who, query)
            assert d["hours"] == want["hours"], (day, who, query)
            assert body["timezone"] == "Asia/Tashkent"


def test_midnight_orders_land_on_their_local_day(an):
    """Each generated day has orders at 00:00:00.000 and 23:59:59.999 local:
    the first hour and the last hour of every day hold them."""
    d = an.ok(q("/api/admin/analytics/daily", f"date={day_range(an.first, 3)[1]}"))["data"]
    assert d["hours"][0]["orders"] >= 2 * 3
    assert d["hours"][23]["orders"] >= 2 * 3
    # 18:59:59.999 UTC is the day's last instant, 19:00:00 UTC the next day's first.
    o = an.st.db.orders.find_one({"createdAt": {"$gte": datetime(2000, 1, 1)},
                                  "localHour": 23, "localDay": day_range(an.first, 3)[1]},
                                 sort=[("createdAt", -1)])
    assert o["createdAt"].hour == 18 and o["createdAt"].minute == 59


def test_top_products_matches_brute_force(an):
    orders = an.orders()
    for days, limit in ((7, 10), (30, 100), (1, 5), (MONTH_DAYS, 3)):
        for who, query, branches in scopes(an):
            body = an.ok(q("/api/admin/analytics/top-products", f"days={days}",
                           f"limit={limit}", query), who)
            want = top(brute(orders, branches, set(last_days(days))), limit)
            assert body["data"] == want, (days, limit, who, query)
    # The defaults are 7 days and 10 products.
    body = an.ok("/api/admin/analytics/top-products")
    assert body["data"] == top(brute(orders, set(an.branches.values()), set(last_days(7))), 10)
    assert body["from"] == last_days(7)[0] and body["to"] == an.today


def test_top_products_name_is_the_latest_snapshot(an):
    body = an.ok(q("/api/admin/analytics/top-products", f"days={MONTH_DAYS}", "limit=100"))
    names = {p["product"]["name"] for p in body["data"]}
    assert OLD_NAME not in names
    # Over only the days before the rename, the old name is what was sold.
    old = brute(an.orders(), set(an.branches.values()), set(day_range(an.first, 10)))
    assert any(p["name"] == OLD_NAME for p in old["products"].values())


def test_peak_hours_matches_brute_force(an):
    orders = an.orders()
    for days in (1, 7, 30):
        for who, query, branches in scopes(an):
            body = an.ok(q("/api/admin/analytics/peak-hours", f"days={days}", query), who)
            want = brute(orders, branches, set(last_days(days)))["hours"]
            assert body["data"] == [{"_id": h["hour"], "hour": h["hour"],
                                     "orderCount": h["orders"], "totalRevenue": h["revenue"]}
                                    for h in want], (days, who, query)


def test_summary_matches_brute_force(an):
    orders = an.orders()
    periods = [(an.first, an.today), (day_range(an.first, 10)[3], day_range(an.first, 10)[9]),
               (an.today, an.today)]
    for frm, to in periods:
        days = day_range(frm, (datetime.strptime(to, "%Y-%m-%d")
                               - datetime.strptime(frm, "%Y-%m-%d")).days + 1)
        for who, query, branches in scopes(an):
            body = an.ok(q("/api/admin/analytics/summary", f"from={frm}", f"to={to}", query),
                         who)
            d = body["data"]
            want = brute(orders, branches, set(days))
            assert totals(d) == totals(want)
            assert d["byOrderType"] == want["byOrderType"]
            assert d["byPaymentMethod"] == want["byPaymentMethod"]
            assert [x["date"] for x in d["days"]] == days
            for x in d["days"]:
                assert totals(x) == totals(brute(orders, branches, {x["date"]})) | {}, x["date"]


def test_summary_csv_export(an):
    orders = an.orders()
    names = {b: an.st.db.branches.find_one({"_id": b})["name"] for b in an.branches.values()}
    for headers, path in (({}, q("/api/admin/analytics/summary", f"from={an.first}",
                                 f"to={an.today}", "format=csv")),
                          ({"Accept": "text/csv"}, q("/api/admin/analytics/summary",
                                                     f"from={an.first}", f"to={an.today}"))):
        r = an.get(path, headers=headers)
        assert r.status == 200, r
        assert r.header("Content-Type").startswith("text/csv")
        assert "attachment" in r.header("Content-Disposition")
        rows = list(csv.DictReader(io.StringIO(r.body.decode("utf-8"))))
        want = []
        for day in day_range(an.first, MONTH_DAYS):
            for b in sorted(an.branches.values(), key=str):
                s = brute(orders, {b}, {day})
                if s["totalOrders"] == 0:
                    continue
                want.append({"date": day, "branchId": str(b), "branchName": names[b],
                             "totalOrders": str(s["totalOrders"]),
                             "completedOrders": str(s["completedOrders"]),
                             "cancelledOrders": str(s["cancelledOrders"]),
                             "totalRevenue": str(s["totalRevenue"]),
                             "avgOrderValue": str(s["avgOrderValue"]),
                             **{f"orders_{t}": str(s["byOrderType"][t]["orders"]) for t in TYPES},
                             **{f"revenue_{m}": str(s["byPaymentMethod"][m]["revenue"])
                                for m in METHODS}})
        assert rows == want
    # A manager's export holds their branch only.
    r = an.get(q("/api/admin/analytics/summary", f"from={an.first}", f"to={an.today}",
                 "format=csv"), "chilonzor")
    rows = list(csv.DictReader(io.StringIO(r.body.decode("utf-8"))))
    assert rows and {x["branchId"] for x in rows} == {str(an.branches["chilonzor"])}


def test_rerun_is_idempotent(an):
    coll = an.st.db.daily_stats

    def snapshot():
        return {d["_id"]: {k: v for k, v in d.items() if k != "computedAt"} for d in coll.find()}

    before = snapshot()
    assert len(before) == 3 * MONTH_DAYS
    an.job("--backfill", an.first, an.today)
    an.job("--date", day_range(an.first, 5)[2])
    an.job()
    assert snapshot() == before


def test_cron_run_picks_up_late_status_changes_and_new_orders(an):
    st = an.st
    owner = st.staff["owner"]
    # A closed day of the last few that still has open orders (the generator
    # leaves a few open there), with the fewest: each change is a request.
    counts = {d: st.db.orders.count_documents({"localDay": d, "status": {"$in": list(OPEN)}})
              for d in day_range(an.first, MONTH_DAYS)[-4:-1]}
    recent = min((d for d in counts if counts[d] > 0), key=lambda d: counts[d])
    old = day_range(an.first, MONTH_DAYS)[5]
    assert an.ok(q("/api/admin/analytics/daily", f"date={old}"))["data"]["final"] is True
    assert an.ok(q("/api/admin/analytics/daily", f"date={recent}"))["data"]["final"] is False
    # Close every open order of that day through the API: one completed, the rest cancelled.
    open_orders = list(st.db.orders.find({"localDay": recent, "status": {"$in": list(OPEN)}}))
    assert open_orders
    for i, o in enumerate(open_orders):
        oid = str(o["_id"])
        if i > 0:
            st.set_status(oid, "cancelled", owner, expect=200)
            continue
        flow = ["confirmed", "preparing", "ready"] + (["delivering"]
                                                      if o["orderType"] == "delivery" else [])
        for s in flow[flow.index(o["status"]) + 1 if o["status"] in flow else 0:]:
            st.set_status(oid, s, owner, expect=200)
        st.set_status(oid, "completed", owner, expect=200)
    # A new order today, through the API.
    placed = st.order(an.customer, branch="yunusobod")
    stale = an.ok(q("/api/admin/analytics/daily", f"date={recent}"))["data"]
    an.job()  # the cron run: no arguments
    orders = an.orders(fresh=True)
    for day in (recent, an.today):
        for who, query, branches in scopes(an):
            d = an.ok(q("/api/admin/analytics/daily", f"date={day}", query), who)["data"]
            want = brute(orders, branches, {day})
            assert totals(d) == totals(want), (day, who, query)
            assert d["hours"] == want["hours"]
    fresh = an.ok(q("/api/admin/analytics/daily", f"date={recent}"))["data"]
    assert fresh["cancelledOrders"] > stale["cancelledOrders"]
    assert fresh["openOrders"] == 0
    assert fresh["final"] is True
    y = an.ok(q("/api/admin/analytics/daily", f"branchId={an.branches['yunusobod']}"),
              "yunusobod")["data"]
    assert y["date"] == an.today and y["final"] is False
    assert y["totalOrders"] == brute(orders, {an.branches["yunusobod"]}, {an.today})["totalOrders"]
    assert placed["total"] <= y["totalRevenue"]


def test_cron_run_catches_up_days_missed_while_it_was_down(an):
    """The cron run rolls every day since the last run began (analytics_state):
    rollups lost or never made for those days come back."""
    st = an.st
    missed = day_range(an.first, MONTH_DAYS)[-5:-1]
    before = {d["_id"]: d["totalOrders"] for d in st.db.daily_stats.find({"day": {"$in": missed}})}
    assert len(before) == 3 * len(missed)
    st.db.daily_stats.delete_many({"day": {"$in": missed}})
    last = datetime.strptime(missed[0], "%Y-%m-%d").replace(tzinfo=TASHKENT) + timedelta(hours=2)
    st.db.analytics_state.replace_one({"_id": "cron"}, {"_id": "cron", "lastRunAt": last},
                                      upsert=True)
    an.job()
    after = {d["_id"]: d["totalOrders"] for d in st.db.daily_stats.find({"day": {"$in": missed}})}
    assert after == before
    state = st.db.analytics_state.find_one({"_id": "cron"})
    assert state["lastRunAt"].replace(tzinfo=UTC) > datetime.now(UTC) - timedelta(minutes=5)
    orders = an.orders(fresh=True)
    for day in missed:
        d = an.ok(q("/api/admin/analytics/daily", f"date={day}"))["data"]
        assert totals(d) == totals(brute(orders, set(an.branches.values()), {day}))


def test_authorization(an):
    for path in ("/api/admin/analytics/daily", "/api/admin/analytics/top-products",
                 "/api/admin/analytics/peak-hours", "/api/admin/analytics/summary"):
        r = an.get(path, who=None)
        assert r.status == 401, r
        assert r.json["success"] is False
        r = an.get(path, who=None, headers=an.customer.headers)
        assert r.status == 403, r
        r = an.get(q(path, f"branchId={an.branches['yunusobod']}"), "chilonzor")
        assert r.status == 403, r
        r = an.get(q(path, f"branchId={an.branches['sergeli']}"), "yunusobod")
        assert r.status == 403, r
        r = an.get(path, who=None, headers={"Authorization": "Bearer not.a.token"})
        assert r.status == 401, r
        # Owners see every branch by id.
        assert an.get(q(path, f"branchId={an.branches['sergeli']}")).status == 200
    r = an.st.api.request("POST", "/api/admin/analytics/daily",
                          headers=an.st.staff["owner"].headers, body=b"")
    assert r.status == 405


@pytest.mark.parametrize("path, word", [
    ("/api/admin/analytics/daily?date=2026-02-30", "date"),
    ("/api/admin/analytics/daily?date=2026-2-3", "date"),
    ("/api/admin/analytics/daily?date=", "date"),
    ("/api/admin/analytics/daily?day=2026-01-01", "day"),
    ("/api/admin/analytics/daily?branchId=xyz", "branchId"),
    ("/api/admin/analytics/top-products?days=0", "days"),
    ("/api/admin/analytics/top-products?days=367", "days"),
    ("/api/admin/analytics/top-products?days=7.5", "days"),
    ("/api/admin/analytics/top-products?limit=101", "limit"),
    ("/api/admin/analytics/top-products?days=7&days=8", "days"),
    ("/api/admin/analytics/peak-hours?days=-1", "days"),
    ("/api/admin/analytics/peak-hours?days[$gt]=1", "days"),
    ("/api/admin/analytics/summary?from=2026-03-02&to=2026-03-01", "from"),
    ("/api/admin/analytics/summary?from=2024-01-01&to=2025-12-31", "366"),
    ("/api/admin/analytics/summary?format=xml", "format"),
    ("/api/admin/analytics/summary?to=2026-13-01", "to"),
])
def test_bad_queries_are_400(an, path, word):
    r = an.get(path)
    assert r.status == 400, r
    assert r.json["success"] is False and word in r.json["message"], r.json


def test_unknown_path_is_404(an):
    assert an.get("/api/admin/analytics/nope").status == 404


def test_job_arguments_and_lock(an):
    for args in (("--date",), ("--date", "2026-02-30"), ("--backfill", "2026-03-02",
                                                         "2026-03-01"), ("--what",),
                 ("--backfill", "2026-01-01")):
        p = an.job(*args, expect=2)
        assert "usage" in p.stderr or "YYYY-MM-DD" in p.stderr or "FROM" in p.stderr
    assert "usage" in an.job("--help").stdout
    lock = an.lockdir / "oshxona-analytics-rollup.lock" if hasattr(an.lockdir, "joinpath") else \
        os.path.join(an.lockdir, "oshxona-analytics-rollup.lock")
    holder = subprocess.Popen(["flock", "-x", str(lock), "sleep", "30"], start_new_session=True)
    try:
        deadline = time.monotonic() + 5
        while not os.path.exists(lock) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        an.job("--date", an.today, expect=3)
        an.job(expect=0)  # from cron: skip quietly
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
    an.job("--date", an.today)


def test_a_database_outage_is_exit_1(an):
    env = dict(an.env, MONGODB_URI="mongodb://127.0.0.1:9/oshxona?serverSelectionTimeoutMS=300")
    p = subprocess.run([str(JOB), "--date", an.today], env=env, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 1, p
