"""Who is asking: staff login and JWTs, customer sessions, Telegram sign-in,
CORS and rate limits, against the real stack.

Login failures are limited per client address, and every test here comes
from 127.0.0.1, which the local site trusts as its proxy: each test names
its own client address in X-Forwarded-For, so limits never leak between
tests (and the realip path is exercised on the way)."""

import base64
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

from bson import ObjectId
import pytest

from harness import BIN, DEMO_PATH, TEST_BOT_TOKEN, private_stack

BOT_TOKEN = TEST_BOT_TOKEN
DEMO = json.loads(DEMO_PATH.read_text(encoding="utf-8"))
STAFF = {s["login"]: s for s in DEMO["staff"]}
_ip_counter = [0]


def fresh_ip():
    """A client address no other test used."""
    _ip_counter[0] += 1
    n = _ip_counter[0]
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def secrets_of(stack):
    out = {}
    for line in (stack.dir / "secrets.env").read_text().splitlines():
        k, _, v = line.partition("=")
        out[k] = v
    return out


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def make_jwt(secret, payload, header=None):
    h = b64url(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode())
    p = b64url(json.dumps(payload).encode())
    sig = hmac.new(secret.encode(), f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{b64url(sig)}"


def post_json(api, path, body, headers=None):
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    return api.request("POST", path, headers=h, body=json.dumps(body).encode())


def login(api, name, password, ip=None):
    return post_json(api, "/api/auth/login", {"login": name, "password": password},
                     {"X-Forwarded-For": ip or fresh_ip()})


def cookie_from(resp, name):
    """(value, attributes) of the Set-Cookie for name."""
    for v in resp.header_all("Set-Cookie"):
        first, *attrs = [x.strip() for x in v.split(";")]
        k, _, val = first.partition("=")
        if k == name:
            return val, attrs
    raise AssertionError(f"no Set-Cookie {name}: {resp!r}")


def me(api, headers):
    return api.request("GET", "/api/auth/me", headers=headers)


def staff_tool(stack, *args, password=None):
    env = dict(stack.env, MONGODB_URI=stack.uri, OSHXONA_ENV_FILE="/dev/null")
    return subprocess.run([str(BIN / "oshxona-staff"), *args], env=env,
                          input=(password + "\n") if password else "", text=True,
                          capture_output=True, timeout=60)


# ------------------------------------------------------------------ login


def test_login_gives_token_and_cookie(api):
    r = login(api, "owner", STAFF["owner"]["password"])
    assert r.status == 200, r
    body = r.json
    assert body["success"] is True and body["staff"]["role"] == "owner"
    assert "passwordHash" not in body["staff"]
    value, attrs = cookie_from(r, "oshxona_token")
    assert value == body["token"]
    assert "HttpOnly" in attrs and "SameSite=Strict" in attrs and "Secure" not in attrs
    assert r.header("Cache-Control") == "no-store"
    for auth in ({"Authorization": f"Bearer {body['token']}"},
                 {"Cookie": f"oshxona_token={value}"}):
        m = me(api, auth)
        assert m.status == 200 and m.json["kind"] == "staff", m
        assert m.json["staff"]["login"] == "owner"


def test_login_is_case_insensitive_on_the_login(api):
    assert login(api, "OWNER", STAFF["owner"]["password"]).status == 200


def test_failed_logins_look_alike(api, stack):
    # A disabled account, made with the operator's command-line tool.
    assert staff_tool(stack, "create", "disabled-cook", "owner", password="right-password-1").returncode == 0
    assert staff_tool(stack, "disable", "disabled-cook").returncode == 0
    cases = {
        "wrong password": ("owner", "not-the-password"),
        "unknown login": ("nobody-here", "whatever-password"),
        "disabled account": ("disabled-cook", "right-password-1"),
    }
    # Rounds interleave the cases and each keeps its fastest try, so a
    # load spike from a busy machine does not fall on one case alone.
    times = {name: [] for name in cases}
    for _ in range(3):
        for name, (who, pw) in cases.items():
            t0 = time.monotonic()
            r = login(api, who, pw)
            times[name].append(time.monotonic() - t0)
            assert r.status == 401, (name, r)
            assert r.json == {"success": False, "message": "Invalid login or password"}, name
    timings = {name: min(t) for name, t in times.items()}
    # Every path does the same Argon2id work; the database lookups differ
    # by a millisecond or two. A factor of 2 leaves room for a busy machine.
    fastest, slowest = min(timings.values()), max(timings.values())
    assert slowest < 2 * fastest + 0.02, timings
    # The disabled account really is refused only for being disabled.
    assert staff_tool(stack, "enable", "disabled-cook").returncode == 0
    assert login(api, "disabled-cook", "right-password-1").status == 200


def test_sixth_failed_login_from_an_address_is_429(api):
    ip = fresh_ip()
    for i in range(5):
        r = login(api, f"guess{i}", "wrong-password", ip)
        assert r.status == 401, (i, r)
    r = login(api, "owner", STAFF["owner"]["password"], ip)
    assert r.status == 429, r
    retry = int(r.header("Retry-After"))
    assert 0 < retry <= 900
    assert r.json["success"] is False and r.json["retryAfter"] == retry
    # Another address is not affected.
    assert login(api, "owner", STAFF["owner"]["password"]).status == 200


def test_sixth_failed_login_on_an_account_is_429_from_any_address(api, mongo):
    for i in range(5):
        assert login(api, "yunusobod", f"wrong-{i}").status == 401
    r = login(api, "yunusobod", STAFF["yunusobod"]["password"])
    assert r.status == 429 and int(r.header("Retry-After")) > 0, r
    # The failures are documents in the database: every process and host
    # sees the same count.
    assert mongo.login_attempts.count_documents({"key": "login-account:yunusobod"}) == 5
    mongo.login_attempts.delete_many({"key": "login-account:yunusobod"})
    assert login(api, "yunusobod", STAFF["yunusobod"]["password"]).status == 200


@pytest.mark.parametrize("body,status", [
    (b"login=owner&password=x", 415),
    (b"{\"login\": \"owner\"}", 400),
    (b"{\"login\": {\"$gt\": \"\"}, \"password\": \"x\"}", 400),
    (b"{\"login\": \"owner\", \"password\": \"x\", \"role\": \"owner\"}", 400),
    (b"{\"login\": \"\", \"password\": \"x\"}", 422),
    (b"{\"login\": \"owner\", \"password\": \"" + b"x" * 300 + b"\"}", 422),
    (b"[1, 2]", 400),
    (b"{\"login\": \"owner\"", 400),
])
def test_bad_login_bodies(api, body, status):
    ctype = "application/x-www-form-urlencoded" if status == 415 else "application/json"
    r = api.request("POST", "/api/auth/login", body=body,
                    headers={"Content-Type": ctype, "X-Forwarded-For": fresh_ip()})
    assert r.status == status, r
    assert r.json["success"] is False and r.json["message"]


def test_login_wrong_method_is_405(api):
    r = api.get("/api/auth/login")
    assert r.status == 405 and "POST" in r.header("Allow"), r


# -------------------------------------------------------------------- JWT


@pytest.fixture(scope="module")
def owner_token(api):
    r = login(api, "owner", STAFF["owner"]["password"])
    assert r.status == 200
    return r.json["token"]


def test_jwt_tampering_is_401(api, stack, owner_token):
    secret = secrets_of(stack)["JWT_SECRET"]
    h, p, s = owner_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    now = int(time.time())
    flipped = bytearray(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    flipped[10] ^= 1
    cases = {
        "alg none": b64url(b'{"alg":"none","typ":"JWT"}') + "." + p + ".",
        "alg none signed": make_jwt(secret, claims, {"alg": "none", "typ": "JWT"}),
        "alg HS512 header": make_jwt(secret, claims, {"alg": "HS512", "typ": "JWT"}),
        "alg RS256 header": make_jwt(secret, claims, {"alg": "RS256", "typ": "JWT"}),
        "flipped payload byte": f"{h}.{b64url(bytes(flipped))}.{s}",
        "flipped signature byte": f"{h}.{p}.{s[:-2]}{'A' if s[-2] != 'A' else 'B'}{s[-1]}",
        "expired": make_jwt(secret, dict(claims, iat=now - 7200, exp=now - 1)),
        "wrong secret": make_jwt("x" * 64, claims),
        "garbage": "not.a.token",
    }
    for name, token in cases.items():
        r = me(api, {"Authorization": f"Bearer {token}"})
        assert r.status == 401, (name, r)
        assert r.json["success"] is False, name
    # The same forging code with the right inputs does pass, so the
    # refusals above are about the tampering.
    assert me(api, {"Authorization": f"Bearer {make_jwt(secret, claims)}"}).status == 200


def test_disabled_account_token_is_401(api, stack):
    assert staff_tool(stack, "create", "temp-operator", "owner", password="temp-password-1").returncode == 0
    token = login(api, "temp-operator", "temp-password-1").json["token"]
    assert me(api, {"Authorization": f"Bearer {token}"}).status == 200
    assert staff_tool(stack, "disable", "temp-operator").returncode == 0
    assert me(api, {"Authorization": f"Bearer {token}"}).status == 401


def test_staff_logout_revokes_earlier_tokens(api):
    first = login(api, "chilonzor", STAFF["chilonzor"]["password"]).json["token"]
    r = api.request("POST", "/api/auth/logout", headers={"Authorization": f"Bearer {first}"})
    assert r.status == 200, r
    value, attrs = cookie_from(r, "oshxona_token")
    assert value == "" and "Max-Age=0" in attrs
    assert me(api, {"Authorization": f"Bearer {first}"}).status == 401
    # A login right after the logout works at once.
    again = login(api, "chilonzor", STAFF["chilonzor"]["password"]).json["token"]
    assert me(api, {"Authorization": f"Bearer {again}"}).status == 200


def test_me_without_credentials_is_401(api):
    r = me(api, {})
    assert r.status == 401 and r.json["success"] is False


# --------------------------------------------------------------- Telegram


def init_data(bot_token=BOT_TOKEN, user_id=777001, auth_date=None, drop=(), extra=None):
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps({"id": user_id, "first_name": "Dilshod", "last_name": "Aliyev",
                            "username": "dilshod_a", "language_code": "ru"},
                           separators=(",", ":"), ensure_ascii=False),
        "auth_date": str(auth_date if auth_date is not None else int(time.time())),
    }
    fields.update(extra or {})
    dcs = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    key = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(key, dcs.encode(), hashlib.sha256).hexdigest()
    for k in drop:
        fields.pop(k)
    return urllib.parse.urlencode(fields, quote_via=urllib.parse.quote)


def widget_data(bot_token=BOT_TOKEN, user_id=777002, auth_date=None):
    fields = {"id": user_id, "first_name": "Malika", "username": "malika_t",
              "auth_date": auth_date if auth_date is not None else int(time.time())}
    dcs = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    key = hashlib.sha256(bot_token.encode()).digest()
    fields["hash"] = hmac.new(key, dcs.encode(), hashlib.sha256).hexdigest()
    return fields


def telegram(api, body):
    return post_json(api, "/api/auth/telegram", body)


def test_telegram_initdata_signs_in_and_session_works(api, mongo):
    r = telegram(api, {"initData": init_data(user_id=880001)})
    assert r.status == 200, r
    user = r.json["user"]
    assert user["telegramId"] == 880001 and user["language"] == "ru"
    sid, attrs = cookie_from(r, "oshxona_sid")
    assert len(sid) >= 32
    assert "HttpOnly" in attrs and "SameSite=Lax" in attrs and "Path=/" in attrs
    assert "Secure" not in attrs  # development mode
    assert f"Max-Age={30 * 24 * 3600}" in attrs
    m = me(api, {"Cookie": f"oshxona_sid={sid}"})
    assert m.status == 200 and m.json["kind"] == "customer", m
    assert m.json["user"]["id"] == user["id"]
    # The database holds a hash of the id, never the id.
    assert mongo.sessions.count_documents({"_id": sid}) == 0
    assert mongo.sessions.count_documents({"userId": ObjectId(user["id"])}) == 1


def test_telegram_same_user_twice_is_one_user(api, mongo):
    for _ in range(2):
        assert telegram(api, {"initData": init_data(user_id=880002, extra={"query_id": os.urandom(6).hex()})}).status == 200
    assert mongo.users.count_documents({"telegramId": 880002}) == 1


@pytest.mark.parametrize("case", ["byte", "hash", "missing hash", "old", "future", "other bot",
                                  "replay"])
def test_telegram_initdata_refused(api, case):
    good = init_data(user_id=880003, extra={"query_id": os.urandom(6).hex()})
    if case == "byte":
        data = good.replace("Dilshod", "Dilshoe")
    elif case == "hash":
        i = good.index("hash=") + 5
        data = good[:i] + ("0" if good[i] != "0" else "1") + good[i + 1:]
    elif case == "missing hash":
        data = init_data(user_id=880003, drop=("hash",))
    elif case == "old":
        data = init_data(user_id=880003, auth_date=int(time.time()) - 24 * 3600 - 60)
    elif case == "future":
        data = init_data(user_id=880003, auth_date=int(time.time()) + 3600)
    elif case == "other bot":
        data = init_data(bot_token="999:other-bot-token", user_id=880003)
    else:
        assert telegram(api, {"initData": good}).status == 200
        data = good
    r = telegram(api, {"initData": data})
    assert r.status == 401, (case, r)
    assert r.json["success"] is False


def test_telegram_login_widget(api):
    w = widget_data(user_id=880004)
    r = telegram(api, {"widget": w})
    assert r.status == 200 and r.json["user"]["telegramId"] == 880004, r
    bad = widget_data(user_id=880005)
    bad["first_name"] = "Malikb"
    assert telegram(api, {"widget": bad}).status == 401
    old = widget_data(user_id=880006, auth_date=int(time.time()) - 2 * 24 * 3600)
    assert telegram(api, {"widget": old}).status == 401


@pytest.mark.parametrize("body", [{}, {"initData": 5}, {"initData": "a", "widget": {}},
                                  {"widget": "x"}, {"initData": "a" * 5000}])
def test_telegram_bad_bodies(api, body):
    r = telegram(api, body)
    assert r.status in (400, 413), r
    assert r.json["success"] is False


# --------------------------------------------------------------- sessions


def customer_session(api, user_id):
    r = telegram(api, {"initData": init_data(user_id=user_id, extra={"query_id": os.urandom(6).hex()})})
    assert r.status == 200, r
    sid, _ = cookie_from(r, "oshxona_sid")
    return sid, ObjectId(r.json["user"]["id"])


def test_session_touch_at_most_once_a_day(api, mongo):
    sid, uid = customer_session(api, 880010)
    headers = {"Cookie": f"oshxona_sid={sid}"}
    for _ in range(5):
        r = me(api, headers)
        assert r.status == 200 and not r.header_all("Set-Cookie"), r
    doc = mongo.sessions.find_one({"userId": uid})
    assert doc["touches"] == 0
    # A day later the next request refreshes it, once.
    day_ago = datetime.now(timezone.utc) - timedelta(hours=25)
    mongo.sessions.update_one({"_id": doc["_id"]}, {"$set": {"touchedAt": day_ago,
                                                         "expiresAt": day_ago + timedelta(days=30)}})
    r = me(api, headers)
    assert r.status == 200
    _, attrs = cookie_from(r, "oshxona_sid")
    assert f"Max-Age={30 * 24 * 3600}" in attrs
    for _ in range(5):
        assert me(api, headers).status == 200
    doc = mongo.sessions.find_one({"_id": doc["_id"]})
    assert doc["touches"] == 1
    left = doc["expiresAt"].replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)
    assert timedelta(days=29, hours=23) < left <= timedelta(days=30)


