"""Orders: placing, pricing, reading, the kitchen's status flow, and what
must stay exact under concurrent clients (order numbers, status changes,
idempotency keys) — against a private stack (harness.private_stack)
with four FastCGI children per program, so parallel requests really are
parallel."""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from bson import ObjectId

from harness import private_stack
from orders_helpers import ALL_DAY, DAYS, DROP, TASHKENT, OrdersStack, tashkent_day


@pytest.fixture(scope="module")
def o(request):
    with private_stack(request, "orders", OrdersStack) as st:
        yield st


@pytest.fixture(scope="module")
def alice(o):
    return o.customer()


@pytest.fixture(scope="module")
def bob(o):
    return o.customer()


def assert_error(r, status, field=None):
    """A JSON {"success": false, "message"} answer with status (an int or a
    tuple of acceptable ones) whose message names field."""
    ok = status if isinstance(status, tuple) else (status,)
    assert r.status in ok, r
    assert r.header("Content-Type", "").startswith("application/json"), r
    body = r.json
    assert body["success"] is False, body
    assert isinstance(body.get("message"), str) and body["message"], body
    if field is not None:
        assert field in body["message"], (field, body)
    return body


# ---------------------------------------------------------- 1. validation

BAD = (400, 422)  # malformed or semantically invalid: either is a fair answer


def _items(o, **line):
    item = {"productId": o.pid("Toʻy oshi"), "quantity": 1}
    item.update(line)
    return [{k: v for k, v in item.items() if v is not DROP}]


VALIDATION = [
    ("missing items", lambda o: o.body(items=DROP), BAD, "items"),
    ("items not an array", lambda o: o.body(items={"productId": o.pid("Toʻy oshi")}), BAD,
     "items"),
    ("empty items", lambda o: o.body(items=[]), BAD, "items"),
    ("51 items", lambda o: o.body(items=_items(o) * 51), BAD, "items"),
    ("quantity 0", lambda o: o.body(items=_items(o, quantity=0)), BAD, "quantity"),
    ("quantity -1", lambda o: o.body(items=_items(o, quantity=-1)), BAD, "quantity"),
    ("quantity 100", lambda o: o.body(items=_items(o, quantity=100)), BAD, "quantity"),
    ("quantity string", lambda o: o.body(items=_items(o, quantity="2")), BAD, "quantity"),
    ("quantity 2.5", lambda o: o.body(items=_items(o, quantity=2.5)), BAD, "quantity"),
    ("quantity true", lambda o: o.body(items=_items(o, quantity=True)), BAD, "quantity"),
    ("quantity missing", lambda o: o.body(items=_items(o, quantity=DROP)), BAD, "quantity"),
    ("productId not hex", lambda o: o.body(items=_items(o, productId="toy-oshi")), BAD,
     "productId"),
    ("productId 25 hex", lambda o: o.body(items=_items(o, productId="a" * 25)), BAD,
     "productId"),
    ("productId number", lambda o: o.body(items=_items(o, productId=12)), BAD, "productId"),
    ("unknown top-level field", lambda o: o.body(coupon="FREE"), BAD, "coupon"),
    ("unknown item field", lambda o: o.body(items=_items(o, discount=50)), BAD, "discount"),
    ("orderType not in enum", lambda o: o.body(orderType="takeaway"), BAD, "orderType"),
    ("orderType missing", lambda o: o.body(orderType=DROP), BAD, "orderType"),
    ("paymentMethod not in enum", lambda o: o.body(paymentMethod="bitcoin"), BAD,
     "paymentMethod"),
    ("paymentMethod missing", lambda o: o.body(paymentMethod=DROP), BAD, "paymentMethod"),
    ("branchId malformed", lambda o: o.body(branchId="chilonzor"), BAD, "branch"),
    ("branchId missing", lambda o: o.body(branchId=DROP), BAD, "branch"),
    ("branchId unknown", lambda o: o.body(branchId=str(ObjectId())), (400, 404, 422), "branch"),
    ("delivery without address or location",
     lambda o: o.body(order_type="delivery", address=DROP, items=_items(o, quantity=2)), BAD,
     "address"),
    ("delivery without phone",
     lambda o: o.body(order_type="delivery", phone=DROP, items=_items(o, quantity=2)), BAD,
     "phone"),
    ("bad phone letters", lambda o: o.body(phone="call me maybe"), BAD, "phone"),
    ("bad phone too short", lambda o: o.body(phone="+99890"), BAD, "phone"),
    ("dine_in without tableNumber", lambda o: o.body(order_type="dine_in", tableNumber=DROP),
     BAD, "tableNumber"),
    ("tableNumber 0", lambda o: o.body(order_type="dine_in", tableNumber=0), BAD,
     "tableNumber"),
    ("notes 201 characters", lambda o: o.body(items=_items(o, notes="ш" * 201)), BAD, "notes"),
    ("notes not a string", lambda o: o.body(items=_items(o, notes=5)), BAD, "notes"),
    ("comment 501 characters", lambda o: o.body(comment="x" * 501), BAD, "comment"),
    ("location lat out of range", lambda o: o.body(location={"lat": 91, "lng": 69.2}), BAD,
     "location"),
    ("location lng out of range", lambda o: o.body(location={"lat": 41.3, "lng": -180.5}), BAD,
     "location"),
    ("location not numbers", lambda o: o.body(location={"lat": "41", "lng": "69"}), BAD,
     "location"),
]


