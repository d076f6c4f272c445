"""Payme's fiscal receipt: CheckPerformTransaction's result carries
`detail` (receipt_type 0, one item per order line with its IKPU code,
package code and VAT rate, prices in tiyin per unit, the delivery fee as
`shipping`) when every product of the order has its codes; otherwise the
result is `{"allow": true}` alone and the payments log names the products.

The codes are set on the products in the database (the admin API's
mxikCode / packageCode / vatPercent fields); the order's lines keep the
name and price the server stored when it was placed.
"""

import pytest
from bson import ObjectId

from harness import private_stack, wait_until
from orders_helpers import OrdersStack
from test_payments import PAY_ENV, account, create, error, payme, payme_id, result, tiyin

CODES = {
    "Toʻy oshi": ("10202001001000001", "1493467", 12),
    "Samarqand oshi": ("10202001001000002", "1493467", 12),
    "Mastava": ("10202002001000003", "1520311", 0),
}


@pytest.fixture(scope="module")
def ps(request):
    with private_stack(request, "fiscal", OrdersStack, env=PAY_ENV) as st:
        yield st


@pytest.fixture(scope="module")
def alice(ps):
    return ps.customer()


@pytest.fixture(autouse=True)
def coded(ps):
    """Every test starts with the three dishes coded and nothing else."""
    ps.db.products.update_many({}, {"$unset": {"mxikCode": "", "packageCode": "",
                                               "vatPercent": ""}})
    for name, (code, package, vat) in CODES.items():
        ps.db.products.update_one({"_id": ps.product(name)["_id"]}, {"$set": {
            "mxikCode": code, "packageCode": package, "vatPercent": vat}})
    yield


def check(ps, order):
    return payme(ps, "CheckPerformTransaction",
                 {"amount": tiyin(order), "account": account(order)})


def items(ps, lines):
    return [{"productId": ps.pid(name), "quantity": q} for name, q in lines]


def log_text(ps):
    return (ps.dir / "logs" / "payments.log").read_text(errors="replace")


def test_delivery_order_with_fee_gets_the_exact_receipt(ps, alice):
    order = ps.order(alice, paymentMethod="payme", order_type="delivery",
                     items=items(ps, [("Toʻy oshi", 2), ("Samarqand oshi", 1), ("Mastava", 3)]))
    fee = ps.branches["chilonzor"]["deliveryFee"]
    assert order["deliveryFee"] == fee > 0
    price = {name: ps.product(name)["price"] for name in CODES}
    ans = check(ps, order)
    assert result(ans) == {"allow": True, "detail": {
        "receipt_type": 0,
        "shipping": {"title": "Yetkazib berish", "price": fee * 100},
        "items": [
            {"title": "Toʻy oshi", "price": price["Toʻy oshi"] * 100, "count": 2,
             "code": "10202001001000001", "package_code": "1493467", "vat_percent": 12},
            {"title": "Samarqand oshi", "price": price["Samarqand oshi"] * 100, "count": 1,
             "code": "10202001001000002", "package_code": "1493467", "vat_percent": 12},
            {"title": "Mastava", "price": price["Mastava"] * 100, "count": 3,
             "code": "10202002001000003", "package_code": "1520311", "vat_percent": 0},
        ]}}
    # The receipt adds up to the amount Payme charges.
    d = ans["result"]["detail"]
    assert sum(i["price"] * i["count"] for i in d["items"]) + d["shipping"]["price"] \
        == tiyin(order)


def test_receipt_keeps_the_price_the_order_was_placed_at(ps, alice):
    """A price change after the order does not change its receipt: the
    lines are the order's, only the codes come from the product."""
    pid = ps.product("Toʻy oshi")["_id"]
    old = ps.product("Toʻy oshi")["price"]
    order = ps.order(alice, paymentMethod="payme", items=items(ps, [("Toʻy oshi", 1)]))
    try:
        ps.db.products.update_one({"_id": pid}, {"$set": {"price": old + 5000}})
        d = result(check(ps, order))["detail"]
    finally:
        ps.db.products.update_one({"_id": pid}, {"$set": {"price": old}})
    assert "shipping" not in d  # pickup: no delivery line
    assert d["items"] == [{"title": "Toʻy oshi", "price": old * 100, "count": 1,
                           "code": "10202001001000001", "package_code": "1493467",
                           "vat_percent": 12}]


def test_repeated_product_lines_are_each_on_the_receipt(ps, alice):
    body = ps.body(items=[{"productId": ps.pid("Toʻy oshi"), "quantity": 1, "notes": "piyozsiz"},
                          {"productId": ps.pid("Toʻy oshi"), "quantity": 2}],
                   paymentMethod="payme")
    order = ps.place(alice, body).json["data"]
    d = result(check(ps, order))["detail"]
    assert [(i["title"], i["count"], i["code"]) for i in d["items"]] == [
        ("Toʻy oshi", 1, "10202001001000001"), ("Toʻy oshi", 2, "10202001001000001")]


@pytest.mark.parametrize("change", [
    {"$unset": {"mxikCode": ""}},
    {"$set": {"mxikCode": "1020200100100000"}},      # 16 digits
    {"$set": {"mxikCode": "1020200100100000X"}},
    {"$set": {"mxikCode": 10202001001000002}},        # a number, not the code's text
    {"$unset": {"packageCode": ""}},
    {"$set": {"packageCode": ""}},
    {"$set": {"vatPercent": 112}},
    {"$set": {"vatPercent": "12"}},
])
def test_an_item_without_valid_codes_means_no_detail_and_a_warning(ps, alice, change):
    ps.db.products.update_one({"_id": ps.product("Samarqand oshi")["_id"]}, change)
    order = ps.order(alice, paymentMethod="payme", order_type="delivery",
                     items=items(ps, [("Toʻy oshi", 1), ("Samarqand oshi", 1)]))
    assert result(check(ps, order)) == {"allow": True}
    pid = ps.pid("Samarqand oshi")
    wait_until(lambda: f"order {order['_id']} goes without a fiscal receipt detail" in log_text(ps),
               5, what="the warning")
    line = next(ln for ln in log_text(ps).splitlines() if order["_id"] in ln)
    assert f"Samarqand oshi ({pid})" in line and "Toʻy oshi" not in line, line
    # The payment itself goes on as before.
    tx = payme_id()
    assert result(create(ps, order, tx))["state"] == 1
    assert result(payme(ps, "PerformTransaction", {"id": tx}))["state"] == 2


def test_vat_as_a_whole_double_and_absent_vat(ps, alice):
    ps.db.products.update_one({"_id": ps.product("Toʻy oshi")["_id"]},
                              {"$set": {"vatPercent": 12.0}})
    ps.db.products.update_one({"_id": ps.product("Mastava")["_id"]},
                              {"$unset": {"vatPercent": ""}})
    order = ps.order(alice, paymentMethod="payme",
                     items=items(ps, [("Toʻy oshi", 1), ("Mastava", 2)]))
    d = result(check(ps, order))["detail"]
    assert [i["vat_percent"] for i in d["items"]] == [12, 0]


def test_refusals_come_before_the_receipt(ps, alice):
    """An order Payme may not charge gets its error, never a receipt."""
    order = ps.order(alice, paymentMethod="payme")
    error(payme(ps, "CheckPerformTransaction",
                {"amount": tiyin(order) + 100, "account": account(order)}), -31001)
    error(payme(ps, "CheckPerformTransaction",
                {"amount": tiyin(order), "account": {"order_id": str(ObjectId())}}), -31050)
    cash = ps.order(alice)
    error(check(ps, cash), -31051)
