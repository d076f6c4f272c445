"""The catalogue admin (fcgi-apps/admin): products, categories and branches
as staff edit them, who may do what, and what the public menu shows right
after a write (every FastCGI child, nginx's materialized files, search,
ETags, the menu channel, and the orders program's pricing).

A private stack for this module: three FastCGI children per program, the
rate limits out of the way, demo data loaded. Expectations come from
data/demo.json."""

import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest

from harness import DEMO_PATH, private_stack
from orders_helpers import (ALL_DAY, DAYS, EventSource, WebSocketSub, cookie_value, fresh_ip,
                            fresh_telegram_id, init_data, next_event)

DEMO = json.loads(DEMO_PATH.read_text(encoding="utf-8"))
STAFF = {s["login"]: s for s in DEMO["staff"]}
BRANCH_NAME = {b["key"]: b["name"] for b in DEMO["branches"]}
CATEGORY_NAME = {c["key"]: c["name"] for c in DEMO["categories"]}
REPEAT = 30  # requests after a write: every child, every cache layer
CHILDREN = 3


# ------------------------------------------------------------------ stack


class AdminStack:
    def __init__(self, stack):
        self.stack = stack
        self.api = stack.api
        self.who = {}

    # ------------------------------------------------------------ HTTP

    def req(self, method, path, body=None, who=None, raw=None, ctype="application/json",
            headers=None):
        h = dict(self.who[who] if isinstance(who, str) else (who or {}))
        if body is not None or raw is not None:
            h["Content-Type"] = ctype
        h.update(headers or {})
        data = raw if raw is not None else (
            json.dumps(body, ensure_ascii=False).encode() if body is not None else None)
        return self.api.request(method, path, headers=h, body=data, timeout=30)

    def get(self, path, who=None, headers=None):
        return self.req("GET", path, who=who, headers=headers)

    def ok(self, method, path, body=None, who="owner", status=200):
        r = self.req(method, path, body, who)
        assert r.status == status, (method, path, r)
        assert r.json["success"] is True, r
        return r.json["data"]

    # ---------------------------------------------------------- people

    def login(self, name):
        r = self.api.request("POST", "/api/auth/login",
                             headers={"Content-Type": "application/json",
                                      "X-Forwarded-For": fresh_ip()},
                             body=json.dumps({"login": name,
                                              "password": STAFF[name]["password"]}).encode())
        assert r.status == 200, r
        return {"Authorization": f"Bearer {r.json['token']}"}

    def customer(self):
        r = self.api.request("POST", "/api/auth/telegram",
                             headers={"Content-Type": "application/json"},
                             body=json.dumps({"initData": init_data(fresh_telegram_id())}).encode())
        assert r.status == 200, r
        return {"Cookie": f"oshxona_sid={cookie_value(r, 'oshxona_sid')}"}

    # --------------------------------------------------------- catalogue

    def product(self, category=None, **fields):
        body = {"name": f"Sinov taomi {time.monotonic_ns() % 10**9}", "nameRu": "Тестовое блюдо",
                "price": 25000, "categoryId": category or self.cat["osh"],
                "description": "Sinov uchun", "descriptionRu": "Для теста"}
        body.update(fields)
        return self.ok("POST", "/api/admin/products", body, status=201)


@pytest.fixture(scope="module")
def a(request):
    with private_stack(request, "admin", children=CHILDREN,
                       env=dict(RATE_LIMIT_API="1000000", RATE_LIMIT_ORDERS="1000000")) as stack:
        st = AdminStack(stack)
        for name in STAFF:
            st.who[name] = st.login(name)
        st.who["customer"] = st.customer()
        st.who["nobody"] = {}
        cats = st.ok("GET", "/api/admin/categories")
        by_name = {c["name"]: c["_id"] for c in cats}
        st.cat = {k: by_name[n] for k, n in CATEGORY_NAME.items()}
        branches = st.ok("GET", "/api/admin/branches")
        by_name = {b["name"]: b["_id"] for b in branches}
        st.branch = {k: by_name[n] for k, n in BRANCH_NAME.items()}
        yield st


def assert_error(r, status, field=None):
    """{"success": false, "message"} with status, naming field."""
    assert r.status == status, r
    assert r.header("Content-Type", "").startswith("application/json"), r
    body = r.json
    assert body["success"] is False and body["message"], body
    if field is not None:
        assert field in body["message"], (field, body)
    return body


def enc(s):
    return quote(s, safe="")


UNKNOWN_ID = "0123456789abcdef01234567"


# ------------------------------------------------------------ who may act

ROUTES = [
    ("GET", "/api/admin/products"),
    ("POST", "/api/admin/products"),
    ("GET", "/api/admin/products/{p}"),
    ("PATCH", "/api/admin/products/{p}"),
    ("DELETE", "/api/admin/products/{p}"),
    ("PATCH", "/api/admin/products/{p}/availability"),
    ("GET", "/api/admin/categories"),
    ("POST", "/api/admin/categories"),
    ("GET", "/api/admin/categories/{c}"),
    ("PATCH", "/api/admin/categories/{c}"),
    ("DELETE", "/api/admin/categories/{c}"),
    ("GET", "/api/admin/branches"),
    ("POST", "/api/admin/branches"),
    ("GET", "/api/admin/branches/{b}"),
    ("PATCH", "/api/admin/branches/{b}"),
    ("DELETE", "/api/admin/branches/{b}"),
]


@pytest.fixture(scope="module")
def victim(a):
    """A product every role test aims at (never actually changed: the
    requests are refused)."""
    return a.product()