@pytest.mark.parametrize("name,make,status,field", VALIDATION, ids=[c[0] for c in VALIDATION])
def test_invalid_order_bodies(o, alice, name, make, status, field):
    before = o.count_orders()
    r = o.place(alice, make(o), expect=None)
    assert_error(r, status, field)
    assert o.count_orders() == before


def test_unknown_product_is_409_naming_it(o, alice):
    ghost = str(ObjectId())
    before = o.count_orders()
    r = o.place(alice, o.body(items=[{"productId": o.pid("Toʻy oshi"), "quantity": 1},
                                     {"productId": ghost, "quantity": 1}]), expect=None)
    assert_error(r, 409, ghost)
    assert o.count_orders() == before


def test_boundaries_that_are_valid(o, alice):
    """The limits themselves pass: 50 lines, quantity 99, notes of 200
    characters, a comment of 500 — so the refusals above are about the limits."""
    items = [{"productId": o.pid("Obi non"), "quantity": 1} for _ in range(49)]
    items.append({"productId": o.pid("Obi non"), "quantity": 99, "notes": "ш" * 200})
    d = o.order(alice, body=o.body(items=items, comment="z" * 500))
    assert len(d["items"]) == 50
    assert d["subtotal"] == 4000 * (49 + 99)


def test_wrong_content_type_is_415(o, alice):
    before = o.count_orders()
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/jsonx"):
        r = o.post("/api/orders", o.body(), dict(alice.headers, **{"Content-Type": ctype}))
        assert_error(r, 415)
    r = o.api.request("POST", "/api/orders", headers=alice.headers,
                      body=json.dumps(o.body()).encode())
    assert_error(r, 415)
    assert o.count_orders() == before


@pytest.mark.parametrize("raw", [b'{"items": [', b"not json", b"", b"[1, 2]", b'"order"',
                                 b'{"items": [] , }'])
def test_malformed_json_is_400(o, alice, raw):
    before = o.count_orders()
    r = o.post("/api/orders", raw, alice.headers, raw=True)
    assert_error(r, 400)
    assert o.count_orders() == before


def test_body_over_64k_is_413_from_nginx(o, alice):
    body = json.dumps(o.body(comment="x" * (70 * 1024))).encode()
    r = o.post("/api/orders", body, alice.headers, raw=True)
    assert_error(r, 413)


def test_body_over_the_orders_limit_is_413(o, alice):
    """Under nginx's 64 KB but over what an order can ever need."""
    body = json.dumps(o.body(comment="x" * (40 * 1024))).encode()
    before = o.count_orders()
    r = o.post("/api/orders", body, alice.headers, raw=True)
    assert r.status in (413, 422), r
    assert_error(r, r.status)
    assert o.count_orders() == before


OPERATORS = [
    ("$gt in productId", lambda o: o.body(items=[{"productId": {"$gt": ""}, "quantity": 1}])),
    ("$where top level", lambda o: o.body(**{"$where": "sleep(100)"})),
    ("$where in an item", lambda o: o.body(items=_items(o, **{"$where": "1"}))),
    ("$where in location",
     lambda o: o.body(location={"lat": 41.3, "lng": 69.2, "$where": "1"})),
    ("$where nested deep",
     lambda o: o.body(items=[{"productId": o.pid("Toʻy oshi"), "quantity": 1,
                              "notes": {"a": [{"$where": "1"}]}}])),
    ("$ne in branchId", lambda o: o.body(branchId={"$ne": None})),
    ("dotted key", lambda o: o.body(**{"items.0.price": 1})),
]


@pytest.mark.parametrize("name,make", OPERATORS, ids=[c[0] for c in OPERATORS])
def test_operator_keys_are_400_and_insert_nothing(o, alice, name, make):
    before = o.count_orders()
    r = o.place(alice, make(o), expect=None)
    assert_error(r, 400)
    assert o.count_orders() == before


def test_not_signed_in_is_401(o):
    before = o.count_orders()
    r = o.post("/api/orders", o.body())
    assert_error(r, 401)
    r = o.post("/api/orders", o.body(), {"Cookie": "oshxona_sid=" + "ab" * 32})
    assert_error(r, 401)
    assert o.count_orders() == before


def test_staff_cannot_place_orders_403(o):
    before = o.count_orders()
    for login in ("owner", "chilonzor"):
        r = o.post("/api/orders", o.body(), o.staff[login].headers)
        assert_error(r, 403)
    assert o.count_orders() == before


# -------------------------------------------------------------- 2. pricing


def test_lines_carry_server_prices(o, alice):
    osh, choy = o.product("Toʻy oshi"), o.product("Koʻk choy")
    r = o.place(alice, o.body(items=[
        {"productId": str(osh["_id"]), "quantity": 2, "notes": "piyozsiz"},
        {"productId": str(choy["_id"]), "quantity": 3}]))
    d = r.json["data"]
    assert r.json["success"] is True
    assert [(i["productId"], i["name"], i["price"], i["quantity"], i["total"])
            for i in d["items"]] == [
        (str(osh["_id"]), osh["name"], osh["price"], 2, 2 * osh["price"]),
        (str(choy["_id"]), choy["name"], choy["price"], 3, 3 * choy["price"])]
    assert d["items"][0]["notes"] == "piyozsiz"
    subtotal = 2 * osh["price"] + 3 * choy["price"]
    assert (d["subtotal"], d["deliveryFee"], d["total"]) == (subtotal, 0, subtotal)
    assert d["status"] == "pending" and d["orderType"] == "pickup"
    assert d["user"] == alice.id and d["branch"] == o.branch_id()
    assert isinstance(d["number"], int) and d["number"] >= 1
    # Location names the new order, and it is in the database already.
    assert r.header("Location") == f"/api/orders/{d['_id']}"
    doc = o.db.orders.find_one({"_id": ObjectId(d["_id"])})
    assert doc is not None and doc["total"] == subtotal and doc["number"] == d["number"]
    assert o.get(r.header("Location"), alice.headers).json["data"]["_id"] == d["_id"]


