"""Realtime and Telegram: the branch board and the customer's tracking page
hear about orders through Nchan (EventSource and WebSocket, authorized by
the chanauth FastCGI program through auth_request), and customers who
signed in through Telegram get a message for every status change, through
the outbox when the Bot API is away. Runs on its own private stack
(harness.private_stack): one test stops a FastCGI program."""

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from harness import BIN, pid_exists, private_stack, wait_until
from orders_helpers import (EventSource, OrdersStack, WebSocketSub, next_event, no_event,
                            status_text)

DELAY_MAX = 1.0  # seconds from the HTTP answer to the event at a subscriber


@pytest.fixture(scope="module")
def rt(request):
    with private_stack(request, "realtime", OrdersStack) as st:
        yield st


def _items(rt, n=2):
    return [{"productId": rt.pid("Toʻy oshi"), "quantity": n}]


def subscribe(rt, kind, path, headers=None):
    cls = EventSource if kind == "es" else WebSocketSub
    return cls(rt.stack.port, path, headers)


def ok_status(kind):
    return 200 if kind == "es" else 101


def branch_path(rt, key="chilonzor"):
    return f"/sub/branch/{rt.branch_id(key)}"


def nginx_workers(rt):
    master = int((rt.dir / "run" / "nginx.pid").read_text().split()[0])
    out = set()
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == master and fields[0] != "Z":
            out.add(int(d.name))
    return out


def crash_lines(rt):
    text = (rt.dir / "logs" / "error.log").read_text(errors="replace")
    return [ln for ln in text.splitlines()
            if "exited on signal" in ln or "worker process" in ln and "exited" in ln]


@pytest.fixture
def subs():
    opened = []
    yield opened
    for s in opened:
        s.close()


def is_event(name, **data):
    def pred(ev):
        if ev.get("event") != name or not isinstance(ev.get("data"), dict):
            return False
        return all(ev["data"].get(k) == v for k, v in data.items())
    return pred


# ------------------------------------------------------------ new-order


@pytest.mark.parametrize("kind,auth", [("es", "cookie"), ("es", "bearer"), ("ws", "cookie"),
                                       ("ws", "bearer")])
def test_branch_board_hears_new_orders(rt, subs, kind, auth):
    staff = rt.staff["chilonzor"]
    sub = subscribe(rt, kind, branch_path(rt), staff.cookie if auth == "cookie" else staff.headers)
    subs.append(sub)
    assert sub.status == ok_status(kind), getattr(sub, "body", sub.status)
    other = subscribe(rt, kind, branch_path(rt, "yunusobod"), rt.staff["owner"].headers)
    subs.append(other)
    assert other.status == ok_status(kind)
    customer = rt.customer()
    r = rt.place(customer, rt.body(items=_items(rt)))
    t201 = time.monotonic()
    d = r.json["data"]
    t, ev = next_event(sub, 3.0, is_event("new-order", _id=d["_id"]))
    assert t - t201 <= DELAY_MAX, t - t201
    assert ev["data"]["number"] == d["number"]
    assert ev["data"]["status"] == "pending" and ev["data"]["total"] == d["total"]
    assert [i["name"] for i in ev["data"]["items"]] == ["Toʻy oshi"]
    # The other branch's board hears nothing of it.
    no_event(other, 0.3, is_event("new-order", _id=d["_id"]))


def test_several_boards_of_one_branch_all_hear(rt, subs):
    boards = [subscribe(rt, k, branch_path(rt), rt.staff[w].headers)
              for k in ("es", "ws") for w in ("chilonzor", "owner")]
    subs.extend(boards)
    assert [b.status for b in boards] == [200, 200, 101, 101]
    d = rt.order(rt.customer(), items=_items(rt))
    t201 = time.monotonic()
    for b in boards:
        t, _ = next_event(b, 3.0, is_event("new-order", _id=d["_id"], number=d["number"]))
        assert t - t201 <= DELAY_MAX


