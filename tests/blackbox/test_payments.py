"""Online payment (fcgi-apps/payments): Payme's merchant API and Click's
SHOP-API replayed as the providers document them — happy path, a repeat of
every call, wrong auth and signatures, wrong amounts, unknown orders, the
12-hour timeout, cancels before and after perform — with the answers and
the order's state checked exactly; then real parallel clients against
FerretDB with exact counts; and the customer's checkout link.

A private stack (orders_helpers.OrdersStack) with four FastCGI children per
program and test merchant keys; the session stack (no payment settings)
shows what an unconfigured server answers.
"""

import base64
import hashlib
import json
import subprocess
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from bson import ObjectId

from harness import BIN, private_stack, wait_until
from orders_helpers import EventSource, OrdersStack, next_event, status_text

PAYME_MERCHANT = "5e730e8e0b852a417aa49ceb"
PAYME_KEY = "test-payme-key-&8Qz#uV1"
PAYME_CHECKOUT = "https://checkout.test.paycom.uz"
CLICK_SERVICE = "30120"
CLICK_MERCHANT = "21771"
CLICK_SECRET = "test-click-secret-kF9d2"
CLICK_CHECKOUT = "https://my.click.uz/services/pay"
RETURN_URL = "https://shop.example.uz/orders"
TWELVE_HOURS_MS = 12 * 3600 * 1000


# The settings of a stack with both providers configured (other suites use them too).
PAY_ENV = dict(
    PAYME_MERCHANT_ID=PAYME_MERCHANT, PAYME_KEY=PAYME_KEY, PAYME_CHECKOUT_URL=PAYME_CHECKOUT,
    CLICK_SERVICE_ID=CLICK_SERVICE, CLICK_MERCHANT_ID=CLICK_MERCHANT,
    CLICK_SECRET_KEY=CLICK_SECRET, CLICK_CHECKOUT_URL=CLICK_CHECKOUT,
    PAYMENT_RETURN_URL=RETURN_URL)


@pytest.fixture(scope="module")
def ps(request):
    with private_stack(request, "payments", OrdersStack, env=PAY_ENV) as st:
        yield st


@pytest.fixture(scope="module")
def alice(ps):
    return ps.customer()


@pytest.fixture(scope="module")
def bob(ps):
    return ps.customer(language_code="ru")


def now_ms():
    return int(time.time() * 1000)


def new_order(ps, customer, method):
    return ps.order(customer, paymentMethod=method)


# ------------------------------------------------------------------ Payme

_rpc_id = [1000]


def basic(user, key):
    return "Basic " + base64.b64encode(f"{user}:{key}".encode()).decode()


def payme_raw(ps, body, auth=None):
    h = {"Content-Type": "application/json"}
    if auth is not False:
        h["Authorization"] = auth or basic("Paycom", PAYME_KEY)
    r = ps.api.request("POST", "/payments/payme", headers=h, body=body, timeout=30)
    assert r.status == 200, r
    assert r.header("Content-Type", "").startswith("application/json"), r
    return r.json


def payme(ps, method, params, auth=None, rpc_id=None):
    _rpc_id[0] += 1
    rid = rpc_id if rpc_id is not None else _rpc_id[0]
    ans = payme_raw(ps, json.dumps({"jsonrpc": "2.0", "id": rid, "method": method,
                                    "params": params}).encode(), auth)
    assert ans["jsonrpc"] == "2.0" and ans["id"] == rid, ans
    return ans


def result(ans):
    assert "error" not in ans, ans
    return ans["result"]


def error(ans, code, data=None):
    assert "result" not in ans, ans
    e = ans["error"]
    assert e["code"] == code, ans
    assert set(e["message"]) == {"ru", "uz", "en"} and all(e["message"].values()), ans
    if data is not None:
        assert e.get("data") == data, ans
    return e


def account(order):
    return {"order_id": order["_id"]}


def tiyin(order):
    return order["total"] * 100


def payme_id():
    return str(ObjectId())


def create(ps, order, tx=None, amount=None, when=None):
    return payme(ps, "CreateTransaction", {
        "id": tx or payme_id(), "time": when if when is not None else now_ms(),
        "amount": amount if amount is not None else tiyin(order), "account": account(order)})


def read(ps, order):
    return ps.read(order["_id"])


def claims(ps, prefix):
    return sorted(d["_id"] for d in ps.db.payment_claims.find({})
                  if d["_id"].startswith(prefix))


def payment_events(ps, order):
    return list(ps.db.order_events.find({"order": ObjectId(order["_id"]), "kind": "payment"}))


def telegram_texts(ps, customer):
    return [t for chat, t in ps.tg.messages if chat == customer.telegram_id]


def test_payme_wrong_or_missing_auth_is_32504(ps, alice):
    order = new_order(ps, alice, "payme")
    params = {"amount": tiyin(order), "account": account(order)}
    for auth in (False, basic("Paycom", "wrong-key"), basic("Paycom2", PAYME_KEY),
                 basic("Paycom", PAYME_KEY + "x"), "Bearer " + PAYME_KEY,
                 "Basic " + "not base64!", basic("Paycom", PAYME_KEY)[:-2]):
        error(payme(ps, "CheckPerformTransaction", params, auth=auth), -32504)
    # even a malformed body with a wrong key learns nothing but -32504
    ans = payme_raw(ps, b"{not json", auth=basic("Paycom", "nope"))
    assert ans["error"]["code"] == -32504 and ans["id"] is None, ans
    result(payme(ps, "CheckPerformTransaction", params))


