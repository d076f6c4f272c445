"""A stand-in for the Telegram Bot API, for black-box tests.

It speaks the documented request and response format: POST
/bot<token>/<method> with a JSON body; every answer is {"ok": true,
"result": ...} or {"ok": false, "error_code", "description" [,
"parameters": {"retry_after"}]}. Methods: sendMessage (the customer status
messages and the bot), sendPhoto, editMessageText, editMessageCaption,
editMessageReplyMarkup, answerCallbackQuery, setWebhook, deleteWebhook,
setMyCommands, setChatMenuButton, getMe and getUpdates (long polling over
updates the test queues with push_update). Inline keyboards are checked as
Telegram does: callback_data of 1..64 bytes, else 400 BUTTON_DATA_INVALID.

    tg = FakeTelegram(token).start()        # port=0: any free port
    tg.base                                 # TELEGRAM_API_BASE for the C code
    tg.mode = "429"; tg.retry_after = 120   # "ok" | "error500" | "429" | "400" | "403"
    tg.delay = 0.2                          # seconds before each answer
    tg.messages                             # [(chat_id, text)] delivered, in order
    tg.calls                                # [(method, params, at, result)] answered ok
    tg.push_update({...})                   # served by getUpdates
    tg.stop(); tg.start(port=tg.port)       # down (connection refused), then up again
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("ok", "error500", "429", "400", "403")


class FakeTelegram:
    def __init__(self, token, host="127.0.0.1"):
        self.token = token
        self.host = host
        self.port = None
        self.mode = "ok"
        self.retry_after = 30
        self.delay = 0.0
        self.messages = []  # (chat_id, text) of every message answered ok
        self.requests = []  # (path, status) of every request, whatever the answer
        self.calls = []  # (method, params, monotonic time, result) of every call answered ok
        self.updates = []  # queued for getUpdates, oldest first
        self.webhook = None  # what setWebhook set
        self.fail_methods = {}  # method -> mode, e.g. {"sendPhoto": "429"}
        self._lock = threading.Lock()
        self._updates_cond = threading.Condition(self._lock)
        self._next_message_id = 1
        self._server = None
        self._thread = None

    # ----------------------------------------------------------- control

    @property
    def base(self):
        return f"http://{self.host}:{self.port}"

    @property
    def running(self):
        return self._server is not None

    def start(self, port=0):
        """Listens on port (0: a free one; the old port to come back up)."""
        if self._server is not None:
            raise RuntimeError("FakeTelegram is already running")
        server = ThreadingHTTPServer((self.host, port), self._handler_class())
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, name="fake-telegram",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Closes the listening socket: new connections are refused."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        self._thread.join(timeout=10)
        self._thread = None

    def reset(self):
        with self._lock:
            self.messages.clear()
            self.requests.clear()
            self.calls.clear()
            self.updates.clear()
            self.fail_methods.clear()
        self.mode = "ok"
        self.delay = 0.0

    def count(self, text):
        """How many times text was delivered."""
        with self._lock:
            return sum(1 for _, t in self.messages if t == text)

    def texts(self):
        with self._lock:
            return [t for _, t in self.messages]

    def push_update(self, update):
        with self._updates_cond:
            self.updates.append(update)
            self._updates_cond.notify_all()

    def calls_of(self, method=None, chat_id=None, since=0):
        """Every ok call (from index since) of method (any: None) to chat_id,
        as its params plus "_method", "_at" (monotonic) and "_result"."""
        with self._lock:
            return [dict(p, _method=m, _at=at, _result=r) for m, p, at, r in self.calls[since:]
                    if (method is None or m == method)
                    and (chat_id is None or p.get("chat_id") == chat_id)]

    # ------------------------------------------------------------ server

    def _answer(self, path, headers, body):
        """(status, reply object) for one request; records what it saw."""
        status, reply = self._decide(path, headers, body)
        with self._lock:
            self.requests.append((path, status))
        return status, reply

    def _decide(self, path, headers, body):
        parts = path.split("?", 1)[0].split("/")
        # "", "bot<token>", "<method>"
        if len(parts) != 3 or not parts[1].startswith("bot"):
            return 404, _error(404, "Not Found")
        if parts[1][3:] != self.token:
            return 401, _error(401, "Unauthorized")
        method = parts[2]
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return 400, _error(400, "Bad Request: expected a JSON body")
        try:
            req = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return 400, _error(400, "Bad Request: can't parse JSON")
        if not isinstance(req, dict):
            return 400, _error(400, "Bad Request: can't parse JSON")
        if method.lower() not in _METHODS:
            return 404, _error(404, "Not Found: method not found")
        handler = _METHODS[method.lower()]
        if method.lower() == "getupdates":
            return self._get_updates(req)
        if method.lower() in _NEEDS_CHAT:
            chat_id = req.get("chat_id")
            if not isinstance(chat_id, int) or isinstance(chat_id, bool):
                return 400, _error(400, "Bad Request: chat_id is empty")
        bad = _check_markup(req.get("reply_markup"))
        if bad:
            return 400, _error(400, f"Bad Request: {bad}")
        if method.lower() == "sendmessage":
            text = req.get("text")
            if not isinstance(text, str) or text == "":
                return 400, _error(400, "Bad Request: message text is empty")
            if len(text) > 4096:
                return 400, _error(400, "Bad Request: message is too long")

        if self.delay:
            time.sleep(self.delay)
        mode = self.fail_methods.get(method, self.mode)
        if mode == "error500":
            return 500, _error(500, "Internal Server Error")
        if mode == "429":
            r = _error(429, f"Too Many Requests: retry after {self.retry_after}")
            r["parameters"] = {"retry_after": self.retry_after}
            return 429, r
        if mode == "400":
            return 400, _error(400, "Bad Request: chat not found")
        if mode == "403":
            return 403, _error(403, "Forbidden: bot was blocked by the user")
        if mode != "ok":
            raise ValueError(f"unknown FakeTelegram mode {mode!r}")
        with self._lock:
            result = handler(self, req)
            self.calls.append((method, req, time.monotonic(), result))
            return 200, {"ok": True, "result": result}

    def _get_updates(self, req):
        offset = req.get("offset", 0)
        timeout = min(max(int(req.get("timeout", 0) or 0), 0), 5)
        deadline = time.monotonic() + timeout
        with self._updates_cond:
            # Updates below offset are confirmed: Telegram forgets them.
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            while not self.updates and time.monotonic() < deadline and self._server:
                self._updates_cond.wait(deadline - time.monotonic())
            out = list(self.updates[:100])
            self.calls.append(("getUpdates", req, time.monotonic(), out))
        return 200, {"ok": True, "result": out}

    def _new_message(self, req, extra):
        mid = self._next_message_id
        self._next_message_id += 1
        msg = {
            "message_id": mid,
            "from": {"id": 1, "is_bot": True, "first_name": "Oshxona"},
            "chat": {"id": req["chat_id"], "type": "private"},
            "date": int(time.time()),
        }
        msg.update(extra)
        return msg

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as libcurl expects
            # Headers and body leave in two writes: without TCP_NODELAY the
            # second waits for the client's delayed ACK (40 ms a call).
            disable_nagle_algorithm = True

            def do_POST(self):
                try:
                    n = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    n = -1
                if n < 0 or n > 1 << 20:
                    self._send(400, _error(400, "Bad Request: bad Content-Length"))
                    self.close_connection = True
                    return
                body = self.rfile.read(n)
                status, reply = fake._answer(self.path, self.headers, body)
                self._send(status, reply)

            def do_GET(self):
                self._send(405, _error(405, "Method Not Allowed"))

            def _send(self, status, obj):
                data = json.dumps(obj).encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def log_message(self, format, *args):  # noqa: A002 - the base's name
                pass

        return Handler


def _error(code, description):
    return {"ok": False, "error_code": code, "description": description}


def _check_markup(markup):
    """What Telegram would refuse in an inline keyboard, or None."""
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return None
    for row in markup["inline_keyboard"]:
        for b in row:
            data = b.get("callback_data")
            if data is not None and not (1 <= len(data.encode("utf-8")) <= 64):
                return "BUTTON_DATA_INVALID"
            if not b.get("text"):
                return "BUTTON_TEXT_EMPTY"
    return None


def _send_message(fake, req):
    fake.messages.append((req["chat_id"], req["text"]))
    return fake._new_message(req, {"text": req["text"]})


def _send_photo(fake, req):
    return fake._new_message(req, {"photo": [{"file_id": "AgAD", "width": 90, "height": 90}],
                                   "caption": req.get("caption", "")})


def _true(fake, req):
    return True


def _set_webhook(fake, req):
    fake.webhook = req
    return True


def _delete_webhook(fake, req):
    fake.webhook = None
    return True


def _get_me(fake, req):
    return {"id": 1, "is_bot": True, "first_name": "Oshxona", "username": "OshxonaBot"}


_METHODS = {
    "sendmessage": _send_message,
    "sendphoto": _send_photo,
    "editmessagetext": _true,
    "editmessagecaption": _true,
    "editmessagereplymarkup": _true,
    "answercallbackquery": _true,
    "setwebhook": _set_webhook,
    "deletewebhook": _delete_webhook,
    "setmycommands": _true,
    "setchatmenubutton": _true,
    "getme": _get_me,
    "getupdates": None,
}
_NEEDS_CHAT = {"sendmessage", "sendphoto", "editmessagetext", "editmessagecaption",
               "editmessagereplymarkup"}
