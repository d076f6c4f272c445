"""Outgoing notifications (lib/notify.h): Telegram messages and Nchan events
are sent inline or queued in the outbox, and cron/outbox-retry drains the
queue exactly once, with backoff, a dead-letter collection and a lock.

No endpoint sends notifications yet, so the C code is driven through
build/bin/notify-probe (tools/notify-probe) and build/bin/outbox-retry,
against the session stack's FerretDB, a fake Bot API (fake_telegram.py)
and a fake Nchan publisher on a unix socket.
"""

import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from bson import ObjectId
from bson.int64 import Int64

from fake_telegram import FakeTelegram
from harness import BIN, ROOT

PROBE = BIN / "notify-probe"
JOB = BIN / "outbox-retry"
TOKEN = "987654321:AAF-outbox-fake-token-0123456789xyz"
UTC = dt.timezone.utc


def _max_attempts():
    m = re.search(r"#define\s+OUTBOX_MAX_ATTEMPTS\s+(\d+)", (ROOT / "lib/notify.h").read_text())
    assert m, "OUTBOX_MAX_ATTEMPTS not found in lib/notify.h"
    return int(m.group(1))


MAX_ATTEMPTS = _max_attempts()
BACKOFF_S = 30  # notify.h: nextAt = now + min(30 s * 2^attempts, 1 h)
BACKOFF_MAX_S = 3600
PUBLISH_TTL_S = 300


def backoff(attempts):
    return min(BACKOFF_S * 2**attempts, BACKOFF_MAX_S)


def now():
    return dt.datetime.now(UTC)


def near(value, expected, slack_s=2.0):
    return abs((value - expected).total_seconds()) <= slack_s


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module", autouse=True)
def binaries():
    for b in (PROBE, JOB):
        if not os.access(b, os.X_OK):
            pytest.fail(f"{b} is missing: run `make all` first")


@pytest.fixture(scope="module")
def db(stack):
    return stack.mongo(tz_aware=True, serverSelectionTimeoutMS=10000)


@pytest.fixture(autouse=True)
def empty_outbox(db):
    db.outbox.delete_many({})
    db.outbox_dead.delete_many({})
    yield


