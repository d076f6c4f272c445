// Uzbek (Latin) and Russian. The language is the staff member's choice on
// this device (localStorage), Uzbek by default.

const uz = {
  appName: "Oshxona — boshqaruv",
  signIn: "Kirish",
  signOut: "Chiqish",
  login: "Login",
  password: "Parol",
  signInFailed: "Login yoki parol notoʻgʻri",
  tooManyAttempts: "Juda koʻp urinish. Keyinroq qayta urining",
  notStaff: "Bu sahifa faqat xodimlar uchun",
  board: "Buyurtmalar taxtasi",
  orders: "Buyurtmalar",
  products: "Mahsulotlar",
  categories: "Kategoriyalar",
  branches: "Filiallar",
  analytics: "Tahlil",
  branch: "Filial",
  allBranches: "Barcha filiallar",
  role_owner: "egasi",
  role_manager: "menejer",
  role_operator: "operator",
  conn_live: "Ulangan",
  conn_connecting: "Ulanmoqda…",
  conn_syncing: "Yangilanmoqda…",
  conn_offline: "Aloqa yoʻq — qayta ulanmoqda",
  soundOff: "Ovoz oʻchiq — yoqish uchun bosing",
  st_pending: "Yangi",
  st_confirmed: "Tasdiqlangan",
  st_preparing: "Tayyorlanmoqda",
  st_ready: "Tayyor",
  st_delivering: "Yoʻlda",
  st_completed: "Yakunlangan",
  st_cancelled: "Bekor qilingan",
  go_confirmed: "Tasdiqlash",
  go_preparing: "Tayyorlashni boshlash",
  go_ready: "Tayyor",
  go_delivering: "Yetkazishga",
  go_completed: "Yakunlash",
  cancel: "Bekor qilish",
  cancelOrder: "Buyurtmani bekor qilish",
  cancelReason: "Sabab (mijozga yuboriladi)",
  keep: "Orqaga",
  conflict: "Buyurtmani boshqa xodim oʻzgartirdi",
  failed: "Bajarilmadi",
  networkError: "Server javob bermadi",
  type_delivery: "Yetkazib berish",
  type_pickup: "Olib ketish",
  type_dine_in: "Joyida",
  pay_cash: "Naqd",
  pay_card: "Karta",
  pay_click: "Click",
  pay_payme: "Payme",
  pay_st_cash: "Joyida toʻlanadi",
  pay_st_pending: "Toʻlov kutilmoqda",
  pay_st_paid: "Toʻlangan",
  pay_st_cancelled: "Toʻlov bekor qilindi",
  pay_st_refunded: "Pul qaytarildi",
  table: "Stol",
  emptyColumn: "Boʻsh",
  notYourBranch: "Bu filial sizga biriktirilmagan",
  noBranches: "Sizga filial biriktirilmagan",
  order: "Buyurtma",
  items: "Tarkibi",
  product: "Mahsulot",
  qty: "Soni",
  price: "Narxi",
  sum: "Summa",
  subtotal: "Mahsulotlar",
  deliveryFee: "Yetkazish",
  total: "Jami",
  customer: "Mijoz",
  phone: "Telefon",
  address: "Manzil",
  location: "Xaritada",
  comment: "Izoh",
  notes: "Izoh",
  payment: "Toʻlov",
  orderType: "Turi",
  created: "Yaratilgan",
  history: "Tarix",
  who: "Kim",
  when: "Qachon",
  you: "Siz",
  staffMember: "Xodim",
  back: "Orqaga",
  status: "Holat",
  all: "Hammasi",
  days: "Davr",
  today: "Bugun",
  lastDays: "Oxirgi {n} kun",
  prev: "Oldingi",
  next: "Keyingi",
  range: "{a}–{b} / {n}",
  nothing: "Hech narsa topilmadi",
  loading: "Yuklanmoqda…",
  search: "Qidirish",
  newProduct: "Yangi mahsulot",
  edit: "Tahrirlash",
  delete: "Oʻchirish",
  deleted: "Oʻchirilgan",
  active: "Faol",
  inactive: "Faol emas",
  available: "Bor",
  stopList: "Stop-list",
  confirmDelete: "«{name}» oʻchirilsinmi?",
  name: "Nomi (oʻzb.)",
  nameRu: "Nomi (rus.)",
  description: "Tavsif (oʻzb.)",
  descriptionRu: "Tavsif (rus.)",
  category: "Kategoriya",
  sortOrder: "Tartib",
  isActive: "Menyuda koʻrsatilsin",
  isAvailable: "Sotuvda bor",
  image: "Rasm",
  dropImage: "Rasmni shu yerga tashlang yoki tanlash uchun bosing",
  uploading: "Yuklanmoqda… {p}%",
  uploaded: "Yuklandi",
  removeImage: "Rasmni olib tashlash",
  save: "Saqlash",
  saved: "Saqlandi",
  create: "Yaratish",
  newCategory: "Yangi kategoriya",
  branchSettings: "Filial sozlamalari",
  isOpen: "Buyurtma qabul qilinadi",
  workingHours: "Ish vaqti",
  dayOff: "Dam olish",
  open: "Ochilish",
  close: "Yopilish",
  minOrder: "Minimal buyurtma",
  mon: "Dushanba",
  tue: "Seshanba",
  wed: "Chorshanba",
  thu: "Payshanba",
  fri: "Juma",
  sat: "Shanba",
  sun: "Yakshanba",
  som: "soʻm",
  analyticsNA: "Tahlil hali mavjud emas: server bu xizmatni bermayapti",
  revenueByDay: "Kunlik tushum",
  topProducts: "Eng koʻp sotilganlar",
  peakHours: "Qaysi soatda koʻp buyurtma",
  totalOrders: "Buyurtmalar",
  totalRevenue: "Tushum",
  avgOrderValue: "Oʻrtacha chek",
  completedOrders: "Yakunlangan",
  cancelledOrders: "Bekor qilingan",
  sold: "dona",
  ordersCount: "{n} ta buyurtma",
  justNow: "hozir",
  minAgo: "{n} daq oldin",
};

