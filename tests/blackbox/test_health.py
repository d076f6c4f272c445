"""Liveness and readiness probes (fcgi-apps/health)."""

import pytest


def test_healthz_ok(api):
    r, body = api.get_json("/healthz")
    assert body == {"success": True, "status": "ok"}
    assert r.header("Cache-Control") == "no-store"


def test_readyz_ready_when_database_is_up(api):
    r, body = api.get_json("/readyz")
    assert body == {"success": True, "status": "ready"}
    assert r.header("Cache-Control") == "no-store"


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probe_head_has_length_and_no_body(api, path):
    get = api.get(path)
    r = api.raw_request("HEAD", path)
    assert r.status == 200, r
    assert r.header("Content-Length") == str(len(get.body))
    assert r.body == b""


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probe_other_methods_405(api, path, method):
    r = api.request(method, path, body=b"")
    assert r.status == 405, r
    assert r.header("Content-Type", "").startswith("application/json")
    body = r.json
    assert body["success"] is False and isinstance(body["message"], str) and body["message"]
    allow = {m.strip() for m in r.header("Allow", "").split(",")}
    assert {"GET", "HEAD"} <= allow, r
    assert method not in allow

