"""Image uploads (POST /api/admin/uploads) and the images nginx serves from
/media/, against private stacks of their own: one storing locally (the
default), one sending to Cloudinary (a fake, fake_cloudinary.py).

The upload zone allows 10 uploads a minute per client address, and every
request here comes from 127.0.0.1, which the local site trusts as its
proxy: each upload names its own client address in X-Forwarded-For, so
the limit is only met where a test means to meet it.
"""

import hashlib
import hmac
import json
import os
import re
import struct
import subprocess
import time
import urllib.parse
import zlib
from pathlib import Path

import pytest

from fake_cloudinary import signature
from harness import DEMO_PATH, TEST_BOT_TOKEN, private_stack

IMAGES = Path(__file__).resolve().parent / "images"
GPS_MARK = b"OSHXONA-GPS-41.2995N-69.2401E"
NAME_RE = re.compile(r"[0-9a-f]{32}\.(jpg|png|webp)")
MAX_BYTES = 5 * 1024 * 1024
STAFF = {s["login"]: s for s in json.loads(DEMO_PATH.read_text(encoding="utf-8"))["staff"]}
_ip = [0]


def fresh_ip():
    """A client address no other request here used."""
    _ip[0] += 1
    n = _ip[0]
    return f"10.77.{(n >> 8) & 255}.{n & 255}"


def image(name):
    return (IMAGES / name).read_bytes()


def multipart(parts, boundary="----OshxonaTestBoundary7MA4YWxkTrZu0gW"):
    """parts: (field name, filename or None, content type or None, bytes)."""
    out = b""
    for name, filename, ctype, data in parts:
        out += b"--" + boundary.encode() + b"\r\n"
        cd = f'Content-Disposition: form-data; name="{name}"'
        if filename is not None:
            cd += f'; filename="{filename}"'
        out += cd.encode() + b"\r\n"
        if ctype:
            out += f"Content-Type: {ctype}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    out += b"--" + boundary.encode() + b"--\r\n"
    return out, f"multipart/form-data; boundary={boundary}"


def post_upload(api, token, parts=None, data=None, filename="photo.jpg", ctype="image/jpeg",
                ip=None, content_type=None, body=None, headers=None):
    """POSTs one upload; by default one part "file" holding data."""
    if body is None:
        if parts is None:
            parts = [("file", filename, ctype, data)]
        body, ct = multipart(parts)
        content_type = content_type or ct
    h = {"X-Forwarded-For": ip or fresh_ip()}
    if content_type is not None:
        h["Content-Type"] = content_type
    if token:
        h["Authorization"] = f"Bearer {token}"
    h.update(headers or {})
    return api.request("POST", "/api/admin/uploads", headers=h, body=body, timeout=30)


def login(api, name="owner"):
    r = api.request("POST", "/api/auth/login",
                    headers={"Content-Type": "application/json", "X-Forwarded-For": fresh_ip()},
                    body=json.dumps({"login": name, "password": STAFF[name]["password"]}).encode())
    assert r.status == 200, r
    return r.json["token"]


def vips_header(data, tmpdir, suffix):
    """(width, height, every metadata line) of an image, read by libvips."""
    f = Path(tmpdir) / f"probe{suffix}"
    f.write_bytes(data)
    out = subprocess.run(["vipsheader", "-a", str(f)], check=True, capture_output=True,
                         text=True).stdout
    # the probe's own name and path are no metadata of the image
    out = "\n".join(ln for ln in out.splitlines()[1:] if not ln.startswith("filename:"))
    m = re.search(r"^width: (\d+)$", out, re.M)
    n = re.search(r"^height: (\d+)$", out, re.M)
    return int(m.group(1)), int(n.group(1)), out


def assert_error(r, status, words=None):
    assert r.status == status, r
    assert r.header("Content-Type", "").startswith("application/json"), r
    body = r.json
    assert body["success"] is False and body["message"], body
    if words:
        assert words.lower() in body["message"].lower(), body
    return body