@pytest.mark.parametrize("body,code", [
    (b"{not json", -32700),
    (b"", -32700),
    (b"[1, 2]", -32600),
    (b'{"id": 5, "method": "CheckTransaction"}', -32600),
    (b'{"id": 5, "method": 17, "params": {}}', -32600),
    (b'{"id": 5, "method": "CheckTransaction", "params": []}', -32600),
    (b'{"id": 5, "method": "ChangePassword", "params": {"password": "x"}}', -32601),
    (b'{"id": 5, "method": "checktransaction", "params": {"id": "a"}}', -32601),
    (b'{"id": 5, "method": "CheckTransaction", "params": {"id": 12}}', -32600),
    (b'{"id": 5, "method": "CancelTransaction", "params": {"id": "abc"}}', -32600),
    (b'{"id": 5, "method": "GetStatement", "params": {"from": "1", "to": 2}}', -32600),
    (b'{"id": 5, "method": "CheckPerformTransaction", "params": {"amount": "100",'
     b' "account": {"order_id": "5e730e8e0b852a417aa49ceb"}}}', -32600),
    (b'{"id": 5, "method": "CheckPerformTransaction", "params": {"amount": 100}}', -32600),
])
def test_payme_malformed_requests(ps, body, code):
    ans = payme_raw(ps, body)
    assert ans["error"]["code"] == code, ans
    assert "result" not in ans


def test_payme_happy_path_and_a_repeat_of_every_call(ps, alice):
    order = new_order(ps, alice, "payme")
    assert order["paymentStatus"] == "pending"
    branch = ps.branch_id()
    board = EventSource(ps.stack.port, f"/sub/branch/{branch}",
                        ps.staff["chilonzor"].headers)
    page = EventSource(ps.stack.port, f"/sub/user/{alice.id}", alice.headers)
    assert board.status == 200 and page.status == 200
    try:
        params = {"amount": tiyin(order), "account": account(order)}
        for _ in range(2):
            assert result(payme(ps, "CheckPerformTransaction", params)) == {"allow": True}

        tx, t0 = payme_id(), now_ms()
        created = result(create(ps, order, tx, when=t0))
        assert set(created) == {"create_time", "transaction", "state"}
        assert created["state"] == 1 and abs(created["create_time"] - now_ms()) < 10_000
        assert len(created["transaction"]) == 24
        assert result(create(ps, order, tx, when=t0)) == created
        assert read(ps, order)["paymentStatus"] == "pending"

        checked = result(payme(ps, "CheckTransaction", {"id": tx}))
        assert checked == {"create_time": created["create_time"], "perform_time": 0,
                           "cancel_time": 0, "transaction": created["transaction"],
                           "state": 1, "reason": None}

        performed = result(payme(ps, "PerformTransaction", {"id": tx}))
        assert set(performed) == {"transaction", "perform_time", "state"}
        assert performed["state"] == 2 and performed["transaction"] == created["transaction"]
        assert performed["perform_time"] >= created["create_time"]
        assert result(payme(ps, "PerformTransaction", {"id": tx})) == performed

        doc = read(ps, order)
        assert doc["paymentStatus"] == "paid" and doc["status"] == "pending"
        assert doc["payment"]["provider"] == "payme"
        assert doc["payment"]["transaction"] == f"payme:{tx}"
        assert doc["payment"]["amount"] == order["total"]
        assert doc["version"] == order["version"] + 1
        assert len(payment_events(ps, order)) == 1

        checked = result(payme(ps, "CheckTransaction", {"id": tx}))
        assert checked == {"create_time": created["create_time"],
                           "perform_time": performed["perform_time"], "cancel_time": 0,
                           "transaction": created["transaction"], "state": 2, "reason": None}
        assert result(payme(ps, "CheckTransaction", {"id": tx})) == checked

        # a paid order takes no other payment
        error(payme(ps, "CheckPerformTransaction", params), -31052, "order_id")
        error(create(ps, order), -31052, "order_id")

        # the board hears it, the customer is told in Telegram
        _, ev = next_event(board, 5, lambda e: e.get("event") == "order-updated"
                           and e["data"].get("paymentStatus") == "paid")
        assert ev["data"]["_id"] == order["_id"]
        want = status_text("uz", order["number"], "pending", "toʻlov qabul qilindi (Payme)")
        wait_until(lambda: want in telegram_texts(ps, alice), what="the paid message")
        assert telegram_texts(ps, alice).count(want) == 1
        _, ev = next_event(page, 5, lambda e: e.get("event") == "payment-updated")
        assert ev["data"] == {"orderId": order["_id"], "number": order["number"],
                              "status": "pending", "paymentStatus": "paid", "message": want}

        stmt = result(payme(ps, "GetStatement", {"from": t0 - 1, "to": t0 + 1}))
        assert stmt == {"transactions": [{
            "id": tx, "time": t0, "amount": tiyin(order), "account": account(order),
            "create_time": created["create_time"], "perform_time": performed["perform_time"],
            "cancel_time": 0, "transaction": created["transaction"], "state": 2,
            "reason": None, "receivers": None}]}
        assert result(payme(ps, "GetStatement", {"from": t0 - 1, "to": t0 + 1})) == stmt
        assert result(payme(ps, "GetStatement", {"from": t0 + 1, "to": t0 + 2})) == {
            "transactions": []}

        # cancel after perform: a refund while the order is not completed
        cancelled = result(payme(ps, "CancelTransaction", {"id": tx, "reason": 5}))
        assert set(cancelled) == {"transaction", "cancel_time", "state"}
        assert cancelled["state"] == -2 and cancelled["cancel_time"] >= performed["perform_time"]
        assert result(payme(ps, "CancelTransaction", {"id": tx, "reason": 5})) == cancelled
        assert result(payme(ps, "CheckTransaction", {"id": tx})) == {
            "create_time": created["create_time"], "perform_time": performed["perform_time"],
            "cancel_time": cancelled["cancel_time"], "transaction": created["transaction"],
            "state": -2, "reason": 5}
        error(payme(ps, "PerformTransaction", {"id": tx}), -31008)
        doc = read(ps, order)
        assert doc["paymentStatus"] == "refunded" and doc["status"] == "pending"
        assert len(payment_events(ps, order)) == 2
        want = status_text("uz", order["number"], "pending", "pul qaytarildi (Payme)")
        wait_until(lambda: want in telegram_texts(ps, alice), what="the refund message")
        # a refunded order is not paid again
        error(create(ps, order), -31052, "order_id")
    finally:
        board.close()
        page.close()


