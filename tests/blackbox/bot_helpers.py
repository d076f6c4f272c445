"""Driving OshxonaBot in black-box tests: a private stack (orders_helpers)
with the webhook secret set, the bot worker (build/bin/oshxona-bot run)
started against it, and a Chat that posts realistic Update JSON to
/telegram/webhook the way Telegram does and reads what the bot sent from
the fake Bot API's record of calls."""

import itertools
import json
import os
import subprocess
import time

from bson import ObjectId

from harness import BIN, wait_until
from orders_helpers import OrdersStack

SECRET = "oshxona-test-webhook-secret_0123456789"
STAFF_CHAT = -1001777000111
STAFF_TG = 555001  # the chilonzor operator's Telegram account
_update_ids = itertools.count(700_000_000 + (os.getpid() % 1000) * 100_000)
_message_ids = itertools.count(10)


def next_update_id():
    return next(_update_ids)


class BotStack(OrdersStack):
    OPTIONS = dict(OrdersStack.OPTIONS, bot=True, env=dict(
        OrdersStack.OPTIONS["env"], TELEGRAM_WEBHOOK_SECRET=SECRET,
        USER_FRONTEND_URL="https://shop.oshxona.test", API_BASE_URL="https://api.oshxona.test"))

    def __init__(self, stack):
        super().__init__(stack)
        self.db.branches.update_one({"_id": self.branches["chilonzor"]["_id"]},
                                    {"$set": {"staffChatId": STAFF_CHAT}})
        self.staff_tool("telegram", "chilonzor", str(STAFF_TG))
        self.start_worker()

    def staff_tool(self, *args, check=True):
        """tools/oshxona-staff against this stack's database."""
        p = subprocess.run([str(BIN / "oshxona-staff"), *args], env=self.worker_env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=30)
        if check:
            assert p.returncode == 0, p.stderr
        return p

    @property
    def spool(self):
        return self.env["BOT_SPOOL_DIR"]

    def spooled(self):
        """Update ids waiting in the host's spool (lib/botspool.c's records)."""
        ids = []
        for name in ("inbox.spool", "inbox.spool.draining"):
            try:
                with open(os.path.join(self.spool, name), "rb") as f:
                    data = f.read()
            except OSError:
                continue
            while len(data) >= 35:
                ids.append(int(data[:16], 16))
                data = data[35 + int(data[17:25], 16) + 1:]
        return ids

    def webhook(self, update, secret=SECRET, raw=None):
        h = {"Content-Type": "application/json"}
        if secret is not None:
            h["X-Telegram-Bot-Api-Secret-Token"] = secret
        body = raw if raw is not None else json.dumps(update, ensure_ascii=False).encode()
        return self.api.request("POST", "/telegram/webhook", headers=h, body=body, timeout=30)

    def category_id(self, key):
        name = {c["key"]: c["name"] for c in self.demo_categories()}[key]
        return str(self.db.categories.find_one({"name": name})["_id"])

    def demo_categories(self):
        from orders_helpers import DEMO
        return DEMO["categories"]