def media_files(stack):
    return sorted(p.name for p in (stack.dir / "media").iterdir())


@pytest.fixture(scope="module")
def local(request):
    """A stack storing uploads in its own MEDIA_DIR."""
    with private_stack(request, "uploads") as st:
        yield st, st.api


@pytest.fixture(scope="module")
def token(local):
    return login(local[1])


@pytest.fixture()
def tmp(tmp_path):
    return tmp_path


# ------------------------------------------------------ accepted images


def test_jpeg_with_gps_is_shrunk_and_stripped(local, token, tmp):
    st, api = local
    original = image("photo_exif_gps.jpg")
    assert b"Exif" in original and GPS_MARK in original  # the test means something
    r = post_upload(api, token, data=original)
    assert r.status == 201, r
    assert r.header("Content-Type").startswith("application/json")
    body = r.json
    assert body["success"] is True
    d = body["data"]
    assert set(d) == {"url", "publicId", "width", "height", "format"}
    assert NAME_RE.fullmatch(d["publicId"]) and d["publicId"].endswith(".jpg"), d
    assert d["url"] == "/media/" + d["publicId"]
    assert (d["width"], d["height"], d["format"]) == (800, 600, "jpg")
    # On disk: our name, 0644, in MEDIA_DIR.
    f = st.dir / "media" / d["publicId"]
    assert f.is_file() and (f.stat().st_mode & 0o777) == 0o644
    # Served by nginx, cacheable forever, without any of the metadata.
    g = api.get(d["url"])
    assert g.status == 200, g
    assert g.header("Content-Type") == "image/jpeg"
    assert g.body == f.read_bytes()
    cc = ", ".join(g.header_all("Cache-Control"))
    assert "max-age=31536000" in cc and "immutable" in cc and "public" in cc, cc
    assert cc.count("max-age") == 1, cc
    assert g.header("Expires")
    assert g.header("X-Content-Type-Options") == "nosniff"
    assert g.body[:3] == b"\xff\xd8\xff"
    for marker in (b"Exif", GPS_MARK, b"OshxonaCam", b"http://ns.adobe.com/xap"):
        assert marker not in g.body, marker
    w, h, meta = vips_header(g.body, tmp, ".jpg")
    assert (w, h) == (800, 600)
    assert "exif" not in meta.lower() and "gps" not in meta.lower(), meta
    assert "icc-profile" not in meta.lower()


def test_small_png_is_not_enlarged_and_loses_its_text(local, token, tmp):
    _, api = local
    original = image("small_text.png")
    assert GPS_MARK in original
    r = post_upload(api, token, data=original, filename="menu.png", ctype="image/png")
    assert r.status == 201, r
    d = r.json["data"]
    assert (d["width"], d["height"], d["format"]) == (300, 200, "png"), d
    assert d["url"].endswith(".png")
    g = api.get(d["url"])
    assert g.status == 200 and g.header("Content-Type") == "image/png", g
    assert g.body[:8] == b"\x89PNG\r\n\x1a\n"
    assert GPS_MARK not in g.body and b"tEXt" not in g.body and b"eXIf" not in g.body
    w, h, _ = vips_header(g.body, tmp, ".png")
    assert (w, h) == (300, 200)


def test_webp_is_shrunk_and_stripped(local, token, tmp):
    _, api = local
    original = image("wide.webp")
    assert GPS_MARK in original
    r = post_upload(api, token, data=original, filename="wide.webp", ctype="image/webp")
    assert r.status == 201, r
    d = r.json["data"]
    assert (d["width"], d["height"], d["format"]) == (800, 400, "webp"), d
    g = api.get(d["url"])
    assert g.status == 200 and g.header("Content-Type") == "image/webp", g
    assert g.body[:4] == b"RIFF" and g.body[8:12] == b"WEBP"
    assert GPS_MARK not in g.body and b"EXIF" not in g.body and b"XMP " not in g.body
    w, h, meta = vips_header(g.body, tmp, ".webp")
    assert (w, h) == (800, 400) and "exif" not in meta.lower()