@pytest.mark.parametrize("who,status", [("nobody", 401), ("customer", 403)])
def test_nobody_and_customers_are_refused(a, victim, who, status):
    bad_token = {"Authorization": "Bearer not.a.token"}
    for method, path in ROUTES:
        path = path.format(p=victim["_id"], c=a.cat["osh"], b=a.branch["chilonzor"])
        body = {"isAvailable": False} if path.endswith("availability") else {"name": "Xakker"}
        for cred in ((who,) if who == "customer" else (who, bad_token)):
            r = a.req(method, path, body if method in ("POST", "PATCH") else None, cred)
            assert_error(r, status)
    # Nothing changed.
    assert a.ok("GET", f"/api/admin/products/{victim['_id']}")["name"] == victim["name"]
    assert a.get(f"/api/products/{victim['_id']}").json["data"]["isAvailable"] is True


@pytest.mark.parametrize("who", ["chilonzor", "yunusobod"])
def test_non_owners_cannot_touch_categories_or_create_branches(a, who):
    c = a.cat["shirinliklar"]
    b = a.branch["chilonzor"]
    for method, path, body in [
        ("GET", "/api/admin/categories", None),
        ("POST", "/api/admin/categories", {"name": "Yangi"}),
        ("GET", f"/api/admin/categories/{c}", None),
        ("PATCH", f"/api/admin/categories/{c}", {"name": "Boshqa"}),
        ("DELETE", f"/api/admin/categories/{c}", None),
        ("POST", "/api/admin/branches", {"name": "Yangi filial"}),
        ("DELETE", f"/api/admin/branches/{b}", None),
    ]:
        assert_error(a.req(method, path, body, who), 403)
    cats = {x["name"] for x in a.get("/api/categories").json["data"]}
    assert CATEGORY_NAME["shirinliklar"] in cats
    assert BRANCH_NAME["chilonzor"] in {x["name"] for x in a.get("/api/branches").json["data"]}


@pytest.mark.parametrize("who", ["owner", "chilonzor", "yunusobod"])
def test_every_staff_role_edits_products(a, who):
    p = a.ok("POST", "/api/admin/products",
             {"name": f"Rol sinovi {who}", "price": 1000, "categoryId": a.cat["osh"]}, who, 201)
    p2 = a.ok("PATCH", f"/api/admin/products/{p['_id']}", {"price": 2000}, who)
    assert p2["price"] == 2000
    a.ok("PATCH", f"/api/admin/products/{p['_id']}/availability", {"isAvailable": False}, who)
    a.ok("DELETE", f"/api/admin/products/{p['_id']}", None, who)
    listed = a.ok("GET", "/api/admin/products?limit=100&active=false", None, who)
    assert p["_id"] in {x["_id"] for x in listed}


def test_branch_settings_by_branch(a):
    chil, yun = a.branch["chilonzor"], a.branch["yunusobod"]
    # The manager of Chilonzor: their own branch yes, Yunusobod no.
    d = a.ok("PATCH", f"/api/admin/branches/{chil}", {"deliveryFee": 11000}, "chilonzor")
    assert d["deliveryFee"] == 11000
    assert_error(a.req("PATCH", f"/api/admin/branches/{yun}", {"deliveryFee": 1}, "chilonzor"),
                 403)
    assert_error(a.get(f"/api/admin/branches/{yun}", "chilonzor"), 403)
    # Even an unknown branch is 403 for them, 404 for the owner.
    assert_error(a.req("PATCH", f"/api/admin/branches/{UNKNOWN_ID}", {"isOpen": True},
                       "chilonzor"), 403)
    assert_error(a.req("PATCH", f"/api/admin/branches/{UNKNOWN_ID}", {"isOpen": True}, "owner"),
                 404)
    # The operator of Yunusobod likewise.
    a.ok("PATCH", f"/api/admin/branches/{yun}", {"minOrder": 55000}, "yunusobod")
    assert_error(a.req("PATCH", f"/api/admin/branches/{chil}", {"minOrder": 1}, "yunusobod"), 403)
    # Only owners open or close a branch for good.
    assert_error(a.req("PATCH", f"/api/admin/branches/{chil}", {"isActive": False}, "chilonzor"),
                 403, "owner")
    # The staff chat gets customers' phones and addresses: an operator may not
    # point it elsewhere; the branch's manager may.
    for body in ({"staffChatId": -1009999}, {"staffLanguage": "ru"}):
        assert_error(a.req("PATCH", f"/api/admin/branches/{yun}", body, "yunusobod"), 403,
                     "managers")
    assert "staffChatId" not in a.ok("GET", f"/api/admin/branches/{yun}")
    assert a.ok("PATCH", f"/api/admin/branches/{chil}", {"staffChatId": -1009999},
                "chilonzor")["staffChatId"] == -1009999
    a.ok("PATCH", f"/api/admin/branches/{chil}", {"staffChatId": None}, "chilonzor")
    # Staff see only their branches.
    assert [b["_id"] for b in a.ok("GET", "/api/admin/branches", who="chilonzor")] == [chil]
    assert {b["_id"] for b in a.ok("GET", "/api/admin/branches")} >= {chil, yun}
    # The public menu shows the changes at once.
    pub = {b["_id"]: b for b in a.get("/api/branches").json["data"]}
    assert pub[chil]["deliveryFee"] == 11000 and pub[yun]["minOrder"] == 55000
    a.ok("PATCH", f"/api/admin/branches/{chil}", {"deliveryFee": 10000})
    a.ok("PATCH", f"/api/admin/branches/{yun}", {"minOrder": 60000})


# ------------------------------------------------------- product bodies

LONG = "x" * 101


