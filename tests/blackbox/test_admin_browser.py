"""The admin panel (web/admin, served by nginx at /admin/) in Debian's
Chromium, driven by playwright (never a downloaded browser), against a
private stack (orders_helpers.private_stack: branches open around the
clock, demo staff signed in for the API side). The panel is built here
with npm first (esbuild, well under a second).

What a counter tablet needs: sign-in, a board where a new order appears
without a reload and rings (Web Audio calls counted through the page),
one tap per status change reaching the customer's channel, a race between
two staff pages ending in one winner and a shown conflict, a board that
survives nginx restarting and shows what it missed, product photos
uploaded with progress, the stop-list toggle stopping orders, and staff
of one branch never shown another's board. Screenshots go to
build/test-artifacts/admin/."""

import json
import os
import re
import signal
import subprocess
import time

import pytest

from harness import BIN, ROOT, pid_exists, private_stack, wait_until
from orders_helpers import ALL_DAY, STAFF, EventSource, OrdersStack, next_event, tashkent_day

ARTIFACTS = ROOT / "build" / "test-artifacts" / "admin"
WEB = ROOT / "web" / "admin"
APPEAR_MAX = 1.0  # seconds from the 201 to the card on the open board
TABLET = {"width": 1024, "height": 768}

# Counts what the page asks of Web Audio: every AudioContext made and every
# oscillator started. The chime is three oscillators; a running context
# means the browser really lets it sound.
AUDIO_SPY = """
(() => {
  window.__oscStarts = 0;
  window.__audioContexts = [];
  const AC = window.AudioContext;
  if (!AC) return;
  window.AudioContext = class extends AC {
    constructor(...a) { super(...a); window.__audioContexts.push(this); }
  };
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (...a) {
    window.__oscStarts++;
    return start.apply(this, a);
  };
})();
"""


# ---------------------------------------------------------------- set-up


@pytest.fixture(scope="module")
def built():
    """npm run build (node_modules come from `npm ci` in scripts/setup.sh)."""
    assert (WEB / "node_modules").is_dir(), "web/admin/node_modules missing: run scripts/setup.sh"
    subprocess.run(["npm", "run", "-s", "build"], cwd=WEB, check=True, timeout=120,
                   stdout=subprocess.DEVNULL)
    assert (WEB / "dist" / "index.html").is_file()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="module")
def rt(request, built):
    with private_stack(request, "admin-browser", OrdersStack) as st:
        yield st


class Panel:
    """One staff member's panel in a browser context of its own."""

    def __init__(self, rt, browser, login, viewport=TABLET):
        self.rt = rt
        self.login = login
        self.ctx = browser.new_context(viewport=viewport, has_touch=True)
        self.ctx.add_init_script(AUDIO_SPY)
        self.page = self.ctx.new_page()
        self.errors = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.subs_requested = []
        self.page.on("request", lambda r: "/sub/" in r.url and self.subs_requested.append(r.url))

    @property
    def base(self):
        return f"http://127.0.0.1:{self.rt.stack.port}/admin/"

    def sign_in(self, password=None):
        pg = self.page
        pg.goto(self.base)
        pg.fill("input[name=login]", self.login)
        pg.fill("input[name=password]", password or STAFF[self.login]["password"])
        pg.click("button[type=submit]")
        pg.wait_for_selector("header.top .me", state="attached", timeout=10000)
        return self

    def wait_live(self, timeout=10000):
        self.page.wait_for_selector("[data-conn=live]", timeout=timeout)

    def card(self, order_id):
        return self.page.locator(f".board [data-order-id='{order_id}']")

    def shot(self, name):
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def js(self, expr, arg=None):
        return self.page.evaluate(expr, arg)

    def fetch_status(self, path):
        """GET path from inside the page (its own cookie): the HTTP status."""
        return self.js("p => fetch(p, {credentials: 'same-origin'}).then(r => r.status)", path)

    def close(self):
        self.ctx.close()


@pytest.fixture
def panels(rt, browser):
    """open_panel(login, **kw): a Panel closed after the test, whose page
    errors fail it (test_pay_browser uses it too)."""
    opened = []

    def open_panel(login, **kw):
        p = Panel(rt, browser, login, **kw)
        opened.append(p)
        return p

    yield open_panel
    for p in opened:
        assert not p.errors, f"{p.login}: page errors {p.errors}"
        p.close()


def record(name, seconds):
    """Keeps a measured delay beside the screenshots (timings.json)."""
    f = ARTIFACTS / "timings.json"
    data = json.loads(f.read_text()) if f.exists() else {}
    data[name] = round(seconds, 3)
    f.write_text(json.dumps(data, indent=1, sort_keys=True))


