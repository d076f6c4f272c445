"""Black-box test harness: a private Oshxona stack per test session.

The session fixture starts FerretDB, the FastCGI programs and nginx with
scripts/stack.sh on free loopback ports in a temporary directory, so a run
never touches a `make run` stack on 8080. Expectations come from
data/demo.json, never from hard-coded lists.

Fixtures for the tests: `stack` (ports, paths, stack_sh()), `api` (an HTTP
client), `demo` (the demo data and a model of the search), `mongo` (a tiny
MongoDB wire-protocol client, for what the API deliberately never shows,
such as the ids of inactive products).
"""

import json
import os
import re
import secrets
import shutil
import socket
import struct
import subprocess
import tempfile
import http.client
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO_PATH = ROOT / "data" / "demo.json"
LOG_TAIL_LINES = 40
# A made-up Telegram bot token for the session stack, so the sign-in paths
# are configured (test_auth.py signs its init data with the same token).
TEST_BOT_TOKEN = "1234567890:AAE-oshxona-test-token-0123456789abcd"

_failures = []  # node ids of failed tests
_log_report = []  # lines printed in the terminal summary


# --------------------------------------------------------------- reporting


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        _failures.append(f"{item.nodeid} ({rep.when})")


def pytest_terminal_summary(terminalreporter):
    if not _log_report:
        return
    terminalreporter.section("Oshxona stack logs (tails)")
    for line in _log_report:
        terminalreporter.write_line(line)


def _collect_log_tails(stack_dir):
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


# ------------------------------------------------------------------- stack


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
    except (FileNotFoundError, IndexError):
        return False


def _free_ports(n):
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


class Stack:
    def __init__(self, port, db_port, stack_dir, pg_port=None):
        self.port = port
        self.db_port = db_port
        # The stack's own PostgreSQL under FerretDB: a free port of its own.
        self.pg_port = pg_port if pg_port is not None else _free_ports(1)[0]
        self.dir = Path(stack_dir)
        self.env = dict(os.environ)
        # Always a private FerretDB: never a database named by the caller's
        # environment.
        for k in ("EXTERNAL_DB", "MONGODB_URI"):
            self.env.pop(k, None)
        self.env.update(
            PORT=str(port),
            DB_PORT=str(db_port),
            PG_PORT=str(self.pg_port),
            STACK_DIR=str(stack_dir),
            FCGI_CHILDREN="2",
            DEMO_DATA=str(DEMO_PATH),
            # These suites send hundreds of requests from one address; the
            # rate limit itself is not what they test.
            RATE_LIMIT_API="100000",
            RATE_LIMIT_ORDERS="100000",
            BOT_TOKEN=TEST_BOT_TOKEN,
        )

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
                + "\n".join(_collect_log_tails(self.dir))
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


@pytest.fixture(scope="session")
def stack():
    port, db_port, pg_port = _free_ports(3)
    stack_dir = tempfile.mkdtemp(prefix="oshxona-bb-")
    st = Stack(port, db_port, stack_dir, pg_port)
    try:
        st.stack_sh("start", timeout=180)
        yield st
    finally:
        try:
            st.stack_sh("stop", timeout=60, check=False)
        finally:
            if _failures:
                _log_report.append(f"stack dir {stack_dir}; failed: {', '.join(_failures)}")
                _log_report.extend(_collect_log_tails(stack_dir))
            shutil.rmtree(stack_dir, ignore_errors=True)


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
    """HTTP/1.1 against the private stack; one connection per request."""

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


@pytest.fixture(scope="session")
def api(stack):
    return Client("127.0.0.1", stack.port)


# ------------------------------------------------------------- demo model

APOSTROPHES = "'`\u02bb\u02bc\u2018\u2019"
PREFIX_MAX = 24


def search_words(text):
    """The documented normalization (oshxona.h, search_words): lower case,
    'ё' as 'е', Uzbek apostrophes dropped, anything not a letter or digit
    breaks words; words cut to 24 code points."""
    t = "".join(c for c in text if c not in APOSTROPHES).lower().replace("ё", "е")
    return [w[:PREFIX_MAX] for w in re.findall(r"[^\W_]+", t)]


class Demo:
    def __init__(self, data):
        self.data = data
        self.branches = data["branches"]
        self.categories = data["categories"]
        self.products = data["products"]
        self.cat_by_key = {c["key"]: c for c in self.categories}

    @property
    def active_branches(self):
        return [b for b in self.branches if b.get("isActive")]

    @property
    def active_categories(self):
        cats = [c for c in self.categories if c.get("isActive")]
        return sorted(cats, key=lambda c: (c["sortOrder"], c["name"]))

    @staticmethod
    def product_order(p):
        return (p["sortOrder"], p["name"])

    @property
    def active_products(self):
        return sorted((p for p in self.products if p.get("isActive")), key=self.product_order)

    @property
    def inactive_products(self):
        return [p for p in self.products if not p.get("isActive")]

    def active_in_category(self, key):
        return [p for p in self.active_products if p["category"] == key]

    def search(self, query, category=None):
        """Active products whose words start with every query word, in
        the API's order; None when the query has no word (nothing matches)."""
        qwords = search_words(query)[:8]
        out = []
        for p in self.active_products:
            if category is not None and p["category"] != category:
                continue
            words = set()
            for f in ("name", "nameRu", "description", "descriptionRu"):
                if p.get(f):
                    words.update(search_words(p[f]))
            if all(any(w.startswith(qw) for w in words) for qw in qwords):
                out.append(p)
        return out if qwords else []