def test_delivery_adds_the_branch_fee(o, alice):
    branch = o.branches["chilonzor"]
    osh = o.product("Toʻy oshi")
    d = o.order(alice, body=o.body(order_type="delivery",
                                   items=[{"productId": str(osh["_id"]), "quantity": 2}],
                                   location={"lat": 41.28, "lng": 69.21}))
    assert d["subtotal"] == 2 * osh["price"]
    assert d["deliveryFee"] == branch["deliveryFee"] > 0
    assert d["total"] == 2 * osh["price"] + branch["deliveryFee"]
    assert d["address"] and d["phone"] == "+998901234567"
    assert d["location"] == {"lat": 41.28, "lng": 69.21}


def test_delivery_with_location_only_is_fine(o, alice):
    d = o.order(alice, body=o.body(order_type="delivery", address=DROP,
                                   location={"lat": 41.28, "lng": 69.21},
                                   items=_items(o, quantity=2)))
    assert d["orderType"] == "delivery" and "address" not in d


def test_dine_in_has_no_fee(o, alice):
    d = o.order(alice, body=o.body(order_type="dine_in", tableNumber=12))
    assert d["deliveryFee"] == 0 and d["total"] == d["subtotal"] and d["tableNumber"] == 12


def test_client_price_that_differs_is_409(o, alice):
    osh = o.product("Toʻy oshi")
    before = o.count_orders()
    for wrong in (osh["price"] - 1000, 1, 0):
        r = o.place(alice, o.body(items=[{"productId": str(osh["_id"]), "quantity": 1,
                                          "price": wrong}]), expect=None)
        assert_error(r, 409, osh["name"])
        assert str(osh["price"]) in r.json["message"]
    assert o.count_orders() == before
    d = o.order(alice, body=o.body(items=[{"productId": str(osh["_id"]), "quantity": 1,
                                           "price": osh["price"]}]))
    assert d["total"] == osh["price"]


def test_client_total_that_differs_is_409(o, alice):
    osh = o.product("Toʻy oshi")
    fee = o.branches["chilonzor"]["deliveryFee"]
    items = [{"productId": str(osh["_id"]), "quantity": 2}]
    right = 2 * osh["price"] + fee
    before = o.count_orders()
    for wrong in (2 * osh["price"], right + 1, 0):  # e.g. forgot the fee
        r = o.place(alice, o.body(order_type="delivery", items=items, total=wrong), expect=None)
        assert_error(r, 409, "total")
    assert o.count_orders() == before
    d = o.order(alice, body=o.body(order_type="delivery", items=items, total=right))
    assert d["total"] == right


def test_inactive_product_is_409(o, alice):
    hidden = o.product("Qozon kabob")
    assert hidden["isActive"] is False
    before = o.count_orders()
    r = o.place(alice, o.body(items=[{"productId": str(hidden["_id"]), "quantity": 1}]),
                expect=None)
    body = assert_error(r, 409)
    assert str(hidden["_id"]) in body["message"] or hidden["name"] in body["message"], body
    assert o.count_orders() == before


def test_out_of_stock_product_is_409(o, alice):
    gone = o.product("Devzira palov")
    assert gone["isActive"] is True and gone["isAvailable"] is False
    before = o.count_orders()
    r = o.place(alice, o.body(items=[{"productId": o.pid("Toʻy oshi"), "quantity": 1},
                                     {"productId": str(gone["_id"]), "quantity": 1}]),
                expect=None)
    assert_error(r, 409, gone["name"])
    assert o.count_orders() == before


def test_product_going_out_of_stock_is_refused_at_once(o, alice):
    p = o.product("Chak-chak")
    o.place(alice, o.body(items=[{"productId": str(p["_id"]), "quantity": 1}]))
    o.db.products.update_one({"_id": p["_id"]}, {"$set": {"isAvailable": False}})
    try:
        r = o.place(alice, o.body(items=[{"productId": str(p["_id"]), "quantity": 1}]),
                    expect=None)
        assert_error(r, 409, p["name"])
    finally:
        o.db.products.update_one({"_id": p["_id"]}, {"$set": {"isAvailable": True}})


def test_price_change_applies_to_the_next_order(o, alice):
    p = o.product("Manti")
    o.db.products.update_one({"_id": p["_id"]}, {"$set": {"price": p["price"] + 3000}})
    try:
        d = o.order(alice, body=o.body(items=[{"productId": str(p["_id"]), "quantity": 2}]))
        assert d["items"][0]["price"] == p["price"] + 3000
        assert d["total"] == 2 * (p["price"] + 3000)
    finally:
        o.db.products.update_one({"_id": p["_id"]}, {"$set": {"price": p["price"]}})


def _hours_around_now(include):
    now = datetime.now(TASHKENT)
    if include:
        open_, close = (now - timedelta(hours=1)).hour, (now + timedelta(hours=2)).hour
    else:
        open_, close = (now + timedelta(hours=2)).hour, (now + timedelta(hours=3)).hour
    return {d: {"open": f"{open_:02d}:00", "close": f"{close:02d}:00"} for d in DAYS}