def place(rt, branch="chilonzor", product="Toʻy oshi", qty=1, customer=None):
    customer = customer or rt.customer()
    items = [{"productId": rt.pid(product), "quantity": qty}]
    return customer, rt.order(customer, items=items, branch=branch)


# ----------------------------------------------------------------- tests


def test_panel_is_static_with_its_own_csp_and_caching(rt):
    r = rt.get("/admin/")
    assert r.status == 200 and r.header("Content-Type").startswith("text/html")
    assert r.header("Cache-Control") == "no-cache" and r.header("ETag")
    csp = r.header("Content-Security-Policy")
    assert "script-src 'self'" in csp and "default-src 'self'" in csp
    assert "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
    html = r.body.decode()
    assert "<script>" not in html and "<style" not in html and " style=" not in html
    js = [x.split('"')[0] for x in html.split('src="')[1:] if ".js" in x.split('"')[0]]
    assert len(js) == 1 and js[0].startswith("assets/app-")
    a = rt.get("/admin/" + js[0], {"Accept-Encoding": "gzip"})
    assert a.status == 200 and a.header("Content-Type").startswith("application/javascript")
    assert a.header("Content-Encoding") == "gzip"
    assert "max-age=31536000" in ", ".join(a.header_all("Cache-Control"))
    assert "immutable" in ", ".join(a.header_all("Cache-Control"))
    assert a.header("Content-Security-Policy") == csp
    assert rt.get("/admin").status == 301
    assert rt.get("/admin/nothing-here.js").status == 404


def test_staff_signs_in_and_sees_who_they_are(rt, panels):
    p = panels("chilonzor")
    p.page.goto(p.base)
    p.page.wait_for_selector("input[name=login]")
    assert p.fetch_status("/api/auth/me") == 401
    p.shot("01-sign-in")
    # A wrong password is refused with the server's 401, in the page.
    p.page.fill("input[name=login]", "chilonzor")
    p.page.fill("input[name=password]", "not-the-password")
    p.page.click("button[type=submit]")
    p.page.wait_for_selector(".login .error")
    p.sign_in()
    p.wait_live()
    me = p.page.inner_text("header.top .me")
    assert "Dilnoza Rahimova" in me
    assert p.page.get_attribute("header.top .me", "data-login") == "chilonzor"
    assert "Chilonzor" in p.page.inner_text("header.top .branch-name")
    assert p.fetch_status("/api/auth/me") == 200
    # The session is the HttpOnly cookie: no script can read the token.
    assert "oshxona_token" not in p.js("document.cookie")
    cookie = [c for c in p.ctx.cookies() if c["name"] == "oshxona_token"][0]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    # A reload keeps the session (who am I comes from /api/auth/me).
    p.page.reload()
    p.wait_live()
    # Russian at one tap.
    p.page.click("header.top .lang button:has-text('Рус')")
    p.page.wait_for_selector(".col-pending h2:has-text('Новые')")
    p.shot("02-board-ru")
    p.page.click("header.top .lang button:has-text('Oʻzb')")
    p.page.wait_for_selector(".col-pending h2:has-text('Yangi')")
    # Touch targets on a tablet: the tab links and buttons are ≥ 44 px tall.
    heights = p.js("[...document.querySelectorAll('.tabs a, header.top .btn')]"
                   ".map(e => e.getBoundingClientRect().height)")
    assert heights and min(heights) >= 44, heights


def test_new_order_appears_within_a_second_and_rings(rt, panels):
    p = panels("chilonzor").sign_in()
    p.wait_live()
    p.js("window.__sameDocument = true")
    starts = p.js("window.__oscStarts")
    customer = rt.customer(first_name="Malika")
    t_sent = time.monotonic()
    _, d = place(rt, customer=customer, qty=3)
    t201 = time.monotonic()
    p.card(d["_id"]).wait_for(timeout=APPEAR_MAX * 1000 + 500)
    seen = time.monotonic()
    record("new order: 201 -> card on the board", seen - t201)
    assert seen - t201 <= APPEAR_MAX, f"{seen - t201:.3f} s after the 201 ({t201 - t_sent:.3f} s to place)"
    # No reload: the same document, and the card is in the new column.
    assert p.js("window.__sameDocument") is True
    assert p.card(d["_id"]).get_attribute("data-status") == "pending"
    assert p.page.locator(f".col-pending [data-order-id='{d['_id']}']").count() == 1
    # The chime: three oscillators started on a running AudioContext.
    wait_until(lambda: p.js("window.__oscStarts") >= starts + 3, 2, what="the chime")
    assert p.js("window.__audioContexts.some(c => c.state === 'running')")
    # The badge and the tab title count the new orders.
    pending = rt.get(f"/api/admin/orders?branch={rt.branch_id()}&status=pending&limit=1",
                     rt.staff["owner"].headers).json["total"]
    assert p.page.inner_text("[data-testid=pending-badge]") == str(pending)
    assert p.page.title().startswith(f"({pending}) ")
    assert "Malika" in p.card(d["_id"]).inner_text()
    assert "3×" in p.card(d["_id"]).inner_text()
    p.shot("03-new-order-on-board")