def test_payme_wrong_amount_is_31001(ps, alice):
    order = new_order(ps, alice, "payme")
    for amount in (tiyin(order) + 1, tiyin(order) - 100, order["total"], 0, -5, 1.5):
        error(payme(ps, "CheckPerformTransaction",
                    {"amount": amount, "account": account(order)}), -31001)
        error(create(ps, order, amount=amount), -31001)
    assert ps.db.payments.count_documents({"order": ObjectId(order["_id"])}) == 0


def test_payme_unknown_or_unpayable_order(ps, alice):
    ghost = {"_id": str(ObjectId()), "total": 1000}
    error(payme(ps, "CheckPerformTransaction", {"amount": 100000, "account": account(ghost)}),
          -31050, "order_id")
    error(create(ps, ghost), -31050, "order_id")
    for bad in ("12", "zz" * 12, "", None, 123):
        error(payme(ps, "CheckPerformTransaction",
                    {"amount": 100000, "account": {"order_id": bad}}), -31050, "order_id")
    error(payme(ps, "CheckPerformTransaction", {"amount": 100000, "account": {}}), -31050)
    cash = new_order(ps, alice, "cash")
    error(create(ps, cash), -31051, "order_id")
    click = new_order(ps, alice, "click")
    error(payme(ps, "CheckPerformTransaction", {"amount": tiyin(click),
                                                "account": account(click)}), -31051)
    gone = new_order(ps, alice, "payme")
    ps.set_status(gone["_id"], "cancelled", alice, expect=200)
    error(create(ps, gone), -31051, "order_id")


def test_payme_unknown_transaction_is_31003(ps):
    tx = payme_id()
    error(payme(ps, "PerformTransaction", {"id": tx}), -31003)
    error(payme(ps, "CancelTransaction", {"id": tx, "reason": 1}), -31003)
    error(payme(ps, "CheckTransaction", {"id": tx}), -31003)
    error(payme(ps, "CheckTransaction", {"id": "has space"}), -31003)


def test_payme_one_active_transaction_per_order(ps, alice):
    order = new_order(ps, alice, "payme")
    ps.set_status(order["_id"], "confirmed", ps.staff["chilonzor"], expect=200)
    a, b = payme_id(), payme_id()
    first = result(create(ps, order, a))
    error(create(ps, order, b), -31053, "order_id")
    error(create(ps, order, b), -31053, "order_id")  # the repeat says the same
    error(payme(ps, "CheckTransaction", {"id": b}), -31003)  # b never existed for Payme
    error(payme(ps, "PerformTransaction", {"id": b}), -31003)
    assert result(create(ps, order, a))["transaction"] == first["transaction"]

    # a cancelled before perform frees the order; a confirmed order stays
    cancelled = result(payme(ps, "CancelTransaction", {"id": a, "reason": 3}))
    assert cancelled["state"] == -1
    doc = read(ps, order)
    assert doc["status"] == "confirmed" and doc["paymentStatus"] == "cancelled"
    c = payme_id()
    assert result(create(ps, order, c))["state"] == 1
    error(create(ps, order, a), -31008)  # a is over
    assert result(payme(ps, "PerformTransaction", {"id": c}))["state"] == 2
    doc = read(ps, order)
    assert doc["paymentStatus"] == "paid" and doc["payment"]["transaction"] == f"payme:{c}"
    assert claims(ps, f"payme-active:{order['_id']}:") == [
        f"payme-active:{order['_id']}:0", f"payme-active:{order['_id']}:1"]


def test_payme_cancel_before_perform_cancels_a_pending_order(ps, bob):
    order = new_order(ps, bob, "payme")
    tx = payme_id()
    created = result(create(ps, order, tx))
    cancelled = result(payme(ps, "CancelTransaction", {"id": tx, "reason": 3}))
    assert cancelled == {"transaction": created["transaction"],
                         "cancel_time": cancelled["cancel_time"], "state": -1}
    assert cancelled["cancel_time"] >= created["create_time"]
    assert result(payme(ps, "CancelTransaction", {"id": tx, "reason": 3})) == cancelled
    assert result(payme(ps, "CheckTransaction", {"id": tx})) == {
        "create_time": created["create_time"], "perform_time": 0,
        "cancel_time": cancelled["cancel_time"], "transaction": created["transaction"],
        "state": -1, "reason": 3}
    error(payme(ps, "PerformTransaction", {"id": tx}), -31008)
    doc = read(ps, order)
    assert doc["status"] == "cancelled" and doc["paymentStatus"] == "cancelled"
    assert doc["statusHistory"][-1]["status"] == "cancelled"
    assert doc["statusHistory"][-1]["message"] == "Payment cancelled"
    assert len(payment_events(ps, order)) == 1
    want = status_text("ru", order["number"], "cancelled", "оплата отменена (Payme)")
    wait_until(lambda: want in telegram_texts(ps, bob), what="the cancel message")