def test_subscribers_get_only_new_events(rt, subs):
    """nchan_subscriber_first_message newest: a board that connects later
    does not get the old orders replayed (it re-reads the REST API)."""
    old = rt.order(rt.customer(), items=_items(rt))
    sub = subscribe(rt, "es", branch_path(rt), rt.staff["chilonzor"].headers)
    subs.append(sub)
    assert sub.status == 200
    new = rt.order(rt.customer(), items=_items(rt))
    _, ev = next_event(sub, 3.0, is_event("new-order"))
    assert ev["data"]["_id"] == new["_id"] != old["_id"]


# ------------------------------------------------------- status events


@pytest.mark.parametrize("kind", ["es", "ws"])
@pytest.mark.parametrize("language", [None, "ru", "en"])
def test_customer_hears_status_changes_in_their_language(rt, subs, kind, language):
    customer = rt.customer(language_code=language)
    lang = "ru" if language == "ru" else "uz"
    assert customer.language == lang
    d = rt.order(customer, items=_items(rt))
    mine = subscribe(rt, kind, f"/sub/user/{customer.id}", customer.headers)
    board = subscribe(rt, kind, branch_path(rt), rt.staff["chilonzor"].cookie)
    subs.extend([mine, board])
    assert (mine.status, board.status) == (ok_status(kind), ok_status(kind))
    for version, (status, msg) in enumerate([("confirmed", None), ("preparing", "10 daqiqa")],
                                            start=1):
        rt.set_status(d["_id"], status, rt.staff["chilonzor"], message=msg, expect=200)
        t200 = time.monotonic()
        t, ev = next_event(mine, 3.0, is_event("status-updated", orderId=d["_id"]))
        assert t - t200 <= DELAY_MAX
        assert ev["data"]["status"] == status
        assert ev["data"]["message"] == status_text(lang, d["number"], status, msg)
        t, ev = next_event(board, 3.0, is_event("order-updated", _id=d["_id"]))
        assert t - t200 <= DELAY_MAX
        assert ev["data"]["status"] == status and ev["data"]["version"] == version
        assert ev["data"]["number"] == d["number"]


def test_customer_hears_own_new_order(rt, subs):
    # The customer's other open pages (the tracking page in a second tab,
    # the Mini App) learn of an order placed elsewhere, as in the seed.
    customer = rt.customer(language_code="ru")
    mine = subscribe(rt, "es", f"/sub/user/{customer.id}", customer.headers)
    subs.append(mine)
    assert mine.status == 200
    d = rt.order(customer, items=_items(rt))
    _, ev = next_event(mine, 3.0, is_event("status-updated", orderId=d["_id"]))
    assert ev["data"]["status"] == "pending" and ev["data"]["number"] == d["number"]
    assert ev["data"]["message"] == status_text("ru", d["number"], "pending", None)


def test_customer_cancel_reaches_the_board(rt, subs):
    customer = rt.customer()
    d = rt.order(customer, items=_items(rt))
    board = subscribe(rt, "ws", branch_path(rt), rt.staff["chilonzor"].headers)
    subs.append(board)
    assert board.status == 101
    rt.set_status(d["_id"], "cancelled", customer, expect=200)
    _, ev = next_event(board, 3.0, is_event("order-updated", _id=d["_id"]))
    assert ev["data"]["status"] == "cancelled"


def test_customer_hears_only_own_orders(rt, subs):
    a, b = rt.customer(), rt.customer()
    sub = subscribe(rt, "es", f"/sub/user/{a.id}", a.headers)
    subs.append(sub)
    assert sub.status == 200
    db_ = rt.order(b, items=_items(rt))
    rt.set_status(db_["_id"], "confirmed", rt.staff["chilonzor"], expect=200)
    no_event(sub, 0.4)


# ---------------------------------------------------------------- access