def test_staff_moves_order_to_ready_and_the_customer_hears(rt, panels):
    p = panels("chilonzor").sign_in()
    p.wait_live()
    customer, d = place(rt)
    sub = EventSource(rt.stack.port, f"/sub/user/{customer.id}", customer.headers)
    try:
        assert sub.status == 200
        card = p.card(d["_id"])
        card.wait_for(timeout=3000)
        for status in ("confirmed", "preparing", "ready"):
            card.locator("[data-action=next]").click()
            p.page.wait_for_selector(f".col-{status} [data-order-id='{d['_id']}']", timeout=5000)
            _, ev = next_event(sub, 3.0, lambda e, s=status: e.get("event") == "status-updated"
                               and e["data"].get("orderId") == d["_id"]
                               and e["data"].get("status") == s)
        assert "tayyor" in ev["data"]["message"]
    finally:
        sub.close()
    order = rt.read(d["_id"])
    assert order["status"] == "ready"
    me = rt.staff["chilonzor"]
    staff_id = rt.get("/api/auth/me", me.headers).json["staff"]["id"]
    assert [h["status"] for h in order["statusHistory"]] == ["pending", "confirmed", "preparing", "ready"]
    assert all(h["updatedBy"] == staff_id for h in order["statusHistory"][1:])
    # The details page: items, customer, history with who and when.
    card.locator(".num").click()
    p.page.wait_for_selector(f"section.details[data-order-id='{d['_id']}']")
    rows = p.page.locator("table.history tbody tr")
    assert rows.count() == 4
    assert "Siz" in rows.nth(3).inner_text() and "Dilnoza" in rows.nth(3).inner_text()
    assert "Sardor" in rows.nth(0).inner_text()
    assert "Toʻy oshi" in p.page.inner_text("table.items")
    p.shot("04-order-details")


def test_delivery_order_shows_address_and_map_link_and_cancels_with_reason(rt, panels):
    p = panels("chilonzor").sign_in()
    p.wait_live()
    customer = rt.customer()
    body = rt.body(items=[{"productId": rt.pid("Toʻy oshi"), "quantity": 2}], order_type="delivery",
                   location={"lat": 41.2995, "lng": 69.2401})
    d = rt.place(customer, body).json["data"]
    p.card(d["_id"]).wait_for(timeout=3000)
    p.card(d["_id"]).locator(".num").click()
    p.page.wait_for_selector("section.details .address")
    assert "Chilonzor 9-kvartal" in p.page.inner_text("section.details .address")
    href = p.page.get_attribute("section.details .maplinks a >> nth=0", "href")
    assert "41.2995" in href and "69.2401" in href
    p.page.click("section.details [data-action=cancel]")
    p.page.fill("textarea[name=reason]", "Oshxonada gaz yoʻq")
    p.page.click("[data-action=confirm-cancel]")
    p.page.wait_for_selector("section.details[data-status=cancelled]", timeout=5000)
    order = rt.read(d["_id"])
    assert order["status"] == "cancelled"
    assert order["statusHistory"][-1]["message"] == "Oshxonada gaz yoʻq"
    p.page.goto(p.base + "#/board")
    p.wait_live()
    assert p.card(d["_id"]).count() == 0


def test_two_staff_racing_on_one_order_one_wins_the_other_sees_the_truth(rt, panels):
    a = panels("chilonzor").sign_in()
    b = panels("owner").sign_in()
    b.page.select_option("select[name=branch-picker]", rt.branch_id())
    for p in (a, b):
        p.wait_live()
    _, d = place(rt)
    for p in (a, b):
        p.card(d["_id"]).wait_for(timeout=3000)
    # Hold both status requests until both are on their way, so each page
    # acts on the same state (a tap on each tablet at the same moment).
    held = []
    for p in (a, b):
        p.page.route("**/api/orders/*/status", lambda route: held.append(route))
    for p in (a, b):
        p.card(d["_id"]).locator("[data-action=next]").click()
    # (wait_for_timeout lets playwright deliver the route events to us.)
    wait_until(lambda: (a.page.wait_for_timeout(20), len(held) == 2)[1], 5, what="both PUTs")
    for route in held:
        route.continue_()
    for p in (a, b):
        p.page.unroute("**/api/orders/*/status")
    # Both boards end with the truth: confirmed once.
    for p in (a, b):
        p.page.wait_for_selector(f".col-confirmed [data-order-id='{d['_id']}']", timeout=5000)
    wait_until(lambda: a.page.locator(".toast.conflict").count()
               + b.page.locator(".toast.conflict").count() >= 1, 5, what="a conflict shown")
    time.sleep(0.3)
    conflicts = [p.page.locator(".toast.conflict").count() for p in (a, b)]
    assert sorted(conflicts) == [0, 1], conflicts
    loser = (a, b)[conflicts.index(1)]
    text = loser.page.inner_text(".toast.conflict")
    assert "boshqa xodim" in text and ("confirmed" in text or "someone else" in text), text
    loser.shot("05-race-loser-sees-conflict")
    order = rt.read(d["_id"])
    assert order["status"] == "confirmed" and order["version"] == 1
    assert [h["status"] for h in order["statusHistory"]] == ["pending", "confirmed"]