def test_type_comes_from_the_bytes_not_the_name(local, token):
    _, api = local
    r = post_upload(api, token, data=image("small_text.png"), filename="photo.jpg",
                    ctype="image/jpeg")
    assert r.status == 201, r
    d = r.json["data"]
    assert d["format"] == "png" and d["url"].endswith(".png"), d
    g = api.get(d["url"])
    assert g.header("Content-Type") == "image/png" and g.body[:4] == b"\x89PNG"


def test_filename_is_never_used(local, token):
    st, api = local
    before = set(media_files(st))
    outside = [st.dir / "x", st.dir.parent / "x", st.dir / "media" / "x"]
    # st.dir.parent is the shared /tmp: another user's /tmp/x is not ours.
    outside_before = {p: p.exists() and sorted(os.listdir(p)) if p.is_dir() else p.exists()
                      for p in outside}
    # A name with a path in it is a forged request: refused, not echoed.
    for evil in ("../../x", "/etc/x", '..\\\\..\\\\x', "a/../x.png", "x\x01.png", ".."):
        r = post_upload(api, token, data=image("small_text.png"), filename=evil)
        assert_error(r, 400)
        assert b"../" not in r.body and b"etc" not in r.body
    assert set(media_files(st)) == before
    # Any plain name is accepted, never used and never echoed.
    r = post_upload(api, token, data=image("small_text.png"),
                    filename="<img src=x onerror=alert(1)>.png")
    assert r.status == 201, r
    assert NAME_RE.fullmatch(r.json["data"]["publicId"])
    assert b"onerror" not in r.body
    after = set(media_files(st))
    assert len(after - before) == 1
    assert all(NAME_RE.fullmatch(n) for n in after), after  # no temporary file left either
    for p in outside:
        now = p.exists() and sorted(os.listdir(p)) if p.is_dir() else p.exists()
        assert now == outside_before[p], p
    # Refused uploads do not echo the name either.
    r = post_upload(api, token, data=b"<script>alert(1)</script>",
                    filename="<img src=x onerror=alert(1)>.jpg")
    assert_error(r, 415)
    assert b"onerror" not in r.body


# ------------------------------------------------------ refused uploads