@pytest.fixture(scope="session")
def demo():
    return Demo(json.loads(DEMO_PATH.read_text(encoding="utf-8")))


# ------------------------------------------------- MongoDB wire (OP_MSG)


class ObjectId(str):
    """24 hex digits; encoded as a BSON ObjectId."""

    @classmethod
    def new(cls):
        return cls(secrets.token_hex(12))


def _cstring(s):
    b = s.encode("utf-8")
    assert b"\x00" not in b
    return b + b"\x00"


def bson_encode(doc):
    out = bytearray()
    items = doc.items() if isinstance(doc, dict) else ((str(i), v) for i, v in enumerate(doc))
    for k, v in items:
        key = _cstring(k)
        if isinstance(v, ObjectId):
            out += b"\x07" + key + bytes.fromhex(v)
        elif isinstance(v, bool):
            out += b"\x08" + key + (b"\x01" if v else b"\x00")
        elif isinstance(v, int):
            if -(2**31) <= v < 2**31:
                out += b"\x10" + key + struct.pack("<i", v)
            else:
                out += b"\x12" + key + struct.pack("<q", v)
        elif isinstance(v, float):
            out += b"\x01" + key + struct.pack("<d", v)
        elif isinstance(v, str):
            b = v.encode("utf-8")
            out += b"\x02" + key + struct.pack("<i", len(b) + 1) + b + b"\x00"
        elif isinstance(v, dict):
            out += b"\x03" + key + bson_encode(v)
        elif isinstance(v, (list, tuple)):
            out += b"\x04" + key + bson_encode(list(v))
        elif v is None:
            out += b"\x0a" + key
        else:
            raise TypeError(f"cannot encode {type(v)}")
    return struct.pack("<i", len(out) + 5) + bytes(out) + b"\x00"


def bson_decode(buf, pos=0, as_list=False):
    (size,) = struct.unpack_from("<i", buf, pos)
    end = pos + size - 1
    pos += 4
    out = {}
    while pos < end:
        t = buf[pos]
        pos += 1
        z = buf.index(b"\x00", pos)
        key = buf[pos:z].decode("utf-8")
        pos = z + 1
        if t == 0x01:
            (v,) = struct.unpack_from("<d", buf, pos)
            pos += 8
        elif t == 0x02:
            (n,) = struct.unpack_from("<i", buf, pos)
            v = buf[pos + 4 : pos + 4 + n - 1].decode("utf-8")
            pos += 4 + n
        elif t in (0x03, 0x04):
            (n,) = struct.unpack_from("<i", buf, pos)
            v = bson_decode(buf, pos, as_list=t == 0x04)
            pos += n
        elif t == 0x07:
            v = ObjectId(buf[pos : pos + 12].hex())
            pos += 12
        elif t == 0x08:
            v = buf[pos] == 1
            pos += 1
        elif t in (0x09, 0x12):
            (v,) = struct.unpack_from("<q", buf, pos)
            pos += 8
        elif t == 0x0A:
            v = None
        elif t == 0x10:
            (v,) = struct.unpack_from("<i", buf, pos)
            pos += 4
        elif t == 0x11:
            (v,) = struct.unpack_from("<Q", buf, pos)
            pos += 8
        else:
            raise ValueError(f"BSON type 0x{t:02x} not supported")
        out[key] = v
    return list(out.values()) if as_list else out


class Mongo:
    """Just enough of the MongoDB wire protocol to run commands."""

    new_id = staticmethod(ObjectId.new)

    def __init__(self, port, db="oshxona"):
        self.port = port
        self.db = db
        self._id = 0

    def command(self, cmd):
        cmd = dict(cmd)
        cmd["$db"] = self.db
        self._id += 1
        body = struct.pack("<I", 0) + b"\x00" + bson_encode(cmd)
        msg = struct.pack("<iiii", 16 + len(body), self._id, 0, 2013) + body
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(msg)
            head = self._recv(s, 16)
            length, _, _, opcode = struct.unpack("<iiii", head)
            rest = self._recv(s, length - 16)
        assert opcode == 2013, f"unexpected opcode {opcode}"
        assert rest[4] == 0, "expected a body section"
        reply = bson_decode(rest, 5)
        assert reply.get("ok") in (1, 1.0, True), f"command {cmd!r} failed: {reply!r}"
        return reply

    @staticmethod
    def _recv(s, n):
        buf = b""
        while len(buf) < n:
            c = s.recv(n - len(buf))
            if not c:
                raise ConnectionError("database closed the connection")
            buf += c
        return buf

    def find(self, collection, filt):
        r = self.command({"find": collection, "filter": filt, "batchSize": 10000})
        return r["cursor"]["firstBatch"]

    def insert(self, collection, docs):
        return self.command({"insert": collection, "documents": docs})

    def delete(self, collection, filt):
        return self.command({"delete": collection, "deletes": [{"q": filt, "limit": 0}]})


@pytest.fixture(scope="session")
def mongo(stack):
    return Mongo(stack.db_port)
