"""A fake of Cloudinary's Upload API for the black-box tests, on 127.0.0.1.

POST /v1_1/<cloud_name>/image/upload and /image/destroy, as multipart/form-data,
checked the way Cloudinary documents them (authentication_signatures):
api_key is the account's, timestamp is within an hour of now, and signature
is the SHA-1 hex of every parameter except file, api_key, resource_type and
cloud_name, sorted by name, joined as k=v&k=v, followed directly by the API
secret. Uploads must also carry folder=oshxona and the incoming
transformation c_limit,w_800,h_600,q_auto. Answers have Cloudinary's JSON
shape; failures are {"error": {"message": ...}} with Cloudinary's statuses.

Every request is recorded in `requests` (fields without the file, the
file's bytes, the status answered). `mode` makes the next answers fail:
"ok", "500" (server error), "garbage" (200 with HTML).
"""

import hashlib
import json
import re
import secrets
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UNSIGNED = {"file", "api_key", "resource_type", "cloud_name", "signature"}
FOLDER = "oshxona"
TRANSFORMATION = "c_limit,w_800,h_600,q_auto"
LIMIT_W, LIMIT_H = 800, 600


def signature(params, secret):
    """Cloudinary's documented request signature (SHA-1)."""
    to_sign = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in UNSIGNED)
    return hashlib.sha1((to_sign + secret).encode()).hexdigest()


def image_info(data):
    """(format, width, height) from an image's header, or None."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return "png", w, h
    if data[:3] == b"\xff\xd8\xff":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            (seglen,) = struct.unpack(">H", data[i + 2:i + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", data[i + 5:i + 9])
                return "jpg", w, h
            i += 2 + seglen
        return None
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        kind = data[12:16]
        if kind == b"VP8 ":
            w, h = struct.unpack("<HH", data[26:30])
            return "webp", w & 0x3FFF, h & 0x3FFF
        if kind == b"VP8L":
            b = int.from_bytes(data[21:25], "little")
            return "webp", (b & 0x3FFF) + 1, ((b >> 14) & 0x3FFF) + 1
        if kind == b"VP8X":
            w = int.from_bytes(data[24:27], "little") + 1
            h = int.from_bytes(data[27:30], "little") + 1
            return "webp", w, h
    return None


def c_limit(w, h):
    """Cloudinary's c_limit: fit inside 800 x 600, never enlarge."""
    scale = min(LIMIT_W / w, LIMIT_H / h, 1.0)
    return max(1, round(w * scale)), max(1, round(h * scale))