@pytest.mark.parametrize("kind", ["es", "ws"])
def test_subscription_access(rt, subs, kind):
    a, b = rt.customer(), rt.customer()
    chil, yunus = branch_path(rt, "chilonzor"), branch_path(rt, "yunusobod")
    cases = [
        ("manager of chilonzor to yunusobod", yunus, rt.staff["chilonzor"].headers, (403,)),
        ("manager of chilonzor by cookie to yunusobod", yunus, rt.staff["chilonzor"].cookie,
         (403,)),
        ("operator of yunusobod to chilonzor", chil, rt.staff["yunusobod"].headers, (403,)),
        ("customer to another customer", f"/sub/user/{b.id}", a.headers, (403,)),
        ("customer to a branch", chil, a.headers, (403,)),
        ("staff to a customer's channel", f"/sub/user/{a.id}", rt.staff["owner"].headers,
         (403,)),
        ("no credentials, branch", chil, {}, (401, 403)),
        ("no credentials, user", f"/sub/user/{a.id}", {}, (401, 403)),
        ("forged token", chil, {"Authorization": "Bearer not.a.jwt"}, (401, 403)),
        ("unknown session", f"/sub/user/{a.id}", {"Cookie": "oshxona_sid=" + "ab" * 32},
         (401, 403)),
        ("not 24 hex", "/sub/branch/chilonzor", rt.staff["owner"].headers, (404,)),
        ("23 hex", "/sub/branch/" + "a" * 23, rt.staff["owner"].headers, (404,)),
        ("upper-case hex", "/sub/branch/" + rt.branch_id().upper(), rt.staff["owner"].headers,
         (404,)),
        ("trailing segment", chil + "/x", rt.staff["owner"].headers, (404,)),
        ("unknown kind", f"/sub/staff/{rt.branch_id()}", rt.staff["owner"].headers, (404,)),
    ]
    failures = []
    for name, path, headers, expected in cases:
        s = subscribe(rt, kind, path, headers)
        subs.append(s)
        if s.status not in expected:
            failures.append((name, path, s.status, expected))
    assert not failures, failures
    # And the allowed ones are allowed, so the refusals are about access.
    for path, headers in [(yunus, rt.staff["yunusobod"].headers), (chil, rt.staff["owner"].headers),
                          (f"/sub/user/{a.id}", a.headers), (f"/sub/user/{b.id}", b.headers)]:
        s = subscribe(rt, kind, path, headers)
        subs.append(s)
        assert s.status == ok_status(kind), path


def test_forbidden_subscriber_hears_nothing(rt, subs):
    """A 403 really ends it: nothing of the branch's orders leaks on that
    connection."""
    s = subscribe(rt, "es", branch_path(rt, "yunusobod"), rt.staff["chilonzor"].headers)
    subs.append(s)
    assert s.status == 403
    assert b"new-order" not in s.body


# ------------------------------------------------- robustness of nginx


def test_stale_message_ids_do_not_crash_a_worker(rt, subs):
    """Browsers reconnect with Last-Event-ID (or ?last_event_id=, or
    If-None-Match/If-Modified-Since); with Nchan 1.3.6 a stale id followed by
    a publish crashed the worker (FACTS.md)."""
    workers = nginx_workers(rt)
    assert len(workers) == 2, workers
    crashes = len(crash_lines(rt))
    staff = rt.staff["chilonzor"]
    path = branch_path(rt)
    stale = "1500000000:0"
    reconnects = [
        subscribe(rt, "es", path, dict(staff.headers, **{"Last-Event-ID": stale})),
        subscribe(rt, "es", path + f"?last_event_id={stale}", staff.headers),
        subscribe(rt, "es", path, dict(staff.headers, **{
            "If-None-Match": "0", "If-Modified-Since": "Thu, 01 Jan 2015 00:00:00 GMT"})),
        subscribe(rt, "es", path + "?last_event_id=garbage", dict(staff.headers, **{
            "Last-Event-ID": "99999999999:99"})),
        subscribe(rt, "ws", path + f"?last_event_id={stale}", staff.headers),
    ]
    subs.extend(reconnects)
    for s in reconnects:
        assert s.status in (200, 101), s.status
    plain = subscribe(rt, "es", path, staff.headers)
    subs.append(plain)
    orders = [rt.order(rt.customer(), items=_items(rt)) for _ in range(3)]
    for s in reconnects + [plain]:
        for d in orders:
            next_event(s, 3.0, is_event("new-order", _id=d["_id"]))
        assert not s.closed.is_set()
    time.sleep(0.2)
    assert len(crash_lines(rt)) == crashes, crash_lines(rt)
    assert nginx_workers(rt) == workers