def big_png_header(w, h, interlace=0):
    """A PNG whose header claims w x h (a decompression bomb's shape)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    row = b"\x00" + b"\x00" * (w * 3)
    idat = zlib.compress(row * 4, 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, interlace))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


@pytest.mark.parametrize("what,data,filename,status,words", [
    ("text named .jpg", b"just some text, not an image\n" * 10, "photo.jpg", 415, "JPEG, PNG"),
    ("GIF", None, "tiny.gif", 415, "JPEG, PNG and WebP"),
    ("SVG", b'<svg xmlns="http://www.w3.org/2000/svg"/>', "x.png", 415, "JPEG"),
    ("truncated JPEG", None, "truncated.jpg", 422, "damaged"),
    ("JPEG magic only", b"\xff\xd8\xff\xe0" + b"\x00" * 100, "x.jpg", 422, None),
    ("empty file", b"", "x.jpg", 422, "empty"),
    ("dimension bomb", None, "bomb.png", 422, "too large"),
    ("interlaced bomb", None, "bomb.png", 422, "interlaced PNG"),
])
def test_refused_files(local, token, what, data, filename, status, words):
    st, api = local
    if data is None:
        data = {"GIF": lambda: image("tiny.gif"),
                "truncated JPEG": lambda: image("truncated.jpg"),
                "dimension bomb": lambda: big_png_header(20000, 20000),
                "interlaced bomb": lambda: big_png_header(4000, 3001, interlace=1)}[what]()
    before = media_files(st)
    r = post_upload(api, token, data=data, filename=filename)
    assert_error(r, status, words)
    assert media_files(st) == before


def test_size_limits(local, token):
    st, api = local
    before = media_files(st)
    # 5 MB exactly is read (and then refused for what it is) ...
    exact = b"\xff\xd8\xff\xe0" + b"\x00" * (MAX_BYTES - 4)
    assert_error(post_upload(api, token, data=exact), 422)
    # ... one byte more is too large.
    r = post_upload(api, token, data=exact + b"\x00")
    assert_error(r, 413, "5 MB")
    # A declared length past the program's limit: refused before reading.
    r = post_upload(api, token, data=b"\x00" * (MAX_BYTES + 512 * 1024))
    assert_error(r, 413, "5 MB")
    # Past nginx's 6 MB: nginx answers, in the API's shape.
    r = post_upload(api, token, data=b"\x00" * (7 * 1024 * 1024))
    assert_error(r, 413)
    assert media_files(st) == before


def test_malformed_forms(local, token):
    st, api = local
    png = image("small_text.png")
    before = media_files(st)
    cases = [
        ("no file part", [("title", None, None, b"Osh")], "required"),
        ("two file parts", [("file", "a.png", "image/png", png),
                            ("file", "b.png", "image/png", png)], "one file"),
        ("file and another file", [("file", "a.png", None, png),
                                   ("other", "b.png", None, png)], "one file"),
        ("wrong field name", [("image", "a.png", "image/png", png)], "named \"file\""),
        ("five parts", [("file", "a.png", None, png)] + [(f"f{i}", None, None, b"x")
                                                         for i in range(4)], "malformed"),
    ]
    for what, parts, words in cases:
        r = post_upload(api, token, parts=parts)
        assert_error(r, 400, words)
    body, ct = multipart([("file", "a.png", "image/png", png)])
    # the closing boundary missing, a preamble, the wrong boundary
    assert_error(post_upload(api, token, body=body[: -len(b"--\r\n") - 10], content_type=ct),
                 400, "malformed")
    assert_error(post_upload(api, token, body=b"junk\r\n" + body, content_type=ct), 400)
    assert_error(post_upload(api, token, body=body,
                             content_type="multipart/form-data; boundary=other"), 400)
    assert media_files(st) == before


@pytest.mark.parametrize("content_type", [
    None, "application/json", "text/plain", "image/jpeg", "multipart/form-data",
    "multipart/mixed; boundary=abc", "multipart/form-data; boundary=",
    "application/x-www-form-urlencoded",
])
def test_not_multipart_is_415(local, token, content_type):
    _, api = local
    body, _ = multipart([("file", "a.png", "image/png", image("small_text.png"))])
    r = post_upload(api, token, body=body, content_type=content_type)
    assert_error(r, 415, "multipart/form-data")


def test_other_methods_are_405(local, token):
    _, api = local
    r = api.request("GET", "/api/admin/uploads",
                    headers={"Authorization": f"Bearer {token}", "X-Forwarded-For": fresh_ip()})
    assert_error(r, 405)
    assert "POST" in r.header("Allow", "")


def telegram_session(api, user_id):
    """A customer's session cookie, signed in with Mini App initData."""
    fields = {
        "query_id": os.urandom(6).hex(),
        "user": json.dumps({"id": user_id, "first_name": "Aziza"}, separators=(",", ":")),
        "auth_date": str(int(time.time())),
    }
    dcs = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    key = hmac.new(b"WebAppData", TEST_BOT_TOKEN.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(key, dcs.encode(), hashlib.sha256).hexdigest()
    r = api.request("POST", "/api/auth/telegram",
                    headers={"Content-Type": "application/json", "X-Forwarded-For": fresh_ip()},
                    body=json.dumps({"initData": urllib.parse.urlencode(fields)}).encode())
    assert r.status == 200, r
    for v in r.header_all("Set-Cookie"):
        k, _, rest = v.partition("=")
        if k == "oshxona_sid":
            return rest.split(";")[0]
    raise AssertionError(f"no session cookie: {r!r}")


def test_only_staff_may_upload(local):
    st, api = local
    png = image("small_text.png")
    before = media_files(st)
    assert_error(post_upload(api, None, data=png), 401)
    assert_error(post_upload(api, "not.a.token", data=png), 401)
    sid = telegram_session(api, 990001)
    r = post_upload(api, None, data=png, headers={"Cookie": f"oshxona_sid={sid}"})
    assert_error(r, 403)
    # An operator is staff: allowed.
    r = post_upload(api, login(api, "yunusobod"), data=png)
    assert r.status == 201, r
    assert len(media_files(st)) == len(before) + 1


def test_eleventh_upload_in_a_minute_is_429(local, token):
    _, api = local
    ip = fresh_ip()
    png = image("small_text.png")
    started = time.monotonic()
    statuses = [post_upload(api, token, data=png, ip=ip).status for _ in range(10)]
    r = post_upload(api, token, data=png, ip=ip)
    elapsed = time.monotonic() - started
    # One upload leaks out of the bucket every 6 s: all eleven must fit in that.
    assert elapsed < 6, f"too slow to test the limit ({elapsed:.1f} s)"
    assert statuses == [201] * 10, statuses
    body = assert_error(r, 429)
    assert r.header("Retry-After") == "6" and body["retryAfter"] == 6, r
    # Per address: another one may still upload.
    assert post_upload(api, token, data=png).status == 201


# ------------------------------------------------------------- /media/


def test_media_serves_only_our_names(local, token):
    _, api = local
    r = post_upload(api, token, data=image("small_text.png"))
    assert r.status == 201, r
    name = r.json["data"]["publicId"]
    assert api.get("/media/" + name).status == 200
    assert api.request("HEAD", "/media/" + name).status == 200
    missing = "0" * 32 + ".png"
    for path in ["/media/", "/media", "/media/" + missing, "/media/x.jpg",
                 "/media/" + name.upper(), "/media/" + name[:-4] + ".gif",
                 "/media/" + name + "/", "/media/" + name + ".bak", "/media/.tmp-" + name,
                 "/media/../etc/passwd", "/media/../../../../etc/passwd",
                 "/media/%2e%2e/%2e%2e/etc/passwd", "/media/..%2f..%2fetc%2fpasswd",
                 "/media/../media/" + missing]:
        g = api.get(path)
        # nginx itself refuses a path that climbs above the root (400).
        assert g.status in ((400, 404) if ".." in urllib.parse.unquote(path) else (404,)), \
            (path, g)
        assert g.header("Content-Type", "").startswith("application/json"), (path, g)
        assert g.json["success"] is False
        assert b"root:" not in g.body
    # Read-only.
    assert_error(api.request("POST", "/media/" + name, body=b"x"), 405)
    assert api.get("/media/" + name).status == 200


# ------------------------------------------- deletion (upload_delete)


def admin(api, token, method, path, body=None):
    h = {"Authorization": f"Bearer {token}", "X-Forwarded-For": fresh_ip()}
    if body is not None:
        h["Content-Type"] = "application/json"
    return api.request(method, path, headers=h,
                       body=json.dumps(body).encode() if body is not None else None)


def category_with_image(api, token, name, img):
    r = admin(api, token, "POST", "/api/admin/categories",
              {"name": name, "image": {"url": img["url"], "publicId": img["publicId"]}})
    assert r.status == 201, r
    return r.json["data"]["_id"]


def test_replaced_and_deleted_images_are_removed(local, token):
    """The catalogue admin calls upload_delete when an image is no longer
    used: the stored file goes, and only then."""
    st, api = local
    a = post_upload(api, token, data=image("small_text.png")).json["data"]
    b = post_upload(api, token, data=image("small_text.png")).json["data"]
    media = st.dir / "media"
    cid = category_with_image(api, token, "Rasmli toifa", a)
    # Replaced: the old file is gone, the new one served.
    r = admin(api, token, "PATCH", f"/api/admin/categories/{cid}",
              {"image": {"url": b["url"], "publicId": b["publicId"]}})
    assert r.status == 200, r
    assert not (media / a["publicId"]).exists()
    assert api.get(a["url"]).status == 404
    assert api.get(b["url"]).status == 200
    # Deleted with its owner: gone too.
    assert admin(api, token, "DELETE", f"/api/admin/categories/{cid}").status == 200
    assert not (media / b["publicId"]).exists()


# -------------------------------------------------------------- memory


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))


