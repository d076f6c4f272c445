"""FastCGI children are supervised (issue 12, item 3): a killed child is
replaced, connections wait in the socket's backlog meanwhile instead of
getting 502, a crash-looping program is restarted with a growing delay,
and /readyz reports a program that has no live child."""

import os
import signal
import subprocess
import time

import pytest

from harness import BIN, private_stack
from harness import pid_alive as alive

SUPERVISOR = BIN / "fcgi-supervisor"


@pytest.fixture(scope="module")
def private(request):
    with private_stack(request, "sup") as st:
        yield st, st.api


def wait_for(cond, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    pytest.fail(f"not within {seconds} s: {what}")


def live_children(st, name):
    try:
        return [p for p in st.children(name) if alive(p)]
    except (OSError, ValueError):
        return []


def test_killed_children_are_replaced(private):
    st, api = private
    old = st.children("orders")
    assert len(old) == 2 and all(map(alive, old))
    sup = st.pids("orders")
    for pid in old:
        os.kill(pid, signal.SIGKILL)
    new = wait_for(lambda: (lambda c: c if len(c) == 2 and not set(c) & set(old) else None)(
        live_children(st, "orders")), 5, "two new orders children")
    assert all(map(alive, new))
    assert st.pids("orders") == sup  # the same supervisor
    r = api.get("/api/orders")
    assert r.status == 401, r
    assert api.get("/readyz").status == 200


def test_requests_wait_for_the_replacement_instead_of_502(private):
    st, api = private
    old = st.children("menu")
    for pid in old:
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not any(map(alive, old)), 5, "menu children gone")
    # Straight away, before the supervisor has had a chance: the socket is
    # still held open, so the request waits in its backlog.
    r = api.get("/api/products?search=osh&limit=2")
    assert r.status == 200, r


def test_readyz_reports_a_program_without_a_live_child(private):
    st, api = private
    assert api.get("/readyz").status == 200
    sup = st.pids("orders")[0]
    children = st.children("orders")
    os.kill(sup, signal.SIGKILL)
    # The children follow their supervisor (PR_SET_PDEATHSIG).
    wait_for(lambda: not any(map(alive, children + [sup])), 5, "orders processes gone")
    r = api.get("/readyz")
    assert r.status == 503, r
    assert r.json["success"] is False and "orders" in r.json["message"], r.json
    assert api.get("/healthz").status == 200
    st.stack_sh("start")
    assert len(live_children(st, "orders")) == 2
    r = api.get("/readyz")
    assert r.status == 200 and r.json["status"] == "ready", r


def test_status_lists_supervisor_and_children(private):
    st, _ = private
    out = st.stack_sh("status").stdout
    line = [x for x in out.splitlines() if x.startswith("orders:")][0]
    assert str(st.pids("orders")[0]) in line
    assert all(str(p) in line for p in st.children("orders")), line


def test_crash_looping_program_backs_off(tmp_path):
    log = tmp_path / "sup.log"
    sock = tmp_path / "x.sock"
    pidf, childf = tmp_path / "x.pid", tmp_path / "x.children"
    env = dict(os.environ, LOG_FILE=str(log))
    p = subprocess.Popen([str(SUPERVISOR), "-n", "x", "-s", str(sock), "-F", "1",
                          "-P", str(pidf), "-C", str(childf), "--", "/bin/false"],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(2.6)
        assert pidf.read_text().strip() == str(p.pid)
        assert sock.is_socket()
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=10) == 0
    deaths = [x for x in log.read_text().splitlines() if "exited with 1" in x]
    # Started at 0, then after 0.1, 0.2, 0.4, 0.8 s... about 5 in 2.6 s,
    # never the hundreds a restart without delay would make.
    assert 3 <= len(deaths) <= 7, deaths
    assert not sock.exists() and not pidf.exists() and not childf.exists()


def test_supervisor_ends_its_children_on_term(tmp_path):
    sock = tmp_path / "s.sock"
    childf = tmp_path / "s.children"
    p = subprocess.Popen([str(SUPERVISOR), "-s", str(sock), "-F", "3", "-C", str(childf),
                          "--", "/bin/sleep", "60"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        kids = wait_for(lambda: (lambda t: [int(x) for x in t.split()] if len(t.split()) == 3
                                 else None)(childf.read_text() if childf.exists() else ""),
                        5, "three children")
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=10) == 0
    wait_for(lambda: not any(map(alive, kids)), 5, "children gone")
