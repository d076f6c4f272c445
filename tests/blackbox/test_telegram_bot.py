"""OshxonaBot end to end: Update JSON as Telegram sends it, posted to
/telegram/webhook of a private stack, handled by the bot worker, answered
through the fake Bot API (which records every call). A whole order in
Uzbek and one in Russian, checked in the messages and keyboards, in the
database and on the branch's Nchan channel; the staff chat's buttons; and
what must not break it: a wrong secret, malformed updates, unknown or
stale buttons, a product gone mid-checkout, a closed branch."""

import os
import subprocess
import threading
import time

import pytest
from bson import ObjectId

from bot_helpers import SECRET, STAFF_CHAT, STAFF_TG, BotStack, Chat
from harness import BIN, private_stack, wait_until
from orders_helpers import EventSource, fresh_telegram_id, next_event, status_text


@pytest.fixture(scope="module")
def bot(request):
    with private_stack(request, "bot", BotStack) as st:
        yield st


@pytest.fixture(autouse=True)
def open_branches(bot):
    """Every test starts with the demo branches open and products in stock."""
    bot.db.branches.update_many({}, {"$set": {"isOpen": True, "isActive": True}})
    bot.db.products.update_many({"isActive": True}, {"$set": {"isAvailable": True}})
    bot.tg.mode = "ok"
    bot.tg.fail_methods.clear()
    yield


def is_new_order(order_id):
    return lambda ev: ev.get("event") == "new-order" and ev.get("data", {}).get("_id") == order_id


def signed_up(bot, lang="uz", name="Sardor"):
    """A chat through /start, language and phone: at the main menu."""
    tg_id = fresh_telegram_id()
    chat = Chat(bot, tg_id, name, lang)
    chat.text("/start")
    chat.press(f"l:{lang}")
    chat.contact(f"+99890{tg_id % 10_000_000:07d}")
    return chat


def fill_cart(bot, chat, product="Toʻy oshi", qty=2):
    pid = bot.pid(product)
    chat.text("🍽 Menyu" if chat.language_code == "uz" else "🍽 Меню")
    cat = str(bot.product(product)["categoryId"])
    chat.press(f"c:{cat}")
    chat.press(f"p:{pid}")
    for n in range(2, qty + 1):
        chat.press(f"q:{pid}:{n}")
    chat.press(f"a:{pid}:{qty}")
    return pid


def to_confirmation(bot, chat, kind="p", branch="chilonzor"):
    chat.text("🛒 Savat" if chat.language_code == "uz" else "🛒 Корзина")
    chat.press("ko")
    chat.press(f"b:{bot.branch_id(branch)}")
    chat.press(f"t:{kind}")
    if kind == "d":
        chat.location(41.2995, 69.2401)
    elif kind == "i":
        chat.text("12")
    chat.press("m:cash")
    chat.press("s")


# ------------------------------------------------------------ whole orders


