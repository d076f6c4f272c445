"""More than one host, on loopback: two nginx instances, each with its own
FastCGI programs, sharing one database and one Redis (Nchan's Redis mode,
NCHAN_REDIS_URL). A subscriber on one instance hears what is done through
the other; a catalogue write through one reaches the other's menu cache
at once through that host's menu-listener (stack.sh starts one on host A),
or, on a host without one (B, SKIP_DAEMONS), when its menu-sync runs (the
bound: its cron period, a minute).
"""
import json
import secrets
import shutil
import socket
import subprocess
import tempfile

import pytest

from harness import BIN, free_ports, pid_alive, private_stack, wait_until
from orders_helpers import EventSource, OrdersStack, WebSocketSub, next_event

REDIS = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server missing (scripts/setup.sh)")


def is_event(name, **data):
    def pred(ev):
        return ev.get("event") == name and isinstance(ev.get("data"), dict) and \
            all(ev["data"].get(k) == v for k, v in data.items())
    return pred


@pytest.fixture(scope="module")
def redis_url():
    (port,) = free_ports(1)
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
    # B runs without its menu-listener: the fallback, menu-sync, is what
    # refreshes its menu.
    with private_stack(request, "scale-a", OrdersStack, env=shared) as a, \
            private_stack(request, "scale-b", OrdersStack, database=a.stack,
                          env=dict(shared, SKIP_DAEMONS="menu-listener")) as b:
        yield a, b


def menu_sync(h):
    env = dict(h.stack.env, MONGODB_URI=h.uri,
               OSHXONA_ENV_FILE="/dev/null", OSHXONA_LOCK_DIR=str(h.dir / "run"),
               MENU_CACHE_DIR=str(h.dir / "cache"), LOG_FILE=str(h.dir / "logs" / "cron.log"))
    env.pop("LOG_DIR", None)
    p = subprocess.run([str(BIN / "menu-sync")], env=env,
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


def rename(h, cat_id, name):
    r = h.api.request("PATCH", f"/api/admin/categories/{cat_id}",
                      headers={**h.staff["owner"].headers, "Content-Type": "application/json"},
                      body=json.dumps({"name": name}).encode())
    assert r.status == 200, r


def names(h):
    return [c["name"] for c in h.get("/api/categories").json["data"]]


def test_catalogue_write_reaches_a_host_without_listener_on_its_menu_sync(hosts):
    a, b = hosts
    assert not (b.dir / "run" / "menu-listener.pid").exists()
    before = names(b)
    assert names(a) == before  # both hosts now serve their materialized file
    cat = a.db.categories.find_one({"name": before[0]})
    new = "Scale " + secrets.token_hex(3)
    rename(a, cat["_id"], new)
    # The writing host drops its own cache at once.
    assert names(a)[0] == new
    # The other host answers from its own files until its menu-sync runs
    # (every minute from cron): that is the bound on cross-host staleness
    # while a host's listener is down.
    assert names(b)[0] == before[0]
    menu_sync(b)
    assert names(b)[0] == new
    rename(a, cat["_id"], before[0])
    menu_sync(b)


def test_menu_listener_makes_the_other_host_fresh_at_once(hosts):
    """The menu-listener stack.sh started on host A follows the shared menu
    channel: a catalogue write through B reaches A's menu within the
    publish latency, without waiting for menu-sync."""
    a, b = hosts
    (pid,) = a.stack.pids("menu-listener")
    assert pid_alive(pid)
    log = a.dir / "logs" / "menu-listener.log"
    wait_until(lambda: log.exists() and "channel (re)connected" in log.read_text(),
               timeout=10, what="listener connected")
    before = names(a)
    assert names(b) == before
    cat = a.db.categories.find_one({"name": before[1]})
    new = "Listen " + secrets.token_hex(3)
    dropped = log.read_text().count("menu cache dropped (menu-updated)")
    rename(b, cat["_id"], new)
    # Usually at once; 10 s allows for a loaded machine. Without the
    # listener A would stay stale until a menu-sync, which no test runs.
    try:
        wait_until(lambda: names(a)[1] == new, timeout=10, what="host A fresh")
    except AssertionError as e:
        raise AssertionError(f"{e}; {names(a)}; listener log:\n{log.read_text()}") from None
    assert log.read_text().count("menu cache dropped (menu-updated)") > dropped
    rename(b, cat["_id"], before[1])
    wait_until(lambda: names(a)[1] == before[1], timeout=10, what="host A fresh again")

