"""Deployment files, checked without Docker or a running systemd: the one
package list resolves and covers every library the Makefile links; the
Dockerfile installs from it; docker-compose.yml has the structure a
replica set deployment needs (`docker compose config` too, where Docker
exists); `make install` lays out the tree under DESTDIR/PREFIX; the
systemd units pass `systemd-analyze verify`; the unit's own command line
replaces a killed program; logrotate accepts its file."""
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PY = "/usr/bin/python3"


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 300)
    return subprocess.run(cmd, cwd=kw.pop("cwd", ROOT), **kw)


def packages(*roles):
    r = run(["sh", "scripts/packages.sh", *roles])
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def programs():
    return sorted(p.parent.name for p in (ROOT / "fcgi-apps").glob("*/main.c"))


# ---------------------------------------------------------------- packages


def test_package_list_has_roles_and_resolves():
    build, runtime, dev = packages("build"), packages("run"), packages("dev")
    everything = packages()
    assert sorted(build + runtime + dev) == sorted(everything)
    assert "libvips-dev" in build and "nginx" in runtime
    r = run(["apt-cache", "policy", *everything])
    assert r.returncode == 0, r.stderr
    found = {}
    name = None
    for line in r.stdout.splitlines():
        if not line.startswith(" "):
            name = line.rstrip(":")
        elif line.strip().startswith("Candidate:"):
            found[name] = line.split(":", 1)[1].strip()
    missing = [p for p in everything if found.get(p) in (None, "(none)")]
    assert not missing, f"not installable from the configured Debian archive: {missing}"


def test_every_library_the_makefile_links_comes_from_a_build_package():
    # The drift that broke the image: the Makefile linked vips, the
    # Dockerfile's own list lacked libvips-dev.
    m = re.search(r"^PKGS\s*=\s*(.+)$", (ROOT / "Makefile").read_text(), re.M)
    build = set(packages("build"))
    for mod in m.group(1).split():
        r = run(["pkg-config", "--variable=pcfiledir", mod])
        assert r.returncode == 0, f"pkg-config does not know {mod}"
        pc = Path(r.stdout.strip()) / f"{mod}.pc"
        owner = run(["dpkg", "-S", str(pc)])
        assert owner.returncode == 0, f"no package owns {pc}"
        pkg = owner.stdout.split(":")[0].strip()
        assert pkg in build, f"{mod} comes from {pkg}, which packages.txt lacks (role build)"


def test_dockerfile_installs_from_the_list():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"packages\.sh build run", text)
    # No second list to drift: no package names spelt out in the Dockerfile.
    install = re.search(r"^RUN apt-get update(?:.*\\\n)*.*$", text, re.M).group(0)
    assert "apt-get install" in install
    for p in packages():
        assert not re.search(rf"(?<![\w/.-]){re.escape(p)}(?![\w.-])",
                             install.replace("packages.sh", "")), f"{p} listed in the Dockerfile"
    for src in re.findall(r"^COPY\s+(.+)\s+\S+$", text, re.M):
        for s in src.split():
            assert (ROOT / s).exists(), f"COPY source {s} missing"
    cmd = re.search(r'^CMD \["bash", "/src/(\S+)"\]', text, re.M)
    assert cmd and (ROOT / cmd.group(1)).exists()
    r = run(["bash", "-n", cmd.group(1)])
    assert r.returncode == 0, r.stderr


# ----------------------------------------------------------------- compose


def compose_check(path):
    return run([SYSTEM_PY, "scripts/check-compose.py", str(path)])


def test_compose_file_structure():
    if shutil.which("docker") and run(["docker", "compose", "version"]).returncode == 0:
        r = run(["docker", "compose", "-f", "docker-compose.yml", "config", "-q"])
        assert r.returncode == 0, r.stderr
    r = compose_check(ROOT / "docker-compose.yml")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("breakage", [
    ("      start_period: 30s\n", "      start_period: 30s\n      disable: true\n"),
    ("      - app-logs:/var/log/oshxona\n", "      - app-logs:/var/log/oshxona\n      - nowhere:/x\n"),
    ("      mongo3:\n        condition: service_healthy\n", ""),
    ("?replicaSet=rs0", ""),
    ('"127.0.0.1:8080:8080"', '"8080:8080"'),
])
def test_compose_check_fails_on_a_broken_file(tmp_path, breakage):
    text = (ROOT / "docker-compose.yml").read_text()
    old, new = breakage
    assert old in text
    if "disable" in new:  # no healthcheck at all for the app
        text = re.sub(r"(\n  app:\n(?:.*\n)*?)    healthcheck:\n(?:      .*\n)+", r"\1", text)
    else:
        text = text.replace(old, new)
    (tmp_path / "c.yml").write_text(text)
    r = compose_check(tmp_path / "c.yml")
    assert r.returncode == 1, (breakage, r.stdout, r.stderr)