def test_whole_order_in_uzbek_reaches_board_db_and_staff_chat(bot):
    tg_id = fresh_telegram_id()
    chat = Chat(bot, tg_id, "Sardor", "uz")

    chat.text("/start")
    assert chat.texts() == ["Tilni tanlang 👇\nВыберите язык 👇"]
    assert {d for _, d in chat.buttons()} == {"l:uz", "l:ru"}

    chat.press("l:uz")
    assert chat.answers() == [None]
    assert "🇺🇿 O‘zbek tili tanlandi." in chat.texts()
    kb = chat.reply_keyboard()
    assert kb == [{"text": "📱 Raqamni yuborish", "request_contact": True}]

    chat.contact("998901112233")
    kb = chat.reply_keyboard()
    assert [b["text"] for b in kb] == ["🍽 Menyu", "🛒 Savat", "📦 Buyurtmalarim",
                                       "📍 Filiallar", "⚙️ Sozlamalar"]
    user = bot.db.users.find_one({"telegramId": tg_id})
    assert user["phone"] == "+998901112233" and user["language"] == "uz"

    chat.text("🍽 Menyu")
    active = bot.db.categories.count_documents({"isActive": True})
    cats = [d for _, d in chat.buttons()]
    assert len(cats) == active and all(d.startswith("c:") for d in cats)
    assert chat.texts() == ["Bo‘limni tanlang:"]

    pid = bot.pid("Toʻy oshi")
    cat = str(bot.product("Toʻy oshi")["categoryId"])
    chat.press(f"c:{cat}")
    # Edited in place: the category list becomes the product list.
    edits = chat.sent("editMessageText")
    assert len(edits) == 1 and not chat.sent("sendMessage")
    assert ("Toʻy oshi — 45 000", f"p:{pid}") in chat.buttons()

    chat.press(f"p:{pid}")
    card = chat.sent("editMessageText")[-1]["text"]
    assert "Toʻy oshi" in card and "Narxi: 45 000 so‘m" in card and "✅ Mavjud" in card
    assert (("➕", f"q:{pid}:2") in chat.buttons() and ("🛒 Savatga qo‘shish", f"a:{pid}:1")
            in chat.buttons())
    chat.press(f"q:{pid}:2")
    assert ("🛒 Savatga qo‘shish", f"a:{pid}:2") in chat.buttons()
    chat.press(f"a:{pid}:2")
    assert chat.answers() == ["Savatga qo‘shildi ✅"]

    chat.text("🛒 Savat")
    cart = chat.texts()[-1]
    assert "Toʻy oshi × 2 = 90 000" in cart and "Jami: 90 000 so‘m" in cart
    chat.press(f"k+:{pid}")
    assert "Toʻy oshi × 3 = 135 000" in chat.sent("editMessageText")[-1]["text"]
    chat.press(f"k-:{pid}")
    assert "Toʻy oshi × 2 = 90 000" in chat.sent("editMessageText")[-1]["text"]

    chat.press("ko")
    assert chat.sent("editMessageText")[-1]["text"] == "Filialni tanlang:"
    branches = [d for _, d in chat.buttons()]
    assert f"b:{bot.branch_id('chilonzor')}" in branches
    chat.press(f"b:{bot.branch_id('chilonzor')}")
    assert {d for _, d in chat.buttons()} == {"t:d", "t:p", "t:i"}
    chat.press("t:d")
    kb = chat.reply_keyboard()
    assert kb == [{"text": "📍 Lokatsiyani yuborish", "request_location": True}]
    chat.location(41.2995, 69.2401)
    assert {d for _, d in chat.buttons()} == {"m:cash", "m:card", "m:click", "m:payme"}
    chat.press("m:cash")
    assert chat.buttons() == [("O‘tkazib yuborish", "s")]
    chat.text("Domofon 12, qo‘ng‘iroq qiling")
    confirm = chat.texts()[-1]
    for part in ("Buyurtmangizni tekshiring:", "Toʻy oshi × 2 = 90 000",
                 "Filial: Oshxona Chilonzor", "Yetkazib berish: 10 000 so‘m",
                 "Jami: 100 000 so‘m", "Izoh: Domofon 12, qo‘ng‘iroq qiling"):
        assert part in confirm, (part, confirm)

    staff = bot.staff["chilonzor"]
    board = EventSource(bot.stack.port, f"/sub/branch/{bot.branch_id('chilonzor')}",
                        staff.headers)
    try:
        assert board.status == 200
        n_before = bot.count_orders()
        chat.press("y")
        order = bot.db.orders.find_one({"user": user["_id"]})
        assert order is not None and bot.count_orders() == n_before + 1
        _, ev = next_event(board, 5.0, is_new_order(str(order["_id"])))
    finally:
        board.close()
    assert ev["data"]["total"] == 100000 and ev["data"]["number"] == order["number"]
    assert order["total"] == 100000 and order["deliveryFee"] == 10000
    assert [(i["name"], i["quantity"], i["price"]) for i in order["items"]] == [
        ("Toʻy oshi", 2, 45000)]
    assert order["orderType"] == "delivery" and order["paymentMethod"] == "cash"
    assert order["location"] == {"lat": 41.2995, "lng": 69.2401}
    assert order["phone"] == "+998901112233" and order["comment"].startswith("Domofon")
    assert order["customer"]["telegramId"] == tg_id and order["status"] == "pending"
    assert order["idempotencyKey"].startswith("tg:")
    placed = f"✅ Buyurtma #{order['number']} qabul qilindi. Jami: 100 000 so‘m."
    assert any(t.startswith(placed) for t in chat.texts())
    assert bot.db.tg_chats.find_one({"_id": tg_id})["cart"] == []

    # The branch's staff chat hears of it with confirm/cancel buttons.
    oid = str(order["_id"])
    wait_until(lambda: bot.tg.calls_of("sendMessage", STAFF_CHAT), 10, what="staff message")
    staff_msg = [m for m in bot.tg.calls_of("sendMessage", STAFF_CHAT)
                 if f"#{order['number']}" in m["text"]][-1]
    assert "Toʻy oshi × 2 = 90 000" in staff_msg["text"] and "+998901112233" in staff_msg["text"]
    buttons = [b["callback_data"] for row in staff_msg["reply_markup"]["inline_keyboard"]
               for b in row]
    assert buttons == [f"sc:{oid}", f"sx:{oid}"]

    # Someone in the group who is not linked to the branch's staff: refused.
    stranger = Chat(bot, fresh_telegram_id(), "Begona", "uz", chat_id=STAFF_CHAT,
                    chat_type="supergroup")
    stranger.press(f"sx:{oid}", staff_msg["_result"]["message_id"])
    assert stranger.answers() == ["Telegram hisobingiz bu filial xodimiga bog‘langmagan."
                                  .replace("bog‘langmagan", "bog‘lanmagan")]
    assert bot.db.orders.find_one({"_id": order["_id"]})["status"] == "pending"

    # The linked operator confirms: the same status change as the board's.
    operator = Chat(bot, STAFF_TG, "Operator", "uz", chat_id=STAFF_CHAT, chat_type="supergroup")
    operator.press(f"sc:{oid}", staff_msg["_result"]["message_id"])
    got = bot.db.orders.find_one({"_id": order["_id"]})
    assert got["status"] == "confirmed" and got["version"] == 1
    assert got["statusHistory"][-1]["updatedBy"] == bot.db.staff.find_one(
        {"login": "chilonzor"})["_id"]
    assert bot.db.order_events.find_one({"_id": f"{oid}:1"})["byKind"] == "staff"
    edited = operator.sent("editMessageText")[-1]
    assert "✅ Tasdiqlandi" in edited["text"] and edited["reply_markup"]["inline_keyboard"] == []
    # The customer hears it in Uzbek, through the outbox path.
    wait_until(lambda: bot.tg.count(status_text("uz", order["number"], "confirmed")) == 1, 5,
               what="customer status message")

    # A second press (a double tap before the buttons went): the 409 rule, told politely.
    operator.press(f"sc:{oid}", staff_msg["_result"]["message_id"])
    assert operator.answers() == [status_text("uz", order["number"], "confirmed")]
    assert bot.db.orders.find_one({"_id": order["_id"]})["status"] == "confirmed"

    chat.text("📦 Buyurtmalarim")
    mine = chat.texts()[-1]
    assert mine.startswith("📦 So‘nggi buyurtmalaringiz:")
    assert f"Buyurtma #{order['number']}: tasdiqlandi — 100 000" in mine