def test_closed_branch_is_422(o, alice):
    closed = o.new_branch(isOpen=False)
    before = o.count_orders()
    r = o.place(alice, o.body(branch=str(closed["_id"])), expect=None)
    assert_error(r, 422, "closed")
    outside = o.new_branch(workingHours=_hours_around_now(include=False))
    r = o.place(alice, o.body(branch=str(outside["_id"])), expect=None)
    assert_error(r, 422, "closed")
    assert o.count_orders() == before
    # The same branch within its hours takes orders.
    o.db.branches.update_one({"_id": outside["_id"]},
                             {"$set": {"workingHours": _hours_around_now(include=True)}})
    o.place(alice, o.body(branch=str(outside["_id"])))
    # A day with no hours at all is a closed day.
    today = DAYS[datetime.now(TASHKENT).weekday()]
    hours = dict(ALL_DAY)
    del hours[today]
    o.db.branches.update_one({"_id": outside["_id"]}, {"$set": {"workingHours": hours}})
    # Yesterday's 00:00-24:00 does not reach into today.
    r = o.place(alice, o.body(branch=str(outside["_id"])), expect=None)
    assert_error(r, 422, "closed")


def test_inactive_branch_is_refused(o, alice):
    gone = o.new_branch(isActive=False)
    before = o.count_orders()
    r = o.place(alice, o.body(branch=str(gone["_id"])), expect=None)
    assert_error(r, (404, 409, 422), "branch")
    assert o.count_orders() == before


def test_delivery_below_minimum_is_422(o, alice):
    branch = o.branches["chilonzor"]
    assert branch["minOrder"] == 50000
    before = o.count_orders()
    r = o.place(alice, o.body(order_type="delivery",
                              items=[{"productId": o.pid("Toʻy oshi"), "quantity": 1}]),
                expect=None)
    assert_error(r, 422, "minimum")
    assert str(branch["minOrder"]) in r.json["message"]
    assert o.count_orders() == before
    # Exactly the minimum is enough; the fee does not count towards it.
    d = o.order(alice, body=o.body(order_type="delivery", items=[
        {"productId": o.pid("Toʻy oshi"), "quantity": 1},
        {"productId": o.pid("Mineral suv 0,5 l"), "quantity": 1}]))
    assert d["subtotal"] == 50000 and d["total"] == 50000 + branch["deliveryFee"]
    # The minimum is for delivery only: the same basket is fine for pickup.
    o.place(alice, o.body(items=[{"productId": o.pid("Toʻy oshi"), "quantity": 1}]))


# -------------------------------------------------------------- 3. reading


def test_my_orders_newest_first_with_paging(o, bob):
    carol = o.customer()
    ids = [o.order(carol)["_id"] for _ in range(3)]
    other = o.order(bob)["_id"]
    r = o.get("/api/orders", carol.headers)
    assert r.status == 200, r
    body = r.json
    assert body["success"] is True
    assert [d["_id"] for d in body["data"]] == ids[::-1]
    assert (body["total"], body["offset"]) == (3, 0) and body["limit"] >= 3
    assert other not in [d["_id"] for d in body["data"]]
    assert all(d["user"] == carol.id for d in body["data"])
    page = o.get("/api/orders?limit=2", carol.headers).json
    assert [d["_id"] for d in page["data"]] == ids[:0:-1]
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
    page = o.get("/api/orders?limit=2&offset=2", carol.headers).json
    assert [d["_id"] for d in page["data"]] == ids[:1]
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 2)
    assert o.get("/api/orders?offset=5", carol.headers).json["data"] == []
    for q in ("limit=0", "limit=101", "limit=x", "offset=-1", "bogus=1"):
        assert_error(o.get(f"/api/orders?{q}", carol.headers), 400)
    assert_error(o.get("/api/orders"), 401)
    fresh = o.customer()
    assert o.get("/api/orders", fresh.headers).json["data"] == []


def test_staff_cannot_use_the_customer_list(o):
    r = o.get("/api/orders", o.staff["owner"].headers)
    assert r.status == 403, r


def test_read_one_order(o, alice, bob):
    oid = o.order(alice)["_id"]
    path = f"/api/orders/{oid}"
    r = o.get(path, alice.headers)
    assert r.status == 200 and r.json["data"]["_id"] == oid, r
    assert r.header("Cache-Control") == "no-store"
    assert_error(o.get(path, bob.headers), 404)
    assert o.get(path, o.staff["chilonzor"].headers).json["data"]["_id"] == oid
    assert o.get(path, o.staff["chilonzor"].cookie).json["data"]["_id"] == oid
    assert o.get(path, o.staff["owner"].headers).status == 200
    assert_error(o.get(path, o.staff["yunusobod"].headers), 403)
    assert_error(o.get(path), 401)
    for bad in ("123", "zz" * 12, "a" * 25, "%24where"):
        assert_error(o.get(f"/api/orders/{bad}", alice.headers), 400)
    # Someone else's order and no order at all look the same to a customer.
    assert_error(o.get(f"/api/orders/{ObjectId()}", alice.headers), 404)
    assert_error(o.get(f"/api/orders/{ObjectId()}", o.staff["owner"].headers), 404)


def _admin(o, who, query=""):
    return o.get(f"/api/admin/orders{query}", o.staff[who].headers)