def test_board_reconnects_after_nginx_restart_and_shows_what_it_missed(rt, panels):
    p = panels("chilonzor").sign_in()
    p.wait_live()
    p.js("window.__sameDocument = true")
    master = int((rt.dir / "run" / "nginx.pid").read_text().split()[0])
    os.kill(master, signal.SIGTERM)
    wait_until(lambda: not pid_exists(master), 15, what="nginx gone")
    p.page.wait_for_selector("[data-conn=offline]", timeout=10000)
    p.shot("06-board-offline")
    # While the board cannot subscribe, nginx comes back and orders arrive:
    # no event can carry them, only the re-sync on reconnect.
    p.page.route("**/sub/branch/**", lambda route: route.abort())
    rt.stack.stack_sh("start")
    missed = [place(rt)[1] for _ in range(3)]
    time.sleep(1.0)
    for d in missed:
        assert p.card(d["_id"]).count() == 0
    assert p.page.get_attribute(".conn", "data-conn") != "live"
    starts = p.js("window.__oscStarts")
    t_open = time.monotonic()
    p.page.unroute("**/sub/branch/**")
    p.wait_live(timeout=15000)
    for d in missed:
        p.card(d["_id"]).wait_for(timeout=3000)
    record("reconnect: channel reachable -> missed orders shown", time.monotonic() - t_open)
    assert p.js("window.__sameDocument") is True
    wait_until(lambda: p.js("window.__oscStarts") >= starts + 3, 2, what="the chime")
    # And it is live again: the next order arrives by event.
    _, d = place(rt)
    t201 = time.monotonic()
    p.card(d["_id"]).wait_for(timeout=3000)
    record("after reconnect: 201 -> card on the board", time.monotonic() - t201)
    assert time.monotonic() - t201 <= APPEAR_MAX
    p.shot("07-board-reconnected")


JPEG_FROM_CANVAS = """
async () => {
  // A noisy 1600x1200 photo, so the upload is big enough to report
  // progress more than once under the throttled link.
  const c = document.createElement('canvas');
  c.width = 1600; c.height = 1200;
  const g = c.getContext('2d');
  const img = g.createImageData(c.width, c.height);
  for (let i = 0; i < img.data.length; i++) img.data[i] = (i * 2654435761 >>> 13) & 255;
  g.putImageData(img, 0, 0);
  g.fillStyle = '#b45309'; g.fillRect(400, 300, 800, 600);
  const blob = await new Promise(r => c.toBlob(r, 'image/jpeg', 0.92));
  const dt = new DataTransfer();
  dt.items.add(new File([blob], 'plov.jpg', {type: 'image/jpeg'}));
  window.__dropSize = blob.size;
  return dt;
}
"""


