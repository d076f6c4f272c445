"""The one way a black-box test gets a stack and a database.

`Stack` is a private Oshxona stack: scripts/stack.sh starts FerretDB (or
uses another stack's), the FastCGI programs under their supervisors and
nginx on free loopback ports in a temporary directory, so a run never
touches a `make run` stack on 8080, nor a database or a Cloudinary account
named by the caller's environment. The programs are OSHXONA_BIN's when set
(tests/run-all.sh points it at the ASan build): stack.sh reads it from the
environment the stack inherits, and `BIN` is the same directory for the
jobs and tools a test runs itself.

Options (keywords of `Stack` and `private_stack`): `env` (settings for the
programs), `children` (FastCGI children per program), `telegram` (a fake
Bot API as TELEGRAM_API_BASE: `stack.tg`), `cloudinary` (a fake Cloudinary:
`stack.cloudinary`), `bot` (the bot worker's wake-up socket; the worker
itself is start_worker()'s), `database` (another Stack whose FerretDB this
one uses, as a second app host would).

`private_stack(request, name, driver=None, start=True, **options)` starts
one for a module and stops it afterwards, with the tails of its logs in the
terminal summary when a test failed; a `driver` class wraps the started
stack in what the tests drive it by (orders_helpers.OrdersStack) and names
the options it needs in its OPTIONS. The session stack of conftest.py is
one too.

The database client is pymongo: `stack.db` (the oshxona database; dates
come back naive, in UTC) or `stack.mongo(**options)` for other client
options; the stack closes them when it stops.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pymongo

from fake_cloudinary import FakeCloudinary
from fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parents[2]
DEMO_PATH = ROOT / "data" / "demo.json"
BIN = Path(os.environ.get("OSHXONA_BIN") or ROOT / "build" / "bin")
# A made-up Telegram bot token for every stack, so the sign-in paths are
# configured (the tests sign their init data with the same token).
TEST_BOT_TOKEN = "1234567890:AAE-oshxona-test-token-0123456789abcd"
LOG_TAIL_LINES = 40
# What a private stack never takes from the caller's environment.
OUTSIDE = ("EXTERNAL_DB", "MONGODB_URI", "CLOUDINARY_CLOUD_NAME", "CLOUDINARY_API_KEY",
           "CLOUDINARY_API_SECRET", "CLOUDINARY_API_BASE")

FAILURES = []  # node ids of failed tests (conftest.py's report hook)
LOG_REPORT = []  # lines for the terminal summary (conftest.py)


# ------------------------------------------------------------- processes


def free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def pid_alive(pid):
    """True while pid runs. A zombie is dead: spawn-fcgi's children and
    FerretDB are reparented to PID 1, which need not reap them here."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        # Reaped between the kill and the read: the read fails with ESRCH.
        return False


def pid_exists(pid):
    """True while the process exists at all, zombies included (what
    stack.sh's kill -0 sees)."""
    return os.path.exists(f"/proc/{pid}")