def test_payme_cancel_after_perform_of_a_completed_order_is_31007(ps, alice):
    order = new_order(ps, alice, "payme")
    tx = payme_id()
    result(create(ps, order, tx))
    result(payme(ps, "PerformTransaction", {"id": tx}))
    ps.advance(order["_id"], ["confirmed", "preparing", "ready", "completed"],
               ps.staff["chilonzor"])
    error(payme(ps, "CancelTransaction", {"id": tx, "reason": 5}), -31007)
    assert result(payme(ps, "CheckTransaction", {"id": tx}))["state"] == 2
    assert read(ps, order)["paymentStatus"] == "paid"


def test_payme_perform_refused_once_the_customer_cancelled(ps, alice):
    order = new_order(ps, alice, "payme")
    tx = payme_id()
    result(create(ps, order, tx))
    ps.set_status(order["_id"], "cancelled", alice, expect=200)
    error(payme(ps, "PerformTransaction", {"id": tx}), -31008)
    assert result(payme(ps, "CheckTransaction", {"id": tx}))["state"] == 1
    assert read(ps, order)["paymentStatus"] == "pending"


def age(ps, tx, ms):
    """Moves a transaction's creation ms into the past, as 12 hours would."""
    r = ps.db.payments.update_one({"_id": f"payme:{tx}"}, {"$inc": {"createTime": -ms}})
    assert r.modified_count == 1


def test_payme_12_hour_timeout(ps, alice):
    # Create with a Payme time already 12 hours old: refused
    order = new_order(ps, alice, "payme")
    error(create(ps, order, when=now_ms() - TWELVE_HOURS_MS - 1000), -31008)

    # an unperformed transaction past 12 hours: perform cancels it, reason 4
    tx = payme_id()
    created = result(create(ps, order, tx))
    age(ps, tx, TWELVE_HOURS_MS + 1000)
    error(payme(ps, "PerformTransaction", {"id": tx}), -31008)
    checked = result(payme(ps, "CheckTransaction", {"id": tx}))
    assert checked["state"] == -1 and checked["reason"] == 4 and checked["perform_time"] == 0
    assert checked["transaction"] == created["transaction"]
    error(payme(ps, "PerformTransaction", {"id": tx}), -31008)
    error(create(ps, order, tx), -31008)
    doc = read(ps, order)
    assert doc["paymentStatus"] == "cancelled" and doc["status"] == "cancelled"

    # a repeated create of an expired transaction: cancelled, -31008
    other = new_order(ps, alice, "payme")
    tx2 = payme_id()
    result(create(ps, other, tx2))
    age(ps, tx2, TWELVE_HOURS_MS + 1000)
    error(create(ps, other, tx2), -31008)
    assert result(payme(ps, "CheckTransaction", {"id": tx2}))["reason"] == 4

    # an expired holder does not keep the order busy: the next create takes it
    third = new_order(ps, alice, "payme")
    ps.set_status(third["_id"], "confirmed", ps.staff["chilonzor"], expect=200)
    old, new = payme_id(), payme_id()
    result(create(ps, third, old))
    error(create(ps, third, new), -31053)
    age(ps, old, TWELVE_HOURS_MS + 1000)
    assert result(create(ps, third, payme_id()))["state"] == 1
    assert result(payme(ps, "CheckTransaction", {"id": old}))["reason"] == 4


def test_payme_parallel_creates_for_one_order_open_exactly_one(ps, alice):
    order = new_order(ps, alice, "payme")
    ids = [payme_id() for _ in range(24)]
    with ThreadPoolExecutor(24) as ex:
        answers = list(ex.map(lambda tx: create(ps, order, tx), ids))
    won = [tx for tx, a in zip(ids, answers) if "result" in a]
    lost = [a["error"]["code"] for a in answers if "error" in a]
    assert len(won) == 1 and sorted(set(lost)) == [-31053] and len(lost) == 23
    assert claims(ps, f"payme-active:{order['_id']}:") == [f"payme-active:{order['_id']}:0"]
    holder = ps.db.payment_claims.find_one({"_id": f"payme-active:{order['_id']}:0"})
    assert holder["tx"] == f"payme:{won[0]}"


def test_payme_parallel_repeats_give_one_transaction_and_one_payment(ps, alice):
    order = new_order(ps, alice, "payme")
    tx, t0 = payme_id(), now_ms()
    with ThreadPoolExecutor(20) as ex:
        created = list(ex.map(lambda _: create(ps, order, tx, when=t0), range(20)))
    assert all("result" in a for a in created), created
    assert len({json.dumps(a["result"], sort_keys=True) for a in created}) == 1
    with ThreadPoolExecutor(20) as ex:
        performed = list(ex.map(lambda _: payme(ps, "PerformTransaction", {"id": tx}),
                                range(20)))
    assert all("result" in a for a in performed), performed
    assert len({json.dumps(a["result"], sort_keys=True) for a in performed}) == 1
    assert len(payment_events(ps, order)) == 1
    assert claims(ps, f"paid:{order['_id']}:") == [f"paid:{order['_id']}:0"]
    assert ps.db.payment_claims.count_documents({"_id": f"payme:{tx}:end"}) == 1
    doc = read(ps, order)
    assert doc["paymentStatus"] == "paid" and doc["version"] == order["version"] + 1
    want = status_text("uz", order["number"], "pending", "toʻlov qabul qilindi (Payme)")
    wait_until(lambda: want in telegram_texts(ps, alice), what="the paid message")
    time.sleep(0.5)
    assert telegram_texts(ps, alice).count(want) == 1