class Chat:
    """One customer (or a staff member in the staff group) talking to the bot."""

    def __init__(self, bot, user_id, first_name="Sardor", language_code="uz", chat_id=None,
                 chat_type="private"):
        self.bot = bot
        self.user_id = user_id
        self.first_name = first_name
        self.language_code = language_code
        self.chat_id = chat_id if chat_id is not None else user_id
        self.chat_type = chat_type
        self.mark = 0  # index into the fake's calls where the last action began

    def _from(self):
        return {"id": self.user_id, "is_bot": False, "first_name": self.first_name,
                "username": f"u{self.user_id}", "language_code": self.language_code}

    def _chat(self):
        if self.chat_type == "private":
            return {"id": self.chat_id, "first_name": self.first_name, "type": "private"}
        return {"id": self.chat_id, "title": "Oshxona staff", "type": self.chat_type}

    def message(self, **content):
        msg = {"message_id": next(_message_ids), "from": self._from(), "chat": self._chat(),
               "date": int(time.time())}
        msg.update(content)
        return {"update_id": next_update_id(), "message": msg}

    def callback(self, data, message_id, photo=False):
        msg = {"message_id": message_id, "from": {"id": 1, "is_bot": True, "first_name": "Oshxona"},
               "chat": self._chat(), "date": int(time.time())}
        if photo:
            msg["photo"] = [{"file_id": "AgAD", "file_unique_id": "x", "width": 90, "height": 90}]
        else:
            msg["text"] = "…"
        return {"update_id": next_update_id(),
                "callback_query": {"id": str(next_update_id()), "from": self._from(),
                                   "message": msg, "chat_instance": "42", "data": data}}

    def post(self, update, wait=True):
        self.mark = len(self.bot.tg.calls)
        r = self.bot.webhook(update)
        assert r.status == 200, r
        if wait:
            self.wait_handled(update)
        return update

    def wait_handled(self, update, timeout=20):
        """Until the worker has handled update: a private chat's state
        records it; a callback anywhere is answered."""
        uid = update["update_id"]
        if "callback_query" in update:
            cid = update["callback_query"]["id"]
            wait_until(lambda: any(p.get("callback_query_id") == cid
                                   for p in self.bot.tg.calls_of("answerCallbackQuery",
                                                                 since=self.mark)),
                       timeout, what=f"answer to callback of update {uid}")
        staff_button = update.get("callback_query", {}).get("data", "")[:3] in ("sc:", "sx:")
        if self.chat_type == "private" and not staff_button:
            wait_until(lambda: (self.bot.db.tg_chats.find_one({"_id": self.chat_id}) or {})
                       .get("lastUpdate", -1) >= uid, timeout, what=f"update {uid} handled")

    def text(self, text, **kw):
        return self.post(self.message(text=text), **kw)

    def contact(self, phone, user_id=None):
        return self.post(self.message(contact={
            "phone_number": phone, "first_name": self.first_name,
            "user_id": self.user_id if user_id is None else user_id}))

    def location(self, lat, lng):
        return self.post(self.message(location={"latitude": lat, "longitude": lng}))

    def press(self, data, message_id=None, photo=None):
        if message_id is None:
            message_id, on_photo = self.keyboard_message(data)
            photo = on_photo if photo is None else photo
        return self.post(self.callback(data, message_id, bool(photo)))

    # -------------------------------------------------------- reading

    def sent(self, method=None, since=None):
        return self.bot.tg.calls_of(method, self.chat_id, self.mark if since is None else since)

    def texts(self, since=None):
        out = []
        for c in self.sent(since=since):
            t = c.get("text", c.get("caption"))
            if t is not None:
                out.append(t)
        return out

    def answers(self):
        """Texts of the callback answers since the last action (None: silent)."""
        return [p.get("text") for p in self.bot.tg.calls_of("answerCallbackQuery", since=self.mark)]

    def keyboard_message(self, data):
        """(message_id, is_photo) of the newest message whose inline keyboard
        holds a button with this callback data."""
        for c in reversed(self.bot.tg.calls_of(None, self.chat_id)):
            kb = (c.get("reply_markup") or {}).get("inline_keyboard")
            if not kb:
                continue
            if any(b.get("callback_data") == data for row in kb for b in row):
                mid = c.get("message_id") or c["_result"]["message_id"]
                return mid, c["_method"] in ("sendPhoto", "editMessageCaption")
        raise AssertionError(f"no button {data!r} in chat {self.chat_id}")

    def buttons(self, since=None):
        """Every inline button (text, data) sent since the last action."""
        out = []
        for c in self.sent(since=since):
            for row in (c.get("reply_markup") or {}).get("inline_keyboard", []):
                out.extend((b["text"], b.get("callback_data")) for b in row)
        return out

    def reply_keyboard(self, since=None):
        for c in reversed(self.sent(since=since)):
            kb = (c.get("reply_markup") or {}).get("keyboard")
            if kb:
                return [b for row in kb for b in row]
        return None


def oid(x):
    return ObjectId(x) if isinstance(x, str) else x