def test_admin_list_is_scoped_to_branches(o, alice):
    chil = o.order(alice)["_id"]
    yunus = o.order(alice, branch="yunusobod")["_id"]
    # Manager of Chilonzor: only Chilonzor's.
    body = _admin(o, "chilonzor", "?limit=100").json
    assert body["success"] is True
    ids = [d["_id"] for d in body["data"]]
    assert chil in ids and yunus not in ids
    assert {d["branch"] for d in body["data"]} == {o.branch_id("chilonzor")}
    assert body["total"] == o.count_orders({"branch": ObjectId(o.branch_id("chilonzor"))})
    r = _admin(o, "chilonzor", f"?branch={o.branch_id('yunusobod')}")
    assert_error(r, 403)
    r = _admin(o, "chilonzor", f"?branch={o.branch_id('chilonzor')}&limit=100")
    assert r.status == 200 and chil in [d["_id"] for d in r.json["data"]]
    # Operator of Yunusobod: only Yunusobod's.
    body = _admin(o, "yunusobod", "?limit=100").json
    ids = [d["_id"] for d in body["data"]]
    assert yunus in ids and chil not in ids
    # The owner sees all branches.
    body = _admin(o, "owner", "?limit=100").json
    ids = [d["_id"] for d in body["data"]]
    assert chil in ids and yunus in ids
    assert body["total"] == o.count_orders()
    body = _admin(o, "owner", f"?branch={o.branch_id('yunusobod')}&limit=100").json
    assert {d["branch"] for d in body["data"]} == {o.branch_id("yunusobod")}
    assert body["total"] == o.count_orders({"branch": ObjectId(o.branch_id("yunusobod"))})
    # Newest first.
    stamps = [d["createdAt"] for d in body["data"]]
    assert stamps == sorted(stamps, reverse=True)


def test_admin_list_refuses_customers_and_strangers(o, alice):
    assert_error(o.get("/api/admin/orders", alice.headers), 403)
    assert_error(o.get("/api/admin/orders"), 401)


def test_admin_list_filters(o, alice):
    branch = o.new_branch()
    bid = str(branch["_id"])
    a = o.order(alice, branch=bid)["_id"]
    b = o.order(alice, branch=bid)["_id"]
    o.set_status(b, "confirmed", o.staff["owner"], expect=200)
    q = f"?branch={bid}"
    body = _admin(o, "owner", q + "&status=pending").json
    assert [d["_id"] for d in body["data"]] == [a] and body["total"] == 1
    body = _admin(o, "owner", q + "&status=confirmed").json
    assert [d["_id"] for d in body["data"]] == [b]
    assert _admin(o, "owner", q + "&status=cancelled").json["data"] == []
    today = tashkent_day()
    assert o.read(a)["localDay"] == today
    for query, expected in [
        (f"&from={today}&to={today}", {a, b}),
        (f"&from={today}", {a, b}),
        (f"&to={today}", {a, b}),
        (f"&to={tashkent_day(-1)}", set()),
        (f"&from={tashkent_day(1)}", set()),
        (f"&from={tashkent_day(-3)}&to={tashkent_day(-1)}", set()),
        (f"&from={today}&to={today}&status=confirmed", {b}),
    ]:
        body = _admin(o, "owner", q + query).json
        assert {d["_id"] for d in body["data"]} == expected, query
        assert body["total"] == len(expected), query
    # Paging on the admin list.
    page = _admin(o, "owner", q + "&limit=1&offset=1").json
    assert [d["_id"] for d in page["data"]] == [a]
    assert (page["total"], page["limit"], page["offset"]) == (2, 1, 1)


def test_admin_list_is_a_window_of_local_days(o, alice):
    # The board reads one (branch, day) at a time, so its cost follows the
    # days asked for, not the history: without from/to it shows today;
    # older orders are there for an explicit from..to.
    branch = o.new_branch()
    bid = str(branch["_id"])
    fresh = o.order(alice, branch=bid)
    old = dict(o.db.orders.find_one({"_id": ObjectId(fresh["_id"])}))
    olds = []
    for back in (6, 7, 20):
        doc = dict(old, _id=ObjectId(), localDay=tashkent_day(-back),
                   createdAt=old["createdAt"] - timedelta(days=back))
        o.db.orders.insert_one(doc)
        olds.append(str(doc["_id"]))
    q = f"?branch={bid}&limit=100"
    body = _admin(o, "owner", q).json
    assert [d["_id"] for d in body["data"]] == [fresh["_id"]]
    assert body["total"] == 1
    body = _admin(o, "owner", q + f"&from={tashkent_day(-6)}").json
    assert [d["_id"] for d in body["data"]] == [fresh["_id"], olds[0]]
    assert body["total"] == 2
    body = _admin(o, "owner", q + f"&from={tashkent_day(-30)}").json
    assert [d["_id"] for d in body["data"]] == [fresh["_id"]] + olds
    assert body["total"] == 4
    for offset, want in ((0, fresh["_id"]), (1, olds[0]), (2, olds[1]), (3, olds[2])):
        body = _admin(o, "owner",
                      f"?branch={bid}&from={tashkent_day(-30)}&offset={offset}&limit=1").json
        assert [d["_id"] for d in body["data"]] == [want] and body["total"] == 4
    # Only `to`: that day.
    body = _admin(o, "owner", q + f"&to={tashkent_day(-7)}").json
    assert [d["_id"] for d in body["data"]] == [olds[1]]
    assert_error(_admin(o, "owner", q + f"&from={tashkent_day(-31)}"), 400, "31")
    assert_error(_admin(o, "owner", q + "&from=2026-02-31"), 400)
    assert _admin(o, "owner", q + f"&from={tashkent_day(1)}").json["total"] == 0
    for bad in ("status=shipped", "status=", "status=%24ne", "from=2024-1-01",
                "to=yesterday", "from=2024/01/01", "branch=xyz", "limit=1000"):
        assert_error(_admin(o, "owner", f"?{bad}"), 400)