def test_whole_order_in_russian_pickup(bot):
    tg_id = fresh_telegram_id()
    chat = Chat(bot, tg_id, "Ольга", "ru")
    chat.text("/start")
    chat.press("l:ru")
    assert "🇷🇺 Выбран русский язык." in chat.texts()
    assert chat.texts()[-1] == "Чтобы заказывать, отправьте свой номер телефона 👇"
    # Someone else's contact is not taken as the customer's phone.
    chat.contact("+998907778899", user_id=tg_id + 1)
    assert chat.texts() == ["Пожалуйста, отправьте свой номер кнопкой внизу."]
    chat.contact("+998 90 777 88 99")
    assert [b["text"] for b in chat.reply_keyboard()][:2] == ["🍽 Меню", "🛒 Корзина"]

    pid = fill_cart(bot, chat, "Toʻy oshi", 3)
    card = chat.sent("editMessageText", since=0)
    assert any("Цена: 45 000 сум" in c["text"] and "Свадебный плов" in c["text"] for c in card)
    chat.text("🛒 Корзина")
    assert "Свадебный плов × 3 = 135 000" in chat.texts()[-1]
    chat.press("ko")
    chat.press(f"b:{bot.branch_id('yunusobod')}")
    chat.press("t:p")
    chat.press("m:card")
    assert chat.sent("editMessageText")[-1]["text"].startswith("Напишите комментарий")
    chat.press("s")
    confirm = chat.sent("editMessageText")[-1]["text"]
    assert "Проверьте заказ:" in confirm and "Итого: 135 000 сум" in confirm
    assert "Доставка" not in confirm and "Оплата: 💳 Карта" in confirm

    board = EventSource(bot.stack.port, f"/sub/branch/{bot.branch_id('yunusobod')}",
                        bot.staff["owner"].headers)
    try:
        chat.press("y")
        user = bot.db.users.find_one({"telegramId": tg_id})
        order = bot.db.orders.find_one({"user": user["_id"]})
        _, ev = next_event(board, 5.0, is_new_order(str(order["_id"])))
    finally:
        board.close()
    assert order["orderType"] == "pickup" and order["paymentMethod"] == "card"
    assert order["total"] == 135000 and order["phone"] == "+998907778899"
    assert order["customer"]["language"] == "ru"
    assert f"✅ Заказ №{order['number']} принят. Итого: 135 000 сум." in chat.texts()[-1]
    assert ev["data"]["items"][0]["quantity"] == 3
    # Yunusobod has no staff chat: nothing is sent to one.
    assert not [m for m in bot.tg.calls_of("sendMessage", STAFF_CHAT)
                if f"#{order['number']}" in m["text"] and "Yunusobod" in m["text"]]

    # The board moves it; the customer hears each step in Russian.
    bot.advance(str(order["_id"]), ["confirmed", "preparing"], bot.staff["owner"])
    wait_until(lambda: bot.tg.count(status_text("ru", order["number"], "preparing")) == 1, 5,
               what="status message")
    chat.text("📦 Мои заказы")
    assert f"Заказ №{order['number']}: готовится — 135 000" in chat.texts()[-1]
    assert pid


# -------------------------------------------------------- what must not break


def test_wrong_or_missing_secret_is_403_and_stores_nothing(bot):
    before = bot.db.tg_inbox.count_documents({})
    chat = Chat(bot, fresh_telegram_id())
    upd = chat.message(text="/start")
    for secret in (None, "", "wrong", SECRET[:-1], SECRET + "x"):
        r = bot.webhook(upd, secret=secret)
        assert r.status == 403, (secret, r)
        assert r.json["success"] is False
    time.sleep(0.3)
    assert bot.db.tg_inbox.count_documents({}) == before
    assert upd["update_id"] not in bot.spooled()
    assert not chat.sent(since=0)
    assert bot.db.tg_chats.find_one({"_id": chat.chat_id}) is None