def test_product_photo_uploaded_by_drag_and_drop_with_progress(rt, panels):
    p = panels("chilonzor").sign_in()
    pid = rt.pid("Sho\u02bbrva")
    p.page.goto(p.base + f"#/products/{pid}")
    p.page.wait_for_selector("[data-testid=image-drop]")
    # A slow shop Wi-Fi: uploads at 2 Mbit/s, so progress is visible.
    cdp = p.ctx.new_cdp_session(p.page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 20,
                                                  "downloadThroughput": -1,
                                                  "uploadThroughput": 256 * 1024})
    dt = p.page.evaluate_handle(JPEG_FROM_CANVAS)
    size = p.js("window.__dropSize")
    assert size > 300_000, size
    p.page.dispatch_event("[data-testid=image-drop]", "dragover", {"dataTransfer": dt})
    p.page.dispatch_event("[data-testid=image-drop]", "drop", {"dataTransfer": dt})
    # The preview shows at once, from the local file.
    p.page.wait_for_selector("[data-testid=image-drop] img.preview[src^='blob:']", timeout=2000)
    p.page.wait_for_selector(".upload progress", timeout=2000)
    mid = p.page.get_attribute(".upload", "data-progress")
    assert p.page.is_disabled("[data-action=save]")  # no saving a half-uploaded photo
    p.shot("08-upload-in-progress")
    p.page.wait_for_selector(".upload[data-state=done]", timeout=30000)
    assert p.page.get_attribute(".upload", "data-progress") == "100"
    # Progress was reported while the bytes went up, not only at the end.
    events = int(p.page.get_attribute(".upload", "data-progress-events"))
    assert events >= 2, (events, mid)
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0,
                                                  "downloadThroughput": -1, "uploadThroughput": -1})
    p.page.click("[data-action=save]")
    p.page.wait_for_selector("section.products", timeout=5000)
    product = rt.get(f"/api/admin/products/{pid}", rt.staff["owner"].headers).json["data"]
    url = product["image"]["url"]
    assert url.startswith("/media/") and url.endswith(".jpg")
    img = rt.get(url)
    assert img.status == 200 and img.header("Content-Type") == "image/jpeg"
    assert len(img.body) < size  # shrunk to 800x600 by the server
    # The list shows the stored photo, really loaded.
    p.page.fill("input[name=search]", "shoʻrva")
    thumb = p.page.locator(f"[data-product-id='{pid}'] .thumb img")
    thumb.wait_for(timeout=5000)
    assert thumb.get_attribute("src") == url
    wait_until(lambda: p.js("e => e.complete && e.naturalWidth", thumb.element_handle()) == 800, 5,
               what="the thumbnail loaded")
    p.shot("09-product-with-photo")


def test_stop_list_toggle_makes_ordering_that_product_fail(rt, panels):
    p = panels("chilonzor").sign_in()
    p.page.goto(p.base + "#/products")
    p.page.fill("input[name=search]", "achchiq")
    pid = rt.pid("Achchiq-chuchuk")
    row = p.page.locator(f"[data-product-id='{pid}']")
    # The search (debounced) leaves exactly that product. (Polled from
    # here: wait_for_function evaluates a string, which the panel's CSP
    # forbids, as it should.)
    wait_until(lambda: p.page.locator(".plist > li").count() == 1, 5, what="one search result")
    row.wait_for(timeout=5000)
    toggle = row.locator("[data-action=availability]")
    assert toggle.get_attribute("aria-checked") == "true"
    customer = rt.customer()
    items = [{"productId": pid, "quantity": 1}]
    toggle.click()
    row.locator("[data-action=availability][aria-checked=false]").wait_for(timeout=5000)
    p.shot("10-stop-list")
    r = rt.place(customer, rt.body(items=items), expect=409)
    assert "Achchiq-chuchuk" in r.json["message"]
    toggle.click()
    row.locator("[data-action=availability][aria-checked=true]").wait_for(timeout=5000)
    rt.place(customer, rt.body(items=items), expect=201)


def test_staff_of_one_branch_never_sees_another_branchs_board(rt, panels):
    p = panels("chilonzor").sign_in()
    p.wait_live()
    other = rt.branch_id("yunusobod")
    # The UI offers only the staff member's branch: no picker, no option.
    assert p.page.locator("select[name=branch-picker]").count() == 0
    p.page.goto(p.base + "#/orders")
    p.page.wait_for_selector("select[name=branch]")
    options = p.js("[...document.querySelectorAll('select[name=branch] option')].map(o => o.value)")
    assert options == [rt.branch_id()], options
    # Asking for it by address shows a refusal and subscribes to nothing.
    p.page.goto(p.base + f"#/board/{other}")
    p.page.wait_for_selector("p.error")
    assert p.page.locator(".board").count() == 0
    time.sleep(0.5)
    assert not [u for u in p.subs_requested if other in u], p.subs_requested
    p.shot("11-other-branch-refused")
    # The server refuses too, whatever the page would ask.
    assert p.fetch_status(f"/api/admin/orders?branch={other}") == 403
    assert p.fetch_status(f"/api/admin/branches/{other}") == 403
    token = [c for c in p.ctx.cookies() if c["name"] == "oshxona_token"][0]["value"]
    sub = EventSource(rt.stack.port, f"/sub/branch/{other}", {"Cookie": f"oshxona_token={token}"})
    assert sub.status == 403
    # An order at the other branch never reaches this board.
    p.page.goto(p.base + "#/board")
    p.wait_live()
    _, d = place(rt, branch="yunusobod")
    _, mine = place(rt)
    p.card(mine["_id"]).wait_for(timeout=3000)
    assert p.card(d["_id"]).count() == 0
    assert p.page.locator(f"[data-order-id='{d['_id']}']").count() == 0


