"""The public catalogue (fcgi-apps/menu): branches, categories, products,
search and ETags. Every expectation is derived from data/demo.json."""

import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from bson import ObjectId

DEMO = json.loads((Path(__file__).resolve().parents[2] / "data" / "demo.json").read_text("utf-8"))
CATEGORY_KEYS = [c["key"] for c in DEMO["categories"] if c.get("isActive")]
HEX24 = re.compile(r"^[0-9a-f]{24}$")

BRANCH_FIELDS = {
    "name", "nameRu", "address", "addressRu", "phone", "location",
    "workingHours", "deliveryFee", "minOrder", "isOpen",
}
PRODUCT_FIELDS = {"name", "nameRu", "description", "descriptionRu", "price", "isAvailable", "sortOrder"}
# Internal fields the API must never show.
HIDDEN = {"isActive", "key", "category", "searchPrefixes", "createdAt", "updatedAt"}


def enc(s):
    return quote(s, safe="")


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def names(items):
    return [x["name"] for x in items]


# ------------------------------------------------------------------ set-up


@pytest.fixture(scope="module")
def hidden_extras(mongo):
    """An inactive branch and an inactive category written straight into the
    database (the demo data has none): neither may ever be listed. sortOrder
    0 would put the category first if it leaked."""
    branch_id, cat_id = ObjectId(), ObjectId()
    mongo.branches.insert_one({
        "_id": branch_id, "name": "AAA Yopiq filial (test)", "nameRu": "Закрытый филиал",
        "address": "-", "phone": "-", "deliveryFee": 1, "minOrder": 1,
        "isOpen": True, "isActive": False,
    })
    mongo.categories.insert_one({
        "_id": cat_id, "name": "AAA Yopiq (test)", "nameRu": "Скрыто", "sortOrder": 0,
        "isActive": False,
    })
    yield {"branch": str(branch_id), "category": str(cat_id)}
    mongo.branches.delete_many({"_id": branch_id})
    mongo.categories.delete_many({"_id": cat_id})


@pytest.fixture(scope="module")
def categories(api, demo, hidden_extras):
    _, body = api.get_json("/api/categories")
    return body["data"]


@pytest.fixture(scope="module")
def cat_ids(categories, demo):
    """demo category key -> the id the API gives it (matched by name)."""
    by_name = {c["name"]: c["_id"] for c in categories}
    assert len(by_name) == len(categories), "category names are not unique"
    return {c["key"]: by_name[c["name"]] for c in demo.active_categories}


@pytest.fixture(scope="module")
def all_products(api):
    _, body = api.get_json("/api/products?limit=100")
    assert body["total"] <= 100, "demo data outgrew one page; page through it"
    return body["data"]


def check_product(item, demo_product, category_id=None):
    assert HEX24.match(item["_id"]), item
    for f in PRODUCT_FIELDS:
        assert item[f] == demo_product[f], (f, item, demo_product)
    assert is_int(item["price"]), item
    assert item["isAvailable"] in (True, False)
    assert not HIDDEN & item.keys(), item
    if category_id is not None:
        assert item["categoryId"] == category_id


def search(api, text, extra=""):
    _, body = api.get_json(f"/api/products?search={enc(text)}&limit=100{extra}")
    assert body["success"] is True
    assert body["total"] == len(body["data"]), body
    return body["data"]


# -------------------------------------------------------------- branches


def test_branches_lists_active_branches_with_their_fields(api, demo, hidden_extras):
    r, body = api.get_json("/api/branches")
    assert body["success"] is True
    data = body["data"]
    expected = {b["name"]: b for b in demo.active_branches}
    assert len(data) == len(expected) == 2
    assert sorted(names(data)) == sorted(expected)
    assert names(data) == sorted(names(data)), "branches are ordered by name"
    for b in data:
        d = expected[b["name"]]
        assert HEX24.match(b["_id"])
        assert BRANCH_FIELDS <= b.keys(), b
        assert not HIDDEN & b.keys(), b
        for f in BRANCH_FIELDS - {"location"}:
            assert b[f] == d[f], (f, b[f], d[f])
        assert is_int(b["deliveryFee"]) and is_int(b["minOrder"])
        assert b["location"] == pytest.approx(d["location"])


def test_branches_never_shows_an_inactive_branch(api, hidden_extras):
    _, body = api.get_json("/api/branches")
    assert hidden_extras["branch"] not in [b["_id"] for b in body["data"]]
    assert all(not b["name"].startswith("AAA Yopiq") for b in body["data"])


