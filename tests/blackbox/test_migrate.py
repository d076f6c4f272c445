"""An old store (FerretDB's SQLite handler, the former embedded default) is
refused at start with the command that migrates it; that command copies
every collection with its indexes into the PostgreSQL store, and the stack
then serves the old data."""

import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pymongo
import pytest
from bson import Int64, ObjectId

from harness import ROOT, connect, free_ports, private_stack


def old_store(stack_dir, port):
    """Writes data with FerretDB's SQLite handler, as the old stack.sh did."""
    ferretdb = subprocess.run(["bash", str(ROOT / "scripts" / "setup.sh"), "--print-ferretdb"],
                              capture_output=True, text=True, check=True).stdout.strip()
    data = Path(stack_dir) / "data" / "ferretdb"
    data.mkdir(parents=True)
    p = subprocess.Popen([ferretdb, "--handler=sqlite", f"--sqlite-url=file:{data}/",
                          f"--listen-addr=127.0.0.1:{port}", "--state-dir=-", "--debug-addr=-",
                          "--telemetry=disable", "--log-level=warn"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = connect(port, serverSelectionTimeoutMS=20000)
        db = client["oshxona"]
        now = datetime.now(timezone.utc).replace(microsecond=0)
        cat = {"_id": ObjectId(), "name": "Eski taomlar", "nameRu": "Старые блюда",
               "isActive": True, "sortOrder": 1, "createdAt": now}
        db.categories.insert_one(cat)
        orders = [{"_id": ObjectId(), "number": Int64(i + 1), "total": Int64(25000 * (i + 1)),
                   "status": "completed", "localDay": "2026-11-20", "createdAt": now}
                  for i in range(1500)]
        db.orders.insert_many(orders)
        db.staff.create_index("login", unique=True, name="login_1")
        db.staff.insert_one({"login": "eski", "role": "owner", "isActive": True})
        client.close()
        return cat, orders
    finally:
        p.terminate()
        p.wait(10)


@pytest.fixture(scope="module")
def legacy(request):
    (side,) = free_ports(1)
    with private_stack(request, "migrate", start=False, env=dict(MIGRATE_PORT=str(side))) as st:
        cat, orders = old_store(st.dir, side)
        yield st, cat, orders


def test_old_store_is_refused_with_how_to_migrate(legacy):
    st, _, _ = legacy
    p = st.stack_sh("start", timeout=180, check=False)
    assert p.returncode != 0, p.stdout
    assert "migrate-sqlite" in p.stdout and "data/ferretdb" in p.stdout, p.stdout
    assert not (st.dir / "run" / "nginx.pid").exists()


def test_migrate_copies_everything_then_the_stack_serves_it(legacy):
    st, cat, orders = legacy
    p = st.stack_sh("migrate-sqlite", timeout=300)
    assert "1500 documents" in p.stdout, p.stdout
    assert (st.dir / "data" / "ferretdb.sqlite-migrated").is_dir()
    st.stack_sh("start", timeout=180)
    db = st.mongo(serverSelectionTimeoutMS=10000, tz_aware=True)
    assert db.categories.find_one({"_id": cat["_id"]}) == cat
    copied = {d["_id"]: d for d in db.orders.find({})}
    assert len(copied) == len(orders)
    for o in orders[::97]:
        assert copied[o["_id"]] == o
        assert isinstance(copied[o["_id"]]["total"], Int64)
    # The unique index came along: it still refuses a second "eski".
    with pytest.raises(pymongo.errors.DuplicateKeyError):
        db.staff.insert_one({"login": "eski", "role": "operator", "isActive": True})
    # The API reads the old catalogue (the demo data was not loaded over it).
    r = st.api.get("/api/categories")
    assert r.status == 200, r
    assert [c["name"] for c in r.json["data"]] == ["Eski taomlar"]
    # And oshxona-init made its GIN indexes on the migrated tables.
    log = (st.dir / "logs" / "init.log").read_text()
    assert "GIN expression indexes in place" in log


def test_migrate_again_has_nothing_to_do(legacy):
    st, _, _ = legacy
    st.stack_sh("stop")
    p = st.stack_sh("migrate-sqlite", check=False)
    assert p.returncode != 0 and "no SQLite store" in p.stdout, p.stdout
