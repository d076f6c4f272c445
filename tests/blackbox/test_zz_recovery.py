"""The database goes away and comes back (runs last: it stops FerretDB).

While it is down, what the menu cache holds is still served and anything
else answers 503 JSON promptly (never 502, never a hang); once it is back
the same FastCGI processes serve the same data."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness import pid_alive as alive

CLIENT_TIMEOUT = 15  # seconds: an answer must come before this
MENU_PATHS = ["/api/categories", "/api/branches", "/api/products?search=osh"]


def poll(api, path, status, deadline_s):
    """GETs path until it answers status; returns (response, seconds)."""
    start = time.monotonic()
    last = None
    while time.monotonic() - start < deadline_s:
        last = api.get(path, timeout=CLIENT_TIMEOUT)
        if last.status == status:
            return last, time.monotonic() - start
        time.sleep(0.2)
    pytest.fail(f"GET {path}: no {status} within {deadline_s} s; last answer {last!r}")


@pytest.fixture(scope="module")
def baseline(api, stack):
    snap = {p: api.get(p) for p in MENU_PATHS}
    for p, r in snap.items():
        assert r.status == 200, (p, r)
    snap["menu_pids"] = stack.children("menu")
    snap["health_pids"] = stack.children("health")
    assert len(snap["menu_pids"]) == 2 and all(map(alive, snap["menu_pids"]))
    return snap


@pytest.fixture(scope="module")
def outage(stack, baseline):
    db_pid = stack.pids("ferretdb")[0]
    stack.stack_sh("db-stop")
    assert not alive(db_pid), "FerretDB still running after db-stop"
    yield
    stack.stack_sh("db-start")  # no-op when a test already restarted it


def test_database_down_readyz_503(api, outage):
    r, took = poll(api, "/readyz", 503, deadline_s=10)
    assert r.header("Content-Type", "").startswith("application/json")
    body = r.json
    assert body["success"] is False and body["message"], body
    assert r.header("Cache-Control") == "no-store"


def test_database_down_healthz_still_200(api, outage):
    r = api.get("/healthz", timeout=CLIENT_TIMEOUT)
    assert r.status == 200 and r.json == {"success": True, "status": "ok"}


def test_database_down_menu_503_not_502_no_hang(api, outage):
    def timed(path):
        start = time.monotonic()
        r = api.get(path, timeout=CLIENT_TIMEOUT)  # raises on a hang
        return r, time.monotonic() - start

    # Both menu children at once, on answers nobody asked for before the
    # outage (so no cache holds them): a product by id and a search.
    paths = ["/api/products/ffffffffffffffffffffffff", "/api/products?search=lagmon&limit=3"]
    with ThreadPoolExecutor(len(paths)) as ex:
        results = list(ex.map(timed, paths))
    for path, (r, took) in zip(paths, results):
        assert r.status == 503, (path, r)
        assert r.header("Content-Type", "").startswith("application/json"), (path, r)
        body = r.json
        assert body["success"] is False and body["message"], body
        assert took < CLIENT_TIMEOUT, (path, took)


def test_database_down_cached_menu_still_served(api, baseline, outage):
    # What was read before the outage stays readable, byte for byte: the
    # materialized files (nginx) and each child's table (search). A
    # customer can still open the menu while the database restarts.
    for path in MENU_PATHS:
        r = api.get(path, timeout=CLIENT_TIMEOUT)
        if r.status == 503:
            # A search cached by the other child only: that one must answer.
            assert "?" in path, (path, r)
            continue
        assert r.status == 200, (path, r)
        assert r.body == baseline[path].body, path
    assert api.get("/api/categories", timeout=CLIENT_TIMEOUT).body == baseline["/api/categories"].body


def test_outage_longer_than_server_selection_is_fast_503(api, outage):
    # Each FastCGI child may wait out one server-selection timeout (8 s)
    # before it knows; after that, every request must answer 503 JSON at
    # once (not queue behind 8 s waits into nginx's 504 at 20 s).
    sid = "ab" * 32
    cookie = {"Cookie": f"oshxona_sid={sid}"}

    def ask(i):
        path = (f"/api/orders/{'%024x' % (i + 1)}" if i % 2 else
                f"/api/products/{'%024x' % (0xfeed0000 + i)}")
        start = time.monotonic()
        r = api.get(path, headers=cookie if i % 2 else None, timeout=CLIENT_TIMEOUT)
        return path, r, time.monotonic() - start

    with ThreadPoolExecutor(8) as ex:  # meets every child at least once
        for path, r, _ in ex.map(ask, range(16)):
            assert r.status == 503, (path, r)
    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(ask, range(100, 132)))
    for path, r, took in results:
        assert r.status == 503, (path, r)
        assert r.header("Content-Type", "").startswith("application/json"), (path, r)
        assert r.json["success"] is False and r.json["message"], r
        assert took < 5, (path, took)


def test_database_back_same_data_same_processes(api, stack, baseline, outage):
    stack.stack_sh("db-start")
    r, _ = poll(api, "/readyz", 200, deadline_s=30)
    assert r.json == {"success": True, "status": "ready"}
    poll(api, "/api/categories", 200, deadline_s=30)
    # Each FastCGI process notices the database back on its own pool's
    # next heartbeat (1 s): a child may answer one more 503 until then.
    for path in MENU_PATHS:
        r, _ = poll(api, path, 200, deadline_s=10)
        assert r.body == baseline[path].body, path
        assert r.header("ETag") == baseline[path].header("ETag"), path
    # Served by the very same FastCGI processes: nothing was restarted.
    assert stack.children("menu") == baseline["menu_pids"]
    assert stack.children("health") == baseline["health_pids"]
    assert all(map(alive, baseline["menu_pids"] + baseline["health_pids"]))


def test_postgresql_alone_down_is_503_then_back(api, stack):
    # FerretDB up, its PostgreSQL gone: FerretDB answers every command with
    # an InternalError at once; that is an outage too (503), and FerretDB
    # reconnects by itself when PostgreSQL is back.
    stack.stack_sh("db-start")
    poll(api, "/readyz", 200, deadline_s=30)
    stack.stack_sh("pg-stop")
    try:
        for i in range(6):
            start = time.monotonic()
            r = api.get(f"/api/products/{'%024x' % (0xbeef00 + i)}", timeout=CLIENT_TIMEOUT)
            assert r.status == 503, r
            assert r.json["success"] is False and r.json["message"], r
            assert time.monotonic() - start < 5
    finally:
        stack.stack_sh("pg-start")
    r, _ = poll(api, "/api/products/" + "%024x" % 0xbeef99, 404, deadline_s=30)
    assert r.json["success"] is False