# ------------------------------------------------------------ categories


def test_categories_only_active_in_sort_order(categories, demo, hidden_extras):
    assert names(categories) == names(demo.active_categories)
    orders = [c["sortOrder"] for c in categories]
    assert orders == sorted(orders)
    assert hidden_extras["category"] not in [c["_id"] for c in categories]
    by_name = {c["name"]: c for c in demo.categories}
    for c in categories:
        assert HEX24.match(c["_id"])
        assert {"name", "nameRu", "sortOrder"} <= c.keys()
        assert not HIDDEN & c.keys(), c
        assert c["nameRu"] == by_name[c["name"]]["nameRu"]
        assert c["sortOrder"] == by_name[c["name"]]["sortOrder"]


@pytest.mark.parametrize("key", CATEGORY_KEYS)
def test_category_products_are_its_active_products(api, demo, cat_ids, key):
    _, body = api.get_json(f"/api/categories/{cat_ids[key]}/products")
    assert body["success"] is True
    data = body["data"]
    expected = demo.active_in_category(key)
    assert names(data) == names(expected)
    for item, d in zip(data, expected):
        check_product(item, d, cat_ids[key])


def test_out_of_stock_products_are_listed_unavailable(api, demo, cat_ids):
    out = [p for p in demo.active_products if not p["isAvailable"]]
    assert out, "demo data has no out-of-stock product to test with"
    for p in out:
        _, body = api.get_json(f"/api/categories/{cat_ids[p['category']]}/products")
        found = [x for x in body["data"] if x["name"] == p["name"]]
        assert len(found) == 1, (p["name"], names(body["data"]))
        assert found[0]["isAvailable"] is False


def test_inactive_products_are_absent_from_their_category(api, demo, cat_ids):
    gone = demo.inactive_products
    assert gone, "demo data has no inactive product to test with"
    for p in gone:
        _, body = api.get_json(f"/api/categories/{cat_ids[p['category']]}/products")
        assert p["name"] not in names(body["data"])


def test_inactive_category_products_is_404(api, hidden_extras):
    r, body = api.get_json(f"/api/categories/{hidden_extras['category']}/products", status=404)
    assert body["success"] is False and body["message"]


# -------------------------------------------------------------- products


def test_product_by_id_for_every_active_product(api, demo, all_products):
    by_name = {p["name"]: p for p in demo.active_products}
    assert len(all_products) == len(by_name)
    for item in all_products:
        r, body = api.get_json(f"/api/products/{item['_id']}")
        assert body["success"] is True
        assert body["data"] == item
        check_product(body["data"], by_name[item["name"]], item["categoryId"])


def test_product_id_is_case_insensitive_hex(api, all_products):
    item = all_products[0]
    _, body = api.get_json(f"/api/products/{item['_id'].upper()}")
    assert body["data"] == item


def test_inactive_product_by_id_is_404(api, demo, mongo):
    docs = list(mongo.products.find({"isActive": False}))
    assert sorted(d["name"] for d in docs) == sorted(p["name"] for p in demo.inactive_products)
    assert docs, "demo data has no inactive product to test with"
    for d in docs:
        r, body = api.get_json(f"/api/products/{d['_id']}", status=404)
        assert body["success"] is False and body["message"]


def test_products_lists_every_active_product_in_order(api, demo, all_products):
    _, body = api.get_json("/api/products?limit=100")
    assert body["success"] is True
    assert body["total"] == len(demo.active_products)
    assert body["limit"] == 100 and body["offset"] == 0
    assert names(all_products) == names(demo.active_products)
    assert len({p["_id"] for p in all_products}) == len(all_products)
    inactive = {p["name"] for p in demo.inactive_products}
    assert not inactive & set(names(all_products))
    for item in all_products:
        assert is_int(item["price"])
        assert not HIDDEN & item.keys(), item


def test_products_default_page(api, demo):
    _, body = api.get_json("/api/products")
    total = len(demo.active_products)
    assert body["total"] == total
    assert body["limit"] == 20 and body["offset"] == 0
    assert names(body["data"]) == names(demo.active_products)[:20]