def test_local_day_is_tashkent_time(o, alice):
    d = o.order(alice)
    created = datetime.fromisoformat(d["createdAt"].replace("Z", "+00:00")) \
        if isinstance(d["createdAt"], str) else None
    if created is not None:
        assert d["localDay"] == created.astimezone(TASHKENT).strftime("%Y-%m-%d")
    doc = o.db.orders.find_one({"_id": ObjectId(d["_id"])})
    utc = doc["createdAt"]
    assert doc["localDay"] == (utc + timedelta(hours=5)).strftime("%Y-%m-%d")


# ---------------------------------------------------------- 4. status flow


def _staff_id(o, login):
    return str(o.db.staff.find_one({"login": login})["_id"])


@pytest.mark.parametrize("order_type,flow", [
    ("pickup", ["confirmed", "preparing", "ready", "completed"]),
    ("dine_in", ["confirmed", "preparing", "ready", "completed"]),
    ("delivery", ["confirmed", "preparing", "ready", "delivering", "completed"]),
])
def test_status_flow(o, alice, order_type, flow):
    items = _items(o, quantity=2)
    d = o.order(alice, order_type=order_type, items=items)
    assert d["version"] == 0 and [h["status"] for h in d["statusHistory"]] == ["pending"]
    staff = o.staff["chilonzor"]
    sid = _staff_id(o, "chilonzor")
    for i, status in enumerate(flow, start=1):
        msg = f"step {i}" if i % 2 else None
        r = o.set_status(d["_id"], status, staff, message=msg, expect=200)
        got = r.json["data"]
        assert got["status"] == status and got["version"] == i, got
        hist = got["statusHistory"]
        assert [h["status"] for h in hist] == ["pending"] + flow[:i]
        last = hist[-1]
        assert set(last) >= {"status", "message", "timestamp", "updatedBy"}
        assert last["message"] == msg and last["updatedBy"] == sid and last["timestamp"]
        assert hist[-1]["timestamp"] >= hist[-2]["timestamp"]
        assert o.read(d["_id"])["status"] == status
    # A completed order is final.
    for status in ("cancelled", "pending", "ready", "completed"):
        assert_error(o.set_status(d["_id"], status, staff), 409)
    assert o.read(d["_id"])["version"] == len(flow)


@pytest.mark.parametrize("order_type,start,to", [
    ("pickup", [], "ready"),            # skipping steps
    ("pickup", [], "preparing"),
    ("pickup", [], "completed"),
    ("pickup", [], "pending"),
    ("pickup", ["confirmed"], "confirmed"),
    ("pickup", ["confirmed", "preparing"], "confirmed"),  # going back
    ("pickup", ["confirmed", "preparing", "ready"], "delivering"),  # pickup is not delivered
    ("dine_in", ["confirmed", "preparing", "ready"], "delivering"),
    ("delivery", ["confirmed", "preparing", "ready"], "completed"),  # must be delivered first
    ("delivery", ["confirmed", "preparing"], "delivering"),
    ("pickup", ["cancelled"], "confirmed"),  # cancelled is final
    ("pickup", ["cancelled"], "cancelled"),
])
def test_forbidden_transitions_are_409(o, alice, order_type, start, to):
    d = o.order(alice, order_type=order_type, items=_items(o, quantity=2))
    staff = o.staff["owner"]
    o.advance(d["_id"], start, staff)
    before = o.read(d["_id"])
    assert_error(o.set_status(d["_id"], to, staff), 409)
    after = o.read(d["_id"])
    assert (after["status"], after["version"], len(after["statusHistory"])) == \
        (before["status"], before["version"], len(before["statusHistory"]))


@pytest.mark.parametrize("order_type,start", [
    ("pickup", []),
    ("pickup", ["confirmed"]),
    ("pickup", ["confirmed", "preparing"]),
    ("pickup", ["confirmed", "preparing", "ready"]),
    ("delivery", ["confirmed", "preparing", "ready", "delivering"]),
])
def test_staff_can_cancel_before_completion(o, alice, order_type, start):
    d = o.order(alice, order_type=order_type, items=_items(o, quantity=2))
    o.advance(d["_id"], start, o.staff["chilonzor"])
    r = o.set_status(d["_id"], "cancelled", o.staff["chilonzor"], message="Sabzi tugadi",
                     expect=200)
    got = r.json["data"]
    assert got["status"] == "cancelled" and got["version"] == len(start) + 1
    assert got["statusHistory"][-1]["message"] == "Sabzi tugadi"


def test_customer_may_cancel_only_own_pending(o, alice, bob):
    d = o.order(alice)
    r = o.set_status(d["_id"], "cancelled", alice, expect=200)
    assert r.json["data"]["status"] == "cancelled"
    assert r.json["data"]["statusHistory"][-1]["updatedBy"] == alice.id
    d = o.order(alice)
    o.set_status(d["_id"], "confirmed", o.staff["chilonzor"], expect=200)
    assert_error(o.set_status(d["_id"], "cancelled", alice), 409)
    assert o.read(d["_id"])["status"] == "confirmed"
    d = o.order(alice)
    for status in ("confirmed", "completed", "preparing"):
        assert_error(o.set_status(d["_id"], status, alice), 403)
    assert_error(o.set_status(d["_id"], "cancelled", bob), 404)
    assert o.read(d["_id"])["status"] == "pending"
    assert_error(o.set_status(d["_id"], "cancelled", o.staff["yunusobod"]), 403)
    r = o.put(f"/api/orders/{d['_id']}/status", {"status": "cancelled"})
    assert_error(r, 401)
    after = o.read(d["_id"])
    assert (after["status"], after["version"]) == ("pending", 0)


