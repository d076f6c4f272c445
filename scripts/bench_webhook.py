"""The bot's webhook under a fixed arrival rate: POSTs realistic Telegram
updates (messages and button presses from many chats) to
/telegram/webhook at RATE a second for SECONDS, open loop (each request
leaves at its scheduled time whatever the others do, and its latency is
counted from that time, so a stall is not hidden), while the bot worker
handles them against a local fake Bot API. The worker is the stack's own
(`stack.sh bot-stop`, then `bot-start` pointed at the fake): the same
binary, environment and scheduling class as `make run` and production.

Prints: the webhook's p50/p99/max and non-200 count (from the client, and
nginx's request_time from its access log); the same figures for a control
stream of wrong-secret requests (403, no storage, no database)
sent at RATE/5 at the same time, which shows how much of the tail is CPU
scheduling on a shared machine (the 403 is answered by the same telegram
children, so a child stuck on storage delays these too: compare the
medians, and nginx's request_time per status); the load average before and after; the
CPU seconds each of the stack's processes used during the load (where
the time goes); and the worker's drain rate (updates handled a second,
during the load and until the backlog is gone).

BENCH_WEBHOOK_WORKER=0 runs without the worker (updates queue up).

usage: bench_webhook.py PORT DB_PORT STACK_DIR SECRET BOT_TOKEN RATE SECONDS
"""

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pymongo

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
FAKE_MAIN = f"""
import sys
sys.path.insert(0, {os.path.join(ROOT, "tests", "blackbox")!r})
from fake_telegram import FakeTelegram
tg = FakeTelegram(sys.argv[1]).start()
print(tg.port, flush=True)
for line in sys.stdin:
    print(len(tg.calls_of("sendMessage")) + len(tg.calls_of("editMessageText")), flush=True)
"""


def update(i, chats=1000):
    chat = 880_000_000 + i % chats
    frm = {"id": chat, "is_bot": False, "first_name": "Bench", "language_code": "uz"}
    cht = {"id": chat, "first_name": "Bench", "type": "private"}
    if i % 3 == 2:
        return {"update_id": 500_000_000 + i, "callback_query": {
            "id": str(9_000_000 + i), "from": frm, "chat_instance": "1", "data": "l:uz",
            "message": {"message_id": 1 + i, "chat": cht, "date": int(time.time()),
                        "text": "Tilni tanlang"}}}
    return {"update_id": 500_000_000 + i, "message": {
        "message_id": 1 + i, "from": frm, "chat": cht, "date": int(time.time()),
        "text": "/start"}}


