"""FerretDB on PostgreSQL keeps using the GIN expression indexes on a
long-lived connection (issue 11/13 finding, 2026-12-03).

FerretDB prepares `SELECT _jsonb FROM t WHERE _jsonb->$1 @> $2`, with the
field name as a parameter. After five runs PostgreSQL may switch such a
statement to a generic plan, which cannot match an index on
(_jsonb->'field'); it does so whenever a scan looks cheap, as on a table of
few, large documents (daily_stats: a read went from 4 to 26 ms). The stack's
PostgreSQL runs with plan_cache_mode=force_custom_plan and oshxona-init sets
it on FerretDB's database; these tests see that FerretDB's own queries keep
to the index, and that without the setting they would not.

Two more ways to leave the index (issue 13, 1,000,000 orders: a year of
daily_stats read at 10-20 ms instead of 0.3 ms, top-products 16 -> 177 ms):
a GIN index's pending list, which the planner prices in after a burst of
inserts, and the planner pricing `@>` as if the document were not TOASTed.
oshxona-init makes its indexes with fastupdate = off and costs
jsonb_contains at 100; the tests below show each alone keeps the index, and
that without both a table of large documents is scanned."""

import datetime
import os
import random
import subprocess
import time

import pymongo
import pytest
from bson import ObjectId

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


def settled_scans(stack, table):
    """The table's (seq, idx) scan counters once they stop moving: a backend
    reports its counters when idle, up to 10 s later (PostgreSQL 15)."""
    last = scans(stack, table)
    quiet = 0
    deadline = time.time() + 60
    while quiet < 6 and time.time() < deadline:
        time.sleep(2)
        now = scans(stack, table)
        quiet = quiet + 1 if now == last else 0
        last = now
    return last


def scans_after(stack, table, seq0, idx0, reads):
    """(seq, idx) scans since (seq0, idx0), once `reads` index scans showed."""
    deadline = time.time() + 60
    while True:
        seq, idx = scans(stack, table)
        if idx - idx0 >= reads or time.time() > deadline:
            return seq - seq0, idx - idx0
        time.sleep(0.3)


def test_the_database_and_the_server_force_custom_plans(stack):
    assert psql(stack, "SHOW plan_cache_mode") == "force_custom_plan"
    settings = psql(stack, "SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting s "
                           "JOIN pg_database d ON d.oid = s.setdatabase "
                           "WHERE d.datname = 'ferretdb' AND s.setrole = 0")
    assert "plan_cache_mode=force_custom_plan" in settings  # oshxona-init's, for other deployments
    # No parallel workers for a few rows' read (a stale estimate started two: 7 ms for 0.1).
    assert psql(stack, "SHOW max_parallel_workers_per_gather") == "0"
    assert "max_parallel_workers_per_gather=0" in settings


def test_without_it_the_fifth_run_leaves_the_index(stack, probe):
    # The statement FerretDB prepares, run as FerretDB runs it. Priced
    # containment (below) alone also keeps the custom plan, so it is put
    # back to PostgreSQL's default for this session's transaction.
    _, table = probe
    runs = "\n".join(["EXECUTE q('day', '\"2024-03-03\"');"] * 6)
    plans = psql(stack, "BEGIN; ALTER FUNCTION jsonb_contains(jsonb, jsonb) COST 1;\n"
                        "SET plan_cache_mode = auto;\n"
                        f"PREPARE q(text, jsonb) AS SELECT _jsonb FROM oshxona.\"{table}\" "
                        "WHERE _jsonb->$1 @> $2;\n"
                        f"{runs}\n"
                        "SELECT 'AUTO';\n"
                        "EXPLAIN (COSTS OFF) EXECUTE q('day', '\"2024-03-03\"');\n"
                        "SET plan_cache_mode = force_custom_plan;\n"
                        "SELECT 'FORCED';\n"
                        "EXPLAIN (COSTS OFF) EXECUTE q('day', '\"2024-03-03\"');\n"
                        "ROLLBACK;")
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
    seq0, idx0 = settled_scans(stack, table)
    for _ in range(3):  # well past five runs on each of FerretDB's connections
        for day in days:
            for _ in range(4):
                assert len(list(db[COLL].find({"day": day}))) == 2
    assert scans_after(stack, table, seq0, idx0, 48) == (0, 48)


