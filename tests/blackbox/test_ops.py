"""Operations: request ids through nginx, the programs' logs and back; the
Prometheus metrics on the loopback ops socket (fcgi-apps/metrics).

A private stack of its own (harness.private_stack): the counters
are compared before and after, so nothing else may send requests to it.
"""

import http.client
import json
import re
import secrets
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from bson import ObjectId

from harness import private_stack, wait_until
from orders_helpers import EventSource, OrdersStack


@pytest.fixture(scope="module")
def o(request):
    with private_stack(request, "ops", OrdersStack) as st:
        yield st


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(str(self.path))


def scrape(o):
    """{(name, ((label, value), ...)): float} from GET /metrics on ops.sock."""
    conn = UnixHTTPConnection(o.dir / "run" / "ops.sock")
    try:
        conn.request("GET", "/metrics")
        r = conn.getresponse()
        text = r.read().decode()
        assert r.status == 200, text
        assert r.getheader("Content-Type").startswith("text/plain; version=0.0.4")
    finally:
        conn.close()
    out = {}
    seen_families = []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            fam = line.split()[2]
            # The text format wants each family once, its samples together.
            assert fam not in seen_families, f"family {fam} twice"
            seen_families.append(fam)
            continue
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)", line)
        assert m, f"not a sample line: {line!r}"
        labels = tuple(sorted(re.findall(r'(\w+)="([^"]*)"', m.group(3) or "")))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def val(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def log_lines(path):
    lines = []
    for ln in path.read_text(errors="replace").splitlines():
        lines.append(json.loads(ln))  # every line is one JSON object
    return lines


# ------------------------------------------------------------- request id


def test_nginx_gives_every_answer_a_request_id(o):
    a = o.get("/healthz")
    b = o.get("/api/nowhere")  # nginx's own 404, no program involved
    ids = [a.header("X-Request-Id"), b.header("X-Request-Id")]
    for rid in ids:
        assert rid and re.fullmatch(r"[0-9a-f]{32}", rid), ids
    assert ids[0] != ids[1]


def test_a_sane_incoming_id_is_kept_an_odd_one_replaced(o):
    r = o.get("/healthz", {"X-Request-Id": "lb-4f2a:7.x_y"})
    assert r.header("X-Request-Id") == "lb-4f2a:7.x_y"
    for bad in ("has space", "q\"uote", "x" * 65, "{$gt:1}"):
        r = o.get("/healthz", {"X-Request-Id": bad})
        assert re.fullmatch(r"[0-9a-f]{32}", r.header("X-Request-Id")), (bad, r.headers)


def test_access_log_is_json_with_request_id_time_and_program(o):
    rid = "acc-" + secrets.token_hex(8)
    o.get("/readyz", {"X-Request-Id": rid})

    def found():
        return [ln for ln in log_lines(o.dir / "logs" / "access.log")
                if ln.get("request_id") == rid]
    wait_until(found, what="access log line")
    (line,) = found()
    assert line["uri"] == "/readyz" and line["status"] == 200
    assert isinstance(line["request_time"], (int, float))
    assert line["upstream"].endswith("/health.sock")


def test_program_log_lines_carry_the_request_id(o):
    rid = "login-" + secrets.token_hex(8)
    r = o.post("/api/auth/login", {"login": "nobody-" + rid, "password": "wrong-password"},
               {"X-Request-Id": rid, "X-Forwarded-For": "198.51.100.77"})
    assert r.status == 401, r
    assert r.header("X-Request-Id") == rid
    lines = log_lines(o.dir / "logs" / "auth.log")
    mine = [ln for ln in lines if ln.get("request_id") == rid]
    assert mine, lines[-5:]
    assert any("failed login" in ln["message"] for ln in mine), mine
    for ln in mine:
        assert ln["program"] == "auth"
        assert set(ln) >= {"time", "level", "program", "pid", "request_id", "message"}
    # A line outside any request carries no id.
    assert any("request_id" not in ln and ln["message"].startswith("started") for ln in lines)


# ---------------------------------------------------------------- metrics


def test_metrics_are_not_on_the_public_server(o):
    r = o.get("/metrics")
    assert r.status == 404
    assert b"oshxona_" not in r.body
    r = o.get("/nchan_status")
    assert r.status == 404


def test_request_counters_are_exact_across_children(o):
    before = scrape(o)
    n = 48

    def one(i):
        return o.get(f"/api/products?search=osh{i % 3}").status
    with ThreadPoolExecutor(8) as ex:
        statuses = list(ex.map(one, range(n)))
    assert statuses == [200] * n
    after = scrape(o)
    key = dict(program="menu", status="200")
    assert val(after, "oshxona_http_requests_total", **key) - \
        val(before, "oshxona_http_requests_total", **key) == n
    cnt = "oshxona_http_request_duration_seconds_count"
    assert val(after, cnt, **key) - val(before, cnt, **key) == n
    # Buckets are cumulative and end at the count.
    buckets = sorted(
        ((float("inf") if dict(lb)["le"] == "+Inf" else float(dict(lb)["le"])), v)
        for (name, lb), v in after.items()
        if name == "oshxona_http_request_duration_seconds_bucket"
        and dict(lb)["program"] == "menu" and dict(lb)["status"] == "200")
    assert len(buckets) == 12
    values = [v for _, v in buckets]
    assert values == sorted(values) and values[-1] == val(after, cnt, **key)
    assert val(after, "oshxona_http_request_duration_seconds_sum", **key) > 0
    # Both children answered: each process adds to the same counters.
    assert len(o.stack.children("menu")) >= 2
    # A client error is counted under its own status.
    assert o.get("/api/products/not-an-id").status in (400, 404)
    again = scrape(o)
    assert sum(v for (name, lb), v in again.items()
               if name == "oshxona_http_requests_total" and dict(lb)["program"] == "menu"
               and dict(lb)["status"].startswith("4")) >= 1


def test_orders_by_status_outbox_and_nchan(o):
    customer = o.customer()
    sub = EventSource(o.stack.port, "/sub/menu")
    assert sub.status == 200
    try:
        before = scrape(o)
        order = o.order(customer)
        o.advance(order["_id"], ["confirmed"], o.staff["owner"])
        o.db.outbox_dead.insert_one({"_id": ObjectId(), "kind": "test", "deadAt": 0})
        o.db.outbox.insert_one({"_id": ObjectId(), "kind": "test", "nextAt": 2 ** 62})
        after = scrape(o)
    finally:
        sub.close()
        o.db.outbox_dead.delete_many({"kind": "test"})
        o.db.outbox.delete_many({"kind": "test"})

    def d(name, **lb):
        return val(after, name, **lb) - val(before, name, **lb)
    assert d("oshxona_orders", status="confirmed") == 1
    assert d("oshxona_orders", status="pending") == 0
    assert val(after, "oshxona_orders", status="confirmed") == \
        o.db.orders.count_documents({"status": "confirmed"})
    assert d("oshxona_outbox_depth") == 1
    assert d("oshxona_outbox_dead") == 1
    assert val(after, "oshxona_nchan_subscribers") >= 1
    # The placed order and the status change were published to the branch
    # and the customer (lib/order.c): at least two messages.
    assert d("oshxona_nchan_total_published_messages") >= 2
    for part in ("programs", "database", "nchan"):
        assert val(after, "oshxona_scrape_error", part=part) == 0


def test_database_down_is_counted_and_metrics_still_answer(o):
    before = scrape(o)
    o.stack.stack_sh("db-stop")
    try:
        t0 = time.monotonic()
        r = o.get("/api/products?search=lagmon")
        assert r.status == 503, r
        during = scrape(o)
        assert time.monotonic() - t0 < 25
    finally:
        o.stack.stack_sh("db-start")
    assert val(during, "oshxona_db_errors_total", program="menu", kind="unavailable") - \
        val(before, "oshxona_db_errors_total", program="menu", kind="unavailable") == 1
    assert val(during, "oshxona_scrape_error", part="database") == 1
    # The request counters are still there without the database.
    assert val(during, "oshxona_http_requests_total", program="menu", status="503") >= 1
    wait_until(lambda: o.get("/readyz").status == 200, timeout=20, what="database back")
    assert val(scrape(o), "oshxona_scrape_error", part="database") == 0
