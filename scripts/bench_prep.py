"""Prepares the order benchmark on a running bench stack: opens the first
branch around the clock, signs a customer in through Telegram (the stack's
BOT_TOKEN), logs the owner in, and writes the wrk script that posts a
two-line pickup order with the customer's session.

usage: bench_prep.py PORT DB_PORT OUT_DIR BOT_TOKEN OWNER_PASSWORD
prints: BRANCH_ID OWNER_TOKEN
"""

import hashlib
import hmac
import http.client
import json
import sys
import time
import urllib.parse

import pymongo


def call(port, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    c.request(method, path, body=json.dumps(body).encode() if body is not None else None, headers=h)
    r = c.getresponse()
    data = r.read()
    if r.status >= 300:
        raise RuntimeError(f"{method} {path}: {r.status} {data[:200]!r}")
    return r, json.loads(data)


def main():
    port, db_port, out, bot, owner_pw = sys.argv[1:6]
    port = int(port)
    db = pymongo.MongoClient(f"mongodb://127.0.0.1:{db_port}/")["oshxona"]
    hours = {d: {"open": "00:00", "close": "24:00"}
             for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    db.branches.update_many({}, {"$set": {"workingHours": hours, "isOpen": True}})
    _, branches = call(port, "GET", "/api/branches")
    branch = branches["data"][0]["_id"]
    _, products = call(port, "GET", "/api/products?limit=2")
    fields = {"query_id": "bench", "auth_date": str(int(time.time())),
              "user": json.dumps({"id": 424242, "first_name": "Bench"})}
    dcs = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    key = hmac.new(b"WebAppData", bot.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(key, dcs.encode(), hashlib.sha256).hexdigest()
    r, _ = call(port, "POST", "/api/auth/telegram", {"initData": urllib.parse.urlencode(fields)})
    cookie = r.getheader("Set-Cookie").split(";")[0]
    _, login = call(port, "POST", "/api/auth/login", {"login": "owner", "password": owner_pw})
    order = {"items": [{"productId": p["_id"], "quantity": 1} for p in products["data"]],
             "orderType": "pickup", "paymentMethod": "cash", "branchId": branch}
    with open(f"{out}/order.lua", "w") as f:
        f.write('wrk.method = "POST"\n')
        f.write(f"wrk.body = {json.dumps(json.dumps(order))}\n")
        f.write('wrk.headers["Content-Type"] = "application/json"\n')
        f.write(f'wrk.headers["Cookie"] = "{cookie}"\n')
    print(branch, login["token"])


if __name__ == "__main__":
    main()