def test_payme_perform_racing_cancel_has_one_outcome(ps, alice):
    for _ in range(3):
        order = new_order(ps, alice, "payme")
        ps.set_status(order["_id"], "confirmed", ps.staff["chilonzor"], expect=200)
        tx = payme_id()
        result(create(ps, order, tx))
        calls = [("PerformTransaction", {"id": tx})] * 10 + \
                [("CancelTransaction", {"id": tx, "reason": 3})] * 10
        with ThreadPoolExecutor(20) as ex:
            answers = list(ex.map(lambda c: payme(ps, *c), calls))
        final = result(payme(ps, "CheckTransaction", {"id": tx}))
        performs, cancels = answers[:10], answers[10:]
        doc = read(ps, order)
        if final["state"] == -1:  # the cancel won: no perform succeeded
            assert all(a["error"]["code"] == -31008 for a in performs), performs
            assert doc["paymentStatus"] == "cancelled"
            assert claims(ps, f"paid:{order['_id']}:") in ([], [f"paid:{order['_id']}:0"])
        else:  # the perform won; every cancel after it refunded
            assert final["state"] == -2, final
            assert all(a["result"]["state"] == 2 for a in performs if "result" in a)
            assert all(a["result"]["state"] == -2 for a in cancels), cancels
            assert doc["paymentStatus"] == "refunded"
            assert ps.db.payment_claims.count_documents({"_id": f"payme:{tx}:refund"}) == 1
        assert ps.db.payment_claims.count_documents({"_id": f"payme:{tx}:end"}) == 1


# ------------------------------------------------------------------ Click


def click_sign(f, complete):
    parts = [f["click_trans_id"], f["service_id"], CLICK_SECRET, f["merchant_trans_id"]]
    if complete:
        parts.append(f["merchant_prepare_id"])
    parts += [f["amount"], f["action"], f["sign_time"]]
    return hashlib.md5("".join(str(p) for p in parts).encode()).hexdigest()


_click_id = [int(time.time()) * 1000]


def click_trans_id():
    _click_id[0] += 1
    return str(_click_id[0])


def click_form(order, trans_id=None, amount=None, action="0", prepare_id=None, error_code="0",
               **override):
    f = {"click_trans_id": trans_id or click_trans_id(), "service_id": CLICK_SERVICE,
         "click_paydoc_id": "1" + (trans_id or "0"), "merchant_trans_id": order["_id"],
         "amount": amount if amount is not None else f"{order['total']}.00",
         "action": action, "error": error_code,
         "error_note": "Success" if error_code == "0" else "Insufficient funds",
         "sign_time": time.strftime("%Y-%m-%d %H:%M:%S")}
    if prepare_id is not None:
        f["merchant_prepare_id"] = str(prepare_id)
    f["sign_string"] = click_sign(f, prepare_id is not None)
    f.update(override)
    return f


def click_post(ps, path, form, raw=None):
    body = raw if raw is not None else urllib.parse.urlencode(form).encode()
    r = ps.api.request("POST", f"/payments/click/{path}",
                       headers={"Content-Type": "application/x-www-form-urlencoded"},
                       body=body, timeout=30)
    assert r.status == 200, r
    assert r.header("Content-Type", "").startswith("application/json"), r
    return r.json


def prepare(ps, order, **kw):
    f = click_form(order, **kw)
    return f, click_post(ps, "prepare", f)


def complete(ps, order, f, prepare_id, error_code="0", **override):
    g = click_form(order, trans_id=f["click_trans_id"], amount=f["amount"], action="1",
                   prepare_id=prepare_id, error_code=error_code, **override)
    return click_post(ps, "complete", g)


def test_click_happy_path_and_repeats(ps, bob):
    order = new_order(ps, bob, "click")
    f, ans = prepare(ps, order)
    assert ans["error"] == 0 and ans["error_note"] == "Success", ans
    assert ans["click_trans_id"] == int(f["click_trans_id"])
    assert ans["merchant_trans_id"] == order["_id"]
    pid = ans["merchant_prepare_id"]
    assert isinstance(pid, int) and 0 < pid < 2**31
    assert set(ans) == {"click_trans_id", "merchant_trans_id", "merchant_prepare_id", "error",
                        "error_note"}
    assert click_post(ps, "prepare", f) == ans  # the same call again
    assert read(ps, order)["paymentStatus"] == "pending"

    done = complete(ps, order, f, pid)
    assert done == {"click_trans_id": int(f["click_trans_id"]),
                    "merchant_trans_id": order["_id"], "merchant_confirm_id": pid,
                    "error": 0, "error_note": "Success"}
    assert complete(ps, order, f, pid) == done
    doc = read(ps, order)
    assert doc["paymentStatus"] == "paid" and doc["payment"]["provider"] == "click"
    assert doc["payment"]["transaction"] == f"click:{f['click_trans_id']}"
    assert doc["payment"]["amount"] == order["total"]
    assert len(payment_events(ps, order)) == 1
    want = status_text("ru", order["number"], "pending", "оплата получена (Click)")
    wait_until(lambda: want in telegram_texts(ps, bob), what="the paid message")

    # a paid order: another prepare is refused, a repeat of ours says paid
    _, again = prepare(ps, order)
    assert again["error"] == -4, again
    assert click_post(ps, "prepare", f)["error"] == -4


