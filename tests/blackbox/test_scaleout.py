"""More than one host, on loopback: two nginx instances, each with its own
FastCGI programs, sharing one database and one Redis (Nchan's Redis mode,
NCHAN_REDIS_URL). A subscriber on one instance hears what is done through
the other; a catalogue write through one reaches the other's menu cache
when that host's menu-sync runs (the bound: its cron period, a minute).
"""
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

import conftest
from conftest import ROOT, _free_ports
from orders_helpers import EventSource, OrdersStack, WebSocketSub, next_event, wait_until

REDIS = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server missing (scripts/setup.sh)")


def is_event(name, **data):
    def pred(ev):
        return ev.get("event") == name and isinstance(ev.get("data"), dict) and \
            all(ev["data"].get(k) == v for k, v in data.items())
    return pred


@pytest.fixture(scope="module")
def redis_url():
    (port,) = _free_ports(1)
    d = tempfile.mkdtemp(prefix="oshxona-redis-")
    p = subprocess.Popen([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--dir", d, "--protected-mode", "yes"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def up():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False
    try:
        wait_until(up, timeout=10, what="redis-server")
        yield f"redis://127.0.0.1:{port}"
    finally:
        p.terminate()
        p.wait(timeout=10)
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def hosts(request, redis_url):
    # What every app host of one deployment shares: the secrets, the
    # database, Redis.
    shared = dict(NCHAN_REDIS_URL=redis_url, JWT_SECRET=secrets.token_hex(32),
                  SESSION_SECRET=secrets.token_hex(32))
    failed_before = request.session.testsfailed
    a = OrdersStack("scale-a")
    a.stack.env.update(shared)
    b = OrdersStack("scale-b")
    b.stack.env.update(shared, EXTERNAL_DB="1",
                       MONGODB_URI=f"mongodb://127.0.0.1:{a.stack.db_port}/oshxona")
    b.stack.db_port = a.stack.db_port
    started = []
    try:
        for h in (a, b):
            h.start()
            started.append(h)
        yield a, b
    finally:
        failed = request.session.testsfailed > failed_before
        for h in reversed(started or [a]):
            h.stop(failed=failed)


def menu_sync(h):
    env = dict(h.stack.env, MONGODB_URI=f"mongodb://127.0.0.1:{h.stack.db_port}/oshxona",
               OSHXONA_ENV_FILE="/dev/null", OSHXONA_LOCK_DIR=str(h.dir / "run"),
               MENU_CACHE_DIR=str(h.dir / "cache"), LOG_FILE=str(h.dir / "logs" / "cron.log"))
    env.pop("LOG_DIR", None)
    p = subprocess.run([str(ROOT / "build" / "bin" / "menu-sync")], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr


def items(h):
    return [{"productId": h.pid("Toʻy oshi"), "quantity": 1}]


def test_the_hosts_are_separate_but_share_the_database(hosts):
    a, b = hosts
    assert a.stack.port != b.stack.port
    assert not set(a.stack.pids("nginx")) & set(b.stack.pids("nginx"))
    assert not set(a.stack.pids("orders")) & set(b.stack.pids("orders"))
    assert (a.dir / "run" / "oshxona" / "nchan-redis.conf").read_text().startswith(
        "nchan_redis_url")
    d = b.order(b.customer(), items=items(b))
    r = a.get(f"/api/orders/{d['_id']}", a.staff["owner"].headers)
    assert r.status == 200 and r.json["data"]["_id"] == d["_id"]


@pytest.mark.parametrize("kind", ["es", "ws"])
def test_board_on_one_host_hears_an_order_placed_through_the_other(hosts, kind):
    a, b = hosts
    cls = EventSource if kind == "es" else WebSocketSub
    board_a = cls(a.stack.port, f"/sub/branch/{a.branch_id()}", a.staff["chilonzor"].headers)
    board_b = cls(b.stack.port, f"/sub/branch/{b.branch_id()}", b.staff["owner"].headers)
    try:
        assert board_a.status in (101, 200) and board_b.status in (101, 200)
        d = b.order(b.customer(), items=items(b))
        next_event(board_a, 3.0, is_event("new-order", _id=d["_id"]))
        next_event(board_b, 3.0, is_event("new-order", _id=d["_id"]))
        d2 = a.order(a.customer(), items=items(a))
        next_event(board_b, 3.0, is_event("new-order", _id=d2["_id"]))
    finally:
        board_a.close()
        board_b.close()


def test_customer_on_one_host_hears_staff_working_on_the_other(hosts):
    a, b = hosts
    customer = b.customer()
    d = b.order(customer, items=items(b))
    mine = EventSource(b.stack.port, f"/sub/user/{customer.id}", customer.headers)
    try:
        assert mine.status == 200
        a.set_status(d["_id"], "confirmed", a.staff["chilonzor"], expect=200)
        _, ev = next_event(mine, 3.0, is_event("status-updated", orderId=d["_id"]))
        assert ev["data"]["status"] == "confirmed"
    finally:
        mine.close()


def test_catalogue_write_reaches_the_other_hosts_menu_on_its_menu_sync(hosts):
    a, b = hosts
    names = lambda h: [c["name"] for c in h.get("/api/categories").json["data"]]  # noqa: E731
    before = names(a)
    assert names(b) == before  # both hosts now serve their materialized file
    cat = a.db.categories.find_one({"name": before[0]})
    new = "Scale " + secrets.token_hex(3)
    owner = b.staff["owner"]
    r = b.api.request("PATCH", f"/api/admin/categories/{cat['_id']}",
                      headers={**owner.headers, "Content-Type": "application/json"},
                      body=json.dumps({"name": new}).encode())
    assert r.status == 200, r
    # The writing host drops its own cache at once.
    assert names(b)[0] == new
    # The other host answers from its own files until its menu-sync runs
    # (every minute from cron): that is the bound on cross-host staleness.
    assert names(a)[0] == before[0]
    menu_sync(a)
    assert names(a)[0] == new
    r = b.api.request("PATCH", f"/api/admin/categories/{cat['_id']}",
                      headers={**owner.headers, "Content-Type": "application/json"},
                      body=json.dumps({"name": before[0]}).encode())
    assert r.status == 200


def test_menu_listener_makes_the_other_host_fresh_at_once(hosts):
    """With tools/menu-listener following the shared menu channel on
    host A, a catalogue write through B reaches A's menu within the
    publish latency, without waiting for menu-sync."""
    a, b = hosts
    log = a.dir / "logs" / "menu-listener.log"
    env = dict(a.stack.env, OSHXONA_ENV_FILE="/dev/null", MENU_CACHE_DIR=str(a.dir / "cache"),
               MENU_EVENTS_SOCKET=str(a.dir / "run" / "ops.sock"), LOG_FILE=str(log))
    env.pop("LOG_DIR", None)
    p = subprocess.Popen([str(ROOT / "build" / "bin" / "menu-listener")], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: log.exists() and "channel (re)connected" in log.read_text(),
                   timeout=10, what="listener connected")
        names = lambda h: [c["name"] for c in h.get("/api/categories").json["data"]]  # noqa: E731
        before = names(a)
        assert names(b) == before
        cat = a.db.categories.find_one({"name": before[1]})
        new = "Listen " + secrets.token_hex(3)
        owner = b.staff["owner"]
        r = b.api.request("PATCH", f"/api/admin/categories/{cat['_id']}",
                          headers={**owner.headers, "Content-Type": "application/json"},
                          body=json.dumps({"name": new}).encode())
        assert r.status == 200, r
        t0 = time.monotonic()
        wait_until(lambda: names(a)[1] == new, timeout=3, what="host A fresh")
        assert time.monotonic() - t0 < 3
        assert "menu cache dropped (menu-updated)" in log.read_text()
        r = b.api.request("PATCH", f"/api/admin/categories/{cat['_id']}",
                          headers={**owner.headers, "Content-Type": "application/json"},
                          body=json.dumps({"name": before[1]}).encode())
        assert r.status == 200
        wait_until(lambda: names(a)[1] == before[1], timeout=3, what="host A fresh again")
    finally:
        p.send_signal(15)
        try:
            rc = p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise
    assert rc == 0