def _bad_products(cat, inactive_cat):
    return [
        ({"name": None}, 400, "name"),
        ({"name": 5}, 400, "name"),
        ({"name": "x"}, 422, "name"),
        ({"name": "  x  "}, 422, "name"),
        ({"name": LONG}, 422, "name"),
        ({"name": "Osh\u0007"}, 422, "name"),
        ({"nameRu": "П"}, 422, "nameRu"),
        ({"nameRu": ["Плов"]}, 400, "nameRu"),
        ({"price": "25000"}, 400, "price"),
        ({"price": 25000.5}, 400, "price"),
        ({"price": 25000.0}, 400, "price"),
        ({"price": True}, 400, "price"),
        ({"price": -1}, 422, "price"),
        ({"price": 100000001}, 422, "price"),
        ({"price": 10**30}, None, "price"),
        ({"categoryId": "osh"}, 400, "categoryId"),
        ({"categoryId": 7}, 400, "categoryId"),
        ({"categoryId": UNKNOWN_ID}, 422, "categoryId"),
        ({"categoryId": inactive_cat}, 422, "categoryId"),
        ({"description": "d" * 501}, 422, "description"),
        ({"descriptionRu": "д" * 501}, 422, "descriptionRu"),
        ({"description": 1}, 400, "description"),
        ({"isActive": "true"}, 400, "isActive"),
        ({"isAvailable": 1}, 400, "isAvailable"),
        ({"sortOrder": -1}, 422, "sortOrder"),
        ({"sortOrder": 10001}, 422, "sortOrder"),
        ({"sortOrder": "1"}, 400, "sortOrder"),
        ({"image": "https://x/y.jpg"}, 400, "image"),
        ({"image": {"url": "https://img.example/a.jpg"}}, 400, "image"),
        ({"image": {"url": "https://img.example/a.jpg", "publicId": "a", "w": 1}}, 400, "image.w"),
        ({"image": {"url": "ftp://img.example/a.jpg", "publicId": "a"}}, 422, "image.url"),
        ({"image": {"url": "https://img.example/a.jpg", "publicId": ""}}, 422, "image.publicId"),
        ({"color": "red"}, 400, "color"),
        ({"$set": {"price": 0}}, 400, None),
        ({"image": {"url": "https://a/b.jpg", "$where": "1"}}, 400, None),
        ({"name.x": "a"}, 400, None),
    ]


def test_product_create_rejects_bad_bodies(a):
    inactive = a.ok("POST", "/api/admin/categories", {"name": "Yopiq toifa", "isActive": False},
                    status=201)["_id"]
    base = {"name": "Yaxshi nom", "price": 1000, "categoryId": a.cat["osh"]}
    total = a.get("/api/admin/products?limit=1", "owner").json["total"]
    for patch, status, field in _bad_products(a.cat["osh"], inactive):
        body = dict(base)
        for k, v in patch.items():
            if v is None:
                body.pop(k)
            else:
                body[k] = v
        r = a.req("POST", "/api/admin/products", body, "owner")
        assert_error(r, status if status is not None else r.status, field)
        assert r.status in (400, 422), (patch, r)
    for k in ("name", "price", "categoryId"):
        body = {x: v for x, v in base.items() if x != k}
        assert_error(a.req("POST", "/api/admin/products", body, "owner"), 400, k)
    # Not JSON, not an object, too large, wrong type.
    assert_error(a.req("POST", "/api/admin/products", raw=b"name=x", who="owner",
                       ctype="application/x-www-form-urlencoded"), 415)
    assert_error(a.req("POST", "/api/admin/products", raw=b"[1]", who="owner"), 400)
    assert_error(a.req("POST", "/api/admin/products", raw=b'{"name": ', who="owner"), 400)
    big = dict(base, description="d" * 20000)
    assert_error(a.req("POST", "/api/admin/products", big, "owner"), 413)
    # None of them was stored.
    assert a.get("/api/admin/products?limit=1", "owner").json["total"] == total


def test_product_create_defaults_and_limits(a):
    # 500 Cyrillic letters are 1000 bytes but 500 characters: allowed.
    p = a.ok("POST", "/api/admin/products",
             {"name": "  Ikki belgi  ", "price": 0, "categoryId": a.cat["salatlar"],
              "descriptionRu": "д" * 500, "image": {"url": "https://img.example/a.jpg",
                                                    "publicId": "oshxona/a"}}, status=201)
    assert p["name"] == "Ikki belgi"  # trimmed
    assert p["isActive"] is True and p["isAvailable"] is True and p["sortOrder"] == 0
    assert p["price"] == 0 and p["description"] == "" and len(p["descriptionRu"]) == 500
    assert p["image"] == {"url": "https://img.example/a.jpg", "publicId": "oshxona/a"}
    assert p["createdAt"] and p["updatedAt"] and "searchPrefixes" not in p
    got = a.ok("GET", f"/api/admin/products/{p['_id']}")
    assert got == p
    pub = a.get(f"/api/products/{p['_id']}").json["data"]
    assert pub["name"] == "Ikki belgi" and pub["categoryId"] == a.cat["salatlar"]
    edge = a.product(name="ab", price=100000000, sortOrder=10000, isAvailable=False,
                     nameRu="Я" * 100, isActive=False)
    assert edge["isAvailable"] is False and edge["isActive"] is False
    assert_error(a.get(f"/api/products/{edge['_id']}"), 404)  # inactive: not public


def test_product_location_header(a):
    r = a.req("POST", "/api/admin/products",
              {"name": "Manzil sinovi", "price": 5, "categoryId": a.cat["osh"]}, "owner")
    assert r.status == 201, r
    assert r.header("Location") == f"/api/admin/products/{r.json['data']['_id']}"
    assert r.header("Cache-Control") == "no-store"


def test_product_ids_and_methods(a):
    for method, suffix, body in [("GET", "", None), ("PATCH", "", {"price": 1}),
                                 ("DELETE", "", None),
                                 ("PATCH", "/availability", {"isAvailable": True})]:
        for bad in ("123", "zzzzzzzzzzzzzzzzzzzzzzzz", "0123456789abcdef0123456", "%24ne"):
            assert_error(a.req(method, f"/api/admin/products/{bad}{suffix}", body, "owner"), 400)
        assert_error(a.req(method, f"/api/admin/products/{UNKNOWN_ID}{suffix}", body, "owner"),
                     404)
    r = a.req("PUT", f"/api/admin/products/{UNKNOWN_ID}", {"price": 1}, "owner")
    assert_error(r, 405)
    assert "PATCH" in r.header("Allow") and "DELETE" in r.header("Allow")
    r = a.req("GET", f"/api/admin/products/{UNKNOWN_ID}/availability", None, "owner")
    assert_error(r, 405)
    assert r.header("Allow") == "PATCH"
    assert_error(a.req("DELETE", "/api/admin/products", None, "owner"), 405)
    assert_error(a.req("GET", "/api/admin/products/x/y/z", None, "owner"), 404)