@pytest.mark.parametrize("limit", [1, 7, 20])
def test_paging_covers_everything_once(api, all_products, limit):
    seen = []
    offset = 0
    while True:
        _, body = api.get_json(f"/api/products?limit={limit}&offset={offset}")
        assert body["total"] == len(all_products)
        assert body["limit"] == limit and body["offset"] == offset
        assert len(body["data"]) == min(limit, max(0, len(all_products) - offset))
        if not body["data"]:
            break
        seen.extend(p["_id"] for p in body["data"])
        offset += limit
    assert len(seen) == len(set(seen)), "a product on two pages"
    assert seen == [p["_id"] for p in all_products]


def test_offset_past_the_end_is_empty(api, all_products):
    _, body = api.get_json("/api/products?offset=10000&limit=100")
    assert body["data"] == [] and body["total"] == len(all_products)
    assert body["offset"] == 10000


@pytest.mark.parametrize("key", CATEGORY_KEYS)
def test_category_filter(api, demo, cat_ids, key):
    _, body = api.get_json(f"/api/products?category={cat_ids[key]}&limit=100")
    assert body["total"] == len(demo.active_in_category(key))
    assert names(body["data"]) == names(demo.active_in_category(key))
    assert {p["categoryId"] for p in body["data"]} <= {cat_ids[key]}


def test_category_filter_unknown_category_is_empty(api):
    _, body = api.get_json("/api/products?category=0123456789abcdef01234567")
    assert body["data"] == [] and body["total"] == 0


# ---------------------------------------------------------------- search


def test_search_osh_finds_the_osh_items(api, demo):
    found = search(api, "osh")
    expected = demo.search("osh")
    assert names(found) == names(expected)
    # Sanity of the model itself: every active product named "... osh..." is in.
    named = [p["name"] for p in demo.active_products
             if any(w.startswith("osh") for w in p["name"].lower().split())]
    assert named and set(named) <= set(names(found))
    assert not {p["name"] for p in demo.inactive_products} & set(names(found))


def test_search_cyrillic_finds_the_plov_items(api, demo):
    found = search(api, "плов")
    assert names(found) == names(demo.search("плов"))
    osh_category = [p["name"] for p in demo.active_in_category("osh")]
    assert osh_category and set(osh_category) <= set(names(found))


@pytest.mark.parametrize("variant", ["ПЛОВ", "Плов", "пЛоВ"])
def test_search_is_case_insensitive_in_cyrillic(api, variant):
    assert search(api, variant) == search(api, "плов")


def test_search_is_case_insensitive_in_latin(api):
    assert search(api, "OSH") == search(api, "osh")


def _apostrophe_word(demo):
    for p in demo.active_products:
        for w in p["name"].split():
            if "ʻ" in w:
                return p["name"], w
    pytest.fail("demo data has no product name with an Uzbek apostrophe (ʻ)")


def test_search_apostrophe_variants_agree(api, demo):
    name, word = _apostrophe_word(demo)  # e.g. "Toʻy"
    variants = [word.replace("ʻ", a) for a in ("ʻ", "'", "’", "‘", "`", "ʼ", "")]
    variants.append(variants[0].upper())
    results = [search(api, v) for v in variants]
    assert name in names(results[0])
    assert names(results[0]) == names(demo.search(word))
    for v, res in zip(variants, results):
        assert res == results[0], f"search {v!r} differs from {variants[0]!r}"


def test_search_yo_reads_as_ye(api, demo):
    word = next((w for p in demo.active_products for w in re.findall(r"\w+", p["descriptionRu"])
                 if "ё" in w), None)
    assert word, "demo data has no word with ё"
    with_yo = search(api, word)
    assert with_yo and with_yo == search(api, word.replace("ё", "е"))
    assert names(with_yo) == names(demo.search(word))


def test_search_several_words_must_all_match(api, demo):
    name, word = _apostrophe_word(demo)
    query = name  # e.g. "Toʻy oshi": both words
    found = search(api, query)
    assert names(found) == names(demo.search(query))
    assert name in names(found)
    assert len(found) <= len(search(api, name.split()[-1]))


def test_search_with_category_filter(api, demo, cat_ids):
    for key in ("osh", "salatlar"):
        found = search(api, "плов", f"&category={cat_ids[key]}")
        assert names(found) == names(demo.search("плов", category=key))


def test_search_paging_reports_search_total(api, demo):
    expected = demo.search("плов")
    assert len(expected) > 2
    _, body = api.get_json(f"/api/products?search={enc('плов')}&limit=2&offset=1")
    assert body["total"] == len(expected)
    assert names(body["data"]) == names(expected)[1:3]