def post(port, secret, body):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("POST", "/telegram/webhook", body=body, headers={
            "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret})
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        c.close()


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def cpu_ticks(stack_dir):
    """CPU ticks (user + system) per process name of this stack: its
    PostgreSQL (children of its postmaster) and every process started with
    STACK_DIR=stack_dir in its environment."""
    try:
        with open(f"{stack_dir}/data/pg/postmaster.pid") as f:
            postmaster = int(f.readline())
    except (OSError, ValueError):
        postmaster = -1
    mark = f"STACK_DIR={stack_dir}\0".encode()
    out = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                st = f.read()
            rest = st[st.rindex(")") + 2:].split()
            name = st[st.index("(") + 1:st.rindex(")")]
            if int(p) == postmaster or int(rest[1]) == postmaster:
                name = "postgres"
            else:
                with open(f"/proc/{p}/environ", "rb") as f:
                    if mark not in f.read():
                        continue
            out[name] = out.get(name, 0) + int(rest[11]) + int(rest[12])
        except (OSError, ValueError, IndexError):
            continue
    return out


def spooled(stack_dir):
    """Updates waiting in the host's spool (lib/botspool.c's records)."""
    n = 0
    d = os.environ.get("BOT_SPOOL_DIR") or f"{stack_dir}/data/bot-spool"
    for name in ("inbox.spool", "inbox.spool.draining"):
        try:
            with open(os.path.join(d, name), "rb") as f:
                while True:
                    hdr = f.read(35)
                    if len(hdr) < 35:
                        break
                    f.seek(int(hdr[17:25], 16) + 1, os.SEEK_CUR)
                    n += 1
        except (OSError, ValueError):
            pass
    return n


def stack_sh(stack_dir, db_port, *args, **env):
    subprocess.run(["bash", f"{ROOT}/scripts/stack.sh", *args], check=True,
                   stdout=subprocess.DEVNULL,
                   env=dict(os.environ, STACK_DIR=stack_dir, DB_PORT=str(db_port), **env))


def nginx_times(stack_dir, since):
    """request_time (ms) of each POST /telegram/webhook in nginx's access
    log from byte offset since on, by status: the time on the server's
    side, without the load generator's own scheduling."""
    out = {}
    try:
        with open(f"{stack_dir}/logs/access.log", "rb") as f:
            f.seek(since)
            for line in f:
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                if e.get("uri") == "/telegram/webhook":
                    out.setdefault(e["status"], []).append(float(e["request_time"]) * 1000)
    except OSError:
        pass
    return out


def stats(ms):
    ms = sorted(ms)
    if not ms:
        return "no answers"

    def pct(p):
        return ms[min(len(ms) - 1, int(len(ms) * p))]
    return f"p50 {pct(0.50):.2f} ms  p99 {pct(0.99):.2f} ms  max {ms[-1]:.2f} ms"


def main():
    port, db_port, stack_dir, secret, token = (int(sys.argv[1]), int(sys.argv[2]), sys.argv[3],
                                               sys.argv[4], sys.argv[5])
    rate, seconds = float(sys.argv[6]), float(sys.argv[7])
    with_worker = (os.environ.get("BENCH_WEBHOOK_WORKER", "1") != "0"
                   and os.environ.get("BENCH_WEBHOOK_NO_WORKER") != "1")
    # The fake Bot API in a process of its own: in this one it would
    # compete with the load generator's threads for the interpreter lock.
    fake = subprocess.Popen([sys.executable, "-c", FAKE_MAIN, token], stdout=subprocess.PIPE,
                            stdin=subprocess.PIPE, text=True)
    fake_base = f"http://127.0.0.1:{fake.stdout.readline().strip()}"
    stack_sh(stack_dir, db_port, "bot-stop")
    if with_worker:
        stack_sh(stack_dir, db_port, "bot-start", TELEGRAM_API_BASE=fake_base, BOT_TOKEN=token,
                 BOT_WORKER="1")
    db = pymongo.MongoClient(f"mongodb://127.0.0.1:{db_port}/", serverSelectionTimeoutMS=5000)
    try:
        time.sleep(0.5)
        n = int(rate * seconds)
        bodies = [json.dumps(update(i)).encode() for i in range(n)]
        lat = [None] * n
        codes = [None] * n
        control = []
        control_codes = []
        lock = threading.Lock()

        def one(i, due):
            code = post(port, secret, bodies[i])
            with lock:
                lat[i] = time.monotonic() - due
                codes[i] = code

        def forbidden(i, due):
            code = post(port, "not-the-secret", bodies[i])
            with lock:
                control.append((time.monotonic() - due) * 1000)
                control_codes.append(code)

        load0 = loadavg()
        cpu0 = cpu_ticks(stack_dir)
        try:
            log0 = os.path.getsize(f"{stack_dir}/logs/access.log")
        except OSError:
            log0 = 0
        t0 = time.monotonic() + 0.1
        with ThreadPoolExecutor(max_workers=64) as pool:
            for i in range(n):
                due = t0 + i / rate
                d = due - time.monotonic()
                if d > 0:
                    time.sleep(d)
                pool.submit(one, i, due)
                if i % 5 == 2:
                    pool.submit(forbidden, i, due)
        load_end = time.monotonic()
        cpu1 = cpu_ticks(stack_dir)
        load1 = loadavg()
        non200 = sum(1 for c in codes if c != 200)
        pending = db.oshxona.tg_inbox.count_documents({}) + spooled(stack_dir)
        during = n - pending
        print(f"{'POST /telegram/webhook at %.0f/s' % rate:34s} {n:8d} updates  "
              f"{stats(x * 1000 for x in lat if x is not None)}  non-200 {non200}")
        print(f"{'  control: wrong secret (403)':34s} {len(control):8d} requests "
              f"{stats(control)}  non-403 {sum(1 for c in control_codes if c != 403)}")
        for status, ms in sorted(nginx_times(stack_dir, log0).items()):
            print(f"  nginx request_time, {status}: {len(ms)} requests  {stats(ms)}")
        print(f"  load average {load0} before, {load1} after; {os.cpu_count()} cores")
        used = {k: (cpu1[k] - cpu0.get(k, 0)) / os.sysconf("SC_CLK_TCK") for k in cpu1}
        print("  CPU seconds during the load: " + ", ".join(
            f"{k} {v:.1f}" for k, v in sorted(used.items(), key=lambda kv: -kv[1]) if v >= 0.05))
        if with_worker:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and pending > 0:
                time.sleep(0.5)
                pending = db.oshxona.tg_inbox.count_documents({}) + spooled(stack_dir)
            took = time.monotonic() - t0
            handled = n - pending
            fake.stdin.write("count\n")
            fake.stdin.flush()
            sent = int(fake.stdout.readline())
            print(f"  bot worker: {during} handled during the {load_end - t0:.0f} s of load "
                  f"({during / (load_end - t0):.1f}/s); {handled} of {n} after {took:.1f} s "
                  f"({handled / took:.1f}/s); {sent} messages sent (Bot API limit ~30/s)")
        if non200:
            sys.exit(1)
    finally:
        if with_worker:
            stack_sh(stack_dir, db_port, "bot-stop")
        fake.terminate()
        fake.wait(timeout=10)


if __name__ == "__main__":
    main()