def test_product_patch_rules(a):
    p = a.product()
    url = f"/api/admin/products/{p['_id']}"
    assert_error(a.req("PATCH", url, {}, "owner"), 400)
    for patch, status, field in [
        ({"price": -5}, 422, "price"), ({"price": "5"}, 400, "price"),
        ({"name": "x"}, 422, "name"), ({"categoryId": UNKNOWN_ID}, 422, "categoryId"),
        ({"categoryId": "nope"}, 400, "categoryId"), ({"weight": 1}, 400, "weight"),
        ({"isAvailable": None}, 400, "isAvailable"), ({"$inc": {"price": 1}}, 400, None),
        ({"price": 1, "sortOrder": 99999}, 422, "sortOrder"),
    ]:
        assert_error(a.req("PATCH", url, patch, "owner"), status, field)
    assert a.ok("GET", url) == p  # nothing changed, not even updatedAt
    time.sleep(0.01)
    q = a.ok("PATCH", url, {"price": 31000, "categoryId": a.cat["kaboblar"], "sortOrder": 3})
    assert (q["price"], q["categoryId"], q["sortOrder"]) == (31000, a.cat["kaboblar"], 3)
    assert q["name"] == p["name"] and q["description"] == p["description"]  # untouched
    assert q["updatedAt"] > p["updatedAt"] and q["createdAt"] == p["createdAt"]
    in_cat = a.get(f"/api/categories/{a.cat['kaboblar']}/products").json["data"]
    assert p["_id"] in {x["_id"] for x in in_cat}
    assert p["_id"] not in {x["_id"] for x in
                            a.get(f"/api/categories/{a.cat['osh']}/products").json["data"]}
    # The image: set, replaced, removed.
    img = {"url": "https://img.example/b.jpg", "publicId": "oshxona/b"}
    assert a.ok("PATCH", url, {"image": img})["image"] == img
    assert a.ok("PATCH", url, {"image": None})["image"] is None


def _stored_image(a):
    """A file in the stack's MEDIA_DIR as the uploads program stores one,
    recorded as it records one (only recorded uploads are ever deleted)."""
    name = f"{secrets.token_hex(16)}.jpg"
    (a.stack.dir / "media" / name).write_bytes(b"\xff\xd8\xff test")
    a.stack.db.uploads.insert_one({"_id": name, "storage": "local"})
    return {"url": f"/media/{name}", "publicId": name}


def test_replaced_and_deleted_images_are_removed(a):
    media = a.stack.dir / "media"
    one, two, shared = _stored_image(a), _stored_image(a), _stored_image(a)
    p = a.product(image=one)
    assert p["image"] == one
    # Replaced: the old file goes, the new one stays.
    a.ok("PATCH", f"/api/admin/products/{p['_id']}", {"image": two}, "yunusobod")
    assert not (media / one["publicId"]).exists()
    assert (media / two["publicId"]).exists()
    # The product deleted: its image goes too.
    d = a.ok("DELETE", f"/api/admin/products/{p['_id']}", None, "yunusobod")
    assert d["image"] is None and not (media / two["publicId"]).exists()
    # An image two products show stays until neither does.
    p1, p2 = a.product(image=shared), a.product(image=shared)
    a.ok("PATCH", f"/api/admin/products/{p1['_id']}", {"image": None})
    assert (media / shared["publicId"]).exists()
    a.ok("PATCH", f"/api/admin/products/{p2['_id']}", {"image": None})
    assert not (media / shared["publicId"]).exists()
    # A local URL must name its own publicId, and only names the uploads give.
    three = _stored_image(a)
    for img in [dict(three, url=one["url"]), {"url": "/media/../secrets.env", "publicId":
                                              "../secrets.env"},
                {"url": "/media/x.jpg", "publicId": "x.jpg"}, dict(three, url="media/x")]:
        assert_error(a.req("PATCH", f"/api/admin/products/{p1['_id']}", {"image": img}, "owner"),
                     422, "image.url")
    assert (media / three["publicId"]).exists() and (a.stack.dir / "secrets.env").exists()


def test_admin_product_list(a):
    gone = a.product(category=a.cat["ichimliklar"])
    a.ok("DELETE", f"/api/admin/products/{gone['_id']}")
    live = a.product(category=a.cat["ichimliklar"])
    cat = a.cat["ichimliklar"]
    body = a.get(f"/api/admin/products?category={cat}&limit=100", "owner").json
    ids = [x["_id"] for x in body["data"]]
    assert gone["_id"] in ids and live["_id"] in ids  # inactive ones too
    assert body["total"] == len(ids) and body["limit"] == 100 and body["offset"] == 0
    assert all(x["categoryId"] == cat for x in body["data"])
    assert all("searchPrefixes" not in x for x in body["data"])
    inactive = a.ok("GET", f"/api/admin/products?category={cat}&active=false")
    assert [x["_id"] for x in inactive] == [gone["_id"]]
    active = a.ok("GET", f"/api/admin/products?category={cat}&active=true&limit=100")
    assert gone["_id"] not in {x["_id"] for x in active} and live["_id"] in {
        x["_id"] for x in active}
    public = a.get(f"/api/categories/{cat}/products").json["data"]
    assert len(active) == len(public)
    page = a.get(f"/api/admin/products?limit=2&offset=1", "owner").json
    assert len(page["data"]) == 2 and page["offset"] == 1
    found = a.ok("GET", f"/api/admin/products?search={enc(live['name'])}")
    assert live["_id"] in {x["_id"] for x in found}
    for q in ("limit=0", "limit=101", "offset=-1", "active=maybe", "category=osh",
              "colour=red", "limit=1&limit=2"):
        assert_error(a.get(f"/api/admin/products?{q}", "owner"), 400)


