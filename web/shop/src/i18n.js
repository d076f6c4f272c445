// Uzbek (Latin) and Russian. The choice is remembered in localStorage; the
// first visit follows Telegram's language, then the browser's.
import { signal } from "./signal.js";

const KEY = "oshxona.lang";

const uz = {
	appName: "Oshxona",
	menu: "Menyu",
	cart: "Savat",
	orders: "Buyurtmalarim",
	search: "Qidirish",
	searchPlaceholder: "Taom nomi, masalan: osh",
	searchNone: "«{q}» boʻyicha hech narsa topilmadi",
	searchResults: "Topildi: {n}",
	loading: "Yuklanmoqda…",
	retry: "Qayta urinish",
	back: "Orqaga",
	categories: "Boʻlimlar",
	outOfStock: "Tugagan",
	outOfStockLong: "Bu taom hozir tugagan, uni buyurtma qilib boʻlmaydi.",
	add: "Savatga",
	addToCart: "Savatga qoʻshish",
	added: "Savatga qoʻshildi",
	inCart: "Savatda: {n}",
	quantity: "Soni",
	less: "Bittaga kamaytirish: {name}",
	more: "Bittaga koʻpaytirish: {name}",
	remove: "Olib tashlash",
	removeLabel: "Savatdan olib tashlash: {name}",
	notes: "Izoh (ixtiyoriy)",
	notesPlaceholder: "Masalan: piyozsiz",
	cartEmpty: "Savat boʻsh. Menyudan taom tanlang.",
	toMenu: "Menyuga",
	subtotal: "Taomlar",
	deliveryFee: "Yetkazib berish",
	total: "Jami",
	priceNow: "Narxi hozirgi narxlar boʻyicha hisoblandi.",
	priceChangedLine: "Narx oʻzgardi",
	unavailableLine: "Bu taom hozir yoʻq — savatdan olib tashlang.",
	toCheckout: "Rasmiylashtirish",
	checkout: "Buyurtmani rasmiylashtirish",
	branch: "Filial",
	openNow: "Hozir ochiq, {close} gacha",
	closedNow: "Hozir yopiq",
	opensAt: "Hozir yopiq, {day} {open} da ochiladi",
	hoursToday: "Bugun: {open}–{close}",
	dayOff: "Bugun dam olish kuni",
	orderType: "Buyurtma turi",
	delivery: "Yetkazib berish",
	pickup: "Olib ketish",
	dine_in: "Joyida",
	address: "Manzil",
	addressPlaceholder: "Koʻcha, uy, xonadon, moʻljal",
	useLocation: "Joylashuvimni yuborish",
	locating: "Joylashuv aniqlanmoqda…",
	locationSet: "Joylashuv qoʻshildi ({lat}, {lng})",
	locationDenied: "Joylashuvni aniqlab boʻlmadi. Manzilni yozing.",
	clearLocation: "Joylashuvni olib tashlash",
	phone: "Telefon",
	phoneHint: "Masalan: +998901234567",
	table: "Stol raqami",
	payment: "Toʻlov usuli",
	cash: "Naqd",
	card: "Karta (kuryerga yoki kassada)",
	click: "Click",
	payme: "Payme",
	comment: "Izoh",
	commentPlaceholder: "Kuryer yoki oshpaz uchun",
	minOrder: "Yetkazib berish uchun eng kam buyurtma: {sum}",
	placeOrder: "Buyurtma berish · {sum}",
	placing: "Yuborilmoqda…",
	signInTitle: "Kirish",
	signInWhy: "Buyurtma berish uchun Telegram orqali kiring.",
	signInOpenBot: "Telegramda ochish",
	signingIn: "Kirilmoqda…",
	signedInAs: "{name}",
	signOut: "Chiqish",
	myOrders: "Buyurtmalarim",
	noOrders: "Hali buyurtmalar yoʻq.",
	orderNo: "Buyurtma #{n}",
	placedAt: "{date}",
	track: "Kuzatish",
	live: "Jonli",
	connecting: "Ulanmoqda…",
	offline: "Aloqa yoʻq, qayta ulanmoqda",
	statusNow: "Holati: {status}",
	cancelOrder: "Buyurtmani bekor qilish",
	cancelConfirm: "Buyurtma bekor qilinsinmi?",
	items: "Taomlar",
	branchLine: "Filial: {name}",
	call: "Qoʻngʻiroq qilish: {phone}",
	payWith: "{p} orqali toʻlash · {sum}",
	paying: "Toʻlov sahifasi ochilmoqda…",
	payNow: "Toʻlov: {state}",
	pay: {
		pending: "kutilmoqda",
		paid: "toʻlangan",
		cancelled: "bekor qilindi",
		refunded: "qaytarildi",
	},
	awaitingPayment: "Toʻlov kutilmoqda",
	payOpened: "Toʻlov {p} ilovasida ochildi. Toʻlaganingizdan keyin bu sahifa oʻzi yangilanadi.",
	language: "Til",
	st: {
		pending: "Qabul qilindi",
		confirmed: "Tasdiqlandi",
		preparing: "Tayyorlanmoqda",
		ready: "Tayyor",
		delivering: "Yoʻlda",
		completed: "Yakunlandi",
		cancelled: "Bekor qilindi",
	},
	days: { mon: "dushanba", tue: "seshanba", wed: "chorshanba", thu: "payshanba", fri: "juma", sat: "shanba", sun: "yakshanba" },
	today: "bugun",
	tomorrow: "ertaga",
	err: {
		network: "Internet aloqasi yoʻq yoki juda sekin. Yana urinib koʻring.",
		unavailable: "Bu taomlar hozir yoʻq: {names}. Ularni savatdan olib tashlang.",
		closed: "Filial hozir yopiq. Boshqa filialni tanlang yoki ish vaqtida buyurtma bering.",
		noBranch: "Bu filial hozir buyurtma qabul qilmaydi. Boshqa filialni tanlang.",
		minimum: "Yetkazib berish uchun buyurtma kamida {sum} boʻlishi kerak.",
		priceChanged: "Narxlar oʻzgardi. Savatni tekshirib, qayta yuboring.",
		inProgress: "Buyurtmangiz yuborilmoqda. Biroz kuting.",
		tooMany: "Juda koʻp urinish. {s} soniyadan keyin qayta urinib koʻring.",
		signIn: "Avval Telegram orqali kiring.",
		phone: "Telefon raqamini toʻliq yozing, masalan +998901234567.",
		address: "Yetkazib berish uchun manzil yoki joylashuv kerak.",
		table: "Stol raqamini yozing.",
		generic: "Xatolik yuz berdi. Yana urinib koʻring.",
		server: "Server javob bermadi. Birozdan keyin urinib koʻring.",
		notFound: "Topilmadi.",
		signInFailed: "Telegram orqali kirib boʻlmadi. Ilovani qayta oching.",
		cart: "Savatda mavjud boʻlmagan taom bor.",
		branch: "Filialni tanlang.",
		paidAlready: "Bu buyurtma allaqachon toʻlangan.",
		payUnavailable: "Bu toʻlov usuli hozir ishlamayapti. Keyinroq urinib koʻring yoki filialga qoʻngʻiroq qiling.",
		notPayable: "Bu buyurtmani endi onlayn toʻlab boʻlmaydi.",
	},
	sum: "{n} soʻm",
	fixBelow: "Quyidagini tuzating:",
};