@pytest.mark.skipif(os.environ.get("OSHXONA_SANITIZED") == "1",
                    reason="AddressSanitizer's shadow memory and quarantine inflate RSS")
def test_children_stay_small(local, token):
    st, api = local
    jpeg = image("photo_exif_gps.jpg")
    for i in range(20):
        r = post_upload(api, token, data=jpeg)
        assert r.status == 201, r
    for pid in st.children("uploads"):
        kb = rss_kb(pid)
        # Measured about 25 MB (libvips and its libraries mapped in).
        assert kb < 100 * 1024, f"uploads child {pid}: VmRSS {kb} kB"


# ---------------------------------------------------------- Cloudinary


@pytest.fixture(scope="module")
def cloud(request):
    with private_stack(request, "cloudinary", cloudinary=True) as st:
        yield st, st.api, st.cloudinary, login(st.api)


def test_cloudinary_signed_upload(cloud, tmp):
    st, api, fake, token = cloud
    n = len(fake.requests)
    r = post_upload(api, token, data=image("photo_exif_gps.jpg"))
    assert r.status == 201, r
    d = r.json["data"]
    assert len(fake.requests) == n + 1
    req = fake.requests[-1]
    assert req["status"] == 200 and req["action"] == "upload"
    assert req["cloud"] == fake.cloud_name
    f = req["fields"]
    assert set(f) == {"api_key", "timestamp", "folder", "transformation", "signature"}, f
    assert f["api_key"] == fake.api_key
    assert f["folder"] == "oshxona"
    assert f["transformation"] == "c_limit,w_800,h_600,q_auto"
    assert abs(int(f["timestamp"]) - time.time()) < 60
    # The signature, computed here from Cloudinary's documented recipe.
    to_sign = (f"folder=oshxona&timestamp={f['timestamp']}"
               f"&transformation=c_limit,w_800,h_600,q_auto{fake.api_secret}")
    assert f["signature"] == hashlib.sha1(to_sign.encode()).hexdigest()
    assert f["signature"] == signature(f, fake.api_secret)
    # What left the host was already re-encoded: no EXIF, no GPS, 800 x 600.
    sent = req["file"]
    assert sent[:3] == b"\xff\xd8\xff" and b"Exif" not in sent and GPS_MARK not in sent
    w, h, _ = vips_header(sent, tmp, ".jpg")
    assert (w, h) == (800, 600)
    # The answer is Cloudinary's.
    assert d["url"].startswith("https://res.cloudinary.com/" + fake.cloud_name + "/")
    assert d["publicId"].startswith("oshxona/") and d["publicId"] in fake.assets
    assert d["url"].endswith("/" + d["publicId"] + ".jpg")
    assert (d["width"], d["height"], d["format"]) == (800, 600, "jpg")
    assert media_files(st) == []