class FakeCloudinary:
    def __init__(self, cloud_name="oshxona-test", api_key="614335564976464",
                 api_secret="fake-cloudinary-secret-0123456789"):
        self.cloud_name = cloud_name
        self.api_key = api_key
        self.api_secret = api_secret
        self.mode = "ok"
        self.requests = []
        self.assets = {}  # public_id -> format
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def do_POST(self):
                fake._handle(self)

            def do_GET(self):
                fake._answer(self, 404, {"error": {"message": "Not found"}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    # ---------------------------------------------------------- plumbing

    @staticmethod
    def _answer(h, status, obj=None, raw=None, ctype="application/json"):
        body = raw if raw is not None else json.dumps(obj).encode()
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    @staticmethod
    def _form(h):
        """The multipart/form-data fields: ({name: str}, the file's bytes),
        or (None, None) when the body is not one."""
        n = int(h.headers.get("Content-Length", "0"))
        body = h.rfile.read(n)
        m = re.match(r'multipart/form-data;.*boundary="?([^";]+)"?',
                     h.headers.get("Content-Type", ""))
        if not m:
            return None, None
        delim = b"\r\n--" + m.group(1).encode()
        chunks = (b"\r\n" + body).split(delim)
        if chunks[0] != b"" or not chunks[-1].startswith(b"--"):
            return None, None
        fields, file = {}, None
        for c in chunks[1:-1]:
            head, sep, data = c.partition(b"\r\n\r\n")
            if not head.startswith(b"\r\n") or not sep:
                return None, None
            nm = re.search(rb'Content-Disposition: form-data; name="([^"]*)"', head, re.I)
            if not nm:
                return None, None
            name = nm.group(1).decode()
            if name == "file":
                file = data
            elif name in fields:
                return None, None  # a parameter twice
            else:
                fields[name] = data.decode("utf-8")
        return fields, file

    def _handle(self, h):
        m = re.fullmatch(r"/v1_1/([^/]+)/image/(upload|destroy)", h.path)
        if not m:
            return self._answer(h, 404, {"error": {"message": "Not found"}})
        fields, file = self._form(h)
        rec = {"action": m.group(2), "cloud": m.group(1), "fields": fields, "file": file}
        status, obj = self._check(m.group(1), m.group(2), fields, file)
        with self.lock:
            mode = self.mode
            if status == 200 and mode != "ok":
                status = 500 if mode == "500" else 200
            rec["status"] = status
            self.requests.append(rec)
        if mode == "garbage" and status == 200:
            return self._answer(h, 200, raw=b"<html>maintenance</html>", ctype="text/html")
        if mode == "500" and status == 500:
            return self._answer(h, 500, {"error": {"message": "General Error"}})
        return self._answer(h, status, obj)

    def _check(self, cloud, action, fields, file):
        def error(status, message):
            return status, {"error": {"message": message}}

        if fields is None:
            return error(400, "Invalid multipart body")
        if cloud != self.cloud_name:
            return error(401, "cloud_name mismatch")
        if fields.get("api_key") != self.api_key:
            return error(401, "Unknown API key")
        ts = fields.get("timestamp", "")
        if not re.fullmatch(r"[0-9]{1,12}", ts):
            return error(400, "Missing required parameter - timestamp")
        if abs(time.time() - int(ts)) > 3600:
            return error(400, f"Stale request - reported time is {ts}")
        want = signature(fields, self.api_secret)
        if fields.get("signature") != want:
            to_sign = "&".join(f"{k}={v}" for k, v in sorted(fields.items())
                               if k not in UNSIGNED)
            return error(401, f"Invalid Signature {fields.get('signature')}. "
                              f"String to sign - '{to_sign}'.")
        if action == "destroy":
            pid = fields.get("public_id")
            if not pid:
                return error(400, "Missing required parameter - public_id")
            with self.lock:
                found = self.assets.pop(pid, None) is not None
            return 200, {"result": "ok" if found else "not found"}
        if fields.get("folder") != FOLDER:
            return error(400, f"unexpected folder {fields.get('folder')!r}")
        if fields.get("transformation") != TRANSFORMATION:
            return error(400, f"unexpected transformation {fields.get('transformation')!r}")
        if not file:
            return error(400, "Missing required parameter - file")
        info = image_info(file)
        if info is None:
            return error(400, "Invalid image file")
        fmt, w, h = info
        w, h = c_limit(w, h)
        version = int(time.time())
        pid = f"{FOLDER}/{secrets.token_hex(10)}"
        with self.lock:
            self.assets[pid] = fmt
        path = f"{self.cloud_name}/image/upload/v{version}/{pid}.{fmt}"
        return 200, {
            "asset_id": secrets.token_hex(16),
            "public_id": pid,
            "version": version,
            "version_id": secrets.token_hex(16),
            "signature": hashlib.sha1(f"public_id={pid}&version={version}{self.api_secret}"
                                      .encode()).hexdigest(),
            "width": w,
            "height": h,
            "format": fmt,
            "resource_type": "image",
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "tags": [],
            "bytes": len(file),
            "type": "upload",
            "etag": hashlib.md5(file).hexdigest(),
            "placeholder": False,
            "url": f"http://res.cloudinary.com/{path}",
            "secure_url": f"https://res.cloudinary.com/{path}",
            "folder": FOLDER,
            "original_filename": "upload",
        }