# ----------------------------------------------------------------- install


@pytest.fixture(scope="module")
def dest(tmp_path_factory):
    d = tmp_path_factory.mktemp("destdir")
    r = run(["make", "-s", "install", f"DESTDIR={d}", "PREFIX=/opt/oshx"])
    assert r.returncode == 0, r.stdout + r.stderr
    return d


def test_make_install_lays_out_the_tree(dest):
    prefix = dest / "opt" / "oshx"
    for p in programs():
        assert os.access(prefix / "bin" / p, os.X_OK), p
    assert (prefix / "share" / "oshxona" / "programs").read_text().split() == programs()
    target = (dest / "lib/systemd/system/oshxona.target").read_text()
    for p in programs():
        assert f"Wants=oshxona@{p}.socket oshxona@{p}.service" in target
    unit = (dest / "lib/systemd/system/oshxona@.service").read_text()
    assert "ExecStart=/opt/oshx/bin/fcgi-supervisor -F ${FCGI_CHILDREN} -n %i " \
        "-C /run/oshxona/%i.children -- /opt/oshx/bin/%i" in unit
    # /readyz checks every program's live children.
    assert f'Environment="OSHXONA_PROGRAMS={" ".join(programs())}"' in unit
    assert "Environment=OSHXONA_RUN_DIR=/run/oshxona" in unit
    assert "@PREFIX@" not in unit
    assert "Wants=oshxona-menu-listener.service" in target
    listener = (dest / "lib/systemd/system/oshxona-menu-listener.service").read_text()
    assert "ExecStart=/opt/oshx/bin/menu-listener" in listener
    assert "Wants=oshxona-bot.service" in target
    bot = (dest / "lib/systemd/system/oshxona-bot.service").read_text()
    assert "ExecStart=/opt/oshx/bin/oshxona-bot run" in bot and "PartOf=oshxona.target" in bot
    # cron.d: a user column, and every job it runs is installed.
    jobs = 0
    for line in (dest / "etc/cron.d/oshxona").read_text().splitlines():
        if re.match(r"^[0-9*@]", line):
            f = line.split()
            assert f[5] == "www-data", line
            cmd = next(x for x in f[6:] if x.startswith("/"))
            assert cmd.startswith("/opt/oshx/bin/"), line
            assert os.access(dest / cmd.lstrip("/"), os.X_OK), cmd
            jobs += 1
    assert jobs == len(list((ROOT / "cron").glob("*/main.c")))
    env = dest / "etc/oshxona/env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o640
    assert "LOG_DIR=/var/log/oshxona" in env.read_text()
    assert (dest / "etc/nginx/sites-available/oshxona").read_text() == \
        (ROOT / "nginx-conf/production.conf").read_text()
    assert (dest / "etc/nginx/oshxona/security-headers.conf").exists()
    # The shared locations with production's values, under this PREFIX,
    # and an upstream for every program.
    locations = (dest / "etc/nginx/oshxona/locations.conf").read_text()
    assert "alias /opt/oshx/share/oshxona/web/admin/;" in locations
    assert "root /var/cache/oshxona/menu/files;" in locations
    assert not re.search(r"@[A-Z_]+@", locations)
    upstreams = (dest / "etc/nginx/oshxona/upstreams.conf").read_text()
    for p in programs():
        assert f"upstream oshxona_{p} {{\n\tserver unix:/run/oshxona/{p}.sock;" in upstreams
    assert (dest / "etc/logrotate.d/oshxona").exists()
    assert (dest / "usr/lib/tmpfiles.d/oshxona.conf").exists()
    # Nothing escaped DESTDIR into the real /opt.
    assert not Path("/opt/oshx").exists()


def test_install_keeps_the_operators_env_file(dest):
    env = dest / "etc/oshxona/env"
    env.write_text("JWT_SECRET=mine\n")
    r = run(["make", "-s", "install", f"DESTDIR={dest}", "PREFIX=/opt/oshx"])
    assert r.returncode == 0, r.stderr
    assert env.read_text() == "JWT_SECRET=mine\n"