def test_only_post(bot):
    r = bot.api.request("GET", "/telegram/webhook",
                        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert r.status == 405


@pytest.mark.parametrize("raw", [
    b"", b"not json", b"[1,2,3]", b'{"update_id": "7"}', b'{"message": {}}',
    b'{"update_id": 5, "message": {"chat": {"id": 1}}}',
    b'{"update_id": 5, "callback_query": {"id": "1", "from": {"id": 3}, "data": "'
    + b"x" * 65 + b'"}}',
    b'{"update_id": 5, "message": {"message_id": 1, "chat": {"id": 1, "type": "private"},'
    b' "location": {"latitude": 95, "longitude": 0}}}',
    b"{" * 5000,
])
def test_malformed_update_is_200_logged_and_harmless(bot, raw):
    before = bot.db.tg_inbox.count_documents({})
    r = bot.webhook(None, raw=raw)
    assert r.status == 200, r
    assert bot.db.tg_inbox.count_documents({}) == before
    assert bot.spooled() == []
    # The queue behind it still moves.
    chat = Chat(bot, fresh_telegram_id())
    chat.text("/start")
    assert chat.texts() == ["Tilni tanlang 👇\nВыберите язык 👇"]


def test_too_large_update_is_dropped_with_200(bot):
    chat = Chat(bot, fresh_telegram_id())
    upd = chat.message(text="x" * 70000)
    r = bot.webhook(upd)
    assert r.status == 200
    time.sleep(0.3)
    assert bot.db.tg_chats.find_one({"_id": chat.chat_id}) is None


def test_redelivered_update_is_handled_once(bot):
    chat = Chat(bot, fresh_telegram_id())
    upd = chat.message(text="/start")
    chat.post(upd)
    first = len(chat.sent(since=0))
    chat.post(upd)  # Telegram retries when it missed our 200
    time.sleep(0.5)
    assert len(chat.sent(since=0)) == first == 1


def test_unknown_and_stale_buttons_are_answered_and_change_nothing(bot):
    chat = signed_up(bot)
    pid = fill_cart(bot, chat, "Toʻy oshi", 1)
    state = bot.db.tg_chats.find_one({"_id": chat.chat_id})
    anyid = "65a0000000000000000000ff"
    for data in ("zz", "p:nothex", f"p:{anyid}", f"c:{anyid}", f"a:{pid}:0", f"a:{pid}:100",
                 f"a:{pid}", f"q:{pid}:x", f"k+:{anyid}", f"b:{bot.branch_id('chilonzor')}",
                 "t:d", "m:cash", "m:bitcoin", "y", f"sc:{anyid}", "sc:zz"):
        chat.press(data, 5)
        assert chat.answers() == ["Bu tugma eskirgan."], data
    after = bot.db.tg_chats.find_one({"_id": chat.chat_id})
    assert after["cart"] == state["cart"] and after["step"] == state["step"] == "menu"
    assert not bot.db.orders.find_one({"user": after["user"]})


def test_every_button_fits_64_bytes_and_the_fake_enforces_it(bot):
    # The fake refuses over-long callback data as Telegram does: every
    # keyboard the bot sent in this module went through that check.
    ok = [c for c in bot.tg.calls_of() if (c.get("reply_markup") or {}).get("inline_keyboard")]
    assert ok
    for c in ok:
        for row in c["reply_markup"]["inline_keyboard"]:
            for b in row:
                assert 1 <= len(b["callback_data"].encode()) <= 64


def test_product_gone_out_of_stock_mid_checkout(bot):
    chat = signed_up(bot)
    pid = fill_cart(bot, chat, "Toʻy oshi", 2)
    to_confirmation(bot, chat)
    bot.db.products.update_one({"_id": ObjectId(pid)}, {"$set": {"isAvailable": False}})
    n = bot.count_orders()
    keys = bot.db.idempotency_keys.count_documents({})
    chat.press("y")
    (answer,) = chat.answers()
    assert answer == "Kechirasiz, hozir mavjud emas: Toʻy oshi. Ularni savatdan olib tashlang."
    # The cart comes back marked, nothing was written.
    assert "❌ Toʻy oshi × 2" in chat.texts()[-1]
    assert bot.count_orders() == n
    assert bot.db.idempotency_keys.count_documents({}) == keys
    state = bot.db.tg_chats.find_one({"_id": chat.chat_id})
    assert [(str(l["p"]), l["q"]) for l in state["cart"]] == [(pid, 2)]
    # Adding it again is refused politely too.
    bot.db.products.update_one({"_id": ObjectId(pid)}, {"$set": {"isAvailable": True}})
    chat.press(f"k-:{pid}")
    chat.press(f"k-:{pid}")
    assert chat.sent("editMessageText")[-1]["text"].startswith("Savat bo‘sh")


def test_closed_branch_at_choice_and_at_confirmation(bot):
    chat = signed_up(bot, "ru", "Иван")
    fill_cart(bot, chat, "Toʻy oshi", 1)
    bid = bot.branch_id("chilonzor")
    bot.db.branches.update_one({"_id": ObjectId(bid)}, {"$set": {"isOpen": False}})
    chat.text("🛒 Корзина")
    chat.press("ko")
    assert f"{'Ошхона Чиланзар'} (закрыт)" in [t for t, _ in chat.buttons()]
    chat.press(f"b:{bid}")
    assert chat.answers() == ["Извините, этот филиал сейчас закрыт. Выберите другой или "
                              "попробуйте позже."]
    assert bot.db.tg_chats.find_one({"_id": chat.chat_id})["step"] == "branch"

    bot.db.branches.update_one({"_id": ObjectId(bid)}, {"$set": {"isOpen": True}})
    chat.press(f"b:{bid}")
    chat.press("t:p")
    chat.press("m:cash")
    chat.press("s")
    bot.db.branches.update_one({"_id": ObjectId(bid)}, {"$set": {"isOpen": False}})
    n = bot.count_orders()
    chat.press("y")
    assert chat.answers()[0].startswith("Извините, этот филиал сейчас закрыт")
    assert bot.count_orders() == n
    assert chat.sent("editMessageText")[-1]["text"] == "Выберите филиал:"


def test_price_changed_between_confirmation_and_press(bot):
    chat = signed_up(bot)
    pid = fill_cart(bot, chat, "Toʻy oshi", 1)
    to_confirmation(bot, chat)
    bot.db.products.update_one({"_id": ObjectId(pid)}, {"$set": {"price": 47000}})
    try:
        n = bot.count_orders()
        chat.press("y")
        text = chat.sent("editMessageText")[-1]["text"]
        assert text.startswith("Narxlar o‘zgardi") and "Jami: 47 000 so‘m" in text
        assert bot.count_orders() == n
        chat.press("y")
        assert bot.count_orders() == n + 1
    finally:
        bot.db.products.update_one({"_id": ObjectId(pid)}, {"$set": {"price": 45000}})


def test_dine_in_asks_for_the_table(bot):
    chat = signed_up(bot)
    fill_cart(bot, chat, "Toʻy oshi", 1)
    chat.text("🛒 Savat")
    chat.press("ko")
    chat.press(f"b:{bot.branch_id('chilonzor')}")
    chat.press("t:i")
    chat.text("abc")
    assert chat.texts() == ["Stol raqami 1 dan 999 gacha bo‘lsin."]
    chat.text("1000")
    assert chat.texts() == ["Stol raqami 1 dan 999 gacha bo‘lsin."]
    chat.text("12")
    chat.press("m:cash")
    chat.press("s")
    chat.press("y")
    user = bot.db.users.find_one({"telegramId": chat.user_id})
    order = bot.db.orders.find_one({"user": user["_id"]})
    assert order["orderType"] == "dine_in" and order["tableNumber"] == 12


def test_delivery_address_as_text_and_min_order(bot):
    chat = signed_up(bot)
    fill_cart(bot, chat, "Toʻy oshi", 1)  # 45 000 < the 50 000 minimum
    chat.text("🛒 Savat")
    chat.press("ko")
    chat.press(f"b:{bot.branch_id('chilonzor')}")
    chat.press("t:d")
    chat.text("uy")
    assert chat.texts() == ["Manzil 5 tadan 300 tagacha belgidan iborat bo‘lsin."]
    chat.text("Chilonzor 9-kvartal, 12-uy")
    chat.press("m:cash")
    chat.press("s")
    n = bot.count_orders()
    chat.press("y")
    assert chat.answers() == ["Yetkazib berish uchun eng kam buyurtma: 50 000 so‘m."]
    assert bot.count_orders() == n


def test_messages_before_signup_and_in_groups(bot):
    chat = Chat(bot, fresh_telegram_id())
    chat.text("salom")
    assert chat.texts() == ["Tilni tanlang 👇\nВыберите язык 👇"]
    chat.press("k", 7)
    assert chat.answers() == ["Bu tugma eskirgan."]
    group = Chat(bot, fresh_telegram_id(), chat_id=-100555, chat_type="group")
    upd = group.message(text="/start")
    bot.webhook(upd)
    time.sleep(0.5)
    assert not bot.tg.calls_of(None, -100555)


def test_sending_keeps_one_message_a_second_per_chat(bot):
    chat = signed_up(bot)
    sends = [c["_at"] for c in chat.sent("sendMessage", since=0)]
    assert len(sends) >= 3
    gaps = [b - a for a, b in zip(sends, sends[1:])]
    assert min(gaps) >= 0.95, gaps


def test_429_retry_after_is_honoured(bot):
    chat = signed_up(bot)
    time.sleep(1.1)  # past the chat's one-message-a-second gap
    bot.tg.retry_after = 1
    bot.tg.fail_methods["sendMessage"] = "429"
    t0 = time.monotonic()
    threading.Timer(0.5, lambda: bot.tg.fail_methods.pop("sendMessage", None)).start()
    chat.text("📦 Buyurtmalarim")
    assert chat.texts() == ["Sizda hali buyurtmalar yo‘q."]
    assert chat.sent("sendMessage")[0]["_at"] - t0 >= 0.9
    assert any(p.endswith("/sendMessage") and s == 429 for p, s in bot.tg.requests)


def test_web_app_data_reports_the_order(bot):
    chat = signed_up(bot)
    fill_cart(bot, chat, "Toʻy oshi", 1)
    to_confirmation(bot, chat)
    chat.press("y")
    user = bot.db.users.find_one({"telegramId": chat.user_id})
    order = bot.db.orders.find_one({"user": user["_id"]})
    chat.post(chat.message(web_app_data={"data": f'{{"orderId": "{order["_id"]}"}}',
                                         "button_text": "Menyu"}))
    assert chat.texts() == [status_text("uz", order["number"], "pending")]
    other = signed_up(bot)
    other.post(other.message(web_app_data={"data": f'{{"orderId": "{order["_id"]}"}}',
                                           "button_text": "Menyu"}))
    assert other.texts() == ["Ilovadan kelgan ma’lumot tushunarsiz."]
    # The shape is a table (bot_webapp_schema): open, orderId an id.
    oid = str(order["_id"])
    for data in ("not json", "[]", "{}", '{"orderId": 5}', '{"orderId": {"$ne": null}}',
                 f'{{"orderId": "{oid.upper()}x"}}', f'{{"orderId": "{oid}", "orderId": "{oid}"}}'):
        chat.post(chat.message(web_app_data={"data": data, "button_text": "Menyu"}))
        assert chat.texts() == ["Ilovadan kelgan ma’lumot tushunarsiz."], data
    chat.post(chat.message(web_app_data={"data": f'{{"orderId": "{oid.upper()}", "v": 2}}',
                                         "button_text": "Menyu"}))
    assert chat.texts() == [status_text("uz", order["number"], "pending")]


# ----------------------------------------------------- polling and set-up


def test_polling_mode_feeds_the_same_handler(bot):
    bot.stop_worker()
    try:
        bot.start_worker(TELEGRAM_MODE="polling", TELEGRAM_POLL_TIMEOUT="1")
        chat = Chat(bot, fresh_telegram_id(), "Aziz", "uz")
        chat.mark = len(bot.tg.calls)
        upd = chat.message(text="/start")
        bot.tg.push_update(upd)
        chat.wait_handled(upd)
        assert chat.texts() == ["Tilni tanlang 👇\nВыберите язык 👇"]
        polls = bot.tg.calls_of("getUpdates")
        assert polls and polls[-1]["allowed_updates"] == ["message", "callback_query"]
        # The confirmed update is not fetched again (offset moved past it).
        time.sleep(1.5)
        assert len(chat.sent(since=0)) == 1
        assert bot.tg.calls_of("deleteWebhook")
    finally:
        bot.stop_worker()
        bot.start_worker()


def test_register_sets_webhook_commands_and_menu_button(bot):
    env = bot.worker_env(TELEGRAM_WEBHOOK_URL="https://api.oshxona.test/telegram/webhook")
    r = subprocess.run([os.path.join(BIN, "oshxona-bot"), "register"], env=env,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    hook = bot.tg.webhook
    assert hook["url"] == "https://api.oshxona.test/telegram/webhook"
    assert hook["secret_token"] == SECRET
    assert hook["allowed_updates"] == ["message", "callback_query"]
    cmds = bot.tg.calls_of("setMyCommands")[-2:]
    assert [c["command"] for c in cmds[0]["commands"]] == ["start", "menu", "cart", "orders"]
    assert cmds[1]["language_code"] == "ru" and cmds[1]["commands"][1]["description"] == "Меню"
    button = bot.tg.calls_of("setChatMenuButton")[-1]["menu_button"]
    assert button["type"] == "web_app" and button["web_app"]["url"] == "https://shop.oshxona.test"

    bad = subprocess.run([os.path.join(BIN, "oshxona-bot"), "register"],
                         env=dict(env, TELEGRAM_WEBHOOK_SECRET="has space"),
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0


def test_product_with_photo_is_a_photo_card_edited_by_caption(bot):
    chat = signed_up(bot)
    name = "Toʻy oshi"
    pid = bot.pid(name)
    bot.db.products.update_one({"_id": ObjectId(pid)}, {"$set": {"image": {
        "url": "/media/0123456789abcdef0123456789abcdef.jpg", "publicId": "x"}}})
    try:
        chat.text("🍽 Menyu")
        chat.press(f"c:{bot.product(name)['categoryId']}")
        chat.press(f"p:{pid}")
        (photo,) = chat.sent("sendPhoto")
        # A relative upload URL is made absolute with API_BASE_URL for Telegram to fetch.
        assert photo["photo"] == ("https://api.oshxona.test/media/"
                                  "0123456789abcdef0123456789abcdef.jpg")
        assert "Narxi: 45 000 so‘m" in photo["caption"]
        chat.press(f"q:{pid}:2")
        (cap,) = chat.sent("editMessageCaption")
        assert cap["message_id"] == photo["_result"]["message_id"]
        assert ("🛒 Savatga qo‘shish", f"a:{pid}:2") in chat.buttons()
        # Back to the list from a photo: a new text message (a photo has no text to edit).
        chat.press(f"c:{bot.product(name)['categoryId']}")
        assert chat.sent("sendMessage") and not chat.sent("editMessageText")
    finally:
        bot.db.products.update_one({"_id": ObjectId(pid)}, {"$set": {"image": None}})


def test_branches_and_switching_language_in_settings(bot):
    chat = signed_up(bot)
    chat.text("📍 Filiallar")
    listing = chat.texts()[-1]
    assert listing.startswith("📍 Filiallarimiz:")
    assert "Oshxona Chilonzor — hozir ochiq" in listing and "+998 71 200 12 12" in listing
    chat.text("⚙️ Sozlamalar")
    assert chat.texts()[-1].startswith("⚙️ Sozlamalar. Telefon: +99890")
    chat.press("sl")
    chat.press("l:ru")
    assert [b["text"] for b in chat.reply_keyboard()][0] == "🍽 Меню"
    assert bot.db.users.find_one({"telegramId": chat.user_id})["language"] == "ru"
    chat.text("📍 Филиалы")
    assert "Ошхона Чиланзар — сейчас открыт" in chat.texts()[-1]


def test_a_second_worker_on_the_host_steps_aside(bot):
    """One worker per host: the sending limits and the single writer of
    each chat's state depend on it."""
    second = subprocess.run([os.path.join(BIN, "oshxona-bot"), "run"], env=bot.worker_env(),
                            timeout=20)
    assert second.returncode == 0
    chat = Chat(bot, fresh_telegram_id())
    chat.text("/start")
    assert chat.texts() == ["Tilni tanlang 👇\nВыберите язык 👇"]


def test_a_lost_race_drops_the_whole_write(bot):
    """Another writer (a worker on a second host) claimed the chat's next
    version first: this write is dropped whole, never mixed into the cart."""
    chat = signed_up(bot)
    pid = fill_cart(bot, chat, "Toʻy oshi", 1)
    before = bot.db.tg_chats.find_one({"_id": chat.chat_id})
    bot.db.tg_chat_versions.insert_one({"_id": f"{chat.chat_id}:{before['version'] + 1}"})
    upd = chat.callback(f"a:{pid}:5", 5)
    chat.mark = len(bot.tg.calls)
    bot.webhook(upd)
    wait_until(lambda: chat.answers(), 10, what="the callback's answer")
    time.sleep(0.5)
    after = bot.db.tg_chats.find_one({"_id": chat.chat_id})
    assert after == before
    assert "changed meanwhile" in (bot.dir / "logs" / "oshxona-bot.log").read_text()


def test_sending_stays_under_30_a_second_overall(bot):
    """70 new chats at once: the first 30 answers may leave together (a
    full bucket), the rest at 30 a second, so the 70 take over 1.3 s."""
    chats = [Chat(bot, fresh_telegram_id()) for _ in range(70)]
    mark = len(bot.tg.calls)
    updates = [c.message(text="/start") for c in chats]
    for u in updates:
        assert bot.webhook(u).status == 200
    ids = {c.chat_id for c in chats}
    wait_until(lambda: len([p for p in bot.tg.calls_of("sendMessage", since=mark)
                            if p["chat_id"] in ids]) == 70, 30, what="70 answers")
    times = sorted(p["_at"] for p in bot.tg.calls_of(None, since=mark) if p.get("chat_id") in ids)
    assert times[-1] - times[0] >= (70 - 30) / 30 - 0.1, times[-1] - times[0]
    # No one-second window holds more than the bucket plus a second's refill.
    assert max(sum(1 for t in times if s <= t < s + 1.0) for s in times) <= 61


def test_staff_linked_with_the_tool_confirms_and_unlinked_is_refused(bot):
    """oshxona-staff telegram links a staff member's Telegram account: its
    press in the branch's staff chat counts; after --unlink the same
    account is refused. No hand-edited database."""
    tg = fresh_telegram_id()
    for bad in ("0", "-5", "12x", "", "99999999999999999999"):
        p = bot.staff_tool("telegram", "yunusobod", bad, check=False)
        assert p.returncode == 2 and "not a Telegram user id" in p.stderr, (bad, p.stderr)
    p = bot.staff_tool("telegram", "nobody", str(tg), check=False)
    assert p.returncode == 1 and "no staff member 'nobody'" in p.stderr
    p = bot.staff_tool("telegram", "yunusobod", str(STAFF_TG), check=False)
    assert p.returncode == 1 and "linked to 'chilonzor' already" in p.stderr
    assert "telegramId" not in bot.db.staff.find_one({"login": "yunusobod"})
    assert bot.staff_tool("telegram", "Yunusobod", str(tg)).stdout.startswith("linked")
    assert bot.db.staff.find_one({"login": "yunusobod"})["telegramId"] == tg
    chat_id = -1001777000222
    branch = bot.branches["yunusobod"]["_id"]
    bot.db.branches.update_one({"_id": branch}, {"$set": {"staffChatId": chat_id}})
    try:
        customer = bot.customer("uz")
        orders = [bot.order(customer, branch="yunusobod") for _ in range(2)]

        def staff_message(o):
            got = [m for m in bot.tg.calls_of("sendMessage", chat_id)
                   if f"#{o['number']}" in m["text"]]
            return got[-1] if got else None
        wait_until(lambda: all(staff_message(o) for o in orders), 15, what="staff messages")
        operator = Chat(bot, tg, "Operator", "uz", chat_id=chat_id, chat_type="supergroup")
        first, second = orders
        operator.press(f"sc:{first['_id']}", staff_message(first)["_result"]["message_id"])
        assert bot.db.orders.find_one({"_id": ObjectId(first["_id"])})["status"] == "confirmed"

        assert bot.staff_tool("telegram", "yunusobod", "--unlink").stdout.startswith("unlinked")
        assert "telegramId" not in bot.db.staff.find_one({"login": "yunusobod"})
        operator.press(f"sc:{second['_id']}", staff_message(second)["_result"]["message_id"])
        assert operator.answers() == ["Telegram hisobingiz bu filial xodimiga bog‘lanmagan."]
        assert bot.db.orders.find_one({"_id": ObjectId(second["_id"])})["status"] == "pending"
    finally:
        bot.db.branches.update_one({"_id": branch}, {"$unset": {"staffChatId": ""}})
        bot.staff_tool("telegram", "yunusobod", "--unlink", check=False)


def test_stack_sh_runs_the_worker_of_make_run(bot):
    """scripts/stack.sh starts the worker with the stack's environment
    (`make run` and every test stack have bot handling) and stops it;
    without a BOT_TOKEN it starts none."""
    pid_file = bot.dir / "run" / "oshxona-bot.pid"
    bot.stop_worker()
    env = dict(bot.stack.env)
    try:
        bot.stack.env.update(BOT_WORKER="1", BOT_TOKEN="")
        out = bot.stack.stack_sh("bot-start").stdout
        assert "not started: no BOT_TOKEN" in out and not pid_file.exists()
        bot.stack.env.update(BOT_TOKEN=env["BOT_TOKEN"])
        bot.stack.stack_sh("bot-start")
        pid = int(pid_file.read_text())
        wait_until(lambda: os.path.exists(bot.wake), 10, what="the stack's worker")
        chat = Chat(bot, fresh_telegram_id())
        chat.text("/start")
        assert chat.texts() == ["Tilni tanlang 👇\nВыберите язык 👇"]
        # A worker started by hand next to it steps aside (one per host).
        second = subprocess.run([os.path.join(BIN, "oshxona-bot"), "run"],
                                env=bot.worker_env(OSHXONA_LOCK_DIR=str(bot.dir / "run")),
                                timeout=20)
        assert second.returncode == 0
        bot.stack.stack_sh("bot-stop")
        assert not pid_file.exists()
        wait_until(lambda: not os.path.exists(f"/proc/{pid}") or
                   open(f"/proc/{pid}/stat").read().split(") ")[1][0] == "Z", 10,
                   what="the stack's worker gone")
    finally:
        bot.stack.env.clear()
        bot.stack.env.update(env)
        bot.stack.stack_sh("bot-stop")
        if os.path.exists(bot.wake):
            os.unlink(bot.wake)
        bot.start_worker()


def test_update_taken_during_a_database_outage_is_handled_after_it(bot):
    """The webhook's 200 needs only the host's spool: an update that came
    while the database was down is handled once it is back. Only when
    neither the spool nor the database can take an update is the answer
    503, so that Telegram keeps it and tries again. (Last in this module:
    it restarts the database.)"""
    a, b = Chat(bot, fresh_telegram_id()), Chat(bot, fresh_telegram_id())
    ua, ub = a.message(text="/start"), b.message(text="/start")
    bot.stack.stack_sh("db-stop")
    try:
        assert bot.webhook(ua).status == 200
        assert ua["update_id"] in bot.spooled()
        # The spool unusable (here: its directory replaced by a file).
        os.rename(bot.spool, bot.spool + ".off")
        open(bot.spool, "w").close()
        try:
            r = bot.webhook(ub)
            assert r.status == 503 and r.json["success"] is False, r
        finally:
            os.unlink(bot.spool)
            os.rename(bot.spool + ".off", bot.spool)
    finally:
        bot.stack.stack_sh("db-start")
    a.wait_handled(ua, timeout=60)
    assert a.texts(since=0) == ["Tilni tanlang 👇\nВыберите язык 👇"]
    assert b.post(ub)  # Telegram's retry of the 503
    assert b.texts(since=0) == ["Tilni tanlang 👇\nВыберите язык 👇"]
    assert bot.spooled() == []
