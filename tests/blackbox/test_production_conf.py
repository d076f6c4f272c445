"""The production nginx site, rendered as `make install` renders it
(scripts/nginx-render.sh production), must pass `nginx -t`, redirect plain
HTTP to HTTPS and serve the API only over TLS."""
import pathlib
import re
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONF = ROOT / "nginx-conf" / "production.conf"


def check(root=ROOT):
    return subprocess.run(
        ["bash", str(root / "scripts" / "check-production-conf.sh")],
        capture_output=True, text=True, timeout=60)


def test_production_conf_passes_nginx_t():
    r = check()
    assert r.returncode == 0, r.stderr
    assert "test is successful" in r.stderr


def test_production_conf_redirects_http_and_uses_tls(tmp_path):
    subprocess.run(["bash", str(ROOT / "scripts" / "nginx-render.sh"), "production",
                    str(tmp_path)], check=True, timeout=60)
    text = (tmp_path / "sites-available" / "oshxona").read_text()
    servers = re.split(r"\nserver \{", text)[1:]
    plain = [s for s in servers if re.search(r"listen 80;", s)]
    tls = [s for s in servers if re.search(r"listen 443 ssl", s)]
    assert len(plain) == 1 and len(tls) == 1
    assert "return 301 https://$host$request_uri;" in plain[0]
    assert "fastcgi_pass" not in plain[0] and "include oshxona/locations.conf" not in plain[0]
    assert "include oshxona/hsts.conf;" in tls[0]
    assert "include oshxona/locations.conf;" in tls[0]
    assert "Strict-Transport-Security" in (tmp_path / "oshxona" / "hsts.conf").read_text()
    assert "fastcgi_pass oshxona_menu;" in (tmp_path / "oshxona" / "locations.conf").read_text()


def repo_copy(tmp_path):
    """What check-production-conf.sh reads, in a scratch repository."""
    copy = tmp_path / "repo"
    (copy / "scripts").mkdir(parents=True)
    shutil.copytree(ROOT / "nginx-conf", copy / "nginx-conf")
    for s in ("check-production-conf.sh", "nginx-render.sh"):
        shutil.copy(ROOT / "scripts" / s, copy / "scripts" / s)
    for main in ROOT.glob("fcgi-apps/*/main.c"):
        (copy / "fcgi-apps" / main.parent.name).mkdir(parents=True)
        (copy / "fcgi-apps" / main.parent.name / "main.c").write_text("")
    return copy


def test_the_copy_itself_passes(tmp_path):
    r = check(repo_copy(tmp_path))
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("file,old,new", [
    # a syntax error in the site
    ("production.conf", "ssl_session_tickets off;", "ssl_session_tickets off"),
    # a syntax error in the shared locations
    ("locations.conf.in", "fastcgi_buffering off;", "fastcgi_buffering off"),
    # a location naming a program that has no upstream
    ("locations.conf.in", "fastcgi_pass oshxona_auth;", "fastcgi_pass oshxona_nosuch;"),
    # a placeholder production gives no value
    ("locations.conf.in", "burst=9 nodelay", "burst=@UPLOAD_BURST@ nodelay"),
])
def test_check_fails_on_a_broken_conf(tmp_path, file, old, new):
    copy = repo_copy(tmp_path)
    f = copy / "nginx-conf" / file
    text = f.read_text()
    assert old in text
    f.write_text(text.replace(old, new, 1))
    r = check(copy)
    assert r.returncode != 0