def verify_units(dest, units_dir):
    """systemd-analyze verify on every instance; any line about our units
    (an unknown key, a missing command) counts as a failure, not only the
    exit code: verify exits 0 on mere warnings."""
    names = [f"oshxona@{p}.{kind}" for p in programs() for kind in ("service", "socket")]
    # Every other unit installed (a new one is verified without a line here).
    names += sorted(f.name for f in Path(units_dir).iterdir() if "@" not in f.name)
    r = run(["systemd-analyze", "verify", *names],
            env=dict(os.environ, SYSTEMD_UNIT_PATH=f"{units_dir}:"), cwd=dest)
    return r.returncode, (r.stdout + r.stderr).strip()


def units_copy(dest, tmp_path):
    # The commands must exist for verify: point PREFIX into DESTDIR.
    out = tmp_path / "units"
    out.mkdir()
    for f in (dest / "lib/systemd/system").iterdir():
        (out / f.name).write_text(f.read_text().replace("/opt/oshx/", f"{dest}/opt/oshx/"))
    return out


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze missing")
def test_systemd_units_verify(dest, tmp_path):
    rc, out = verify_units(dest, units_copy(dest, tmp_path))
    assert rc == 0 and "oshxona" not in out, out


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze missing")
@pytest.mark.parametrize("old,new", [
    ("ExecStart=", "ExecStrat="),
    ("Restart=always", "Restart=sometimes"),
    ("bin/fcgi-supervisor", "bin/no-such-supervisor"),
    ("StandardOutput=journal", "StandardOutput=journals"),
])
def test_systemd_verify_catches_broken_units(dest, tmp_path, old, new):
    units = units_copy(dest, tmp_path)
    f = units / "oshxona@.service"
    f.write_text(f.read_text().replace(old, new))
    rc, out = verify_units(dest, units)
    assert rc != 0 or "oshxona" in out


def test_unit_command_replaces_a_killed_program(dest, tmp_path):
    """The service's ExecStart as systemd would run it (the socket as
    fd 3, LISTEN_FDS=1, LISTEN_PID its own): a child killed by a crash is
    forked again, and the children file lists the live ones."""
    unit = (dest / "lib/systemd/system/oshxona@.service").read_text()
    cmd = re.search(r"^ExecStart=(.+)$", unit, re.M).group(1)
    cmd = cmd.replace("${FCGI_CHILDREN}", "2").replace("%i", "health").split()
    cmd = [str(dest / c.lstrip("/")) if c.startswith("/opt/oshx/") else c for c in cmd]
    childfile = tmp_path / "health.children"
    cmd = [str(childfile) if c == "/run/oshxona/health.children" else c for c in cmd]
    # systemd's hand-over: the socket as fd 3, LISTEN_PID the exec'd PID.
    cmd = ["sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"', "sh", *cmd]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(tmp_path / "health.sock"))
    sock.listen(16)
    env = dict(os.environ, LOG_FILE=str(tmp_path / "health.log"), OSHXONA_ENV_FILE="/dev/null",
               MONGODB_URI="mongodb://127.0.0.1:9/oshxona")
    env.pop("LOG_DIR", None)
    fd = sock.fileno()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, close_fds=False,
                         preexec_fn=lambda: os.dup2(fd, 3))
    sock.close()

    def children():
        try:
            return sorted(int(x) for x in
                          Path(f"/proc/{p.pid}/task/{p.pid}/children").read_text().split())
        except FileNotFoundError:
            return []

    def wait_for(pred, what):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if pred():
                return
            time.sleep(0.05)
        raise AssertionError(what)
    try:
        wait_for(lambda: len(children()) == 2, "two children")
        first = children()
        os.kill(first[0], signal.SIGKILL)
        wait_for(lambda: len(children()) == 2 and first[0] not in children(),
                 "the killed child replaced")
        assert first[1] in children()
        wait_for(lambda: childfile.exists() and
                 sorted(int(x) for x in childfile.read_text().split()) == children(),
                 "the children file lists the live children")
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@pytest.mark.skipif(not shutil.which("logrotate") and not Path("/usr/sbin/logrotate").exists(),
                    reason="logrotate missing")
def test_logrotate_accepts_its_file(dest, tmp_path):
    lr = shutil.which("logrotate") or "/usr/sbin/logrotate"
    r = run([lr, "-d", "-s", str(tmp_path / "state"), str(dest / "etc/logrotate.d/oshxona")])
    assert r.returncode == 0, r.stderr
    assert not re.search(r"^error:", r.stderr, re.M), r.stderr
    bad = tmp_path / "bad"
    bad.write_text((dest / "etc/logrotate.d/oshxona").read_text().replace("daily", "dialy"))
    r = run([lr, "-d", "-s", str(tmp_path / "state2"), str(bad)])
    assert r.returncode != 0 or re.search(r"^error:", r.stderr, re.M)