def test_branch_settings_hours_open_flag_fees(rt, panels):
    p = panels("chilonzor").sign_in()
    p.page.goto(p.base + "#/branches")
    p.page.click(f"a[href='#/branches/{rt.branch_id()}'] >> nth=0")
    p.page.wait_for_selector("section.branch-form input[name=minOrder]")
    p.page.fill("input[name=minOrder]", "60000")
    p.page.fill("input[name=deliveryFee]", "12000")
    p.page.locator("tr[data-day=sun] input[type=checkbox]").check()
    p.page.click("[data-action=save]")
    p.page.wait_for_selector(".toast.ok", timeout=5000)
    b = rt.get(f"/api/admin/branches/{rt.branch_id()}", rt.staff["owner"].headers).json["data"]
    assert b["minOrder"] == 60000 and b["deliveryFee"] == 12000
    assert b["workingHours"]["sun"] is None and b["workingHours"]["mon"] is not None
    p.shot("12-branch-settings")
    # Put the branch back as the other tests expect it (open all day).
    r = rt.api.request("PATCH", f"/api/admin/branches/{rt.branch_id()}",
                       headers={"Content-Type": "application/json", **rt.staff["owner"].headers},
                       body=json.dumps({"workingHours": ALL_DAY, "minOrder": 50000,
                                        "deliveryFee": 10000}).encode())
    assert r.status == 200, r


def test_orders_list_filters_and_pages(rt, panels):
    owner = rt.staff["owner"].headers
    while rt.get("/api/admin/orders?limit=1", owner).json["total"] <= 25:
        place(rt)
    _, d = place(rt)
    rt.advance(d["_id"], ["confirmed", "preparing", "ready"], rt.staff["chilonzor"])
    p = panels("owner").sign_in()
    p.page.goto(p.base + "#/orders")
    p.page.wait_for_selector(".orders-list table tbody tr")
    total = rt.get(f"/api/admin/orders?from={tashkent_day(-6)}&to={tashkent_day()}&limit=1",
                   owner).json["total"]
    assert p.page.locator(".orders-list tbody tr").count() == 20
    assert p.page.inner_text(".pager-range") == f"1–20 / {total}"
    first = p.page.get_attribute(".orders-list tbody tr >> nth=0", "data-order-id")
    p.page.click(".pager button:has-text('Keyingi')")
    p.page.wait_for_selector(".pager-range:has-text('21–')")
    assert p.page.get_attribute(".orders-list tbody tr >> nth=0", "data-order-id") != first
    # Status and branch filters are the API's.
    p.page.select_option("select[name=status]", "ready")
    p.page.select_option("select[name=branch]", rt.branch_id())
    ready = rt.get(f"/api/admin/orders?branch={rt.branch_id()}&status=ready&from={tashkent_day(-6)}"
                   f"&to={tashkent_day()}&limit=100", owner).json
    assert ready["total"] >= 1
    wait_until(lambda: p.page.locator(".orders-list tbody tr").count() == ready["total"]
               and p.page.locator(".orders-list tbody .st-ready").count() == ready["total"], 5,
               what="only ready orders")
    ids = p.js("[...document.querySelectorAll('.orders-list tbody tr')].map(r => r.dataset.orderId)")
    assert ids == [o["_id"] for o in ready["data"]]
    p.shot("14-orders-list")