# --------------------------------------------- what the public sees, at once


def _warm(a, paths, n=REPEAT):
    """Requests each path n times, a few at a time, so every FastCGI child
    and nginx's files hold the answer before the write."""
    with ThreadPoolExecutor(CHILDREN) as ex:
        for r in ex.map(lambda p: a.get(p), [p for p in paths for _ in range(n)]):
            assert r.status == 200, r


def _product_in(a, path, pid):
    r = a.get(path)
    assert r.status == 200, (path, r)
    data = r.json["data"]
    if isinstance(data, dict):
        return data if data["_id"] == pid else None
    return next((x for x in data if x["_id"] == pid), None)


def _order(a, customer, pid, branch):
    return a.req("POST", "/api/orders",
                 {"items": [{"productId": pid, "quantity": 1}], "orderType": "pickup",
                  "paymentMethod": "cash", "branchId": branch}, customer)


@pytest.fixture(scope="module")
def open_branch(a):
    """Chilonzor open around the clock, set through the admin API."""
    b = a.branch["chilonzor"]
    d = a.ok("PATCH", f"/api/admin/branches/{b}", {"workingHours": ALL_DAY, "isOpen": True},
             "chilonzor")
    assert d["workingHours"] == ALL_DAY
    return b


def test_stop_list_reaches_every_reader_at_once(a, open_branch):
    p = a.product(name="Stop list palovi", description="Maxsus stoplist sinovi")
    pid, cat = p["_id"], p["categoryId"]
    paths = [f"/api/products/{pid}", f"/api/categories/{cat}/products",
             f"/api/products?search={enc('stoplist sinovi')}", "/api/products?limit=100"]
    _warm(a, paths)
    customer = a.customer()
    assert _order(a, customer, pid, open_branch).status == 201

    d = a.ok("PATCH", f"/api/admin/products/{pid}/availability", {"isAvailable": False},
             "yunusobod")
    assert d["isAvailable"] is False
    for i in range(1 + REPEAT):
        for path in paths:
            item = _product_in(a, path, pid)
            assert item is not None and item["isAvailable"] is False, (i, path, item)
    r = _order(a, customer, pid, open_branch)
    assert_error(r, 409, "Stop list palovi")

    a.ok("PATCH", f"/api/admin/products/{pid}/availability", {"isAvailable": True}, "chilonzor")
    for i in range(1 + REPEAT):
        for path in paths:
            assert _product_in(a, path, pid)["isAvailable"] is True, (i, path)
    assert _order(a, customer, pid, open_branch).status == 201


def test_availability_bodies(a):
    p = a.product()
    url = f"/api/admin/products/{p['_id']}/availability"
    for body, field in [({}, "isAvailable"), ({"isAvailable": "false"}, "isAvailable"),
                        ({"isAvailable": 0}, "isAvailable"), ({"isAvailable": None}, "isAvailable"),
                        ({"isAvailable": False, "price": 1}, "price")]:
        assert_error(a.req("PATCH", url, body, "owner"), 400, field)
    assert_error(a.req("PATCH", url, raw=b"false", who="owner"), 400)
    assert a.ok("GET", f"/api/admin/products/{p['_id']}")["isAvailable"] is True


def test_renamed_product_is_found_under_its_new_name_only(a):
    p = a.product(name="Qovoq somsa", nameRu="Самса с тыквой", description="Tandirda",
                  descriptionRu="Из тандыра")
    old_q, new_q = "/api/products?search=qovoq", f"/api/products?search={enc('zarafshon')}"
    ru_q = f"/api/products?search={enc('тыквой')}"
    _warm(a, [old_q, new_q, ru_q], n=2 * CHILDREN)
    assert _product_in(a, old_q, p["_id"]) and not _product_in(a, new_q, p["_id"])
    a.ok("PATCH", f"/api/admin/products/{p['_id']}", {"name": "Zarafshon somsasi"}, "chilonzor")
    for _ in range(REPEAT):
        assert _product_in(a, new_q, p["_id"]), "not found under the new name"
        assert not _product_in(a, old_q, p["_id"]), "still found under the old name"
        assert _product_in(a, ru_q, p["_id"]), "the other texts must still be searchable"
    # A description change is searchable too, and the name stays.
    a.ok("PATCH", f"/api/admin/products/{p['_id']}", {"descriptionRu": "С курдючным салом"})
    assert _product_in(a, f"/api/products?search={enc('курдючным')}", p["_id"])
    assert _product_in(a, new_q, p["_id"])
    assert not _product_in(a, f"/api/products?search={enc('тандыра')}", p["_id"])


def test_soft_deleted_product_disappears_at_once(a, open_branch):
    p = a.product(name="Oʻchiriladigan manti", category=a.cat["xamir"])
    pid, cat = p["_id"], p["categoryId"]
    paths = [f"/api/products/{pid}", f"/api/categories/{cat}/products",
             f"/api/products?search=ochiriladigan"]
    _warm(a, paths)
    d = a.ok("DELETE", f"/api/admin/products/{pid}", None, "chilonzor")
    assert d["isActive"] is False and d["deletedAt"]
    for _ in range(REPEAT):
        assert_error(a.get(f"/api/products/{pid}"), 404)
        assert _product_in(a, paths[1], pid) is None
        assert _product_in(a, paths[2], pid) is None
    # The admin still sees it, with its history; orders cannot have it.
    got = a.ok("GET", f"/api/admin/products/{pid}")
    assert got["isActive"] is False and got["deletedAt"] == d["deletedAt"]
    time.sleep(0.01)
    again = a.ok("DELETE", f"/api/admin/products/{pid}")  # idempotent, first date kept
    assert again["deletedAt"] == d["deletedAt"]
    assert_error(_order(a, a.customer(), pid, open_branch), 409)
    # Brought back by the owner's PATCH, it is public again.
    back = a.ok("PATCH", f"/api/admin/products/{pid}", {"isActive": True})
    assert "deletedAt" not in back
    assert a.get(f"/api/products/{pid}").status == 200


