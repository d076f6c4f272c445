"""`make run` / `make stop` semantics, on a private stack: starting twice
does not start a second copy, a dead program is brought back, stop ends
exactly what start began, and the data survives a restart."""

import os
import time

import pytest

from harness import private_stack
from harness import pid_alive as alive

NAMES = ("ferretdb", "health", "menu", "auth", "orders", "chanauth", "nginx", "menu-listener")
# Started by stack.sh but not FastCGI programs: no supervisor, no children.
PLAIN = ("ferretdb", "nginx", "menu-listener")


@pytest.fixture(scope="module")
def private(request):
    with private_stack(request, "stack", start=False) as st:
        yield st, st.api


def all_pids(st):
    return {n: st.pids(n) for n in NAMES}


def test_start_twice_is_one_copy(private):
    st, api = private
    st.stack_sh("start", timeout=180)
    first = all_pids(st)
    assert all(first[n] for n in NAMES), first
    assert len(first["menu"]) == 1  # the supervisor
    assert len(st.children("menu")) == 2  # FCGI_CHILDREN
    again = st.stack_sh("start")
    assert "already running" in again.stdout
    assert all_pids(st) == first
    assert api.get("/api/categories").status == 200


def test_dead_program_comes_back(private):
    st, api = private
    # The supervisor replaces a dead child itself (test_supervisor.py); a
    # dead supervisor, whose children follow it, takes stack.sh start.
    old = st.pids("menu") + st.children("menu")
    for pid in old:
        os.kill(pid, 9)
    deadline = time.monotonic() + 10
    while any(alive(p) for p in old) and time.monotonic() < deadline:
        time.sleep(0.05)
    st.stack_sh("start")
    new = st.children("menu")
    assert len(new) == 2 and not set(new) & set(old)
    assert all(alive(p) for p in new)
    assert api.get("/api/categories").status == 200


def test_dead_daemon_comes_back(private):
    st, api = private
    (old,) = st.pids("menu-listener")
    os.kill(old, 9)
    deadline = time.monotonic() + 10
    while alive(old) and time.monotonic() < deadline:
        time.sleep(0.05)
    st.stack_sh("start")
    (new,) = st.pids("menu-listener")
    assert new != old and alive(new)


def test_stop_ends_exactly_what_it_started_and_data_survives(private):
    st, api = private
    ids = sorted(c["_id"] for c in api.get("/api/categories").json["data"])
    pids = [p for n in NAMES for p in st.pids(n)]
    pids += [p for n in NAMES if n not in PLAIN for p in st.children(n)]
    st.stack_sh("stop")
    deadline = time.monotonic() + 15
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in pids if alive(p)]
    assert not list((st.dir / "run").glob("*.pid"))
    assert not list((st.dir / "run").glob("*.sock"))
    assert not list((st.dir / "run").glob("*.children"))
    # The daemons too, and on TERM (their own clean exit, not the KILL).
    assert '"message":"stopping"' in (st.dir / "logs" / "menu-listener.log").read_text()
    # Started again on the same data directory: the same catalogue, not a
    # second load of the demo data.
    st.stack_sh("start", timeout=180)
    assert sorted(c["_id"] for c in api.get("/api/categories").json["data"]) == ids