const ru = {
	appName: "Oshxona",
	menu: "Меню",
	cart: "Корзина",
	orders: "Мои заказы",
	search: "Поиск",
	searchPlaceholder: "Название блюда, например: плов",
	searchNone: "По запросу «{q}» ничего не найдено",
	searchResults: "Найдено: {n}",
	loading: "Загрузка…",
	retry: "Повторить",
	back: "Назад",
	categories: "Разделы",
	outOfStock: "Нет в наличии",
	outOfStockLong: "Этого блюда сейчас нет, заказать его нельзя.",
	add: "В корзину",
	addToCart: "Добавить в корзину",
	added: "Добавлено в корзину",
	inCart: "В корзине: {n}",
	quantity: "Количество",
	less: "Уменьшить на один: {name}",
	more: "Увеличить на один: {name}",
	remove: "Убрать",
	removeLabel: "Убрать из корзины: {name}",
	notes: "Комментарий (необязательно)",
	notesPlaceholder: "Например: без лука",
	cartEmpty: "Корзина пуста. Выберите блюда в меню.",
	toMenu: "В меню",
	subtotal: "Блюда",
	deliveryFee: "Доставка",
	total: "Итого",
	priceNow: "Сумма посчитана по текущим ценам.",
	priceChangedLine: "Цена изменилась",
	unavailableLine: "Этого блюда сейчас нет — уберите его из корзины.",
	toCheckout: "Оформить",
	checkout: "Оформление заказа",
	branch: "Филиал",
	openNow: "Сейчас открыт, до {close}",
	closedNow: "Сейчас закрыт",
	opensAt: "Сейчас закрыт, откроется {day} в {open}",
	hoursToday: "Сегодня: {open}–{close}",
	dayOff: "Сегодня выходной",
	orderType: "Способ получения",
	delivery: "Доставка",
	pickup: "Самовывоз",
	dine_in: "В зале",
	address: "Адрес",
	addressPlaceholder: "Улица, дом, квартира, ориентир",
	useLocation: "Отправить моё местоположение",
	locating: "Определяем местоположение…",
	locationSet: "Местоположение добавлено ({lat}, {lng})",
	locationDenied: "Не удалось определить местоположение. Напишите адрес.",
	clearLocation: "Убрать местоположение",
	phone: "Телефон",
	phoneHint: "Например: +998901234567",
	table: "Номер стола",
	payment: "Способ оплаты",
	cash: "Наличные",
	card: "Карта (курьеру или на кассе)",
	click: "Click",
	payme: "Payme",
	comment: "Комментарий",
	commentPlaceholder: "Для курьера или повара",
	minOrder: "Минимальный заказ для доставки: {sum}",
	placeOrder: "Заказать · {sum}",
	placing: "Отправляем…",
	signInTitle: "Вход",
	signInWhy: "Чтобы заказать, войдите через Telegram.",
	signInOpenBot: "Открыть в Telegram",
	signingIn: "Входим…",
	signedInAs: "{name}",
	signOut: "Выйти",
	myOrders: "Мои заказы",
	noOrders: "Заказов пока нет.",
	orderNo: "Заказ №{n}",
	placedAt: "{date}",
	track: "Отследить",
	live: "На связи",
	connecting: "Подключение…",
	offline: "Нет связи, переподключаемся",
	statusNow: "Статус: {status}",
	cancelOrder: "Отменить заказ",
	cancelConfirm: "Отменить заказ?",
	items: "Блюда",
	branchLine: "Филиал: {name}",
	call: "Позвонить: {phone}",
	payWith: "Оплатить через {p} · {sum}",
	paying: "Открываем страницу оплаты…",
	payNow: "Оплата: {state}",
	pay: {
		pending: "ожидается",
		paid: "оплачено",
		cancelled: "отменена",
		refunded: "возвращена",
	},
	awaitingPayment: "Ждёт оплаты",
	payOpened: "Оплата открыта в {p}. После оплаты эта страница обновится сама.",
	language: "Язык",
	st: {
		pending: "Принят",
		confirmed: "Подтверждён",
		preparing: "Готовится",
		ready: "Готов",
		delivering: "В пути",
		completed: "Выполнен",
		cancelled: "Отменён",
	},
	days: { mon: "в понедельник", tue: "во вторник", wed: "в среду", thu: "в четверг", fri: "в пятницу", sat: "в субботу", sun: "в воскресенье" },
	today: "сегодня",
	tomorrow: "завтра",
	err: {
		network: "Нет связи с интернетом или он слишком медленный. Попробуйте ещё раз.",
		unavailable: "Этих блюд сейчас нет: {names}. Уберите их из корзины.",
		closed: "Филиал сейчас закрыт. Выберите другой филиал или закажите в часы работы.",
		noBranch: "Этот филиал сейчас не принимает заказы. Выберите другой.",
		minimum: "Для доставки сумма заказа должна быть не меньше {sum}.",
		priceChanged: "Цены изменились. Проверьте корзину и отправьте заказ ещё раз.",
		inProgress: "Ваш заказ уже отправляется. Подождите немного.",
		tooMany: "Слишком много попыток. Попробуйте через {s} с.",
		signIn: "Сначала войдите через Telegram.",
		phone: "Напишите номер телефона полностью, например +998901234567.",
		address: "Для доставки нужен адрес или местоположение.",
		table: "Укажите номер стола.",
		generic: "Что-то пошло не так. Попробуйте ещё раз.",
		server: "Сервер не ответил. Попробуйте чуть позже.",
		notFound: "Не найдено.",
		signInFailed: "Не удалось войти через Telegram. Откройте приложение заново.",
		cart: "В корзине есть блюдо, которого нет в наличии.",
		branch: "Выберите филиал.",
		paidAlready: "Этот заказ уже оплачен.",
		payUnavailable: "Этот способ оплаты сейчас недоступен. Попробуйте позже или позвоните в филиал.",
		notPayable: "Этот заказ больше нельзя оплатить онлайн.",
	},
	sum: "{n} сум",
	fixBelow: "Исправьте:",
};

