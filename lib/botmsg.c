/*
 * botmsg.c - the bot's message catalogue: every text it shows, in Uzbek
 * (Latin script) and Russian, in one table, so no text exists in one
 * language only. Format strings take their arguments in the same order in
 * both languages.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "oshxona.h"
#include "bot.h"

struct botmsg_text {
	const char *uz;
	const char *ru;
};

static const struct botmsg_text botmsg_table[BOTMSG__MAX] = {
    [M_CHOOSE_LANG] = {"Tilni tanlang 👇\nВыберите язык 👇", "Tilni tanlang 👇\nВыберите язык 👇"},
    [M_LANG_SET] = {"🇺🇿 O‘zbek tili tanlandi.", "🇷🇺 Выбран русский язык."},
    [M_ASK_PHONE] = {"Buyurtma berish uchun telefon raqamingizni yuboring 👇",
                     "Чтобы заказывать, отправьте свой номер телефона 👇"},
    [B_SEND_PHONE] = {"📱 Raqamni yuborish", "📱 Отправить номер"},
    [M_OWN_PHONE] = {"Iltimos, o‘zingizning raqamingizni pastdagi tugma orqali yuboring.",
                     "Пожалуйста, отправьте свой номер кнопкой внизу."},
    [M_WELCOME] = {"Xush kelibsiz! Quyidagi menyudan tanlang 👇",
                   "Добро пожаловать! Выберите в меню ниже 👇"},
    [B_MENU] = {"🍽 Menyu", "🍽 Меню"},
    [B_CART] = {"🛒 Savat", "🛒 Корзина"},
    [B_ORDERS] = {"📦 Buyurtmalarim", "📦 Мои заказы"},
    [B_BRANCHES] = {"📍 Filiallar", "📍 Филиалы"},
    [B_SETTINGS] = {"⚙️ Sozlamalar", "⚙️ Настройки"},
    [M_CATEGORIES] = {"Bo‘limni tanlang:", "Выберите раздел:"},
    [M_MENU_EMPTY] = {"Menyu hozircha bo‘sh.", "Меню пока пусто."},
    [M_PRODUCTS] = {"%s — taomni tanlang:", "%s — выберите блюдо:"},
    [B_BACK] = {"⬅️ Orqaga", "⬅️ Назад"},
    [M_PRICE] = {"Narxi: %s so‘m", "Цена: %s сум"},
    [M_OUT_OF_STOCK] = {"❌ Hozir mavjud emas", "❌ Сейчас нет в наличии"},
    [M_AVAILABLE] = {"✅ Mavjud", "✅ В наличии"},
    [M_QTY] = {"Soni: %lld", "Количество: %lld"},
    [B_ADD] = {"🛒 Savatga qo‘shish", "🛒 В корзину"},
    [M_ADDED] = {"Savatga qo‘shildi ✅", "Добавлено в корзину ✅"},
    [M_CART_EMPTY] = {"Savat bo‘sh. Menyudan taom tanlang.",
                      "Корзина пуста. Выберите блюда в меню."},
    [M_CART_TITLE] = {"🛒 Savat:", "🛒 Корзина:"},
    [M_TOTAL] = {"Jami: %s so‘m", "Итого: %s сум"},
    [B_CLEAR] = {"🗑 Tozalash", "🗑 Очистить"},
    [B_CHECKOUT] = {"✅ Rasmiylashtirish", "✅ Оформить"},
    [M_CART_FULL] = {"Savat to‘la: bitta buyurtmada ko‘pi bilan 50 xil taom va har biridan 99 ta.",
                     "Корзина заполнена: в заказе до 50 блюд, каждого не больше 99."},
    [M_CART_CLEARED] = {"Savat tozalandi.", "Корзина очищена."},
    [M_CHOOSE_BRANCH] = {"Filialni tanlang:", "Выберите филиал:"},
    [M_BRANCH_CLOSED] = {"Kechirasiz, bu filial hozir yopiq. Boshqa filialni tanlang yoki "
                         "keyinroq urinib ko‘ring.",
                         "Извините, этот филиал сейчас закрыт. Выберите другой или "
                         "попробуйте позже."},
    [M_CLOSED_MARK] = {"(yopiq)", "(закрыт)"},
    [M_CHOOSE_TYPE] = {"Qanday olasiz?", "Как получите заказ?"},
    [B_DELIVERY] = {"🚚 Yetkazib berish", "🚚 Доставка"},
    [B_PICKUP] = {"🏃 Olib ketish", "🏃 Самовывоз"},
    [B_DINE_IN] = {"🍽 Joyida", "🍽 В зале"},
    [M_ASK_ADDRESS] = {"Manzilni yozing yoki lokatsiyani yuboring 👇",
                       "Напишите адрес или отправьте геолокацию 👇"},
    [B_SEND_LOCATION] = {"📍 Lokatsiyani yuborish", "📍 Отправить геолокацию"},
    [M_BAD_ADDRESS] = {"Manzil 5 tadan 300 tagacha belgidan iborat bo‘lsin.",
                       "Адрес должен быть от 5 до 300 символов."},
    [M_ASK_TABLE] = {"Stol raqamini yozing (1–999):", "Напишите номер стола (1–999):"},
    [M_BAD_TABLE] = {"Stol raqami 1 dan 999 gacha bo‘lsin.", "Номер стола — от 1 до 999."},
    [M_CHOOSE_PAYMENT] = {"To‘lov usulini tanlang:", "Выберите способ оплаты:"},
    [B_CASH] = {"💵 Naqd", "💵 Наличные"},
    [B_CARD] = {"💳 Karta", "💳 Карта"},
    [B_CLICK] = {"Click", "Click"},
    [B_PAYME] = {"Payme", "Payme"},
    [M_ASK_COMMENT] = {"Izoh yozing yoki «O‘tkazib yuborish»ni bosing:",
                       "Напишите комментарий или нажмите «Пропустить»:"},
    [B_SKIP] = {"O‘tkazib yuborish", "Пропустить"},
    [M_BAD_COMMENT] = {"Izoh 500 belgidan oshmasin.", "Комментарий — не больше 500 символов."},
    [M_CONFIRM_TITLE] = {"Buyurtmangizni tekshiring:", "Проверьте заказ:"},
    [M_SUBTOTAL] = {"Taomlar: %s so‘m", "Блюда: %s сум"},
    [M_DELIVERY_FEE] = {"Yetkazib berish: %s so‘m", "Доставка: %s сум"},
    [M_BRANCH] = {"Filial: %s", "Филиал: %s"},
    [M_ADDRESS] = {"Manzil: %s", "Адрес: %s"},
    [M_PAYMENT] = {"To‘lov: %s", "Оплата: %s"},
    [M_COMMENT] = {"Izoh: %s", "Комментарий: %s"},
    [B_CONFIRM] = {"✅ Tasdiqlash", "✅ Подтвердить"},
    [B_CANCEL] = {"❌ Bekor qilish", "❌ Отменить"},
    [M_PLACED] = {"✅ Buyurtma #%lld qabul qilindi. Jami: %s so‘m.\nHolati haqida shu yerda "
                  "xabar beramiz.",
                  "✅ Заказ №%lld принят. Итого: %s сум.\nО статусе сообщим здесь."},
    [M_CHECKOUT_CANCELLED] = {"Rasmiylashtirish bekor qilindi. Savat saqlandi.",
                              "Оформление отменено. Корзина сохранена."},
    [M_UNAVAILABLE] = {"Kechirasiz, hozir mavjud emas: %s. Ularni savatdan olib tashlang.",
                       "Извините, сейчас нет в наличии: %s. Уберите их из корзины."},
    [M_PRICE_CHANGED] = {"Narxlar o‘zgardi. Yangi jami bilan tekshiring:",
                         "Цены изменились. Проверьте новый итог:"},
    [M_MIN_ORDER] = {"Yetkazib berish uchun eng kam buyurtma: %s so‘m.",
                     "Минимальный заказ для доставки: %s сум."},
    [M_NO_BRANCH] = {"Bu filial endi buyurtma qabul qilmaydi. Boshqasini tanlang.",
                     "Этот филиал больше не принимает заказы. Выберите другой."},
    [M_TRY_LATER] = {"Xatolik yuz berdi, birozdan so‘ng qayta urinib ko‘ring.",
                     "Произошла ошибка, попробуйте чуть позже."},
    [M_STALE] = {"Bu tugma eskirgan.", "Эта кнопка устарела."},
    [M_NO_ORDERS] = {"Sizda hali buyurtmalar yo‘q.", "У вас пока нет заказов."},
    [M_ORDERS_TITLE] = {"📦 So‘nggi buyurtmalaringiz:", "📦 Ваши последние заказы:"},
    [M_BRANCHES_TITLE] = {"📍 Filiallarimiz:", "📍 Наши филиалы:"},
    [M_OPEN_NOW] = {"hozir ochiq", "сейчас открыт"},
    [M_CLOSED_NOW] = {"hozir yopiq", "сейчас закрыт"},
    [M_SETTINGS] = {"⚙️ Sozlamalar. Telefon: %s",
                    "⚙️ Настройки. Телефон: %s"},
    [B_CHANGE_LANG] = {"🌐 Tilni o‘zgartirish", "🌐 Сменить язык"},
    [B_CHANGE_PHONE] = {"📱 Raqamni o‘zgartirish", "📱 Сменить номер"},
    [M_USE_MENU] = {"Quyidagi menyu tugmalaridan foydalaning 👇",
                    "Пользуйтесь кнопками меню ниже 👇"},
    [M_WEBAPP_UNKNOWN] = {"Ilovadan kelgan ma’lumot tushunarsiz.",
                          "Не удалось разобрать данные из приложения."},
    [M_CMD_START] = {"Boshlash", "Начать"},
    [M_CMD_MENU] = {"Menyu", "Меню"},
    [M_CMD_CART] = {"Savat", "Корзина"},
    [M_CMD_ORDERS] = {"Buyurtmalarim", "Мои заказы"},
    [B_OPEN_APP] = {"Buyurtma", "Заказать"},
    [S_NEW_ORDER] = {"🆕 Yangi buyurtma #%lld", "🆕 Новый заказ №%lld"},
    [S_CONFIRMED_BY] = {"✅ Tasdiqlandi: %s", "✅ Подтверждён: %s"},
    [S_CANCELLED_BY] = {"❌ Bekor qilindi: %s", "❌ Отменён: %s"},
    [S_NOT_LINKED] = {"Telegram hisobingiz bu filial xodimiga bog‘lanmagan.",
                      "Ваш Telegram не привязан к сотруднику этого филиала."},
    [S_NOW] = {"Buyurtma holati: %s", "Статус заказа: %s"},
    [B_PAY_PAYME] = {"💳 Payme orqali to‘lash", "💳 Оплатить через Payme"},
    [B_PAY_CLICK] = {"💳 Click orqali to‘lash", "💳 Оплатить через Click"},
    [B_PAY_ORDER] = {"%s — #%lld", "%s — №%lld"},
};

const char *
botmsg(enum botmsg id, const char *lang)
{
	int ru = lang != NULL && strcmp(lang, "ru") == 0;

	if ((unsigned)id >= BOTMSG__MAX || botmsg_table[id].uz == NULL)
		return "";
	return ru ? botmsg_table[id].ru : botmsg_table[id].uz;
}

enum botmsg
botmsg_button(const char *text)
{
	static const enum botmsg buttons[] = {B_MENU, B_CART, B_ORDERS, B_BRANCHES, B_SETTINGS};

	for (size_t i = 0; text != NULL && i < sizeof(buttons) / sizeof(buttons[0]); i++) {
		if (strcmp(text, botmsg_table[buttons[i]].uz) == 0 ||
		    strcmp(text, botmsg_table[buttons[i]].ru) == 0)
			return buttons[i];
	}
	return BOTMSG__MAX;
}

void
botmsg_money(int64_t som, char *out, size_t outlen)
{
	char digits[32];
	size_t n, w = 0;
	int neg = som < 0;

	snprintf(digits, sizeof(digits), "%llu",
	         neg ? 0ULL - (unsigned long long)som : (unsigned long long)som);
	n = strlen(digits);
	if (outlen == 0)
		return;
	if (neg && w + 1 < outlen)
		out[w++] = '-';
	for (size_t i = 0; i < n && w + 2 < outlen; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			out[w++] = ' ';
		out[w++] = digits[i];
	}
	out[w] = '\0';
}

int
botmsg_format(char *out, size_t outlen, enum botmsg id, const char *lang, ...)
{
	va_list ap;
	int n;

	va_start(ap, lang);
	n = vsnprintf(out, outlen, botmsg(id, lang), ap);
	va_end(ap);
	return n;
}
