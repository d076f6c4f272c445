"""Copies every database and collection from one MongoDB-wire server to
another, with their indexes: used by `scripts/stack.sh migrate-sqlite` to
move an old store (FerretDB's SQLite handler, the former default) into the
PostgreSQL store. The target must hold none of the collections yet, so a
second run cannot double the data.

usage: migrate_sqlite.py SOURCE_URI TARGET_URI
"""

import sys

import pymongo

BATCH = 1000
SYSTEM = {"admin", "local", "config"}


def main():
    src = pymongo.MongoClient(sys.argv[1], serverSelectionTimeoutMS=10000,
                              socketTimeoutMS=600000)
    dst = pymongo.MongoClient(sys.argv[2], serverSelectionTimeoutMS=10000,
                              socketTimeoutMS=600000)
    plan = []
    for name in src.list_database_names():
        if name in SYSTEM:
            continue
        for coll in src[name].list_collection_names():
            if dst[name][coll].estimated_document_count() > 0:
                sys.exit(f"migrate: {name}.{coll} already has documents in the target; "
                         "nothing copied (remove the new store, data/pg, to start over)")
            plan.append((name, coll))
    total = 0
    for name, coll in plan:
        source, target = src[name][coll], dst[name][coll]
        for ix in source.list_indexes():
            if ix["name"] == "_id_":
                continue
            opts = {k: v for k, v in ix.items() if k not in ("key", "v", "ns")}
            target.create_index(list(ix["key"].items()), **opts)
        expected = source.count_documents({})
        batch, n = [], 0
        for doc in source.find({}, batch_size=BATCH):
            batch.append(doc)
            if len(batch) == BATCH:
                target.insert_many(batch, ordered=True)
                n += len(batch)
                batch = []
        if batch:
            target.insert_many(batch, ordered=True)
            n += len(batch)
        copied = target.count_documents({})
        if n != expected or copied != expected:
            sys.exit(f"migrate: {name}.{coll}: {expected} in the source, {copied} copied")
        print(f"migrate: {name}.{coll}: {n} documents")
        total += n
    print(f"migrate: {len(plan)} collections, {total} documents")


if __name__ == "__main__":
    main()
