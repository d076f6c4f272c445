"""Black-box test fixtures: the session's private Oshxona stack.

The session fixture is a harness.private_stack (harness.py: FerretDB, the
FastCGI programs and nginx on free loopback ports in a temporary
directory), so a run never touches a `make run` stack on 8080.
Expectations come from data/demo.json, never from hard-coded lists.

Fixtures for the tests: `stack` (a harness.Stack: ports, paths,
stack_sh()), `api` (an HTTP client), `demo` (the demo data and a model of
the search), `mongo` (the stack's database through pymongo, for what the
API deliberately never shows, such as the ids of inactive products), and
`browser` (Debian's Chromium through playwright, one per module).
"""

import json
import re

import pytest

from harness import DEMO_PATH, FAILURES, LOG_REPORT, private_stack


# --------------------------------------------------------------- reporting


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        FAILURES.append(f"{item.nodeid} ({rep.when})")


def pytest_terminal_summary(terminalreporter):
    if not LOG_REPORT:
        return
    terminalreporter.section("Oshxona stack logs (tails)")
    for line in LOG_REPORT:
        terminalreporter.write_line(line)


# ------------------------------------------------------------------- stack


@pytest.fixture(scope="session")
def stack(request):
    with private_stack(request, "bb") as st:
        yield st


@pytest.fixture(scope="session")
def api(stack):
    return stack.api


@pytest.fixture(scope="session")
def mongo(stack):
    return stack.db


# ------------------------------------------------------------- demo model

APOSTROPHES = "'`\u02bb\u02bc\u2018\u2019"
PREFIX_MAX = 24


def search_words(text):
    """The documented normalization (oshxona.h, search_words): lower case,
    'ё' as 'е', Uzbek apostrophes dropped, anything not a letter or digit
    breaks words; words cut to 24 code points."""
    t = "".join(c for c in text if c not in APOSTROPHES).lower().replace("ё", "е")
    return [w[:PREFIX_MAX] for w in re.findall(r"[^\W_]+", t)]


class Demo:
    def __init__(self, data):
        self.data = data
        self.branches = data["branches"]
        self.categories = data["categories"]
        self.products = data["products"]
        self.cat_by_key = {c["key"]: c for c in self.categories}

    @property
    def active_branches(self):
        return [b for b in self.branches if b.get("isActive")]

    @property
    def active_categories(self):
        cats = [c for c in self.categories if c.get("isActive")]
        return sorted(cats, key=lambda c: (c["sortOrder"], c["name"]))

    @staticmethod
    def product_order(p):
        return (p["sortOrder"], p["name"])

    @property
    def active_products(self):
        return sorted((p for p in self.products if p.get("isActive")), key=self.product_order)

    @property
    def inactive_products(self):
        return [p for p in self.products if not p.get("isActive")]

    def active_in_category(self, key):
        return [p for p in self.active_products if p["category"] == key]

    def search(self, query, category=None):
        """Active products whose words start with every query word, in
        the API's order; None when the query has no word (nothing matches)."""
        qwords = search_words(query)[:8]
        out = []
        for p in self.active_products:
            if category is not None and p["category"] != category:
                continue
            words = set()
            for f in ("name", "nameRu", "description", "descriptionRu"):
                if p.get(f):
                    words.update(search_words(p[f]))
            if all(any(w.startswith(qw) for w in words) for qw in qwords):
                out.append(p)
        return out if qwords else []


@pytest.fixture(scope="session")
def demo():
    return Demo(json.loads(DEMO_PATH.read_text(encoding="utf-8")))


# ----------------------------------------------------------------- browser

CHROMIUM = "/usr/bin/chromium"  # Debian's: playwright never downloads a browser
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    """One Chromium per browser module; each test opens its own contexts."""
    # Imported here so the suites without a browser run without playwright.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield b
        finally:
            b.close()
