"""The production nginx site must pass `nginx -t` as deployed, redirect
plain HTTP to HTTPS and serve the API only over TLS."""
import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONF = ROOT / "nginx-conf" / "production.conf"


def test_production_conf_passes_nginx_t():
    r = subprocess.run(
        ["bash", str(ROOT / "scripts" / "check-production-conf.sh")],
        capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "test is successful" in r.stderr


def test_production_conf_redirects_http_and_uses_tls():
    text = CONF.read_text()
    servers = re.split(r"\nserver \{", text)[1:]
    plain = [s for s in servers if re.search(r"listen 80;", s)]
    tls = [s for s in servers if re.search(r"listen 443 ssl", s)]
    assert len(plain) == 1 and len(tls) == 1
    assert "return 301 https://$host$request_uri;" in plain[0]
    assert "fastcgi_pass" not in plain[0]
    assert "Strict-Transport-Security" in tls[0]
    assert "fastcgi_pass oshxona_menu" in tls[0]


def test_check_fails_on_a_broken_conf(tmp_path):
    # The check must be able to fail: the same script on a copy of the
    # repository whose production.conf has a syntax error.
    copy = tmp_path / "repo"
    (copy / "scripts").mkdir(parents=True)
    (copy / "nginx-conf").mkdir()
    for f in ("security-headers.conf", "json-errors.conf"):
        (copy / "nginx-conf" / f).write_text((ROOT / "nginx-conf" / f).read_text())
    (copy / "nginx-conf" / "production.conf").write_text(
        CONF.read_text().replace("ssl_session_tickets off;", "ssl_session_tickets off"))
    script = copy / "scripts" / "check-production-conf.sh"
    script.write_text((ROOT / "scripts" / "check-production-conf.sh").read_text())
    r = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