def test_search_without_a_match_is_empty(api):
    _, body = api.get_json("/api/products?search=zzqxv")
    assert body["data"] == [] and body["total"] == 0


def test_search_only_punctuation_matches_nothing(api):
    _, body = api.get_json(f"/api/products?search={enc('!?-')}")
    assert body["data"] == [] and body["total"] == 0


def test_search_length_limit_is_100_characters(api):
    # Characters, not bytes: 100 Cyrillic letters are 200 bytes.
    _, body = api.get_json(f"/api/products?search={enc('п' * 100)}")
    assert body["total"] == 0
    r, body = api.get_json(f"/api/products?search={enc('п' * 101)}", status=400)
    assert body["success"] is False


def test_query_of_exactly_1024_bytes_is_accepted(api, demo):
    base = f"search={enc('плов')}&limit=100"
    q = base + "&" * (1024 - len(base))
    assert len(q) == 1024
    _, body = api.get_json("/api/products?" + q)
    assert names(body["data"]) == names(demo.search("плов"))
    api.get_json("/api/products?" + q + "&", status=400)


# ------------------------------------------------------------------ ETags

MENU_PATHS = [
    "/api/branches",
    "/api/categories",
    "CATEGORY_PRODUCTS",
    "PRODUCT",
    "/api/products",
    "/api/products?search=osh&limit=5&offset=1",
]


@pytest.fixture
def menu_path(request, cat_ids, all_products):
    p = request.param
    if p == "CATEGORY_PRODUCTS":
        return f"/api/categories/{next(iter(cat_ids.values()))}/products"
    if p == "PRODUCT":
        return f"/api/products/{all_products[0]['_id']}"
    return p


@pytest.mark.parametrize("menu_path", MENU_PATHS, indirect=True)
def test_menu_response_has_stable_strong_etag(api, menu_path):
    r1 = api.get(menu_path)
    r2 = api.get(menu_path)
    assert r1.status == r2.status == 200
    assert r1.header("Content-Type", "").startswith("application/json")
    etag = r1.header("ETag")
    assert etag and re.match(r'^"[^"]+"$', etag), etag
    assert r2.header("ETag") == etag and r2.body == r1.body
    assert r1.header("Cache-Control") == "no-cache"


@pytest.mark.parametrize("menu_path", MENU_PATHS, indirect=True)
@pytest.mark.parametrize("form", ["exact", "list", "weak", "star", "list-weak"])
def test_if_none_match_gives_304_without_body(api, menu_path, form):
    etag = api.get(menu_path).header("ETag")
    inm = {
        "exact": etag,
        "list": f'"nope", {etag}, "other"',
        "weak": f"W/{etag}",
        "star": "*",
        "list-weak": f'W/"nope",W/{etag}',
    }[form]
    r = api.raw_request("GET", menu_path, {"If-None-Match": inm})
    assert r.status == 304, r
    assert r.body == b""
    assert r.header("ETag") == etag
    assert r.header("Content-Length") in (None, "0")


@pytest.mark.parametrize("menu_path", MENU_PATHS, indirect=True)
@pytest.mark.parametrize("inm", ['"0000000000000000"', 'W/"0000000000000000"', '""'])
def test_if_none_match_with_another_etag_gives_200(api, menu_path, inm):
    full = api.get(menu_path)
    r = api.get(menu_path, headers={"If-None-Match": inm})
    assert r.status == 200, r
    assert r.body == full.body and r.header("ETag") == full.header("ETag")


def test_etag_prefix_of_real_etag_does_not_match(api):
    etag = api.get("/api/categories").header("ETag")
    r = api.get("/api/categories", headers={"If-None-Match": etag[:-2] + '"'})
    assert r.status == 200


def test_different_resources_have_different_etags(api):
    tags = {api.get(p).header("ETag") for p in ("/api/branches", "/api/categories", "/api/products")}
    assert len(tags) == 3


@pytest.mark.parametrize("menu_path", MENU_PATHS, indirect=True)
def test_head_has_length_and_no_body(api, menu_path):
    full = api.get(menu_path)
    r = api.raw_request("HEAD", menu_path)
    assert r.status == 200, r
    assert r.header("Content-Length") == str(len(full.body))
    assert r.header("Content-Type", "").startswith("application/json")
    assert r.header("ETag") == full.header("ETag")
    assert r.body == b""