def test_click_amount_is_signed_exactly_as_received(ps, bob):
    order = new_order(ps, bob, "click")
    for amount in (str(order["total"]), f"{order['total']}.0", f"{order['total']}.00"):
        f, ans = prepare(ps, order, amount=amount)
        assert ans["error"] == 0, (amount, ans)
    # the signature covers the string: the same value written otherwise fails
    f = click_form(order, amount=f"{order['total']}.00")
    f["amount"] = str(order["total"])
    assert click_post(ps, "prepare", f)["error"] == -1


def test_click_wrong_sign_is_1(ps, bob):
    order = new_order(ps, bob, "click")
    f = click_form(order)
    for bad in ("0" * 32, f["sign_string"][:-1], f["sign_string"] + "0", "",
                hashlib.md5(b"x").hexdigest()):
        g = dict(f, sign_string=bad)
        assert click_post(ps, "prepare", g)["error"] == -1
    g = dict(f, merchant_trans_id=str(ObjectId()))  # any field changed after signing
    assert click_post(ps, "prepare", g)["error"] == -1
    assert f["sign_string"] == f["sign_string"].lower()
    ans = click_post(ps, "prepare", dict(f, sign_string=f["sign_string"].upper()))
    assert ans["error"] == 0
    ans2 = complete(ps, order, f, ans["merchant_prepare_id"], sign_string="f" * 32)
    assert ans2["error"] == -1
    assert read(ps, order)["paymentStatus"] == "pending"


def test_click_wrong_amount_unknown_order_action_and_request(ps, bob):
    order = new_order(ps, bob, "click")
    for amount in (f"{order['total'] + 1}.00", f"{order['total']}.01", "1.00", "abc", "-5",
                   f"{order['total']}.000", "1e5"):
        assert prepare(ps, order, amount=amount)[1]["error"] == -2, amount
    ghost = dict(order, _id=str(ObjectId()))
    assert prepare(ps, ghost)[1]["error"] == -5
    assert prepare(ps, dict(order, _id="not-an-order"))[1]["error"] == -5
    cash = new_order(ps, bob, "cash")
    assert prepare(ps, cash)[1]["error"] == -5
    assert prepare(ps, order, action="1")[1]["error"] == -3
    assert prepare(ps, order, action="7")[1]["error"] == -3
    f = click_form(order)
    del f["sign_time"]
    assert click_post(ps, "prepare", f)["error"] == -8
    f = click_form(order, service_id="999")
    f["sign_string"] = click_sign(f, False)
    assert click_post(ps, "prepare", f)["error"] == -8
    assert click_post(ps, "prepare", None, raw=b"click_trans_id=%zz")["error"] == -8
    assert click_post(ps, "prepare", None, raw=b"a=1&a=2")["error"] == -8
    assert click_post(ps, "prepare", None, raw=b"x" * 5000)["error"] == -8
    assert ps.db.payments.count_documents({"order": ObjectId(order["_id"])}) == 0


def test_click_complete_of_unknown_transaction_is_6(ps, bob):
    order = new_order(ps, bob, "click")
    f, ans = prepare(ps, order)
    pid = ans["merchant_prepare_id"]
    assert complete(ps, order, f, pid + 1)["error"] == -6
    g = click_form(order, trans_id=click_trans_id(), action="1", prepare_id=pid)
    assert click_post(ps, "complete", g)["error"] == -6
    g = click_form(order, trans_id=f["click_trans_id"], amount=f["amount"], action="1",
                   prepare_id=pid)
    assert click_post(ps, "complete", dict(g, action="0"))["error"] == -1  # changed after signing
    g = click_form(order, trans_id=f["click_trans_id"], action="0", prepare_id=pid)
    assert click_post(ps, "complete", g)["error"] == -3
    # the same click_trans_id with another amount or order, correctly signed
    g = click_form(order, trans_id=f["click_trans_id"], amount=str(order["total"]),
                   action="1", prepare_id=pid)
    assert click_post(ps, "complete", g)["error"] == -2
    other = new_order(ps, bob, "click")
    g = click_form(other, trans_id=f["click_trans_id"], action="1", prepare_id=pid)
    assert click_post(ps, "complete", g)["error"] == -6
    assert prepare(ps, order, trans_id=f["click_trans_id"],
                   amount=str(order["total"]))[1]["error"] == -8
    assert prepare(ps, other, trans_id=f["click_trans_id"])[1]["error"] == -8
    assert read(ps, order)["paymentStatus"] == "pending"
    assert read(ps, other)["paymentStatus"] == "pending"
    assert complete(ps, order, f, pid)["error"] == 0  # the real one still works


def test_click_complete_with_error_cancels_the_payment(ps, bob):
    order = new_order(ps, bob, "click")
    f, ans = prepare(ps, order)
    pid = ans["merchant_prepare_id"]
    first = complete(ps, order, f, pid, error_code="-5017")
    assert first["error"] == -9 and "merchant_confirm_id" not in first, first
    assert complete(ps, order, f, pid, error_code="-5017") == first
    assert complete(ps, order, f, pid)["error"] == -9  # too late to succeed
    assert click_post(ps, "prepare", f)["error"] == -9
    doc = read(ps, order)
    assert doc["status"] == "cancelled" and doc["paymentStatus"] == "cancelled"
    assert len(payment_events(ps, order)) == 1
    want = status_text("ru", order["number"], "cancelled", "оплата отменена (Click)")
    wait_until(lambda: want in telegram_texts(ps, bob), what="the cancel message")