def test_menu_etag_changes_after_a_write(a):
    p = a.product(price=40000, category=a.cat["shorvalar"])
    paths = [f"/api/categories/{a.cat['shorvalar']}/products", "/api/products?limit=100",
             f"/api/products/{p['_id']}"]
    before = {}
    for path in paths:
        # The steady state: the program's first answer and nginx's copy of
        # it may carry different tags (test_menu.py owns that question).
        tags = [a.get(path).header("ETag") for _ in range(3)]
        assert tags[-1] and tags[-1] == tags[-2], (path, tags)
        before[path] = tags[-1]
        assert a.get(path, headers={"If-None-Match": before[path]}).status == 304
    # Same length, new price: the tag must still change (not only the size).
    a.ok("PATCH", f"/api/admin/products/{p['_id']}", {"price": 50000})
    for path in paths:
        r = a.get(path, headers={"If-None-Match": before[path]})
        assert r.status == 200, (path, r)
        assert r.header("ETag") != before[path], path
        assert _product_in(a, path, p["_id"])["price"] == 50000


@pytest.mark.parametrize("kind", ["websocket", "eventsource"])
def test_menu_channel_hears_writes(a, kind):
    port = a.stack.port
    sub = (WebSocketSub(port, "/sub/menu") if kind == "websocket"
           else EventSource(port, "/sub/menu"))
    try:
        assert sub.status in (101, 200), sub.status
        time.sleep(0.2)
        p = a.product()
        _, ev = next_event(sub, 3.0, lambda e: e.get("event") == "menu-updated")
        assert ev["data"] == {"kind": "product", "id": p["_id"]}
        a.ok("PATCH", f"/api/admin/products/{p['_id']}/availability", {"isAvailable": False},
             "yunusobod")
        _, ev = next_event(sub, 3.0, lambda e: e.get("event") == "menu-updated")
        assert ev["data"] == {"kind": "product", "id": p["_id"]}
        a.ok("PATCH", f"/api/admin/categories/{a.cat['osh']}", {"sortOrder": 1})
        _, ev = next_event(sub, 3.0, lambda e: e.get("event") == "menu-updated")
        assert ev["data"] == {"kind": "category", "id": a.cat["osh"]}
        a.ok("PATCH", f"/api/admin/branches/{a.branch['yunusobod']}", {"isOpen": True},
             "yunusobod")
        _, ev = next_event(sub, 3.0, lambda e: e.get("event") == "menu-updated")
        assert ev["data"] == {"kind": "branch", "id": a.branch["yunusobod"]}
    finally:
        sub.close()


# ------------------------------------------------------------ categories


def test_category_crud(a):
    c = a.ok("POST", "/api/admin/categories", {"name": "Yangi toifa", "nameRu": "Новая",
                                                "sortOrder": 9}, status=201)
    assert c["isActive"] is True and c["sortOrder"] == 9
    cid = c["_id"]
    _warm(a, ["/api/categories"], n=2 * CHILDREN)
    assert cid in {x["_id"] for x in a.get("/api/categories").json["data"]}
    assert a.ok("GET", f"/api/admin/categories/{cid}") == c
    r = a.ok("PATCH", f"/api/admin/categories/{cid}", {"name": "Qayta nomlangan"})
    assert r["name"] == "Qayta nomlangan" and r["nameRu"] == "Новая"
    for _ in range(2 * CHILDREN):
        pub = {x["_id"]: x for x in a.get("/api/categories").json["data"]}
        assert pub[cid]["name"] == "Qayta nomlangan"
    # Two active products: neither delete nor hide; the message says how many.
    p1, p2 = a.product(category=cid), a.product(category=cid)
    assert_error(a.req("DELETE", f"/api/admin/categories/{cid}", None, "owner"), 409, "2 active")
    assert_error(a.req("PATCH", f"/api/admin/categories/{cid}", {"isActive": False}, "owner"),
                 409, "2 active")
    a.ok("DELETE", f"/api/admin/products/{p1['_id']}")
    assert_error(a.req("DELETE", f"/api/admin/categories/{cid}", None, "owner"), 409, "1 active")
    a.ok("PATCH", f"/api/admin/products/{p2['_id']}", {"categoryId": a.cat["osh"]})
    d = a.ok("DELETE", f"/api/admin/categories/{cid}")
    assert d["isActive"] is False and d["deletedAt"]
    for _ in range(2 * CHILDREN):
        assert cid not in {x["_id"] for x in a.get("/api/categories").json["data"]}
    assert_error(a.get(f"/api/categories/{cid}/products"), 404)
    # The admin list still has it; new products cannot go into it.
    assert cid in {x["_id"] for x in a.ok("GET", "/api/admin/categories")}
    assert_error(a.req("POST", "/api/admin/products",
                       {"name": "Yetim", "price": 1, "categoryId": cid}, "owner"), 422,
                 "categoryId")