def test_bad_status_requests(o, alice):
    d = o.order(alice)
    staff = o.staff["chilonzor"]
    assert_error(o.set_status(d["_id"], "burnt", staff), 422, "status")
    assert_error(o.set_status(d["_id"], "CONFIRMED", staff), 422, "status")
    path = f"/api/orders/{d['_id']}/status"
    assert_error(o.put(path, {}, staff.headers), 400, "status")
    assert_error(o.put(path, {"status": 3}, staff.headers), 400, "status")
    assert_error(o.put(path, {"status": "confirmed", "by": "me"}, staff.headers), 400, "by")
    assert_error(o.put(path, {"status": "confirmed", "message": "x" * 501}, staff.headers),
                 (400, 422), "message")
    assert_error(o.put(path, {"status": {"$ne": "x"}}, staff.headers), 400)
    r = o.api.request("PUT", path, headers=dict(staff.headers, **{"Content-Type": "text/plain"}),
                      body=b'{"status": "confirmed"}')
    assert_error(r, 415)
    assert_error(o.put("/api/orders/nothex/status", {"status": "confirmed"}, staff.headers),
                 400)
    assert_error(o.put(f"/api/orders/{ObjectId()}/status", {"status": "confirmed"},
                       staff.headers), 404)
    after = o.read(d["_id"])
    assert (after["status"], after["version"]) == ("pending", 0)


# ---------------------------------------------------------- 5. concurrency


def _race(fns):
    """Runs every fn at (nearly) the same moment, each on its own thread."""
    barrier = threading.Barrier(len(fns))

    def run(fn):
        barrier.wait()
        return fn()

    with ThreadPoolExecutor(len(fns)) as ex:
        return list(ex.map(run, fns))


def test_concurrent_status_changes_have_one_winner(o, alice):
    """Per order, two staff members press a button at the same moment:
    exactly one 200 and one 409, one new history entry, one version step."""
    a, b = o.staff["chilonzor"], o.staff["owner"]
    cases = []
    for i in range(8):
        # The same target from pending.
        cases.append((o.order(alice)["_id"], "confirmed", a, "confirmed", b))
    for i in range(8):
        # Different targets from ready: either order of the two is a 409,
        # so only a lost race could give two 200s.
        oid = o.order(alice)["_id"]
        o.advance(oid, ["confirmed", "preparing", "ready"], a)
        cases.append((oid, "completed", a, "cancelled", b))
    for i in range(4):
        # The customer cancels while the kitchen confirms: a customer may
        # cancel only a pending order, so again exactly one of the two.
        cases.append((o.order(alice)["_id"], "confirmed", a, "cancelled", alice))
    failures = []
    for oid, t1, w1, t2, w2 in cases:
        before = o.read(oid)
        r1, r2 = _race([lambda: o.set_status(oid, t1, w1), lambda: o.set_status(oid, t2, w2)])
        statuses = sorted([r1.status, r2.status])
        after = o.read(oid)
        winner = r1 if r1.status == 200 else r2
        ok = (statuses == [200, 409]
              and after["version"] == before["version"] + 1
              and len(after["statusHistory"]) == len(before["statusHistory"]) + 1
              and after["status"] == winner.json["data"]["status"]
              and after["statusHistory"][-1]["status"] == after["status"])
        if not ok:
            failures.append((oid, t1, t2, r1.status, r2.status, before["version"],
                             after["version"], [h["status"] for h in after["statusHistory"]]))
    assert not failures, failures
    # Every event claim matches the history: one event per version step.
    for oid, *_ in cases:
        doc = o.db.orders.find_one({"_id": ObjectId(oid)})
        assert o.db.order_events.count_documents({"order": ObjectId(oid)}) == doc["version"]


def test_200_concurrent_orders_from_20_customers(o):
    branch = o.new_branch()
    bid = str(branch["_id"])
    customers = [o.customer() for _ in range(20)]
    start = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(seconds=1)
    results = [[] for _ in customers]
    barrier = threading.Barrier(len(customers))

    def client(i):
        c = customers[i]
        barrier.wait()
        for _ in range(10):
            r = o.place(c, o.body(branch=bid), expect=None)
            results[i].append(r)

    t0 = time.monotonic()
    with ThreadPoolExecutor(len(customers)) as ex:
        list(ex.map(client, range(len(customers))))
    took = time.monotonic() - t0
    answers = [r for rs in results for r in rs]
    assert sorted({r.status for r in answers}) == [201], \
        [r for r in answers if r.status != 201][:3]
    numbers = [r.json["data"]["number"] for r in answers]
    assert len(set(numbers)) == 200, sorted(numbers)
    docs = list(o.db.orders.find({"branch": branch["_id"], "createdAt": {"$gte": start}}))
    assert len(docs) == 200
    assert o.count_orders({"branch": branch["_id"]}) == 200
    assert sorted(d["number"] for d in docs) == sorted(numbers)
    assert {str(d["_id"]) for d in docs} == {r.json["data"]["_id"] for r in answers}
    # Each customer got exactly their ten.
    for c, rs in zip(customers, results):
        assert o.count_orders({"user": ObjectId(c.id)}) == 10
        assert all(r.json["data"]["user"] == c.id for r in rs)
    assert took < 60, took


