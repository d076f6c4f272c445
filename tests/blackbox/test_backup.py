"""Backup and restore (tools/oshxona-backup): orders placed on one stack,
dumped, restored into a second, fresh stack, read back through its API.
A damaged dump is refused before anything in the target is touched."""
import os
import subprocess

import pytest
from bson import ObjectId

from harness import BIN, private_stack
from orders_helpers import OrdersStack

BACKUP = BIN / "oshxona-backup"


@pytest.fixture(scope="module")
def source(request):
    with private_stack(request, "backup-src", OrdersStack) as st:
        yield st


@pytest.fixture(scope="module")
def target(request, source):
    with private_stack(request, "backup-dst", OrdersStack) as st:
        yield st


def backup(st, *args):
    env = dict(os.environ, OSHXONA_ENV_FILE="/dev/null",
               MONGODB_URI=st.uri)
    env.pop("LOG_DIR", None)
    return subprocess.run([str(BACKUP), *args], env=env, capture_output=True, text=True,
                          timeout=120)


def counts(st):
    return {c: st.db[c].count_documents({}) for c in st.db.list_collection_names()
            if not c.startswith("system.")}


@pytest.fixture(scope="module")
def dump(source, tmp_path_factory):
    alice = source.customer()
    placed = [source.order(alice, items=[{"productId": source.pid("Toʻy oshi"), "quantity": q}])
              for q in (1, 2, 3)]
    source.advance(placed[0]["_id"], ["confirmed", "preparing"], source.staff["owner"])
    d = tmp_path_factory.mktemp("dumps") / "full"
    r = backup(source, "dump", str(d))
    assert r.returncode == 0, r.stderr
    return d, placed, [source.read(o["_id"]) for o in placed], counts(source)


def test_dump_is_complete_and_never_overwritten(source, dump):
    d, _, _, before = dump
    manifest = dict(line.split() for line in (d / "MANIFEST").read_text().splitlines())
    assert {k: int(v) for k, v in manifest.items()} == before
    assert int(manifest["orders"]) == 3
    assert not (d.parent / "full.partial").exists()
    r = backup(source, "dump", str(d))
    assert r.returncode != 0 and "exists" in r.stderr


def test_damaged_dump_changes_nothing(target, dump, tmp_path):
    d, _, _, _ = dump
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in d.iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    text = (bad / "orders.jsonl").read_text()
    (bad / "orders.jsonl").write_text(text[:len(text) // 2])  # cut mid-document
    before = counts(target)
    r = backup(target, "restore", str(bad))
    assert r.returncode != 0
    assert "orders.jsonl" in r.stderr
    assert counts(target) == before


def test_restore_into_a_fresh_stack_reads_the_same_orders(source, target, dump):
    d, placed, read_before, src_counts = dump
    assert target.db.orders.count_documents({}) == 0
    r = backup(target, "restore", str(d))
    assert r.returncode == 0, r.stderr
    assert counts(target) == src_counts
    # Through the API of the second stack: staff sign in against the
    # restored accounts (the stacks' secrets differ, the password hashes
    # came with the dump) and read every order as it was.
    owner = target.login("owner")
    for o, before in zip(placed, read_before):
        r = target.get(f"/api/orders/{o['_id']}", owner.headers)
        assert r.status == 200, r
        assert r.json["data"] == before
    assert read_before[0]["status"] == "preparing"
    # Types survived: ObjectIds stay ObjectIds, dates stay dates.
    doc = target.db.orders.find_one({"_id": ObjectId(placed[0]["_id"])})
    assert doc is not None
    assert type(doc["createdAt"]).__name__ == "datetime"
    # The restored database takes new orders: indexes and numbering hold.
    bob = target.customer()
    # (the branch and product ids are the source's now)
    new = target.order(bob, branch=source.branch_id(),
                       items=[{"productId": source.pid("Toʻy oshi"), "quantity": 1}])
    assert new["_id"] not in {o["_id"] for o in placed}