def test_category_bad_input(a):
    cid = a.cat["shirinliklar"]
    for body, status, field in [
        ({}, 400, "name"), ({"name": "x"}, 422, "name"), ({"name": "y" * 51}, 422, "name"),
        ({"name": 1}, 400, "name"), ({"name": "Ok", "sortOrder": 1.5}, 400, "sortOrder"),
        ({"name": "Ok", "sortOrder": 10001}, 422, "sortOrder"),
        ({"name": "Ok", "isActive": "no"}, 400, "isActive"),
        ({"name": "Ok", "parent": "x"}, 400, "parent"), ({"name": "Ok", "$where": 1}, 400, None),
    ]:
        assert_error(a.req("POST", "/api/admin/categories", body, "owner"), status, field)
    assert_error(a.req("PATCH", f"/api/admin/categories/{cid}", {}, "owner"), 400)
    assert_error(a.req("PATCH", f"/api/admin/categories/{cid}", {"nameRu": "Д"}, "owner"), 422,
                 "nameRu")
    for method in ("GET", "PATCH", "DELETE"):
        body = {"name": "Nomi"} if method == "PATCH" else None
        assert_error(a.req(method, "/api/admin/categories/nope", body, "owner"), 400)
        assert_error(a.req(method, f"/api/admin/categories/{UNKNOWN_ID}", body, "owner"), 404)
    assert_error(a.req("PUT", f"/api/admin/categories/{cid}", {"name": "Nomi"}, "owner"), 405)


# -------------------------------------------------------------- branches

NEW_BRANCH = {
    "name": "Oshxona Sergeli", "nameRu": "Ошхона Сергели",
    "address": "Toshkent sh., Sergeli tumani, 5-uy", "addressRu": "г. Ташкент, Сергели, дом 5",
    "phone": "+998 71 200 56 56", "location": {"lat": 41.22, "lng": 69.22},
    "workingHours": {d: {"open": "10:00", "close": "02:00"} for d in DAYS},
    "deliveryFee": 9000, "minOrder": 40000,
}


def test_branch_create_patch_delete(a, open_branch):
    b = a.ok("POST", "/api/admin/branches", NEW_BRANCH, status=201)
    bid = b["_id"]
    assert b["isOpen"] is True and b["isActive"] is True
    assert b["workingHours"]["mon"] == {"open": "10:00", "close": "02:00"}
    _warm(a, ["/api/branches"], n=2 * CHILDREN)
    pub = {x["_id"]: x for x in a.get("/api/branches").json["data"]}
    assert pub[bid]["name"] == "Oshxona Sergeli" and pub[bid]["deliveryFee"] == 9000
    hours = dict(ALL_DAY, sun=None)
    d = a.ok("PATCH", f"/api/admin/branches/{bid}",
             {"workingHours": hours, "phone": "+998901112233", "location": None, "isOpen": False})
    assert d["workingHours"]["sun"] is None and d["location"] is None and d["isOpen"] is False
    assert d["name"] == "Oshxona Sergeli"
    for _ in range(2 * CHILDREN):
        assert {x["_id"]: x for x in a.get("/api/branches").json["data"]}[bid]["isOpen"] is False
    a.ok("DELETE", f"/api/admin/branches/{bid}")
    for _ in range(2 * CHILDREN):
        assert bid not in {x["_id"] for x in a.get("/api/branches").json["data"]}
    got = a.ok("GET", f"/api/admin/branches/{bid}")
    assert got["isActive"] is False and got["deletedAt"]
    # Orders cannot go to a deleted branch.
    p = a.product()
    assert _order(a, a.customer(), p["_id"], bid).status == 422
    back = a.ok("PATCH", f"/api/admin/branches/{bid}", {"isActive": True})
    assert back["isActive"] is True and "deletedAt" not in back


def test_branch_bad_input(a):
    bid = a.branch["yunusobod"]
    url = f"/api/admin/branches/{bid}"

    def hours(**days):
        h = dict(ALL_DAY)
        h.update(days)
        return {k: v for k, v in h.items() if v != "DROP"}

    for body, status, field in [
        ({"workingHours": hours(sun="DROP")}, 400, "workingHours.sun"),
        ({"workingHours": hours(funday={"open": "10:00", "close": "11:00"})}, 400, "funday"),
        ({"workingHours": hours(mon={"open": "25:00", "close": "23:00"})}, 422, "workingHours.mon"),
        ({"workingHours": hours(mon={"open": "24:00", "close": "23:00"})}, 422, "workingHours.mon"),
        ({"workingHours": hours(mon={"open": "9:00", "close": "23:00"})}, 422, "workingHours.mon"),
        ({"workingHours": hours(tue={"open": "10:00", "close": "10:00"})}, 422, "workingHours.tue"),
        ({"workingHours": hours(wed={"open": "10:00"})}, 400, "workingHours.wed"),
        ({"workingHours": hours(wed={"open": "10:00", "close": "11:00", "x": 1})}, 400, "x"),
        ({"workingHours": hours(thu={"open": 10, "close": 11})}, 400, "workingHours.thu"),
        ({"workingHours": "always"}, 400, "workingHours"),
        ({"phone": "call me"}, 422, "phone"), ({"phone": "12345"}, 422, "phone"),
        ({"phone": 998712001212}, 400, "phone"),
        ({"location": {"lat": 91, "lng": 69}}, 422, "location"),
        ({"location": {"lat": "41", "lng": 69}}, 400, "location"),
        ({"location": {"lat": 41, "lng": 69, "alt": 1}}, 400, "location.alt"),
        ({"deliveryFee": -1}, 422, "deliveryFee"), ({"deliveryFee": "free"}, 400, "deliveryFee"),
        ({"minOrder": 1.5}, 400, "minOrder"), ({"minOrder": -1}, 422, "minOrder"),
        ({"isOpen": "yes"}, 400, "isOpen"), ({"name": "B"}, 422, "name"),
        ({"address": "abc"}, 422, "address"), ({"manager": "me"}, 400, "manager"),
        ({"$set": {"isOpen": False}}, 400, None), ({}, 400, None),
    ]:
        assert_error(a.req("PATCH", url, body, "owner"), status, field)
    for k in ("name", "address", "phone", "workingHours"):
        body = {x: v for x, v in NEW_BRANCH.items() if x != k}
        assert_error(a.req("POST", "/api/admin/branches", body, "owner"), 400, k)
    for method in ("GET", "PATCH", "DELETE"):
        body = {"isOpen": True} if method == "PATCH" else None
        assert_error(a.req(method, "/api/admin/branches/123", body, "owner"), 400)
        assert_error(a.req(method, f"/api/admin/branches/{UNKNOWN_ID}", body, "owner"), 404)
    # The branch is as it was.
    got = a.ok("GET", url)
    assert got["phone"] == next(b["phone"] for b in DEMO["branches"] if b["key"] == "yunusobod")


