"""OshxonaBot offers online payment: an order placed in the bot with Payme
or Click comes back with an inline URL button to the provider's checkout
(the same link GET /api/orders/{id}/pay gives the storefront), and "My
orders" carries one such button per unpaid online order — gone once the
order is paid or cancelled. Cash and card orders get no button.

A private bot stack (bot_helpers.BotStack) with test merchant settings;
the payments are driven through Payme's JSON-RPC as Payme would.
"""

import base64

import pytest

from bot_helpers import BotStack, Chat
from harness import private_stack, wait_until
from orders_helpers import cookie_value, fresh_telegram_id, init_data
from test_payments import (CLICK_CHECKOUT, CLICK_SERVICE, PAY_ENV, PAYME_CHECKOUT,
                           PAYME_MERCHANT, create, payme, payme_id, result)


@pytest.fixture(scope="module")
def bot(request):
    with private_stack(request, "botpay", BotStack, env=PAY_ENV) as st:
        yield st


@pytest.fixture(autouse=True)
def open_branches(bot):
    bot.db.branches.update_many({}, {"$set": {"isOpen": True, "isActive": True}})
    bot.db.products.update_many({"isActive": True}, {"$set": {"isAvailable": True}})
    yield


def signed_up(bot, lang="uz"):
    tg_id = fresh_telegram_id()
    chat = Chat(bot, tg_id, "Dilnoza", lang)
    chat.text("/start")
    chat.press(f"l:{lang}")
    chat.contact(f"+99890{tg_id % 10_000_000:07d}")
    return chat


def place(bot, chat, method, product="Toʻy oshi"):
    """Menu → cart → pickup at Chilonzor → method → no comment → confirm.
    Returns the order as stored."""
    pid = bot.pid(product)
    chat.text("🍽 Menyu" if chat.language_code == "uz" else "🍽 Меню")
    chat.press(f"c:{bot.product(product)['categoryId']}")
    chat.press(f"p:{pid}")
    chat.press(f"a:{pid}:1")
    chat.text("🛒 Savat" if chat.language_code == "uz" else "🛒 Корзина")
    chat.press("ko")
    chat.press(f"b:{bot.branch_id('chilonzor')}")
    chat.press("t:p")
    chat.press(f"m:{method}")
    chat.press("s")
    before = {o["_id"] for o in orders_of(bot, chat)}
    chat.press("y")
    new = [o for o in orders_of(bot, chat) if o["_id"] not in before]
    assert len(new) == 1, new
    return new[0]


def orders_of(bot, chat):
    user = bot.db.users.find_one({"telegramId": chat.user_id})
    return list(bot.db.orders.find({"user": user["_id"]})) if user else []


def api_link(bot, chat, order):
    """The storefront's link for the same customer and order."""
    r = bot.post("/api/auth/telegram", {"initData": init_data(chat.user_id, "Dilnoza")})
    assert r.status == 200, r
    sid = cookie_value(r, "oshxona_sid")
    r = bot.get(f"/api/orders/{order['_id']}/pay?provider={order['paymentMethod']}",
                {"Cookie": f"oshxona_sid={sid}"})
    assert r.status == 200, r
    return r.json["data"]["url"]


def payme_link(order):
    params = f"m={PAYME_MERCHANT};ac.order_id={order['_id']};a={order['total'] * 100}"
    return f"{PAYME_CHECKOUT}/{base64.b64encode(params.encode()).decode()}"


def placed_message(chat):
    return [m for m in chat.sent("sendMessage") if "qabul qilindi" in m["text"]
            or "принят" in m["text"]][-1]


def test_payme_order_comes_with_its_pay_button(bot):
    chat = signed_up(bot)
    order = place(bot, chat, "payme")
    msg = placed_message(chat)
    assert msg["text"].startswith(f"✅ Buyurtma #{order['number']} qabul qilindi. Jami: 45 000")
    assert msg["reply_markup"] == {"inline_keyboard": [[
        {"text": "💳 Payme orqali to‘lash", "url": payme_link(order)}]]}
    # One implementation: the storefront's link is the same.
    assert api_link(bot, chat, order) == payme_link(order)
    # The main menu is still the chat's keyboard (persistent, sent before).
    assert [b["text"] for b in chat.reply_keyboard(since=0)][:1] == ["🍽 Menyu"]


def test_click_order_in_russian(bot):
    chat = signed_up(bot, "ru")
    order = place(bot, chat, "click")
    msg = placed_message(chat)
    url = api_link(bot, chat, order)
    assert url.startswith(f"{CLICK_CHECKOUT}?service_id={CLICK_SERVICE}&")
    assert f"transaction_param={order['_id']}" in url and f"amount={order['total']}&" in url
    assert msg["reply_markup"] == {"inline_keyboard": [[
        {"text": "💳 Оплатить через Click", "url": url}]]}


@pytest.mark.parametrize("method", ["cash", "card"])
def test_cash_and_card_orders_get_no_pay_button(bot, method):
    chat = signed_up(bot)
    place(bot, chat, method)
    msg = placed_message(chat)
    assert "inline_keyboard" not in msg["reply_markup"]
    assert [b["text"] for b in msg["reply_markup"]["keyboard"][0]] == ["🍽 Menyu"]


def test_my_orders_offers_to_pay_what_is_unpaid(bot):
    chat = signed_up(bot)
    cash = place(bot, chat, "cash")
    click = place(bot, chat, "click")
    pm = place(bot, chat, "payme")

    chat.text("📦 Buyurtmalarim")
    msg = chat.sent("sendMessage")[-1]
    assert f"#{cash['number']}" in msg["text"] and f"#{pm['number']}" in msg["text"]
    # Newest first, as the list: Payme, then Click; nothing for cash.
    assert msg["reply_markup"] == {"inline_keyboard": [
        [{"text": f"💳 Payme orqali to‘lash — #{pm['number']}", "url": payme_link(pm)}],
        [{"text": f"💳 Click orqali to‘lash — #{click['number']}",
          "url": api_link(bot, chat, click)}]]}

    # Payme performs: the Payme button goes.
    tx = payme_id()
    result(create(bot, {"_id": str(pm["_id"]), "total": pm["total"]}, tx))
    result(payme(bot, "PerformTransaction", {"id": tx}))
    wait_until(lambda: bot.db.orders.find_one({"_id": pm["_id"]})["paymentStatus"] == "paid", 5,
               what="paid")
    chat.text("📦 Buyurtmalarim")
    msg = chat.sent("sendMessage")[-1]
    assert msg["reply_markup"] == {"inline_keyboard": [
        [{"text": f"💳 Click orqali to‘lash — #{click['number']}",
          "url": api_link(bot, chat, click)}]]}

    # The Click order is cancelled: no button is left, nor a keyboard.
    bot.set_status(str(click["_id"]), "cancelled", bot.staff["chilonzor"], "Tugadi", expect=200)
    chat.text("📦 Buyurtmalarim")
    msg = chat.sent("sendMessage")[-1]
    assert f"#{click['number']}" in msg["text"]
    assert "reply_markup" not in msg


def test_my_orders_in_russian_numbers_the_button(bot):
    chat = signed_up(bot, "ru")
    pm = place(bot, chat, "payme")
    chat.text("📦 Мои заказы")
    msg = chat.sent("sendMessage")[-1]
    assert msg["reply_markup"] == {"inline_keyboard": [
        [{"text": f"💳 Оплатить через Payme — №{pm['number']}", "url": payme_link(pm)}]]}