def test_cloudinary_png_and_webp(cloud):
    _, api, fake, token = cloud
    r = post_upload(api, token, data=image("small_text.png"))
    assert r.status == 201 and r.json["data"]["format"] == "png", r
    assert (r.json["data"]["width"], r.json["data"]["height"]) == (300, 200)
    r = post_upload(api, token, data=image("wide.webp"))
    assert r.status == 201 and r.json["data"]["format"] == "webp", r
    assert GPS_MARK not in fake.requests[-1]["file"]


def test_cloudinary_failures_are_502(cloud):
    _, api, fake, token = cloud
    png = image("small_text.png")
    secret = fake.api_secret
    try:
        for mode in ("500", "garbage"):
            fake.mode = mode
            assert_error(post_upload(api, token, data=png), 502, "Image storage unavailable")
        fake.mode = "ok"
        # A signature the service refuses (as with a wrong API secret): 401 there, 502 here.
        fake.api_secret = "another-secret"
        n = len(fake.requests)
        assert_error(post_upload(api, token, data=png), 502, "Image storage unavailable")
        assert fake.requests[n]["status"] == 401
    finally:
        fake.mode = "ok"
        fake.api_secret = secret
    assert post_upload(api, token, data=png).status == 201


def test_cloudinary_mode_still_checks_locally(cloud):
    _, api, fake, token = cloud
    n = len(fake.requests)
    assert_error(post_upload(api, token, data=image("tiny.gif")), 415)
    assert_error(post_upload(api, token, data=image("truncated.jpg")), 422)
    assert_error(post_upload(api, None, data=image("small_text.png")), 401)
    assert len(fake.requests) == n  # nothing was sent


