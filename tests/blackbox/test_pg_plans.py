"""FerretDB on PostgreSQL keeps using the GIN expression indexes on a
long-lived connection (issue 11/13 finding, 2026-12-03).

FerretDB prepares `SELECT _jsonb FROM t WHERE _jsonb->$1 @> $2`, with the
field name as a parameter. After five runs PostgreSQL may switch such a
statement to a generic plan, which cannot match an index on
(_jsonb->'field'); it does so whenever a scan looks cheap, as on a table of
few, large documents (daily_stats: a read went from 4 to 26 ms). The stack's
PostgreSQL runs with plan_cache_mode=force_custom_plan and oshxona-init sets
it on FerretDB's database; these tests see that FerretDB's own queries keep
to the index, and that without the setting they would not."""

import datetime
import os
import subprocess
import time

import pymongo
import pytest

COLL = "plan_probe"
ROWS = 732  # daily_stats of a year and two branches: where the planner was seen to switch


def psql(stack, sql):
    pw = (stack.dir / "data" / "pg-password").read_text().strip()
    url = f"postgres://oshxona:{pw}@127.0.0.1:{stack.pg_port}/ferretdb"
    p = subprocess.run(["psql", url, "-Atq", "-v", "ON_ERROR_STOP=1"], input=sql,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


@pytest.fixture(scope="module")
def probe(stack):
    """A collection shaped like daily_stats (a day field, a 4 KB blob each),
    with the GIN index oshxona-init would make, analysed."""
    db = pymongo.MongoClient(f"mongodb://127.0.0.1:{stack.db_port}/")["oshxona"]
    db[COLL].drop()
    first = datetime.date(2024, 1, 1)
    db[COLL].insert_many([{"_id": f"b:{i}", "day": (first + datetime.timedelta(days=i // 2)).isoformat(),
                           "detail": os.urandom(4096)} for i in range(ROWS)])
    table = psql(stack, "SELECT _jsonb->>'table' FROM oshxona._ferretdb_database_metadata "
                        f"WHERE _jsonb->>'_id' = '{COLL}'")
    assert table
    psql(stack, f'CREATE INDEX IF NOT EXISTS "{table}_probe_day" ON oshxona."{table}" '
                "USING gin ((_jsonb->'day') jsonb_path_ops); "
                f'ANALYZE oshxona."{table}";')
    yield db, table
    db[COLL].drop()


def scans(stack, table):
    return [int(x) for x in psql(stack, "SELECT pg_stat_clear_snapshot(); "
                                        "SELECT coalesce(seq_scan, 0) || ' ' || coalesce(idx_scan, 0) "
                                        f"FROM pg_stat_user_tables WHERE relname = '{table}'")
            .split()]


def test_the_database_and_the_server_force_custom_plans(stack):
    assert psql(stack, "SHOW plan_cache_mode") == "force_custom_plan"
    settings = psql(stack, "SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting s "
                           "JOIN pg_database d ON d.oid = s.setdatabase "
                           "WHERE d.datname = 'ferretdb' AND s.setrole = 0")
    assert "plan_cache_mode=force_custom_plan" in settings  # oshxona-init's, for other deployments


def test_without_it_the_fifth_run_leaves_the_index(stack, probe):
    # The statement FerretDB prepares, run as FerretDB runs it.
    _, table = probe
    runs = "\n".join(["EXECUTE q('day', '\"2024-03-03\"');"] * 6)
    plans = psql(stack, "SET plan_cache_mode = auto;\n"
                        f"PREPARE q(text, jsonb) AS SELECT _jsonb FROM oshxona.\"{table}\" "
                        "WHERE _jsonb->$1 @> $2;\n"
                        f"{runs}\n"
                        "SELECT 'AUTO';\n"
                        "EXPLAIN (COSTS OFF) EXECUTE q('day', '\"2024-03-03\"');\n"
                        "SET plan_cache_mode = force_custom_plan;\n"
                        "SELECT 'FORCED';\n"
                        "EXPLAIN (COSTS OFF) EXECUTE q('day', '\"2024-03-03\"');")
    text = plans[plans.index("AUTO"):]
    auto, forced = text.split("FORCED")
    assert "Seq Scan" in auto and "Index" not in auto, auto
    assert "Bitmap Index Scan" in forced and "Seq Scan" not in forced, forced


def test_ferretdbs_own_queries_keep_to_the_index(stack, probe):
    db, table = probe
    days = ("2024-03-03", "2024-04-04", "2024-05-05", "2024-06-06")
    # FerretDB's first query of a collection may scan once (seen, not
    # explained); the steady state is what a busy day runs on. A backend
    # reports its counters when idle, up to 10 s later (PostgreSQL 15).
    for day in days:
        list(db[COLL].find({"day": day}))
    seq0, idx0 = scans(stack, table)
    quiet = 0
    deadline = time.time() + 60
    while quiet < 6 and time.time() < deadline:
        time.sleep(2)
        now = scans(stack, table)
        quiet = quiet + 1 if now == [seq0, idx0] else 0
        seq0, idx0 = now
    for _ in range(3):  # well past five runs on each of FerretDB's connections
        for day in days:
            for _ in range(4):
                assert len(list(db[COLL].find({"day": day}))) == 2
    deadline = time.time() + 60
    while True:
        seq, idx = scans(stack, table)
        if idx - idx0 >= 48 or time.time() > deadline:
            break
        time.sleep(0.3)
    assert (seq - seq0, idx - idx0) == (0, 48)