@pytest.fixture
def tg():
    fake = FakeTelegram(TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def scratch():
    # A short path: a unix socket's name must fit in 108 bytes.
    d = tempfile.mkdtemp(prefix="oshx-outbox-")
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


class Runner:
    """Runs notify-probe and outbox-retry with the test's environment."""

    def __init__(self, stack, tg, scratch):
        self.tg = tg
        self.env = {k: v for k, v in os.environ.items()
                    if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
        for k in ("LOG_FILE", "EXTERNAL_DB", "NODE_ENV"):
            self.env.pop(k, None)
        self.env.update(
            MONGODB_URI=stack.uri,
            OSHXONA_ENV_FILE="/dev/null",
            OSHXONA_LOCK_DIR=str(scratch),
            BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE=tg.base,
            NCHAN_PUBLISH_SOCKET=str(scratch / "no-such-nchan.sock"),
            LOG_LEVEL="info",
        )
        self.logs = []  # stderr of every run: the token must never show

    def _run(self, argv, timeout=60, **env):
        e = dict(self.env, **env)
        p = subprocess.run(argv, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout)
        self.logs.append(p.stderr)
        assert TOKEN not in p.stderr and TOKEN not in p.stdout, "the bot token was logged"
        return p

    def probe(self, *args, **env):
        p = self._run([str(PROBE), *map(str, args)], **env)
        assert p.returncode == 0, f"notify-probe {args}: rc {p.returncode}\n{p.stderr}"
        return p.stdout.strip()

    def job(self, **env):
        p = self._run([str(JOB)], **env)
        assert p.returncode == 0, f"outbox-retry: rc {p.returncode}\n{p.stderr}"
        return p

    def popen_job(self):
        return subprocess.Popen([str(JOB)], env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)


@pytest.fixture
def run(stack, tg, scratch):
    return Runner(stack, tg, scratch)


def make_due(db, filt=None):
    """Every (matching) queued item becomes due now."""
    db.outbox.update_many(filt or {}, {"$set": {"nextAt": now() - dt.timedelta(seconds=5)}})


def telegram_item(text, attempts, chat_id=5000):
    t = now()
    return {
        "_id": ObjectId(),
        "kind": "telegram",
        "chatId": Int64(chat_id),
        "text": text,
        "attempts": attempts,
        "nextAt": t - dt.timedelta(seconds=5),
        "createdAt": t - dt.timedelta(hours=4),
        "lastError": "HTTP 500: Internal Server Error",
    }


# ------------------------------------------------------------- inline sends


def test_sent_inline_nothing_queued(run, tg, db):
    assert run.probe("telegram", 1001, "Buyurtma #1: tayyor") == "sent"
    assert tg.messages == [(1001, "Buyurtma #1: tayyor")]
    assert db.outbox.count_documents({}) == 0


def test_send_reports_outcomes(run, tg):
    """telegram_send_message itself: SENT, RETRY (with retry_after), PERMANENT."""
    assert run.probe("send", 7, "salom") == "sent"
    tg.mode = "429"
    tg.retry_after = 17
    out = run.probe("send", 7, "salom")
    assert out.startswith("retry 17 HTTP 429"), out
    tg.mode = "error500"
    assert run.probe("send", 7, "salom").startswith("retry 0 HTTP 500")
    tg.mode = "403"
    assert run.probe("send", 7, "salom").startswith("permanent HTTP 403")
    tg.mode = "400"
    assert run.probe("send", 7, "salom").startswith("permanent HTTP 400")
    # A wrong token is the operator's to fix: worth retrying later.
    assert run.probe("send", 7, "salom", BOT_TOKEN="1:wrong").startswith("retry 0 HTTP 401")
    assert run.probe("send", 7, "salom", BOT_TOKEN="").startswith("permanent")
    tg.stop()
    assert run.probe("send", 7, "salom").startswith("retry 0 ")
    assert tg.messages == [(7, "salom")]


def test_text_arrives_intact(run, tg):
    text = 'Заказ №12: готов\nO\'zbek "tirnoq" \\ / ёЁ 🍲'
    assert run.probe("telegram", -100123, text) == "sent"
    assert tg.messages == [(-100123, text)]


def test_server_down_queues(run, tg, db):
    tg.stop()
    t0 = now()
    assert run.probe("telegram", 1002, "down-1") == "queued"
    t1 = now()
    items = list(db.outbox.find({}))
    assert len(items) == 1
    it = items[0]
    assert it["kind"] == "telegram"
    assert it["chatId"] == 1002 and it["text"] == "down-1"
    assert it["attempts"] == 1
    assert t0 - dt.timedelta(seconds=1) <= it["createdAt"] <= t1 + dt.timedelta(seconds=1)
    assert near(it["nextAt"], it["createdAt"] + dt.timedelta(seconds=backoff(1)))
    assert "expiresAt" not in it
    assert it["lastError"]


def test_error500_queues(run, tg, db):
    tg.mode = "error500"
    assert run.probe("telegram", 1003, "err-1") == "queued"
    it = db.outbox.find_one({"text": "err-1"})
    assert it is not None and it["attempts"] == 1
    assert "500" in it["lastError"]
    assert tg.messages == []


def test_429_queues_until_retry_after(run, tg, db):
    tg.mode = "429"
    tg.retry_after = 600  # longer than the first backoff, so it decides
    t0 = now()
    assert run.probe("telegram", 1004, "flood-1") == "queued"
    t1 = now()
    it = db.outbox.find_one({"text": "flood-1"})
    assert it is not None
    assert t0 + dt.timedelta(seconds=600 - 1) <= it["nextAt"] <= t1 + dt.timedelta(seconds=601)
    assert "429" in it["lastError"]
    # Not due yet: the job leaves it alone even though Telegram is fine now.
    tg.mode = "ok"
    run.job()
    assert tg.messages == []
    assert db.outbox.count_documents({}) == 1


@pytest.mark.parametrize("mode", ["400", "403"])
def test_permanent_failure_dropped_not_queued(run, tg, db, mode):
    tg.mode = mode
    assert run.probe("telegram", 1005, f"perm-{mode}") == "dropped"
    assert db.outbox.count_documents({}) == 0
    assert db.outbox_dead.count_documents({}) == 0
    assert [s for _, s in tg.requests] == [int(mode)]


# --------------------------------------------------------------- the retry job


def test_retry_delivers_each_exactly_once(run, tg, db):
    queued = []
    tg.stop()
    for i in range(3):
        queued.append(f"retry-down-{i}")
        assert run.probe("telegram", 2000 + i, queued[-1]) == "queued"
    tg.start(port=tg.port)
    tg.mode = "error500"
    for i in range(2):
        queued.append(f"retry-500-{i}")
        assert run.probe("telegram", 2100 + i, queued[-1]) == "queued"
    tg.mode = "429"
    tg.retry_after = 900
    queued.append("retry-429-0")
    assert run.probe("telegram", 2200, queued[-1]) == "queued"
    assert db.outbox.count_documents({}) == len(queued)
    assert tg.messages == []

    tg.mode = "ok"
    make_due(db)
    run.job()
    assert {t: tg.count(t) for t in queued} == {t: 1 for t in queued}
    assert tg.texts() == queued, "oldest first"
    assert db.outbox.count_documents({}) == 0
    assert db.outbox_dead.count_documents({}) == 0

    # A second run finds nothing to send.
    run.job()
    assert len(tg.messages) == len(queued)


def test_retry_failure_backs_off(run, tg, db):
    tg.stop()
    assert run.probe("telegram", 3001, "backoff-1") == "queued"
    make_due(db)
    # Still down: attempts 2, nextAt now + 30 s * 2^2.
    t0 = now()
    run.job()
    it = db.outbox.find_one({"text": "backoff-1"})
    assert it["attempts"] == 2
    assert near(it["nextAt"], t0 + dt.timedelta(seconds=backoff(2)), 3)
    assert it["lastError"]

    # A 429 with a retry_after longer than the backoff wins.
    tg.start(port=tg.port)
    tg.mode = "429"
    tg.retry_after = 7200
    make_due(db)
    t0 = now()
    run.job()
    it = db.outbox.find_one({"text": "backoff-1"})
    assert it["attempts"] == 3
    assert near(it["nextAt"], t0 + dt.timedelta(seconds=7200), 3)
    assert "429" in it["lastError"]

    # A 500 late in life: the backoff stops growing at an hour.
    tg.mode = "error500"
    db.outbox.update_one({"text": "backoff-1"}, {"$set": {"attempts": 7}})
    make_due(db)
    t0 = now()
    run.job()
    it = db.outbox.find_one({"text": "backoff-1"})
    assert it["attempts"] == 8
    assert near(it["nextAt"], t0 + dt.timedelta(seconds=BACKOFF_MAX_S), 3)
    assert "500" in it["lastError"]
    assert tg.messages == []


@pytest.mark.parametrize("mode", ["400", "403"])
def test_retry_permanent_failure_dropped(run, tg, db, mode):
    tg.stop()
    assert run.probe("telegram", 3002, f"later-perm-{mode}") == "queued"
    tg.start(port=tg.port)
    tg.mode = mode
    make_due(db)
    run.job()
    assert db.outbox.count_documents({}) == 0
    assert db.outbox_dead.count_documents({}) == 0
    assert [s for _, s in tg.requests] == [int(mode)]


def test_last_attempt_moves_to_dead(run, tg, db):
    last = telegram_item("dead-1", MAX_ATTEMPTS - 1)
    before_last = telegram_item("dead-2", MAX_ATTEMPTS - 2)
    db.outbox.insert_many([last, before_last])
    tg.mode = "error500"
    t0 = now()
    run.job()
    dead = list(db.outbox_dead.find({}))
    assert len(dead) == 1
    d = dead[0]
    assert d["_id"] == last["_id"]
    assert d["kind"] == "telegram" and d["chatId"] == 5000 and d["text"] == "dead-1"
    assert d["attempts"] == MAX_ATTEMPTS
    assert "500" in d["lastError"]
    assert near(d["deadAt"], t0, 5)
    rest = list(db.outbox.find({}))
    assert [r["text"] for r in rest] == ["dead-2"]
    assert rest[0]["attempts"] == MAX_ATTEMPTS - 1
    assert near(rest[0]["nextAt"], t0 + dt.timedelta(seconds=backoff(MAX_ATTEMPTS - 1)), 5)
    assert any("outbox_dead" in log for log in run.logs)

    # The last one fails too and follows; the dead letters stay put.
    make_due(db)
    run.job()
    assert db.outbox.count_documents({}) == 0
    assert sorted(d["text"] for d in db.outbox_dead.find({})) == ["dead-1", "dead-2"]
    assert tg.messages == []


def test_malformed_item_moves_to_dead(run, tg, db):
    bad = {"_id": ObjectId(), "kind": "carrier-pigeon", "attempts": 1,
           "nextAt": now() - dt.timedelta(seconds=5), "createdAt": now()}
    db.outbox.insert_one(bad)
    run.job()
    assert db.outbox.count_documents({}) == 0
    assert db.outbox_dead.find_one({"_id": bad["_id"]}) is not None
    assert tg.requests == []


def test_two_runners_send_each_once(run, tg, db):
    texts = [f"lock-{i}" for i in range(8)]
    tg.stop()
    for i, t in enumerate(texts):
        assert run.probe("telegram", 4000 + i, t) == "queued"
    tg.start(port=tg.port)
    tg.delay = 0.25  # the winner's run lasts ~2 s: the other surely overlaps it
    make_due(db)

    a, b = run.popen_job(), run.popen_job()
    results = {}

    def wait(name, p):
        out, err = p.communicate(timeout=60)
        results[name] = (p.returncode, time.monotonic(), err)

    threads = [threading.Thread(target=wait, args=(n, p)) for n, p in (("a", a), ("b", b))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()

    assert results["a"][0] == 0 and results["b"][0] == 0, results
    skipped = [n for n, r in results.items() if "another run holds" in r[2]]
    assert len(skipped) == 1, results
    loser, winner = skipped[0], "a" if skipped[0] == "b" else "b"
    assert results[loser][1] < results[winner][1], "the second runner did not exit at once"
    for _, _, err in results.values():
        assert TOKEN not in err
    assert {t: tg.count(t) for t in texts} == {t: 1 for t in texts}
    assert len(tg.messages) == len(texts)
    assert db.outbox.count_documents({}) == 0


def test_lock_held_elsewhere_skips_quietly(run, tg, db, scratch):
    """While another process holds the lock the job exits 0 and touches nothing."""
    tg.stop()
    assert run.probe("telegram", 4100, "held-1") == "queued"
    tg.start(port=tg.port)
    make_due(db)
    # flock(1) holds the lock; its own session, so the sleep goes with it.
    holder = subprocess.Popen(
        ["flock", "-x", str(scratch / "oshxona-outbox-retry.lock"), "sleep", "30"],
        start_new_session=True)
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if (scratch / "oshxona-outbox-retry.lock").exists():
                break
            time.sleep(0.05)
        time.sleep(0.2)
        t0 = time.monotonic()
        run.job()
        assert time.monotonic() - t0 < 5
        assert tg.messages == []
        assert db.outbox.count_documents({}) == 1
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
    run.job()
    assert tg.texts() == ["held-1"]


# ------------------------------------------------------------------- publish


class FakeNchan:
    """An HTTP server on a unix socket in the shape of Nchan's publisher:
    POST /pub/<kind>/<id> answers 202 (no subscriber), or `status`."""

    def __init__(self, path):
        self.path = str(path)
        self.status = 202
        self.posts = []  # (path, content type, parsed JSON body)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                fake.posts.append((self.path, self.headers.get("Content-Type"),
                                   json.loads(body.decode("utf-8"))))
                reply = b"queued messages: 1\r\nactive subscribers: 0\r\n"
                status = fake.status if self.path.startswith("/pub/") else 404
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def address_string(self):
                return "unix"

            def log_message(self, format, *args):  # noqa: A002
                pass

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        self.server = Server(self.path, Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        os.unlink(self.path)


@pytest.fixture
def nchan(scratch):
    fake = FakeNchan(scratch / "nchan.sock")
    yield fake
    fake.stop()


EVENT_DATA = {"orderId": "65f0c0ffee0000000000abcd", "number": 17, "status": "ready",
              "items": [{"name": "Osh", "qty": 2}], "paid": True, "total": 125000}


def test_publish_down_queues_with_expiry(run, db):
    branch = str(ObjectId())
    t0 = now()
    assert run.probe("publish", "branch", branch, "order.status", json.dumps(EVENT_DATA)) \
        == "queued"
    t1 = now()
    items = list(db.outbox.find({}))
    assert len(items) == 1
    it = items[0]
    assert it["kind"] == "publish"
    assert (it["channelKind"], it["channelId"], it["event"]) == ("branch", branch, "order.status")
    assert it["data"] == EVENT_DATA  # stored as a document, not a string
    assert it["attempts"] == 1
    assert t0 - dt.timedelta(seconds=1) <= it["createdAt"] <= t1 + dt.timedelta(seconds=1)
    assert near(it["expiresAt"], it["createdAt"] + dt.timedelta(seconds=PUBLISH_TTL_S), 0.01)
    assert near(it["nextAt"], it["createdAt"] + dt.timedelta(seconds=backoff(1)), 0.01)
    assert it["lastError"]


def test_publish_inline_to_fake_nchan(run, db, nchan):
    assert run.probe("publish", "user", "u42", "order.created", '{"a":[1,2]}',
                     NCHAN_PUBLISH_SOCKET=nchan.path) == "sent"
    assert nchan.posts == [("/pub/user/u42", "application/json",
                            {"event": "order.created", "data": {"a": [1, 2]}})]
    assert db.outbox.count_documents({}) == 0
    nchan.status = 500
    assert run.probe("publish", "user", "u42", "order.created", "{}",
                     NCHAN_PUBLISH_SOCKET=nchan.path) == "queued"
    assert db.outbox.count_documents({}) == 1


def test_publish_retry_delivers_then_expires(run, db, nchan):
    branch = str(ObjectId())
    assert run.probe("publish", "branch", branch, "order.status", json.dumps(EVENT_DATA)) \
        == "queued"
    assert run.probe("publish", "menu", "all", "menu.changed", "null") == "queued"
    assert run.probe("publish", "branch", branch, "order.old", "{}") == "queued"
    db.outbox.update_one({"event": "order.old"},
                         {"$set": {"expiresAt": now() - dt.timedelta(seconds=1)}})
    make_due(db)
    run.job(NCHAN_PUBLISH_SOCKET=nchan.path)
    assert nchan.posts == [
        (f"/pub/branch/{branch}", "application/json", {"event": "order.status", "data": EVENT_DATA}),
        ("/pub/menu/all", "application/json", {"event": "menu.changed", "data": None}),
    ]
    assert db.outbox.count_documents({}) == 0
    assert db.outbox_dead.count_documents({}) == 0


def test_publish_failing_until_expiry_dropped(run, db):
    assert run.probe("publish", "branch", "b1", "order.status", "{}") == "queued"
    # Still down: after the 2nd and 3rd tries the backoff (2, 4 min) ends
    # within the 5 minutes; after the 4th (8 min) it would not, so the
    # event is dropped then rather than kept for a try that cannot come.
    for attempts in (2, 3):
        make_due(db)
        run.job()
        it = db.outbox.find_one({})
        assert it is not None and it["attempts"] == attempts
    make_due(db)
    run.job()
    assert db.outbox.count_documents({}) == 0
    assert db.outbox_dead.count_documents({}) == 0


def test_publish_bad_channel_dropped(run, db):
    assert run.probe("publish", "branch", "../etc", "x", "{}") == "dropped"
    assert run.probe("publish", "branch", "b1", "x", '{"$where": "1"}') == "dropped"
    assert db.outbox.count_documents({}) == 0


def test_publish_to_stack_nchan(run, stack, db):
    sock = Path(stack.dir) / "run" / "nchan-publish.sock"
    if not sock.exists():
        pytest.skip(f"the stack has no Nchan publisher socket yet ({sock}); "
                    "nginx-conf gains one when the lead adds it")
    branch = str(ObjectId())
    assert run.probe("publish", "branch", branch, "test.ping", '{"ok":true}',
                     NCHAN_PUBLISH_SOCKET=str(sock)) == "sent"
    assert db.outbox.count_documents({}) == 0
    # The publisher location answers a GET with the channel's state: the
    # message is in its buffer.
    status, body = unix_get(sock, f"/pub/branch/{branch}")
    assert status == 200, body
    assert re.search(r"queued messages: 1\b", body), body


def unix_get(path, target):
    """GET over a unix socket; returns (status, body text)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(str(path))
        s.sendall(f"GET {target} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode())
        chunks = []
        while True:
            c = s.recv(65536)
            if not c:
                break
            chunks.append(c)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode("utf-8", "replace")