def test_cloudinary_destroy_when_an_image_goes(cloud):
    _, api, fake, token = cloud
    img = post_upload(api, token, data=image("small_text.png")).json["data"]
    assert img["publicId"] in fake.assets
    cid = category_with_image(api, token, "Bulutli toifa", img)
    n = len(fake.requests)
    assert admin(api, token, "DELETE", f"/api/admin/categories/{cid}").status == 200
    destroys = [q for q in fake.requests[n:] if q["action"] == "destroy"]
    assert len(destroys) == 1, fake.requests[n:]
    q = destroys[0]
    assert q["status"] == 200 and q["fields"]["public_id"] == img["publicId"]
    assert set(q["fields"]) == {"public_id", "api_key", "timestamp", "signature"}
    to_sign = f"public_id={img['publicId']}&timestamp={q['fields']['timestamp']}{fake.api_secret}"
    assert q["fields"]["signature"] == hashlib.sha1(to_sign.encode()).hexdigest()
    assert img["publicId"] not in fake.assets


def test_cloudinary_foreign_asset_is_never_destroyed(cloud):
    """Issue 12, item 4: a staff member set a product's image to any
    publicId of the account, then replaced it: the server deleted that
    asset. Only what this service uploaded (recorded then) is deleted."""
    _, api, fake, token = cloud
    with fake.lock:
        fake.assets["oshxona/not-ours-1"] = "jpg"
        fake.assets["brand/logo"] = "png"
    for pid in ("oshxona/not-ours-1", "brand/logo"):
        foreign = {"url": f"https://res.cloudinary.com/{fake.cloud_name}/image/upload/{pid}.jpg",
                   "publicId": pid}
        cid = category_with_image(api, token, f"Begona {pid}", foreign)
        ours = post_upload(api, token, data=image("small_text.png")).json["data"]
        n = len(fake.requests)
        r = admin(api, token, "PATCH", f"/api/admin/categories/{cid}",
                  {"image": {"url": ours["url"], "publicId": ours["publicId"]}})
        assert r.status == 200, r
        assert admin(api, token, "DELETE", f"/api/admin/categories/{cid}").status == 200
        destroyed = [q["fields"].get("public_id") for q in fake.requests[n:]
                     if q["action"] == "destroy"]
        assert pid not in destroyed and pid in fake.assets, destroyed
        # What this service uploaded still goes when it is no longer used.
        assert destroyed == [ours["publicId"]] and ours["publicId"] not in fake.assets


def test_local_image_not_uploaded_here_is_never_deleted(local, token):
    st, api = local
    media = st.dir / "media"
    name = "0123456789abcdef0123456789abcdef.png"
    (media / name).write_bytes(image("small_text.png"))
    cid = category_with_image(api, token, "Qo'lda qo'yilgan",
                              {"url": f"/media/{name}", "publicId": name})
    assert admin(api, token, "DELETE", f"/api/admin/categories/{cid}").status == 200
    assert (media / name).exists()
