"""The menu cache: nginx serves materialized files, each child keeps its
searches, and a catalogue change made through another host (here: straight
into the database) reaches this host through cron/menu-sync."""

import shutil
import subprocess
import tempfile
from datetime import datetime, timezone

import pytest
from bson import ObjectId

from harness import BIN, private_stack


@pytest.fixture(scope="module")
def private(request):
    with private_stack(request, "cache", children=3) as st:
        yield st, st.api, st.db


def menu_sync(st, lockdir):
    env = dict(st.env, MONGODB_URI=st.uri,
               OSHXONA_ENV_FILE="/dev/null", OSHXONA_LOCK_DIR=lockdir,
               MENU_CACHE_DIR=str(st.dir / "cache"), LOG_FILE=str(st.dir / "logs" / "cron.log"))
    p = subprocess.run([str(BIN / "menu-sync")], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return (st.dir / "logs" / "cron.log").read_text() if (st.dir / "logs" / "cron.log").exists() else ""


def test_query_less_answers_come_from_files(private):
    st, api, _ = private
    first = api.get("/api/categories")
    assert first.status == 200
    assert (st.dir / "cache" / "files" / "api" / "categories.json").read_bytes() == first.body
    again = api.get("/api/categories")
    assert again.body == first.body and again.header("Last-Modified")  # nginx's file answer
    assert again.header("Content-Type") == "application/json; charset=utf-8"
    assert again.header("Cache-Control") == "no-cache"
    assert api.get("/api/categories", headers={"If-None-Match": again.header("ETag")}).status == 304


def test_change_through_another_host_arrives_with_menu_sync(private):
    st, api, db = private
    lockdir = tempfile.mkdtemp()
    try:
        menu_sync(st, lockdir)  # remember the catalogue as it is
        cat = api.get("/api/categories").json["data"][0]
        search = "/api/products?search=osh&limit=50"
        before_search = [api.get(search).body for _ in range(9)]  # every child caches it
        assert len(set(before_search)) == 1
        # Another host renames the category and hides a product found by
        # the search: straight into the database, no local invalidation.
        hidden = api.get(search).json["data"][0]
        now = datetime.now(timezone.utc)
        db.categories.update_one({"_id": ObjectId(cat["_id"])},
                                 {"$set": {"name": "Osh (yangi)", "updatedAt": now}})
        db.products.update_one({"_id": ObjectId(hidden["_id"])},
                               {"$set": {"isActive": False, "updatedAt": now}})
        assert api.get("/api/categories").json["data"][0]["name"] == cat["name"]  # still cached
        log = menu_sync(st, lockdir)
        assert "menu cache dropped" in log
        assert api.get("/api/categories").json["data"][0]["name"] == "Osh (yangi)"
        for _ in range(9):
            ids = [p["_id"] for p in api.get(search).json["data"]]
            assert hidden["_id"] not in ids
        assert api.get(f"/api/products/{hidden['_id']}").status == 404
        # Nothing changed since: the next run keeps the cache.
        files_before = sorted(p.name for p in (st.dir / "cache" / "files" / "api").iterdir())
        lines = log.count("menu cache dropped")
        log = menu_sync(st, lockdir)
        assert log.count("menu cache dropped") == lines
        assert sorted(p.name for p in (st.dir / "cache" / "files" / "api").iterdir()) == files_before
    finally:
        shutil.rmtree(lockdir)


def test_first_answer_and_file_share_the_etag(private):
    st, api, _ = private
    first = api.get("/api/branches")  # built by the program, stored as a file
    assert first.status == 200 and not first.header("Last-Modified")
    second = api.get("/api/branches")  # served by nginx from the file
    assert second.header("Last-Modified") and second.body == first.body
    assert second.header("ETag") == first.header("ETag")
    assert api.get("/api/branches", headers={"If-None-Match": first.header("ETag")}).status == 304