def test_session_past_30_days_is_refused(api, mongo):
    sid, uid = customer_session(api, 880011)
    headers = {"Cookie": f"oshxona_sid={sid}"}
    assert me(api, headers).status == 200
    past = datetime.now(timezone.utc) - timedelta(days=31)
    mongo.sessions.update_one({"userId": uid}, {"$set": {"createdAt": past, "touchedAt": past,
                                                     "expiresAt": past + timedelta(days=30)}})
    assert me(api, headers).status == 401


def test_customer_logout_ends_session(api):
    sid, _ = customer_session(api, 880012)
    headers = {"Cookie": f"oshxona_sid={sid}"}
    r = api.request("POST", "/api/auth/logout", headers=headers)
    assert r.status == 200
    value, attrs = cookie_from(r, "oshxona_sid")
    assert value == "" and "Max-Age=0" in attrs
    assert me(api, headers).status == 401


@pytest.mark.parametrize("cookie", ["oshxona_sid=", "oshxona_sid=zz", "oshxona_sid=" + "a" * 64,
                                    "oshxona_sid=" + "a" * 5000, "garbage", "oshxona_sid=\x01"])
def test_bad_session_cookies_are_401(api, cookie):
    r = me(api, {"Cookie": cookie})
    assert r.status in (400, 401), r
    assert r.json["success"] is False