# ------------------------------------ fields other programs rely on (14, 19)


def _db_branch(a, name):
    """The stored branch, as the bot reads it (types included)."""
    return a.stack.db.branches.find_one({"name": name})


def test_branch_staff_chat_and_language(a):
    """staffChatId (the staff group the bot posts orders to: an integer,
    negative for groups, null unlinks) and staffLanguage (uz | ru, uz by
    default), stored under the names and types lib/botstaff.c reads; never
    shown on the public branch list."""
    name = f"Oshxona Chat {secrets.token_hex(3)}"
    b = a.ok("POST", "/api/admin/branches", dict(NEW_BRANCH, name=name), status=201)
    bid, url = b["_id"], f"/api/admin/branches/{b['_id']}"
    assert b["staffLanguage"] == "uz" and "staffChatId" not in b
    d = a.ok("PATCH", url, {"staffChatId": -1001234567890, "staffLanguage": "ru"})
    assert d["staffChatId"] == -1001234567890 and d["staffLanguage"] == "ru"
    stored = _db_branch(a, name)
    assert stored["staffChatId"] == -1001234567890 and isinstance(stored["staffChatId"], int)
    assert stored["staffLanguage"] == "ru"
    for x in a.get("/api/branches").json["data"]:
        assert "staffChatId" not in x and "staffLanguage" not in x
    assert a.ok("PATCH", url, {"staffChatId": 10**15})["staffChatId"] == 10**15
    assert a.ok("PATCH", url, {"staffChatId": None})["staffChatId"] is None
    for body, status in [
        ({"staffChatId": "-1001234567890"}, 400), ({"staffChatId": -100.5}, 400),
        ({"staffChatId": True}, 400), ({"staffChatId": 10**15 + 1}, 422),
        ({"staffChatId": -(10**15) - 1}, 422), ({"staffChatId": 0}, 422),
        ({"staffChatId": 2**63}, 422),
        ({"staffLanguage": "en"}, 400), ({"staffLanguage": "RU"}, 400),
        ({"staffLanguage": 1}, 400), ({"staffLanguage": None}, 400),
    ]:
        assert_error(a.req("PATCH", url, body, "owner"), status, next(iter(body)))
    got = a.ok("GET", url)
    assert got["staffChatId"] is None and got["staffLanguage"] == "ru"
    a.ok("DELETE", url)
    assert bid


def test_product_fiscal_codes(a):
    """mxikCode (17 digits, Uzbekistan's IKPU), packageCode (1..20 digits)
    and vatPercent (0..100), as Payme's receipt detail reads them
    (lib/payments.c): optional; null clears a code, 0 is no VAT."""
    p = a.product(mxikCode="10202001001000000", packageCode="1512345", vatPercent=12)
    assert (p["mxikCode"], p["packageCode"], p["vatPercent"]) == ("10202001001000000",
                                                                   "1512345", 12)
    plain = a.product()
    assert "mxikCode" not in plain and "vatPercent" not in plain
    url = f"/api/admin/products/{p['_id']}"
    d = a.ok("PATCH", url, {"vatPercent": 0, "packageCode": "1"})
    assert d["vatPercent"] == 0 and d["packageCode"] == "1"
    d = a.ok("PATCH", url, {"mxikCode": None, "packageCode": None})
    assert d["mxikCode"] is None and d["packageCode"] is None and d["vatPercent"] == 0
    for body, status in [
        ({"mxikCode": "1020200100100000"}, 422), ({"mxikCode": "102020010010000000"}, 422),
        ({"mxikCode": "1020200100100000a"}, 422), ({"mxikCode": 10202001001000000}, 400),
        ({"mxikCode": " 10202001001000000"}, 422),
        ({"packageCode": ""}, 422), ({"packageCode": "1" * 21}, 422),
        ({"packageCode": "12-3"}, 422), ({"packageCode": 123}, 400),
        ({"vatPercent": 101}, 422), ({"vatPercent": -1}, 422), ({"vatPercent": 12.5}, 400),
        ({"vatPercent": "12"}, 400), ({"vatPercent": None}, 400),
    ]:
        assert_error(a.req("PATCH", url, body, "owner"), status, next(iter(body)))
    assert_error(a.req("POST", "/api/admin/products",
                       {"name": "Kodli taom", "price": 1, "categoryId": a.cat["osh"],
                        "mxikCode": "123"}, "owner"), 422, "mxikCode")


def test_stricter_refusals(a):
    """What the one body checker (lib/valid.c) refuses that the old admin
    checker let through: an Uzbek number with too many or too few digits
    after 998, a '+' inside a number, and paths inside nested objects."""
    url = f"/api/admin/branches/{a.branch['yunusobod']}"
    for phone in ("+998 90 123 45 678", "+998 90 123 45 6", "99+8901234567"):
        assert_error(a.req("PATCH", url, {"phone": phone}, "owner"), 422, "phone")
    assert a.ok("PATCH", url, {"phone": "+7 495 123 45 67"})["phone"] == "+7 495 123 45 67"
    a.ok("PATCH", url, {"phone": next(b["phone"] for b in DEMO["branches"]
                                      if b["key"] == "yunusobod")})
    hours = dict(ALL_DAY, wed={"open": "10:00", "close": "25:00"})
    assert_error(a.req("PATCH", url, {"workingHours": hours}, "owner"), 422,
                 "workingHours.wed.close")
    p = a.product()
    assert_error(a.req("PATCH", f"/api/admin/products/{p['_id']}",
                       {"image": {"url": "https://a/b.jpg", "publicId": 5}}, "owner"), 400,
                 "image.publicId")