def wait_until(pred, timeout=5.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def collect_log_tails(stack_dir):
    out = []
    logs = Path(stack_dir) / "logs"
    for f in sorted(logs.glob("*.log")):
        try:
            lines = f.read_text(errors="replace").splitlines()
        except OSError as e:
            out.append(f"--- {f.name}: {e}")
            continue
        out.append(f"--- {f.name} (last {min(len(lines), LOG_TAIL_LINES)} of {len(lines)} lines)")
        out.extend(ln if len(ln) <= 400 else ln[:400] + f" ...[{len(ln)} chars]"
                   for ln in lines[-LOG_TAIL_LINES:])
    return out


# ---------------------------------------------------------------- database


def connect(port, **options):
    """A pymongo client of the MongoDB-wire server on a loopback port."""
    opts = dict(serverSelectionTimeoutMS=5000, socketTimeoutMS=30000)
    opts.update(options)
    return pymongo.MongoClient(f"mongodb://127.0.0.1:{port}/", **opts)


# ------------------------------------------------------------------ stack


class StoppableFakeTelegram(FakeTelegram):
    """FakeTelegram whose stop() also drops the connections already open:
    libcurl keeps its connection to the Bot API alive between messages,
    and a stopped server whose old connections still answer "ok" is not
    down at all."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self._conns = set()
        self._conns_lock = threading.Lock()

    def _handler_class(self):
        base = super()._handler_class()
        fake = self

        class Tracked(base):
            def setup(self):
                super().setup()
                with fake._conns_lock:
                    fake._conns.add(self.connection)

            def finish(self):
                with fake._conns_lock:
                    fake._conns.discard(self.connection)
                super().finish()

        return Tracked

    def stop(self):
        super().stop()
        with self._conns_lock:
            conns, self._conns = list(self._conns), set()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Stack:
    def __init__(self, name="bb", env=None, children=2, telegram=False, cloudinary=False,
                 bot=False, database=None):
        self.name = name
        self.port, own_db_port, self.pg_port = free_ports(3)
        self.db_port = database.db_port if database is not None else own_db_port
        self.dir = Path(tempfile.mkdtemp(prefix=f"oshxona-{name}-"))
        self.env = {k: v for k, v in os.environ.items() if k not in OUTSIDE}
        self.env.update(
            PORT=str(self.port),
            DB_PORT=str(own_db_port),
            # The stack's own PostgreSQL under FerretDB: a free port of its own.
            PG_PORT=str(self.pg_port),
            STACK_DIR=str(self.dir),
            FCGI_CHILDREN=str(children),
            DEMO_DATA=str(DEMO_PATH),
            # The suites send hundreds of requests from one address; the
            # rate limit itself is not what they test.
            RATE_LIMIT_API="100000",
            RATE_LIMIT_ORDERS="100000",
            BOT_TOKEN=TEST_BOT_TOKEN,
        )
        if database is not None:
            self.env.update(EXTERNAL_DB="1", MONGODB_URI=database.uri)
        self.wake = self.dir / "run" / "bot-wake.sock"
        if bot:
            # The stack's spool, and no worker of stack.sh's: these tests
            # start, stop and reconfigure their own (start_worker).
            self.env.update(BOT_WAKE_SOCKET=str(self.wake), BOT_WORKER="0",
                            BOT_SPOOL_DIR=str(self.dir / "data" / "bot-spool"))
        self.env.update(env or {})
        self.api = Client("127.0.0.1", self.port)
        self.tg = StoppableFakeTelegram(TEST_BOT_TOKEN) if telegram else None
        self.cloudinary = FakeCloudinary() if cloudinary else None
        if self.cloudinary is not None:
            self.env.update(CLOUDINARY_CLOUD_NAME=self.cloudinary.cloud_name,
                            CLOUDINARY_API_KEY=self.cloudinary.api_key,
                            CLOUDINARY_API_SECRET=self.cloudinary.api_secret,
                            CLOUDINARY_API_BASE=self.cloudinary.base_url)
        self.worker = None
        self._clients = []
        self._db = None
        self._failures_from = len(FAILURES)

    @property
    def uri(self):
        return f"mongodb://127.0.0.1:{self.db_port}/oshxona"

    # ------------------------------------------------------------- life

    def start(self):
        if self.tg is not None:
            self.tg.start()
            self.env["TELEGRAM_API_BASE"] = self.tg.base
        self.stack_sh("start", timeout=180)
        return self

    def stop(self, failed=False):
        try:
            self.stop_worker()
            self._terminate_all()
            self.stack_sh("stop", timeout=60, check=False)
        finally:
            for c in self._clients:
                c.close()
            for fake in (self.tg, self.cloudinary):
                if fake is not None:
                    fake.stop()
            if failed:
                LOG_REPORT.append(f"[{self.name}] stack dir {self.dir}; failed: "
                                  + ", ".join(FAILURES[self._failures_from:]))
                LOG_REPORT.extend(collect_log_tails(self.dir))
            shutil.rmtree(self.dir, ignore_errors=True)

    def _terminate_all(self, wait=15.0):
        """TERM every process of the stack at once and wait until each is
        really gone (reaped), so stack.sh stop has nothing left to wait for
        (this sandbox's PID 1 reaps orphans only every second or so, and
        stack.sh waits up to 5 s per program for a zombie)."""
        pids = []
        # Every program stack.sh started (each has a PID file), new ones too.
        for f in sorted((self.dir / "run").glob("*.pid")):
            try:
                pids += self.pids(f.stem)
            except (OSError, ValueError):
                pass
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and any(pid_exists(p) for p in pids):
            time.sleep(0.05)

    def stack_sh(self, *args, timeout=120, check=True):
        p = subprocess.run(
            ["bash", str(ROOT / "scripts" / "stack.sh"), *args],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
        if check and p.returncode != 0:
            raise AssertionError(
                f"stack.sh {' '.join(args)} exited {p.returncode}:\n{p.stdout}\n"
                + "\n".join(collect_log_tails(self.dir))
            )
        return p

    def pids(self, name):
        f = self.dir / "run" / f"{name}.pid"
        return [int(x) for x in f.read_text().split()]

    def children(self, name):
        """The live children of a FastCGI program, as its supervisor
        (tools/fcgi-supervisor) lists them; pids() is the supervisor."""
        f = self.dir / "run" / f"{name}.children"
        return [int(x) for x in f.read_text().split()]

    # --------------------------------------------------------- database

    def mongo(self, **options):
        """The oshxona database through a client of its own (pymongo
        options: tz_aware=True, timeouts)."""
        client = connect(self.db_port, **options)
        self._clients.append(client)
        return client["oshxona"]

    @property
    def db(self):
        if self._db is None:
            self._db = self.mongo()
        return self._db

    # ------------------------------------------------------- bot worker

    def worker_env(self, **extra):
        """The bot worker's environment (the Bot API is the stack's)."""
        env = dict(self.env)
        env.update(
            MONGODB_URI=self.uri,
            NCHAN_PUBLISH_SOCKET=str(self.dir / "run" / "nchan-publish.sock"),
            OSHXONA_ENV_FILE="/dev/null",
            OSHXONA_LOCK_DIR=str(self.dir / "run"),
            LOG_FILE=str(self.dir / "logs" / "oshxona-bot.log"),
        )
        env.update(extra)
        return env

    def start_worker(self, **extra):
        """build/bin/oshxona-bot run against this stack (a stack with
        bot=True); ready when its wake-up socket exists (bound before the
        first poll)."""
        assert self.worker is None
        self.worker = subprocess.Popen([str(BIN / "oshxona-bot"), "run"],
                                       env=self.worker_env(**extra), cwd=ROOT)
        if not extra.get("TELEGRAM_MODE") == "polling":
            wait_until(self.wake.exists, 10, what="bot worker socket")
        return self.worker

    def stop_worker(self):
        if self.worker is None:
            return
        self.worker.send_signal(signal.SIGTERM)
        try:
            self.worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.worker.kill()
            self.worker.wait()
        self.worker = None
        if self.wake.exists():
            self.wake.unlink()


@contextmanager
def private_stack(request, name, driver=None, start=True, **options):
    """A Stack for the caller (started unless start=False), wrapped in
    driver when given; stopped and removed afterwards, its log tails in the
    summary when a test (or the set-up) failed meanwhile."""
    opts = dict(getattr(driver, "OPTIONS", {}))
    env = dict(opts.pop("env", {}))
    env.update(options.pop("env", None) or {})
    opts.update(options)
    st = Stack(name, env=env, **opts)
    failed_before = request.session.testsfailed
    failed = True
    try:
        if start:
            st.start()
        yield driver(st) if driver is not None else st
        failed = request.session.testsfailed > failed_before
    finally:
        st.stop(failed)


# ------------------------------------------------------------------ client


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (name, value) as received
        self.body = body

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    @property
    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return f"<Response {self.status} {self.headers!r} {self.body[:300]!r}>"


class Client:
    """HTTP/1.1 against a private stack; one connection per request."""

    def __init__(self, host, port):
        self.host = host
        self.port = port
        self.base = f"http://{host}:{port}"

    def request(self, method, path, headers=None, body=None, timeout=10):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            return Response(r.status, r.getheaders(), data)
        finally:
            conn.close()

    def get(self, path, headers=None, timeout=10):
        return self.request("GET", path, headers=headers, timeout=timeout)

    def get_json(self, path, status=200):
        """GET that must answer `status` with a JSON body; returns (resp, body)."""
        r = self.get(path)
        assert r.status == status, f"GET {path}: {r!r}"
        ctype = r.header("Content-Type", "")
        assert ctype.startswith("application/json"), f"GET {path}: Content-Type {ctype!r}"
        return r, r.json

    def raw(self, data, timeout=10, send_after=None):
        """Sends bytes as they are, reads until the server closes; returns a
        Response whose body is everything after the header block (so an
        empty body really was empty on the wire)."""
        s = socket.create_connection((self.host, self.port), timeout=timeout)
        try:
            s.sendall(data)
            if send_after is not None:
                try:
                    s.sendall(send_after)
                except (BrokenPipeError, ConnectionResetError):
                    pass
            chunks = []
            while True:
                try:
                    c = s.recv(65536)
                except ConnectionResetError:
                    break
                if not c:
                    break
                chunks.append(c)
        finally:
            s.close()
        buf = b"".join(chunks)
        head, sep, body = buf.partition(b"\r\n\r\n")
        assert sep, f"no complete response header block: {buf[:500]!r}"
        lines = head.decode("iso-8859-1").split("\r\n")
        m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
        assert m, f"bad status line {lines[0]!r}"
        headers = []
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers.append((k.strip(), v.strip()))
        return Response(int(m.group(1)), headers, body)

    def raw_request(self, method, path, headers=None, body=b""):
        """A whole request over a raw socket with Connection: close."""
        h = {"Host": f"{self.host}:{self.port}", "Connection": "close"}
        h.update(headers or {})
        if body:
            h.setdefault("Content-Length", str(len(body)))
        req = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items())
        return self.raw(req.encode("latin-1") + b"\r\n" + body)