def test_click_parallel_completes_pay_once(ps, bob):
    order = new_order(ps, bob, "click")
    f, ans = prepare(ps, order)
    pid = ans["merchant_prepare_id"]
    with ThreadPoolExecutor(20) as ex:
        answers = list(ex.map(lambda _: complete(ps, order, f, pid), range(20)))
    assert all(a["error"] == 0 and a["merchant_confirm_id"] == pid for a in answers), answers
    assert len(payment_events(ps, order)) == 1
    assert claims(ps, f"paid:{order['_id']}:") == [f"paid:{order['_id']}:0"]


def test_click_parallel_payments_of_one_order_only_one_wins(ps, bob):
    order = new_order(ps, bob, "click")
    prepared = [prepare(ps, order) for _ in range(12)]
    assert all(a["error"] == 0 for _, a in prepared)
    with ThreadPoolExecutor(12) as ex:
        answers = list(ex.map(lambda p: complete(ps, order, p[0],
                                                 p[1]["merchant_prepare_id"]), prepared))
    codes = sorted(a["error"] for a in answers)
    assert codes.count(0) == 1, codes
    assert set(codes) <= {0, -4, -7}, codes
    assert len(payment_events(ps, order)) == 1
    doc = read(ps, order)
    winner = [p[0]["click_trans_id"] for p, a in zip(prepared, answers) if a["error"] == 0]
    assert doc["paymentStatus"] == "paid"
    assert doc["payment"]["transaction"] == f"click:{winner[0]}"


# ---------------------------------------------------------- checkout link


def test_checkout_links(ps, alice, bob):
    order = new_order(ps, alice, "payme")
    r = ps.get(f"/api/orders/{order['_id']}/pay?provider=payme", alice.headers)
    assert r.status == 200, r
    params = f"m={PAYME_MERCHANT};ac.order_id={order['_id']};a={tiyin(order)}"
    assert r.json == {"success": True, "data": {
        "provider": "payme", "orderId": order["_id"], "amount": order["total"],
        "url": f"{PAYME_CHECKOUT}/{base64.b64encode(params.encode()).decode()}"}}

    corder = new_order(ps, alice, "click")
    r = ps.get(f"/api/orders/{corder['_id']}/pay?provider=click", alice.headers)
    assert r.status == 200, r
    q = urllib.parse.urlencode({"service_id": CLICK_SERVICE, "merchant_id": CLICK_MERCHANT,
                                "amount": corder["total"], "transaction_param": corder["_id"],
                                "return_url": RETURN_URL}, quote_via=urllib.parse.quote,
                               safe="")
    assert r.json["data"]["url"] == f"{CLICK_CHECKOUT}?{q}"

    assert ps.get(f"/api/orders/{order['_id']}/pay?provider=payme").status == 401
    assert ps.get(f"/api/orders/{order['_id']}/pay?provider=payme",
                  bob.headers).status == 404
    assert ps.get(f"/api/orders/{order['_id']}/pay?provider=click",
                  alice.headers).status == 409
    assert ps.get(f"/api/orders/{order['_id']}/pay?provider=cash",
                  alice.headers).status == 400
    assert ps.get(f"/api/orders/{order['_id']}/pay", alice.headers).status == 400
    assert ps.get(f"/api/orders/{ObjectId()}/pay?provider=payme",
                  alice.headers).status == 404
    tx = payme_id()
    result(create(ps, order, tx))
    result(payme(ps, "PerformTransaction", {"id": tx}))
    r = ps.get(f"/api/orders/{order['_id']}/pay?provider=payme", alice.headers)
    assert r.status == 409 and "paid" in r.json["message"], r


# ----------------------------------------------------- without settings


def test_unconfigured_server_answers_clearly(api):
    r = api.request("POST", "/payments/payme", headers={
        "Content-Type": "application/json", "Authorization": basic("Paycom", "x")},
        body=b'{"id": 1, "method": "CheckTransaction", "params": {"id": "a"}}')
    assert r.status == 200, r
    assert r.json["error"]["code"] == -32400
    assert "not configured" in r.json["error"]["message"]["en"]
    r = api.request("POST", "/payments/click/prepare",
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                    body=b"click_trans_id=1")
    assert r.status == 503, r
    assert r.json["error"] == -7 and "not configured" in r.json["error_note"]


def test_click_a_failed_attempt_never_cancels_an_order_another_one_pays(ps, bob):
    """Two prepared Click payments of one pending order: one completes, the
    other comes back failed (which cancels a pending order) at the same
    moment. Whichever wins, the order is never both cancelled and paid."""
    outcomes = set()
    for _ in range(6):
        order = new_order(ps, bob, "click")
        (fa, a), (fb, b) = prepare(ps, order), prepare(ps, order)
        with ThreadPoolExecutor(2) as ex:
            good = ex.submit(complete, ps, order, fa, a["merchant_prepare_id"])
            bad = ex.submit(complete, ps, order, fb, b["merchant_prepare_id"], "-5017")
            good, bad = good.result(), bad.result()
        assert bad["error"] == -9, bad
        doc = read(ps, order)
        if good["error"] == 0:
            assert doc["paymentStatus"] == "paid" and doc["status"] == "pending", doc
            outcomes.add("paid")
        else:
            assert good["error"] == -9, good
            assert doc["paymentStatus"] == "cancelled" and doc["status"] == "cancelled", doc
            outcomes.add("cancelled")
        assert len([e for e in payment_events(ps, order)
                    if e["paymentStatus"] == "paid"]) == (good["error"] == 0)
    print("outcomes seen:", sorted(outcomes))