def test_idempotency_key_replays_sequentially(o, alice):
    key = f"order-{ObjectId()}"
    body = o.body(items=_items(o, quantity=3))
    first = o.place(alice, body, headers={"Idempotency-Key": key})
    assert first.header("Idempotent-Replayed") is None
    second = o.place(alice, body, headers={"Idempotency-Key": key}, expect=200)
    assert second.header("Idempotent-Replayed") == "true"
    assert second.json["data"]["_id"] == first.json["data"]["_id"]
    assert second.json["data"]["number"] == first.json["data"]["number"]
    assert o.count_orders({"user": ObjectId(alice.id), "idempotencyKey": key}) == 1
    # A different key is a different order.
    o.place(alice, body, headers={"Idempotency-Key": key + "-2"})


def test_idempotency_key_ten_at_once(o):
    c = o.customer()
    key = f"burst-{ObjectId()}"
    body = o.body()
    answers = _race([lambda: o.place(c, body, headers={"Idempotency-Key": key}, expect=None)
                     for _ in range(10)])
    statuses = sorted(r.status for r in answers)
    assert statuses.count(201) == 1, answers
    assert set(statuses) <= {200, 201, 409}, answers
    created = next(r for r in answers if r.status == 201).json["data"]["_id"]
    for r in answers:
        if r.status == 200:
            assert r.header("Idempotent-Replayed") == "true"
            assert r.json["data"]["_id"] == created
        elif r.status == 409:
            assert r.json["success"] is False and "progress" in r.json["message"]
    assert o.count_orders({"user": ObjectId(c.id)}) == 1
    # Afterwards every retry is a replay.
    r = o.place(c, body, headers={"Idempotency-Key": key}, expect=200)
    assert r.json["data"]["_id"] == created


@pytest.mark.parametrize("change", ["branch closed", "product out of stock", "price changed"])
def test_retry_after_the_menu_changed_is_still_a_replay(o, change):
    """The answer to the first request was lost and the app retries with the
    same key a moment later, by when the branch closed, the last portion was
    sold or a price changed. The order exists: the retry must say so (200,
    the same order), not 409/422 — a customer told "closed" or "not
    available" believes there is no order, and the kitchen cooks it anyway."""
    c = o.customer()
    key = f"lost-{ObjectId()}"
    p = o.product("Norin")
    body = o.body(items=[{"productId": str(p["_id"]), "quantity": 1, "price": p["price"]}],
                  total=p["price"])
    first = o.place(c, body, headers={"Idempotency-Key": key}).json["data"]
    bid = o.branches["chilonzor"]["_id"]
    undo = {
        "branch closed": lambda: o.db.branches.update_one({"_id": bid},
                                                          {"$set": {"isOpen": True}}),
        "product out of stock": lambda: o.db.products.update_one(
            {"_id": p["_id"]}, {"$set": {"isAvailable": True}}),
        "price changed": lambda: o.db.products.update_one(
            {"_id": p["_id"]}, {"$set": {"price": p["price"]}}),
    }[change]
    if change == "branch closed":
        o.db.branches.update_one({"_id": bid}, {"$set": {"isOpen": False}})
    elif change == "product out of stock":
        o.db.products.update_one({"_id": p["_id"]}, {"$set": {"isAvailable": False}})
    else:
        o.db.products.update_one({"_id": p["_id"]}, {"$set": {"price": p["price"] + 2000}})
    try:
        r = o.place(c, body, headers={"Idempotency-Key": key}, expect=None)
    finally:
        undo()
    assert r.status == 200, r
    assert r.header("Idempotent-Replayed") == "true"
    assert r.json["data"]["_id"] == first["_id"]
    assert o.count_orders({"user": ObjectId(c.id)}) == 1


def test_same_key_from_two_customers_is_two_orders(o):
    c1, c2 = o.customer(), o.customer()
    key = f"shared-{ObjectId()}"
    d1 = o.order(c1, headers={"Idempotency-Key": key})
    d2 = o.order(c2, headers={"Idempotency-Key": key})
    assert d1["_id"] != d2["_id"] and d2["user"] == c2.id
    assert o.count_orders({"idempotencyKey": key}) == 2


def test_refused_order_does_not_burn_the_key(o):
    """A 4xx before anything was created leaves the key free: the fixed
    retry goes through."""
    c = o.customer()
    key = f"fix-{ObjectId()}"
    r = o.place(c, o.body(order_type="delivery", phone=DROP, items=_items(o, quantity=2)),
                headers={"Idempotency-Key": key}, expect=None)
    assert_error(r, 422, "phone")
    r = o.place(c, o.body(order_type="delivery", items=_items(o, quantity=2)),
                headers={"Idempotency-Key": key}, expect=201)
    assert r.json["data"]["orderType"] == "delivery"


@pytest.mark.parametrize("key", ["", "k" * 200, "ab\x01cd", "ab\tcd", "ключ"])
def test_invalid_idempotency_key_is_400(o, key):
    c = o.customer()
    hdr = "Idempotency-Key: " + key
    raw = ("POST /api/orders HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
           "Content-Type: application/json\r\n"
           f"Cookie: oshxona_sid={c.sid}\r\n")
    body = json.dumps(o.body()).encode()
    data = (raw + f"Content-Length: {len(body)}\r\n").encode() + hdr.encode("utf-8") + \
        b"\r\n\r\n" + body
    r = o.api.raw(data)
    assert r.status == 400, r
    assert json.loads(r.body)["success"] is False
    assert o.count_orders({"user": ObjectId(c.id)}) == 0


def test_idempotency_key_of_128_is_fine(o):
    c = o.customer()
    d = o.order(c, headers={"Idempotency-Key": "k" * 128})
    assert d["user"] == c.id