def test_product_create_edit_and_soft_delete(rt, panels):
    p = panels("chilonzor").sign_in()
    p.page.on("dialog", lambda d: d.accept())
    p.page.goto(p.base + "#/products/new")
    p.page.wait_for_selector("input[name=name]")
    p.page.fill("input[name=name]", "Sinov somsa")
    p.page.fill("input[name=nameRu]", "Тестовая самса")
    p.page.fill("input[name=price]", "12000")
    p.page.wait_for_selector("select[name=categoryId] option:nth-child(2)", state="attached")
    cat = p.js("document.querySelector('select[name=categoryId] option:nth-child(2)').value")
    p.page.select_option("select[name=categoryId]", cat)
    p.page.click("[data-action=save]")
    # (page.url is only a cached value: wait_for_url really waits.)
    p.page.wait_for_url(re.compile(r".*#/products/[0-9a-f]{24}$"), timeout=10000)
    pid = p.page.url.rsplit("/", 1)[1]
    prod = rt.get(f"/api/admin/products/{pid}", rt.staff["owner"].headers).json["data"]
    assert (prod["name"], prod["nameRu"], prod["price"], prod["categoryId"]) == (
        "Sinov somsa", "Тестовая самса", 12000, cat)
    assert prod["isActive"] and prod["isAvailable"]
    # Edit: the price only (PATCH names only what changed).
    p.page.wait_for_selector(f"section.product-form[data-product-id='{pid}'] input[name=price]")
    p.page.fill("input[name=price]", "13000")
    p.page.click("[data-action=save]")
    p.page.wait_for_selector("section.products")
    prod = rt.get(f"/api/admin/products/{pid}", rt.staff["owner"].headers).json["data"]
    assert prod["price"] == 13000 and prod["name"] == "Sinov somsa"
    assert "mxikCode" not in prod and "packageCode" not in prod  # empty codes are not sent
    # The fiscal codes Payme's receipt needs; emptying a code removes it.
    p.page.goto(p.base + f"#/products/{pid}")
    p.page.wait_for_selector(f"section.product-form[data-product-id='{pid}'] input[name=mxikCode]")
    p.page.fill("input[name=mxikCode]", "10202001001000001")
    p.page.fill("input[name=packageCode]", "1515881")
    p.page.fill("input[name=vatPercent]", "12")
    p.page.click("[data-action=save]")
    p.page.wait_for_selector("section.products")
    prod = rt.get(f"/api/admin/products/{pid}", rt.staff["owner"].headers).json["data"]
    assert (prod["mxikCode"], prod["packageCode"], prod["vatPercent"]) == (
        "10202001001000001", "1515881", 12)
    p.page.goto(p.base + f"#/products/{pid}")
    p.page.wait_for_selector(f"section.product-form[data-product-id='{pid}'] input[name=mxikCode]")
    assert p.page.input_value("input[name=mxikCode]") == "10202001001000001"
    p.page.fill("input[name=mxikCode]", "")
    p.page.click("[data-action=save]")
    p.page.wait_for_selector("section.products")
    prod = rt.get(f"/api/admin/products/{pid}", rt.staff["owner"].headers).json["data"]
    assert prod.get("mxikCode") is None and prod["packageCode"] == "1515881"
    # The public menu finds it, then the soft delete hides it.
    assert any(x["_id"] == pid for x in rt.get("/api/products?search=sinov").json["data"])
    p.page.fill("input[name=search]", "sinov")
    row = p.page.locator(f"[data-product-id='{pid}']")
    row.wait_for(timeout=5000)
    row.locator("[data-action=delete]").click()
    row.wait_for(state="detached", timeout=5000)
    prod = rt.get(f"/api/admin/products/{pid}", rt.staff["owner"].headers).json["data"]
    assert prod["isActive"] is False
    assert not any(x["_id"] == pid for x in rt.get("/api/products?search=sinov").json["data"])
    p.page.select_option("select[name=active]", "false")
    p.page.locator(f"[data-product-id='{pid}'].inactive").wait_for(timeout=5000)


def test_owner_creates_a_category_others_do_not_see_the_page(rt, panels):
    o = panels("owner").sign_in()
    o.page.goto(o.base + "#/categories")
    o.page.click("section.categories button.primary")
    o.page.fill(".modal input[name=name]", "Sinov taomlar")
    o.page.fill(".modal input[name=nameRu]", "Тестовые блюда")
    o.page.click(".modal button[type=submit]")
    o.page.wait_for_selector("section.categories td:has-text('Sinov taomlar')")
    cats = rt.get("/api/admin/categories", rt.staff["owner"].headers).json["data"]
    assert any(c["name"] == "Sinov taomlar" and c["nameRu"] == "Тестовые блюда" for c in cats)
    s = panels("chilonzor").sign_in()
    assert s.page.locator(".tabs a[href='#/categories']").count() == 0
    assert o.page.locator(".tabs a[href='#/categories']").count() == 1


def test_board_on_a_tablet_held_upright(rt, panels):
    p = panels("chilonzor", viewport={"width": 768, "height": 1024}).sign_in()
    p.wait_live()
    _, d = place(rt)
    p.card(d["_id"]).wait_for(timeout=3000)
    # One column fills most of the width; the next ones are a swipe away.
    width = p.js("document.querySelector('.col-pending').getBoundingClientRect().width")
    assert width > 600, width
    box = p.card(d["_id"]).locator("[data-action=next]").bounding_box()
    assert box["height"] >= 44 and box["width"] >= 120, box
    p.shot("15-board-portrait-tablet")