export const DICTS = { uz, ru };
export const LANGS = [
	{ code: "uz", label: "Oʻzbekcha", short: "UZ" },
	{ code: "ru", label: "Русский", short: "RU" },
];

function initialLang() {
	try {
		const saved = localStorage.getItem(KEY);
		if (saved === "uz" || saved === "ru") return saved;
	} catch {
		/* storage may be off */
	}
	return /^ru\b/i.test(navigator.language || "") ? "ru" : "uz";
}

export const lang = signal(initialLang());

export function setLang(code, remember = true) {
	if (code !== "uz" && code !== "ru") return;
	if (remember) {
		try {
			localStorage.setItem(KEY, code);
		} catch {
			/* not remembered, still switched */
		}
	}
	lang.set(code);
}

/* The first visit inside Telegram follows the user's Telegram language. */
export function adoptLang(code) {
	let saved = null;
	try {
		saved = localStorage.getItem(KEY);
	} catch {
		/* ignore */
	}
	if (!saved && code) setLang(/^ru/i.test(code) ? "ru" : "uz", false);
}

function lookup(d, key) {
	return key.split(".").reduce((o, k) => (o == null ? o : o[k]), d);
}

export function t(key, vars) {
	const d = DICTS[lang.get()];
	let s = lookup(d, key);
	if (s == null) s = lookup(uz, key);
	if (s == null) return key;
	if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] != null ? String(vars[k]) : m));
	return s;
}

/* A field in the chosen language: name / nameRu, address / addressRu. */
export function loc(obj, field) {
	if (!obj) return "";
	if (lang.get() === "ru") {
		const ru = obj[field + "Ru"];
		if (ru) return ru;
	}
	return obj[field] || "";
}

export function money(n) {
	const s = String(Math.round(Number(n) || 0)).replace(/\B(?=(\d{3})+(?!\d))/g, "\u00a0");
	return t("sum", { n: s });
}