def test_authorizer_down_then_restarted(rt, subs):
    staff = rt.staff["chilonzor"]
    path = branch_path(rt)
    workers = nginx_workers(rt)
    crashes = len(crash_lines(rt))
    connected = [subscribe(rt, "es", path, staff.headers), subscribe(rt, "ws", path, staff.cookie)]
    subs.extend(connected)
    assert [s.status for s in connected] == [200, 101]

    # The supervisor itself, so that no child comes back on its own.
    pids = rt.stack.pids("chanauth") + rt.stack.children("chanauth")
    assert pids and all(map(pid_exists, pids))
    for pid in pids:
        os.kill(pid, 9)
    wait_until(lambda: not any(map(pid_exists, pids)), 15, what="chanauth gone")

    # New subscriptions fail with a server error, promptly, and never 200.
    for kind in ("es", "ws", "es"):
        t0 = time.monotonic()
        s = subscribe(rt, kind, path, staff.headers)
        subs.append(s)
        assert 500 <= (s.status or 0) <= 599, s.status
        assert time.monotonic() - t0 < 5
    # The subscribers that were connected keep hearing events.
    d = rt.order(rt.customer(), items=_items(rt))
    for s in connected:
        next_event(s, 3.0, is_event("new-order", _id=d["_id"]))
        assert not s.closed.is_set()
    time.sleep(0.2)
    assert len(crash_lines(rt)) == crashes, crash_lines(rt)
    assert nginx_workers(rt) == workers

    # stack.sh start brings the dead program back; subscriptions work again.
    rt.stack.stack_sh("start")
    new_pids = rt.stack.children("chanauth")
    assert set(new_pids).isdisjoint(pids) and all(map(pid_exists, new_pids))
    again = [subscribe(rt, "es", path, staff.headers), subscribe(rt, "ws", path, staff.headers)]
    subs.extend(again)
    assert [s.status for s in again] == [200, 101]
    refused = subscribe(rt, "es", branch_path(rt, "yunusobod"), staff.headers)
    subs.append(refused)
    assert refused.status == 403
    d = rt.order(rt.customer(), items=_items(rt))
    for s in again + connected:
        next_event(s, 3.0, is_event("new-order", _id=d["_id"]))
    assert len(crash_lines(rt)) == crashes
    assert nginx_workers(rt) == workers


# --------------------------------------------------------------- Telegram


def _staff_steps(rt, order_id, steps):
    for status, msg in steps:
        t0 = time.monotonic()
        rt.set_status(order_id, status, rt.staff["chilonzor"], message=msg, expect=200)
        assert time.monotonic() - t0 < 2.0, f"{status} took {time.monotonic() - t0:.2f} s"


@pytest.mark.parametrize("language", [None, "ru"])
def test_telegram_message_for_every_status_change(rt, language):
    rt.tg.reset()
    customer = rt.customer(language_code=language)
    lang = "ru" if language == "ru" else "uz"
    d = rt.order(customer, order_type="delivery", items=_items(rt))
    steps = [("confirmed", None), ("preparing", None), ("ready", None),
             ("delivering", "Kuryer: Bahodir, +998901112233"), ("completed", None)]
    _staff_steps(rt, d["_id"], steps)
    expected = [status_text(lang, d["number"], s, m) for s, m in steps]
    wait_until(lambda: len(rt.tg.messages) >= len(expected), 5, what="telegram messages")
    time.sleep(0.2)
    assert rt.tg.messages == [(customer.telegram_id, t) for t in expected]
    assert rt.db.outbox.count_documents({}) == 0


def test_telegram_cancel_by_customer_is_told_too(rt):
    rt.tg.reset()
    customer = rt.customer(language_code="ru")
    d = rt.order(customer, items=_items(rt))
    rt.set_status(d["_id"], "cancelled", customer, expect=200)
    wait_until(lambda: rt.tg.messages, 5, what="telegram message")
    assert rt.tg.messages == [(customer.telegram_id, f"Заказ №{d['number']}: отменён")]