def rollup_like(i, first=datetime.date(2024, 1, 1)):
    """A document of daily_stats' shape and size (80 products, 24 hours, the
    figures of a busy day): ~8 KB, stored out of line (TOASTed), as a year of
    rollups on 1,000,000 orders was."""
    rnd = random.Random(i)
    return {"_id": f"plan-probe:{i}", "branch": ObjectId(), "day": (first + datetime.timedelta(days=i // 2)).isoformat(),
            "totalOrders": rnd.randrange(5000), "totalRevenue": rnd.randrange(10**9),
            "hours": [{"hour": h, "orders": rnd.randrange(400), "revenue": rnd.randrange(10**8)} for h in range(24)],
            "products": [{"productId": ObjectId(), "name": f"Taom {j}", "nameRu": f"Блюдо {j}",
                          "quantity": rnd.randrange(900), "revenue": rnd.randrange(10**8)} for j in range(80)]}


def explain(stack, table, sql_before=""):
    plan = psql(stack, f"BEGIN; {sql_before}\n"
                       f"EXPLAIN SELECT _jsonb FROM oshxona.\"{table}\" WHERE _jsonb->'day' @> '\"2024-03-03\"';\n"
                       "ROLLBACK;")
    assert ("Seq Scan" in plan) != ("Index" in plan), plan
    return "index" if "Index" in plan else "scan"


def test_init_makes_indexes_without_pending_lists_and_prices_containment(stack):
    rows = psql(stack, "SELECT c.relname || ' ' || coalesce(array_to_string(c.reloptions, ','), '') "
                       "FROM pg_class c WHERE c.relnamespace = 'oshxona'::regnamespace "
                       "AND c.relname LIKE 'oshxona_gin_%'").splitlines()
    assert len(rows) >= 30  # one per field of lib/dbfields.c
    assert [r for r in rows if "fastupdate=off" not in r] == []
    assert psql(stack, "SELECT procost FROM pg_proc "
                       "WHERE oid = 'jsonb_contains(jsonb, jsonb)'::regprocedure") == "100"


@pytest.fixture(scope="module")
def backlog(stack):
    """The year of rollups as the old oshxona-init left it: the index made
    on the empty collection with PostgreSQL's default (fastupdate on), the
    rows inserted after it, so their entries wait in the pending list."""
    db = pymongo.MongoClient(f"mongodb://127.0.0.1:{stack.db_port}/")["oshxona"]
    coll = "plan_backlog"
    db[coll].drop()
    db[coll].insert_one({"_id": "first"})
    table = psql(stack, "SELECT _jsonb->>'table' FROM oshxona._ferretdb_database_metadata "
                        f"WHERE _jsonb->>'_id' = '{coll}'")
    # Autovacuum would merge the list within a minute: this is the minute.
    psql(stack, f'CREATE INDEX "{table}_backlog_day" ON oshxona."{table}" '
                "USING gin ((_jsonb->'day') jsonb_path_ops); "
                f'ALTER TABLE oshxona."{table}" SET (autovacuum_enabled = off)')
    db[coll].delete_many({})
    db[coll].insert_many([rollup_like(i) for i in range(ROWS)])
    psql(stack, f'ANALYZE oshxona."{table}"')
    # Out of line: the heap holds pointers, so a scan looks cheap to the planner.
    assert psql(stack, f"SELECT avg(pg_column_size(_jsonb)) > 2100 AND "
                       f"pg_relation_size('oshxona.\"{table}\"') < {ROWS} * 200 "
                       f"FROM oshxona.\"{table}\"") == "t"
    yield table
    db[coll].drop()


def test_a_pending_list_with_cheap_containment_scans(stack, backlog):
    assert explain(stack, backlog, "ALTER FUNCTION jsonb_contains(jsonb, jsonb) COST 1;") == "scan"


def test_priced_containment_keeps_to_the_index_despite_the_pending_list(stack, backlog):
    assert explain(stack, backlog) == "index"


def test_a_merged_pending_list_keeps_to_the_index_even_with_cheap_containment(stack, backlog):
    assert explain(stack, backlog, "ALTER FUNCTION jsonb_contains(jsonb, jsonb) COST 1;"
                                   f"SELECT gin_clean_pending_list('oshxona.\"{backlog}_backlog_day\"');") == "index"


def test_a_year_of_daily_stats_is_read_through_its_index(stack):
    """oshxona-init's own daily_stats index, a year of rollups written after
    it, analysed: FerretDB's {day} reads never scan the table."""
    db = pymongo.MongoClient(f"mongodb://127.0.0.1:{stack.db_port}/")["oshxona"]
    table = psql(stack, "SELECT _jsonb->>'table' FROM oshxona._ferretdb_database_metadata "
                        "WHERE _jsonb->>'_id' = 'daily_stats'")
    probe = {"_id": {"$in": [f"plan-probe:{i}" for i in range(ROWS)]}}
    try:
        db.daily_stats.insert_many([rollup_like(i) for i in range(ROWS)])
        psql(stack, f'ANALYZE oshxona."{table}"')
        days = ("2024-03-03", "2024-07-07", "2024-11-11")
        for day in days:  # a first query of a collection may scan once
            list(db.daily_stats.find({"day": day}))
        seq0, idx0 = settled_scans(stack, table)
        for _ in range(4):
            for day in days:
                assert len(list(db.daily_stats.find({"day": day}))) == 2
        assert scans_after(stack, table, seq0, idx0, 12) == (0, 12)
    finally:
        db.daily_stats.delete_many(probe)