const ru = {
  appName: "Ошхона — управление",
  signIn: "Войти",
  signOut: "Выйти",
  login: "Логин",
  password: "Пароль",
  signInFailed: "Неверный логин или пароль",
  tooManyAttempts: "Слишком много попыток. Попробуйте позже",
  notStaff: "Эта страница только для сотрудников",
  board: "Доска заказов",
  orders: "Заказы",
  products: "Товары",
  categories: "Категории",
  branches: "Филиалы",
  analytics: "Аналитика",
  branch: "Филиал",
  allBranches: "Все филиалы",
  role_owner: "владелец",
  role_manager: "менеджер",
  role_operator: "оператор",
  conn_live: "На связи",
  conn_connecting: "Подключение…",
  conn_syncing: "Обновление…",
  conn_offline: "Нет связи — переподключение",
  soundOff: "Звук выключен — нажмите, чтобы включить",
  st_pending: "Новые",
  st_confirmed: "Подтверждены",
  st_preparing: "Готовятся",
  st_ready: "Готовы",
  st_delivering: "В пути",
  st_completed: "Выполнены",
  st_cancelled: "Отменены",
  go_confirmed: "Подтвердить",
  go_preparing: "Начать готовить",
  go_ready: "Готово",
  go_delivering: "В доставку",
  go_completed: "Завершить",
  cancel: "Отменить",
  cancelOrder: "Отменить заказ",
  cancelReason: "Причина (её увидит клиент)",
  keep: "Назад",
  conflict: "Заказ уже изменил другой сотрудник",
  failed: "Не удалось",
  networkError: "Сервер не ответил",
  type_delivery: "Доставка",
  type_pickup: "Самовывоз",
  type_dine_in: "В зале",
  pay_cash: "Наличные",
  pay_card: "Карта",
  pay_click: "Click",
  pay_payme: "Payme",
  pay_st_cash: "Оплата на месте",
  pay_st_pending: "Ждёт оплаты",
  pay_st_paid: "Оплачен",
  pay_st_cancelled: "Оплата отменена",
  pay_st_refunded: "Деньги возвращены",
  table: "Стол",
  emptyColumn: "Пусто",
  notYourBranch: "Этот филиал вам не назначен",
  noBranches: "Вам не назначен ни один филиал",
  order: "Заказ",
  items: "Состав",
  product: "Товар",
  qty: "Кол-во",
  price: "Цена",
  sum: "Сумма",
  subtotal: "Товары",
  deliveryFee: "Доставка",
  total: "Итого",
  customer: "Клиент",
  phone: "Телефон",
  address: "Адрес",
  location: "На карте",
  comment: "Комментарий",
  notes: "Примечание",
  payment: "Оплата",
  orderType: "Тип",
  created: "Создан",
  history: "История",
  who: "Кто",
  when: "Когда",
  you: "Вы",
  staffMember: "Сотрудник",
  back: "Назад",
  status: "Статус",
  all: "Все",
  days: "Период",
  today: "Сегодня",
  lastDays: "Последние {n} дн.",
  prev: "Назад",
  next: "Далее",
  range: "{a}–{b} из {n}",
  nothing: "Ничего не найдено",
  loading: "Загрузка…",
  search: "Поиск",
  newProduct: "Новый товар",
  edit: "Изменить",
  delete: "Удалить",
  deleted: "Удалён",
  active: "Активен",
  inactive: "Неактивен",
  available: "В наличии",
  stopList: "Стоп-лист",
  confirmDelete: "Удалить «{name}»?",
  name: "Название (узб.)",
  nameRu: "Название (рус.)",
  description: "Описание (узб.)",
  descriptionRu: "Описание (рус.)",
  category: "Категория",
  sortOrder: "Порядок",
  isActive: "Показывать в меню",
  isAvailable: "В наличии",
  image: "Фото",
  dropImage: "Перетащите фото сюда или нажмите, чтобы выбрать",
  uploading: "Загрузка… {p}%",
  uploaded: "Загружено",
  removeImage: "Убрать фото",
  save: "Сохранить",
  saved: "Сохранено",
  create: "Создать",
  newCategory: "Новая категория",
  branchSettings: "Настройки филиала",
  isOpen: "Принимает заказы",
  workingHours: "Часы работы",
  dayOff: "Выходной",
  open: "Открытие",
  close: "Закрытие",
  minOrder: "Минимальный заказ",
  mon: "Понедельник",
  tue: "Вторник",
  wed: "Среда",
  thu: "Четверг",
  fri: "Пятница",
  sat: "Суббота",
  sun: "Воскресенье",
  som: "сум",
  analyticsNA: "Аналитика пока недоступна: сервер не предоставляет эту службу",
  revenueByDay: "Выручка по дням",
  topProducts: "Самые продаваемые",
  peakHours: "Часы пик",
  totalOrders: "Заказы",
  totalRevenue: "Выручка",
  avgOrderValue: "Средний чек",
  completedOrders: "Выполнены",
  cancelledOrders: "Отменены",
  sold: "шт.",
  ordersCount: "{n} заказов",
  justNow: "только что",
  minAgo: "{n} мин назад",
};

