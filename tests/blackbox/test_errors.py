"""Errors: every one answers JSON {"success": false, "message": ...} with
the right status, whether the FastCGI program or nginx produced it, and
carries the security headers."""

import re

import pytest

UNKNOWN_ID = "0123456789abcdef01234567"
MENU_COLLECTIONS = ["/api/branches", "/api/categories", "/api/products"]


def assert_json_error(r, status):
    assert r.status == status, r
    ctype = r.header("Content-Type", "")
    assert ctype.startswith("application/json"), r
    body = r.json
    assert body["success"] is False, body
    assert isinstance(body["message"], str) and body["message"], body
    assert set(body) == {"success", "message"}, body
    return body


@pytest.fixture(scope="module")
def product_id(api):
    _, body = api.get_json("/api/products?limit=1")
    return body["data"][0]["_id"]


@pytest.fixture(scope="module")
def category_id(api):
    _, body = api.get_json("/api/categories")
    return body["data"][0]["_id"]


# ------------------------------------------------------------------- ids

MALFORMED_IDS = [
    "xyz",
    "a" * 23,
    "a" * 25,
    "0123456789abcdef0123456g",
    "0123456789abcdef0123456%20",
    "%2001234567890abcdef01234",
    "0x23456789abcdef01234567",
]


@pytest.mark.parametrize("bad", MALFORMED_IDS)
def test_malformed_product_id_400(api, bad):
    assert_json_error(api.get(f"/api/products/{bad}"), 400)


@pytest.mark.parametrize("bad", MALFORMED_IDS)
def test_malformed_category_id_400(api, bad):
    assert_json_error(api.get(f"/api/categories/{bad}/products"), 400)


def test_unknown_product_404(api):
    assert_json_error(api.get(f"/api/products/{UNKNOWN_ID}"), 404)


def test_unknown_category_products_404(api):
    assert_json_error(api.get(f"/api/categories/{UNKNOWN_ID}/products"), 404)


# ----------------------------------------------------------------- paths


@pytest.mark.parametrize(
    "path",
    [
        # "/" redirects to the storefront (test_shop_browser.py).
        "/index.html",
        "/api",
        "/api/",
        "/api/nothing",
        "/api/ordersx",
        "/api/products/",
        "/api/categories/",
        "/api/branches/",
        "/api/branches/x",
        f"/api/categories/{UNKNOWN_ID}",
        f"/api/categories/{UNKNOWN_ID}/products/",
        f"/api/categories/{UNKNOWN_ID}/products/x",
        f"/api/products/{UNKNOWN_ID}/x",
        "/api/productsx",
        "/healthz/x",
        "/app.js",
        "/logo.png",
        "/healthz.html",
    ],
)
def test_unknown_path_404(api, path):
    assert_json_error(api.get(path), 404)


# --------------------------------------------------------------- methods


@pytest.fixture(params=["branches", "categories", "category-products", "products", "product"])
def menu_path(request, product_id, category_id):
    return {
        "branches": "/api/branches",
        "categories": "/api/categories",
        "category-products": f"/api/categories/{category_id}/products",
        "products": "/api/products",
        "product": f"/api/products/{product_id}",
    }[request.param]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_405_with_allow(api, menu_path, method):
    r = api.request(method, menu_path, body=b"{}" if method in ("POST", "PUT", "PATCH") else None,
                    headers={"Content-Type": "application/json"})
    assert_json_error(r, 405)
    allow = {m.strip() for m in r.header("Allow", "").split(",")}
    assert {"GET", "HEAD"} <= allow, r.header("Allow")
    assert method not in allow


def test_trace_is_refused_with_json(api):
    # nginx refuses TRACE itself; the answer is still the API's JSON shape.
    assert_json_error(api.raw_request("TRACE", "/api/categories"), 405)


def test_unknown_method_405(api):
    assert_json_error(api.raw_request("BREW", "/api/categories"), 405)


# --------------------------------------------------------- query strings

BAD_QUERIES = {
    "limit-0": "limit=0",
    "limit-101": "limit=101",
    "limit-abc": "limit=abc",
    "limit-negative": "limit=-1",
    "limit-exponent": "limit=1e2",
    "limit-leading-space": "limit=%205",
    "limit-plus-space": "limit=+5",
    "limit-trailing-space": "limit=5%20",
    "limit-decimal": "limit=1.5",
    "limit-hex": "limit=0x10",
    "limit-empty": "limit=",
    "limit-no-value": "limit",
    "limit-huge": "limit=99999999999999999999999",
    "offset-negative": "offset=-1",
    "offset-over-max": "offset=10001",
    "bad-escape": "search=%zz",
    "lone-percent": "%",
    "lone-percent-value": "search=%",
    "short-escape": "search=%f",
    "invalid-utf8": "search=%ff",
    "overlong-utf8": "search=%C0%AF",
    "surrogate-utf8": "search=%ED%A0%80",
    "nul-byte": "search=a%00b",
    "control-byte": "search=a%0Ab",
    "unknown-parameter": "bogus=1",
    "parameter-case": "Search=osh",
    "unknown-with-known": "search=osh&sort=price",
    "repeated-parameter": "limit=5&limit=5",
    "repeated-search": "search=osh&search=plov",
    "empty-name": "=5",
    "category-malformed": "category=xyz",
    "category-23-hex": "category=" + "a" * 23,
    "too-many-pairs": "&".join(f"p{i}=1" for i in range(17)),
    "over-1024-bytes": "limit=5" + "&" * 1100,
}