def _run_outbox_retry(rt, lockdir):
    env = dict(rt.stack.env, MONGODB_URI=rt.uri,
               OSHXONA_ENV_FILE="/dev/null", OSHXONA_LOCK_DIR=lockdir,
               NCHAN_PUBLISH_SOCKET=str(rt.dir / "run" / "nchan-publish.sock"),
               LOG_FILE=str(rt.dir / "logs" / "outbox-retry.log"))
    p = subprocess.run([str(BIN / "outbox-retry")], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, (p.stdout, p.stderr)
    return p


@pytest.mark.parametrize("outage", ["down", "error500"])
def test_telegram_outage_goes_through_the_outbox(rt, outage):
    rt.tg.reset()
    uz, ru = rt.customer(), rt.customer(language_code="ru")
    d_uz = rt.order(uz, items=_items(rt))
    d_ru = rt.order(ru, order_type="delivery", items=_items(rt))
    port = rt.tg.port
    if outage == "down":
        rt.tg.stop()
    else:
        rt.tg.mode = "error500"
    lockdir = tempfile.mkdtemp(prefix="oshxona-lock-")
    try:
        steps_uz = [("confirmed", None), ("preparing", "Osh damlanmoqda"), ("ready", None)]
        steps_ru = [("confirmed", None), ("preparing", None), ("ready", None),
                    ("delivering", None)]
        _staff_steps(rt, d_uz["_id"], steps_uz)
        _staff_steps(rt, d_ru["_id"], steps_ru)
        rt.set_status(d_uz["_id"], "completed", rt.staff["owner"], expect=200)
        expected = [(uz.telegram_id, status_text("uz", d_uz["number"], s, m))
                    for s, m in steps_uz + [("completed", None)]]
        expected += [(ru.telegram_id, status_text("ru", d_ru["number"], s, m))
                     for s, m in steps_ru]
        # The status changes answer first and announce after (issue 12).
        wait_until(lambda: rt.db.outbox.count_documents({"kind": "telegram"}) >= len(expected),
                   5, what="every message queued")
        queued = list(rt.db.outbox.find({"kind": "telegram"}))
        assert sorted((q["chatId"], q["text"]) for q in queued) == sorted(expected)
        assert all(q["nextAt"] > q["createdAt"] for q in queued)
        assert rt.tg.messages == []

        # Back up; the retry job delivers everything due, exactly once.
        if outage == "down":
            rt.tg.start(port=port)
        rt.tg.mode = "ok"
        # Not due yet: a run now sends nothing.
        _run_outbox_retry(rt, lockdir)
        assert rt.tg.messages == []
        past = rt.db.outbox.find_one({}, sort=[("createdAt", 1)])["createdAt"]
        rt.db.outbox.update_many({}, {"$set": {"nextAt": past}})
        _run_outbox_retry(rt, lockdir)
        got = list(rt.tg.messages)
        assert sorted(got) == sorted(expected)
        for chat, text in expected:
            assert rt.tg.count(text) == 1, text
        # Per customer, in the order the statuses happened.
        for cust in (uz, ru):
            assert [t for c, t in got if c == cust.telegram_id] == \
                [t for c, t in expected if c == cust.telegram_id]
        assert rt.db.outbox.count_documents({}) == 0
        assert rt.db["outbox_dead"].count_documents({}) == 0
        _run_outbox_retry(rt, lockdir)
        assert rt.tg.messages == got
    finally:
        if not rt.tg.running:
            rt.tg.start(port=port)
        rt.tg.mode = "ok"
        shutil.rmtree(lockdir, ignore_errors=True)


def test_telegram_blocked_bot_is_not_retried(rt):
    """403 (the customer blocked the bot) is final: no outbox item, and the
    status change still succeeds."""
    rt.tg.reset()
    customer = rt.customer()
    d = rt.order(customer, items=_items(rt))
    rt.tg.mode = "403"
    try:
        rt.set_status(d["_id"], "confirmed", rt.staff["chilonzor"], expect=200)
        # The message is tried after the answer (issue 12): wait for the try.
        wait_until(lambda: any(st == 403 for _, st in rt.tg.requests), 5, what="the 403")
        time.sleep(0.2)
        assert rt.db.outbox.count_documents({"kind": "telegram"}) == 0
    finally:
        rt.tg.mode = "ok"