def test_purge_job_deletes_only_expired(api, stack, mongo):
    sid, uid = customer_session(api, 880013)
    live, dead = customer_session(api, 880014)
    past = datetime.now(timezone.utc) - timedelta(days=1)
    mongo.sessions.update_one({"userId": dead}, {"$set": {"expiresAt": past}})
    lockdir = tempfile.mkdtemp()
    try:
        env = dict(stack.env, MONGODB_URI=stack.uri, OSHXONA_ENV_FILE="/dev/null",
                   OSHXONA_LOCK_DIR=lockdir)
        p = subprocess.run([str(BIN / "purge-expired")], env=env,
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
    finally:
        shutil.rmtree(lockdir)
    assert mongo.sessions.count_documents({"userId": dead}) == 0
    assert mongo.sessions.count_documents({"userId": uid}) == 1
    assert mongo.sessions.count_documents({"expiresAt": {"$lte": datetime.now(timezone.utc)}}) == 0


# ------------------------------------------------------------------- CORS


def test_cors_allowed_origin(api):
    origin = "http://127.0.0.1:8080"  # ADMIN_PANEL_URL's default
    r = api.get("/api/categories", headers={"Origin": origin})
    assert r.status == 200
    assert r.header("Access-Control-Allow-Origin") == origin
    assert r.header("Access-Control-Allow-Credentials") == "true"
    assert "Origin" in r.header("Vary", "")


@pytest.mark.parametrize("origin", ["http://evil.example", "http://127.0.0.1:8080.evil.example",
                                    "http://127.0.0.1:8081", "https://127.0.0.1:8080", "null",
                                    "http://127.0.0.1:8080/"])
def test_cors_other_origins_get_no_cors_headers(api, origin):
    r = api.get("/api/categories", headers={"Origin": origin})
    assert r.status == 200
    assert not any(k.lower().startswith("access-control-") for k, _ in r.headers), r
    p = api.request("OPTIONS", "/api/auth/login", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST"})
    assert p.status == 403, p
    assert not any(k.lower().startswith("access-control-") for k, _ in p.headers), p


def test_cors_preflight(api):
    origin = "http://127.0.0.1:8080"
    r = api.request("OPTIONS", "/api/auth/login", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert r.status == 204, r
    assert r.header("Access-Control-Allow-Origin") == origin
    assert r.header("Access-Control-Allow-Credentials") == "true"
    assert "POST" in r.header("Access-Control-Allow-Methods")
    assert "Content-Type" in r.header("Access-Control-Allow-Headers")
    assert r.body == b""


# --------------------------------------------- production mode, rate limit

PROD_LIMIT = 20


@pytest.fixture(scope="module")
def prod(request):
    """A second stack with NODE_ENV=production and a lowered general limit."""
    with private_stack(request, "prod", env=dict(
            NODE_ENV="production", JWT_SECRET="j" * 40, SESSION_SECRET="s" * 40,
            BOT_TOKEN=BOT_TOKEN, RATE_LIMIT_API=str(PROD_LIMIT), RATE_LIMIT_ORDERS="10",
            ADMIN_PANEL_URL="https://admin.oshxona.example",
            USER_FRONTEND_URL="https://oshxona.example")) as st:
        yield st, st.api


def test_production_cookies_are_secure(prod):
    _, api = prod
    r = telegram(api, {"initData": init_data(user_id=880020)})
    assert r.status == 200, r
    _, attrs = cookie_from(r, "oshxona_sid")
    assert "Secure" in attrs and "HttpOnly" in attrs and "SameSite=Lax" in attrs
    # No demo staff in production: the demo passwords are public.
    assert login(api, "owner", STAFF["owner"]["password"]).status == 401
    r = api.get("/api/categories", headers={"Origin": "https://admin.oshxona.example"})
    assert r.header("Access-Control-Allow-Origin") == "https://admin.oshxona.example"


def test_general_limit_429_after_the_budget(prod):
    st, api = prod
    ip = fresh_ip()
    statuses = [api.get("/api/categories", headers={"X-Forwarded-For": ip}).status
                for _ in range(PROD_LIMIT)]
    assert statuses == [200] * PROD_LIMIT
    r = api.get("/api/categories", headers={"X-Forwarded-For": ip})
    assert r.status == 429, r
    assert r.json["success"] is False and r.json["retryAfter"] > 0
    assert int(r.header("Retry-After")) > 0
    assert r.header("X-Content-Type-Options") == "nosniff"
    # The limit is per client address.
    assert api.get("/api/categories", headers={"X-Forwarded-For": fresh_ip()}).status == 200


def test_order_creation_limit_is_the_seeds_10_per_5_minutes(prod):
    _, api = prod
    ip = fresh_ip()
    h = {"X-Forwarded-For": ip, "Content-Type": "application/json"}
    # Nobody signed in: each POST is a 401, and each one counts.
    statuses = [api.request("POST", "/api/orders", headers=h, body=b"{}").status
                for _ in range(10)]
    assert statuses == [401] * 10
    r = api.request("POST", "/api/orders", headers=h, body=b"{}")
    assert r.status == 429, r
    assert r.header("Retry-After") == "30" and r.json["retryAfter"] == 30
    # Only creating is limited: reading one's orders still reaches the program.
    assert api.get("/api/orders", headers={"X-Forwarded-For": ip}).status == 401


def test_nginx_errors_carry_cors_for_the_front_ends(prod):
    # A 429 or 413 from nginx itself must be readable by the storefront.
    _, api = prod
    ip = fresh_ip()
    good = {"X-Forwarded-For": ip, "Origin": "https://oshxona.example"}
    for _ in range(PROD_LIMIT):
        api.get("/api/categories", headers=good)
    r = api.get("/api/categories", headers=good)
    assert r.status == 429, r
    assert r.header("Access-Control-Allow-Origin") == "https://oshxona.example"
    assert r.header("Access-Control-Allow-Credentials") == "true"
    assert r.header("X-Content-Type-Options") == "nosniff" and r.header("Retry-After")
    evil = api.get("/api/categories", headers=dict(good, Origin="https://evil.example"))
    assert evil.status == 429
    assert not any(k.lower().startswith("access-control-") for k, _ in evil.headers)
    big = api.request("POST", "/api/auth/login", body=b"x" * 70000,
                      headers={"Origin": "https://oshxona.example", "X-Forwarded-For": fresh_ip(),
                               "Content-Type": "application/json"})
    assert big.status == 413 and big.json["success"] is False
    assert big.header("Access-Control-Allow-Origin") == "https://oshxona.example"