@pytest.mark.parametrize("query", BAD_QUERIES.values(), ids=BAD_QUERIES.keys())
def test_bad_query_400(api, query):
    assert_json_error(api.get("/api/products?" + query), 400)


@pytest.mark.parametrize("query", ["limit=5", "x", "search=osh", "a=1&b=2"])
@pytest.mark.parametrize("which", ["branches", "categories", "category-products", "product"])
def test_query_on_endpoints_without_parameters_400(api, product_id, category_id, which, query):
    path = {
        "branches": "/api/branches",
        "categories": "/api/categories",
        "category-products": f"/api/categories/{category_id}/products",
        "product": f"/api/products/{product_id}",
    }[which]
    assert_json_error(api.get(f"{path}?{query}"), 400)


def test_malformed_id_message_names_the_id(api):
    body = assert_json_error(api.get("/api/products/xyz"), 400)
    assert "id" in body["message"].lower()


# -------------------------------------------------------- nginx's errors


def test_uri_over_8k_is_414_json(api):
    r = api.raw_request("GET", "/api/products?search=" + "a" * 9000)
    assert_json_error(r, 414)


def test_malformed_request_line_is_400_json(api):
    r = api.raw(b"GET /api/ca tegories HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert_json_error(r, 400)


def test_missing_host_is_400_json(api):
    r = api.raw(b"GET /api/categories HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert_json_error(r, 400)


def test_body_over_64k_is_413_json(api):
    body = b"{" + b" " * (70 * 1024) + b"}"
    head = (
        f"POST /api/products HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    r = api.raw(head, send_after=body)
    assert_json_error(r, 413)


def test_chunked_body_over_64k_is_413_json(api):
    chunk = b"x" * 8192
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(10)) + b"0\r\n\r\n"
    head = (
        "POST /api/products HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    r = api.raw(head, send_after=body)
    assert_json_error(r, 413)


@pytest.mark.parametrize(
    "raw, status",
    [
        (b"POST /upload.html HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n", 413),
        (b"TRACE /a.html HTTP/1.1\r\nHost: x\r\n", 405),
        (b"GET /x.css HTTP/1.1\r\n", 400),  # no Host
    ],
    ids=["413", "405", "400"],
)
def test_nginx_errors_are_json_whatever_the_uri_extension(api, raw, status):
    # Not text/html for .html and so on: the body is JSON, and says so.
    # The 413 request's body is sent too: nginx then closes at once
    # instead of lingering for it.
    body = b"x" * 100000 if status == 413 else None
    assert_json_error(api.raw(raw + b"Connection: close\r\n\r\n", send_after=body), status)


# ------------------------------------------------------ security headers


def _requests(api, product_id):
    etag = api.get("/api/categories").header("ETag")
    return {
        "200-menu": lambda: api.raw_request("GET", "/api/categories"),
        "200-health": lambda: api.raw_request("GET", "/healthz"),
        "200-product": lambda: api.raw_request("GET", f"/api/products/{product_id}"),
        "304": lambda: api.raw_request("GET", "/api/categories", {"If-None-Match": etag}),
        "400-app": lambda: api.raw_request("GET", "/api/products?limit=0"),
        "404-app": lambda: api.raw_request("GET", f"/api/products/{UNKNOWN_ID}"),
        "404-nginx": lambda: api.raw_request("GET", "/nothing"),
        "405-app": lambda: api.raw_request("DELETE", "/api/categories"),
        "405-nginx": lambda: api.raw_request("TRACE", "/api/categories"),
        "400-nginx": lambda: api.raw(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"),
        "413-nginx": lambda: api.raw(
            b"POST /api/products HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Content-Length: 100000\r\n\r\n",
            send_after=b"x" * 100000,
        ),
        "414-nginx": lambda: api.raw_request("GET", "/api/products?search=" + "a" * 9000),
    }


EXPECTED_STATUS = {
    "200-menu": 200, "200-health": 200, "200-product": 200, "304": 304, "400-app": 400,
    "404-app": 404, "404-nginx": 404, "405-app": 405, "405-nginx": 405, "400-nginx": 400,
    "413-nginx": 413, "414-nginx": 414,
}


@pytest.mark.parametrize("case", EXPECTED_STATUS)
def test_security_headers(api, product_id, case):
    r = _requests(api, product_id)[case]()
    assert r.status == EXPECTED_STATUS[case], r

    def one(name):
        values = r.header_all(name)
        assert len(values) == 1, f"{name}: {values!r} in {r!r}"
        return values[0]

    assert one("X-Content-Type-Options") == "nosniff"
    assert one("X-Frame-Options") == "DENY"
    assert one("Referrer-Policy") == "no-referrer"
    csp = one("Content-Security-Policy")
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    server = r.header("Server")
    assert server is None or not re.search(r"\d", server), f"Server: {server}"
    assert r.header("X-Powered-By") is None