def test_the_provider_does_not_wait_for_telegram(ps, alice):
    """The customer's message goes out after the answer: with the Bot API
    taking 2.5 s, Perform is answered well before the message is sent."""
    order = new_order(ps, alice, "payme")
    tx = payme_id()
    result(create(ps, order, tx))
    ps.tg.delay = 2.5
    try:
        t = time.monotonic()
        assert result(payme(ps, "PerformTransaction", {"id": tx}))["state"] == 2
        answered = time.monotonic() - t
        want = status_text("uz", order["number"], "pending", "toʻlov qabul qilindi (Payme)")
        wait_until(lambda: want in telegram_texts(ps, alice), timeout=10,
                   what="the delayed message")
        sent = time.monotonic() - t
    finally:
        ps.tg.delay = 0.0
    assert sent >= 2.5 and answered < 1.5, (answered, sent)


def run_repair(ps):
    env = dict(ps.stack.env)
    env.update(MONGODB_URI=f"mongodb://127.0.0.1:{ps.stack.db_port}/oshxona",
               OSHXONA_ENV_FILE="/dev/null", OSHXONA_LOCK_DIR=str(ps.dir / "run"),
               NCHAN_PUBLISH_SOCKET=str(ps.dir / "run" / "nchan-publish.sock"),
               LOG_FILE=str(ps.dir / "logs" / "payments-repair.log"),
               PAYMENTS_REPAIR_MIN_AGE_MS="0")
    p = subprocess.run([str(BIN / "payments-repair")], env=env, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p


def test_repair_job_finishes_a_payment_whose_order_write_was_lost(ps, alice):
    """The program claimed the perform and died before writing the order
    (simulated by writing the claims it writes, in its order): the order
    shows pending although the money is taken, until cron/payments-repair
    applies it."""
    order = new_order(ps, alice, "payme")
    tx = payme_id()
    result(create(ps, order, tx))
    now = datetime.now(timezone.utc)
    ps.db.payment_effects.insert_one({"_id": f"payme:{tx}", "provider": "payme", "extId": tx,
                                      "order": ObjectId(order["_id"]), "at": now})
    ps.db.payment_claims.insert_one({"_id": f"paid:{order['_id']}:0", "tx": f"payme:{tx}",
                                     "at": now_ms()})
    ps.db.payment_claims.insert_one({"_id": f"payme:{tx}:end", "kind": "perform",
                                     "at": now_ms()})
    assert read(ps, order)["paymentStatus"] == "pending"
    # a transaction that is still waiting keeps its mark for 15 minutes
    waiting = new_order(ps, alice, "payme")
    wtx = payme_id()
    result(create(ps, waiting, wtx))
    ps.db.payment_effects.insert_one({"_id": f"payme:{wtx}", "provider": "payme", "extId": wtx,
                                      "order": ObjectId(waiting["_id"]), "at": now})

    run_repair(ps)
    doc = read(ps, order)
    assert doc["paymentStatus"] == "paid" and doc["payment"]["transaction"] == f"payme:{tx}"
    assert len(payment_events(ps, order)) == 1
    want = status_text("uz", order["number"], "pending", "toʻlov qabul qilindi (Payme)")
    wait_until(lambda: want in telegram_texts(ps, alice), what="the repaired payment's message")
    assert ps.db.payment_effects.count_documents({"_id": f"payme:{tx}"}) == 0
    assert ps.db.payment_effects.count_documents({"_id": f"payme:{wtx}"}) == 1
    assert read(ps, waiting)["paymentStatus"] == "pending"

    # a second run changes nothing; the waiting mark goes once it is stale
    ps.db.payment_effects.update_one({"_id": f"payme:{wtx}"},
                                     {"$set": {"at": now - timedelta(minutes=16)}})
    run_repair(ps)
    assert len(payment_events(ps, order)) == 1
    assert ps.db.payment_effects.count_documents({"_id": f"payme:{wtx}"}) == 0
    assert result(payme(ps, "PerformTransaction", {"id": tx}))["state"] == 2
    # every call that settles a payment leaves no mark behind
    assert ps.db.payment_effects.count_documents({}) == 0


def test_a_half_done_payment_event_is_rolled_forward_by_the_next_change(ps, alice):
    """A payment event claimed (order_events "<order>:<v+1>", kind payment)
    whose writer died: the next status change meets the claim, answers 409
    and finishes the payment's write, as it does for status changes."""
    order = new_order(ps, alice, "payme")
    v = order["version"]
    at = datetime.now(timezone.utc) - timedelta(seconds=30)
    ps.db.order_events.insert_one({
        "_id": f"{order['_id']}:{v + 1}", "order": ObjectId(order["_id"]), "version": v + 1,
        "kind": "payment", "from": "pending", "to": "pending", "paymentStatus": "paid",
        "payment": {"provider": "payme", "transaction": "payme:x", "amount": order["total"]},
        "byKind": "payme", "at": at})
    staff = ps.staff["chilonzor"]
    assert ps.set_status(order["_id"], "confirmed", staff).status == 409
    doc = read(ps, order)
    assert doc["version"] == v + 1 and doc["paymentStatus"] == "paid"
    assert doc["payment"]["transaction"] == "payme:x" and doc["status"] == "pending"
    assert len(doc["statusHistory"]) == len(order["statusHistory"])
    ps.set_status(order["_id"], "confirmed", staff, expect=200)
    assert read(ps, order)["paymentStatus"] == "paid"