const dicts = { uz, ru };
let lang = "uz";
try {
  const saved = localStorage.getItem("oshxona.lang");
  if (saved && dicts[saved]) lang = saved;
} catch (e) {
  /* storage may be off: Uzbek */
}
document.documentElement.lang = lang;

export function getLang() {
  return lang;
}

export function setLang(l) {
  if (!dicts[l]) return;
  lang = l;
  document.documentElement.lang = l;
  try {
    localStorage.setItem("oshxona.lang", l);
  } catch (e) {
    /* not remembered */
  }
}

export function t(key, vars) {
  let s = dicts[lang][key] ?? uz[key] ?? key;
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.replace(`{${k}}`, v);
  return s;
}

// A name in the current language: the Russian field when it exists.
export function localName(doc, field = "name") {
  if (!doc) return "";
  return (lang === "ru" && doc[`${field}Ru`]) || doc[field] || "";
}

const numberFmt = new Intl.NumberFormat("ru-RU");
export function money(n) {
  return `${numberFmt.format(Number(n) || 0)} ${t("som")}`;
}

export function num(n) {
  return numberFmt.format(Number(n) || 0);
}

// Dates are shown in Tashkent time whatever the tablet's own zone is.
const TZ = "Asia/Tashkent";
export function dateTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  // dd.mm hh:mm, as both languages write it in Uzbekistan.
  return d.toLocaleString("ru-RU", {
    timeZone: TZ,
    day: "2-digit",
    month: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  });
}

export function timeOnly(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleTimeString("ru-RU", { timeZone: TZ, hour: "2-digit", minute: "2-digit" });
}

// The local (Tashkent) day YYYY-MM-DD, daysBack days before now.
export function localDay(daysBack = 0) {
  const d = new Date(Date.now() - daysBack * 86400000);
  return new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit" }).format(d);
}