def test_board_reads_more_than_one_page_of_waiting_orders(rt, panels):
    """The API pages at 100: a column with more waiting orders is read page
    by page, on the first load as on every re-sync."""
    branch = rt.new_branch()
    bid = str(branch["_id"])
    customer = rt.customer()
    items = [{"productId": rt.pid("Toʻy oshi"), "quantity": 1}]
    ids = {rt.order(customer, body=rt.body(items=items, branch=bid))["_id"] for _ in range(105)}
    p = panels("owner").sign_in()
    p.page.goto(p.base + f"#/board/{bid}")
    p.wait_live()
    wait_until(lambda: p.page.locator(".col-pending [data-order-id]").count() == 105, 10,
               what="105 waiting orders")
    shown = set(p.js("[...document.querySelectorAll('.col-pending [data-order-id]')]"
                     ".map(e => e.dataset.orderId)"))
    assert shown == ids
    assert p.page.inner_text("[data-testid=pending-badge]") == "105"


def test_board_keeps_unfinished_orders_of_earlier_days(rt, panels):
    """The API lists today unless told; an order placed before midnight and
    still being cooked must stay on the board."""
    from bson import ObjectId
    _, d = place(rt)
    rt.db.orders.update_one({"_id": ObjectId(d["_id"])}, {"$set": {"localDay": tashkent_day(-1)}})
    p = panels("chilonzor").sign_in()
    p.wait_live()
    p.card(d["_id"]).wait_for(timeout=5000)


def test_analytics_dashboard(rt, panels):
    job = BIN / "analytics-rollup"
    if job.exists():
        # The rollups come from the cron job: roll today's orders (these
        # two and whatever this module placed) so the charts show them.
        place(rt, qty=2)
        place(rt, branch="yunusobod", product="Achchiq-chuchuk")
        env = {k: v for k, v in os.environ.items() if k not in ("LOG_FILE", "EXTERNAL_DB")}
        env.update(MONGODB_URI=f"mongodb://127.0.0.1:{rt.stack.db_port}/oshxona",
                   OSHXONA_ENV_FILE="/dev/null", OSHXONA_LOCK_DIR=str(rt.dir / "run"),
                   LOG_LEVEL="warn")
        subprocess.run([str(job), "--date", tashkent_day()], env=env, check=True, timeout=120,
                       capture_output=True)
    p = panels("owner").sign_in()
    p.page.goto(p.base + "#/analytics")
    r = rt.get("/api/admin/analytics/top-products?days=7&limit=10", rt.staff["owner"].headers)
    if r.status == 404:
        # No analytics program on this server yet: the page says so.
        p.page.wait_for_selector("[data-state=analytics-unavailable]", timeout=5000)
        assert p.page.locator("svg.chart").count() == 0
    else:
        # The charts show what the API says (default period: 7 days, all
        # branches for the owner).
        assert r.status == 200, r
        top = r.json["data"]
        owner = rt.staff["owner"].headers
        summary = rt.get(f"/api/admin/analytics/summary?from={tashkent_day(-6)}&to={tashkent_day()}",
                         owner).json["data"]
        peak = rt.get("/api/admin/analytics/peak-hours?days=7", owner).json["data"]
        assert summary["totalOrders"] > 0 and top  # the rollup saw this module's orders
        p.page.wait_for_selector("svg.chart", timeout=10000)
        assert p.page.locator("svg.chart").count() == 3
        for k in ("totalOrders", "totalRevenue", "completedOrders"):
            assert p.page.get_attribute(f".kpi[data-kpi={k}]", "data-value") == str(summary[k])
        days = p.js("[...document.querySelectorAll('[data-day]')].map(g => [g.dataset.day, +g.dataset.revenue])")
        assert days == [[d["date"], d["totalRevenue"]] for d in summary["days"]]
        shown = p.js("[...document.querySelectorAll('[data-product]')].map(g => [g.dataset.product, +g.dataset.sold])")
        assert shown == [[x["product"]["name"], x["totalSold"]] for x in top]
        # The accountants' export is the API's CSV of the same period.
        csv = p.page.get_attribute("[data-action=csv]", "href")
        assert f"from={tashkent_day(-6)}" in csv and "format=csv" in csv
        assert p.js("h => fetch(h).then(r => r.headers.get('Content-Type'))", csv).startswith("text/csv")
        cells = p.js("[...document.querySelectorAll('rect[data-hour]')].map(c => +c.dataset.count)")
        by_hour = {x["hour"]: x["orderCount"] for x in peak}
        assert cells == [by_hour.get(h, 0) for h in range(24)]
    p.shot("13-analytics")


def test_sign_out(rt, panels):
    # Staff logout ends every token of that account (README), so this runs
    # last and with the one account the other tests do not drive.
    p = panels("yunusobod").sign_in()
    p.wait_live()
    p.page.click("[data-action=sign-out]")
    p.page.wait_for_selector("input[name=login]")
    assert p.fetch_status("/api/auth/me") == 401
    p.page.reload()
    p.page.wait_for_selector("input[name=login]")
