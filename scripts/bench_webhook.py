"""The bot's webhook under a fixed arrival rate: POSTs realistic Telegram
updates (messages and button presses from many chats) to
/telegram/webhook at RATE a second for SECONDS, open loop (each request
leaves at its scheduled time whatever the others do, and its latency is
counted from that time, so a stall is not hidden), while the bot worker
handles them against a local fake Bot API. Prints the latency
percentiles, the non-200 count and what the worker got through.

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


def main():
    port, db_port, stack_dir, secret, token = (int(sys.argv[1]), int(sys.argv[2]), sys.argv[3],
                                               sys.argv[4], sys.argv[5])
    rate, seconds = float(sys.argv[6]), float(sys.argv[7])
    # The fake Bot API in a process of its own: in this one it would
    # compete with the load generator's threads for the interpreter lock.
    fake = subprocess.Popen([sys.executable, "-c", FAKE_MAIN, token], stdout=subprocess.PIPE,
                            stdin=subprocess.PIPE, text=True)
    fake_base = f"http://127.0.0.1:{fake.stdout.readline().strip()}"
    env = dict(os.environ, TELEGRAM_API_BASE=fake_base, BOT_TOKEN=token,
               MONGODB_URI=f"mongodb://127.0.0.1:{db_port}/oshxona",
               NCHAN_PUBLISH_SOCKET=f"{stack_dir}/run/nchan-publish.sock",
               OSHXONA_LOCK_DIR=f"{stack_dir}/run", OSHXONA_ENV_FILE="/dev/null",
               LOG_FILE=f"{stack_dir}/logs/oshxona-bot.log")
    worker = None
    if os.environ.get("BENCH_WEBHOOK_NO_WORKER") != "1":
        worker = subprocess.Popen([f"{ROOT}/build/bin/oshxona-bot", "run"], env=env)
    db = pymongo.MongoClient(f"mongodb://127.0.0.1:{db_port}/", serverSelectionTimeoutMS=5000)
    try:
        time.sleep(0.5)
        n = int(rate * seconds)
        bodies = [json.dumps(update(i)).encode() for i in range(n)]
        lat = [None] * n
        codes = [None] * n
        lock = threading.Lock()

        def one(i, due):
            code = post(port, secret, bodies[i])
            with lock:
                lat[i] = time.monotonic() - due
                codes[i] = code

        t0 = time.monotonic() + 0.1
        with ThreadPoolExecutor(max_workers=64) as pool:
            for i in range(n):
                due = t0 + i / rate
                d = due - time.monotonic()
                if d > 0:
                    time.sleep(d)
                pool.submit(one, i, due)
        ms = sorted(x * 1000 for x in lat if x is not None)

        def pct(p):
            return ms[min(len(ms) - 1, int(len(ms) * p))]

        non200 = sum(1 for c in codes if c != 200)
        print(f"{'POST /telegram/webhook at %.0f/s' % rate:34s} {n:8d} updates  p50 "
              f"{pct(0.50):.2f} ms  p99 {pct(0.99):.2f} ms  max {ms[-1]:.2f} ms  "
              f"non-200 {non200}")
        deadline = time.monotonic() + (60 if worker is not None else 0)
        while time.monotonic() < deadline and db.oshxona.tg_inbox.count_documents({}) > 0:
            time.sleep(0.5)
        handled = db.oshxona.tg_chats.count_documents({"_id": {"$gte": 880_000_000}})
        fake.stdin.write("count\n")
        fake.stdin.flush()
        sent = int(fake.stdout.readline())
        took = time.monotonic() - t0
        print(f"bot worker: {n - db.oshxona.tg_inbox.count_documents({})} of {n} updates "
              f"handled in {took:.1f} s ({handled} chats), {sent} messages sent "
              f"(Bot API limit ~30/s)")
        if non200:
            sys.exit(1)
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=10)
        fake.terminate()
        fake.wait(timeout=10)


if __name__ == "__main__":
    main()
