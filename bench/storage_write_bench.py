"""CPU per contact of the SQLite adapter's writes, in process: inserts, replaces, deletes.

The search bench's contacts (`search_bench.chunk`, built by the domain's `new_contact`) are
inserted in 1,000-contact transactions through `insert_many` with the contacts' full specs (text
index, multi-value side table, expression indexes), then each is replaced once with one more tag
(the replace path: the changed entries diffed and written from Python). Printed: CPU
microseconds per contact (every thread of the process, SQLite's included) beside a same-run
floor, the same rows written by `executemany` into a bare (tenant, id, doc) table; and bytes per
contact of the store after the replaces.

Then every contact is deleted: every other one by `delete`, one call each (1,000 calls per
transaction: an HTTP delete's or a redelivery's shape), the rest by `delete_where` on 500 ids a
transaction (the purge's and a bulk import's shape). Their ceiling, measured in the same run: the
same deletes through the adapter from a store of the same contacts without a side table or a
text index (expression indexes kept), so what the entries cost is the difference.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from bench.processes import load_average
from bench.search_bench import chunk
from crm_contacts.adapters.repository import COLLECTION_SPECS
from crm_contacts.domain.contact import refresh_tags_derived
from crm_shared.storage import CollectionSpec, In
from crm_shared.storage.sqlite import SqliteStore

BATCH = 1_000
# Ids per `delete_where`: the purge's chunk (crm_contacts.adapters.deletions).
DELETE_CHUNK = 500
# The contacts' specs without what a delete has to keep besides the row and its indexes.
WITHOUT_ENTRIES = tuple(
    CollectionSpec(
        spec.name,
        tuple(i for i in spec.indexes if i.multi_value is None and not i.text),
        spec.empties,
        derived=spec.derived,  # the same stored JSON: the derived fields left out of it
        timestamps=spec.timestamps,
    )
    for spec in COLLECTION_SPECS
)


def _contacts(count: int) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for start in range(0, count, BATCH):
        docs.extend(chunk(start, min(BATCH, count - start), count)[0])
    return docs


async def _store_writes(
    path: Path, docs: list[dict[str, Any]]
) -> tuple[float, float, tuple[float, float], int]:
    """CPU seconds of inserting every contact, of replacing each once and of deleting them;
    the store's bytes before the deletes."""
    store = SqliteStore(path)
    await store.start(COLLECTION_SPECS)
    try:
        started = time.process_time()
        for at in range(0, len(docs), BATCH):
            async with store.transaction() as session:
                await session.insert_many("contacts", docs[at : at + BATCH])
        inserted = time.process_time() - started
        # As the service writes a tag change: its folded tags follow (refresh_tags_derived).
        changed = [
            refresh_tags_derived({**d, "tags": [*d["tags"], "Moved"], "version": 2}) for d in docs
        ]
        started = time.process_time()
        for at in range(0, len(changed), BATCH):
            async with store.transaction() as session:
                for doc in changed[at : at + BATCH]:
                    await session.replace("contacts", doc)
        replaced = time.process_time() - started
    finally:
        await store.close()
    size = _size(path)  # closed: as earlier runs measured it
    store = SqliteStore(path)
    await store.start(COLLECTION_SPECS)
    try:
        deleted = await _deletes(store, docs)
    finally:
        await store.close()
    return inserted, replaced, deleted, size


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(f"{path.name}*"))


async def _deletes(store: SqliteStore, docs: list[dict[str, Any]]) -> tuple[float, float]:
    """CPU seconds of deleting every other contact one call each, then the rest by id lists."""
    ones, lists = docs[::2], docs[1::2]
    started = time.process_time()
    for at in range(0, len(ones), BATCH):
        async with store.transaction() as session:
            for doc in ones[at : at + BATCH]:
                if not await session.delete("contacts", tenant=doc["tenant"], id=doc["id"]):
                    raise AssertionError(f"contact {doc['id']} was not there to delete")
    by_one = time.process_time() - started
    started = time.process_time()
    for at in range(0, len(lists), DELETE_CHUNK):
        named = lists[at : at + DELETE_CHUNK]
        ids = tuple(d["id"] for d in named)
        async with store.transaction() as session:
            removed = await session.delete_where(
                "contacts", tenant=named[0]["tenant"], where=[In("id", ids)]
            )
        if removed != len(named):
            raise AssertionError(f"{removed} of {len(named)} contacts deleted")
    by_list = time.process_time() - started
    return by_one, by_list


async def _ceiling_deletes(path: Path, docs: list[dict[str, Any]]) -> tuple[float, float]:
    """The deletes' CPU seconds from a store of the same contacts without side tables."""
    store = SqliteStore(path)
    await store.start(WITHOUT_ENTRIES)
    try:
        for at in range(0, len(docs), BATCH):
            async with store.transaction() as session:
                await session.insert_many("contacts", docs[at : at + BATCH])
        return await _deletes(store, docs)
    finally:
        await store.close()


def _floor(path: Path, docs: list[dict[str, Any]]) -> float:
    """CPU seconds of writing the same documents, as JSON, to a bare table."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE c (tenant TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, "
        "PRIMARY KEY (tenant, id)) WITHOUT ROWID"
    )
    started = time.process_time()
    for at in range(0, len(docs), BATCH):
        rows = [(d["tenant"], d["id"], orjson.dumps(d).decode()) for d in docs[at : at + BATCH]]
        db.execute("BEGIN")
        db.executemany("INSERT INTO c VALUES (?, ?, ?)", rows)
        db.execute("COMMIT")
    elapsed = time.process_time() - started
    db.close()
    return elapsed


def main(argv: list[str] | None = None) -> int:
    """Build N contacts, write them through the adapter and bare; print CPU per contact."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=20_000)
    args = parser.parse_args(argv)
    docs = _contacts(args.contacts)
    with tempfile.TemporaryDirectory(prefix="crm-storage-write-") as workdir:
        floor = _floor(Path(workdir) / "bare.sqlite3", docs)
        path = Path(workdir) / "store.sqlite3"
        inserted, replaced, deleted, size = asyncio.run(_store_writes(path, docs))
        ceiling = asyncio.run(_ceiling_deletes(Path(workdir) / "plain.sqlite3", docs))
    per = 1e6 / args.contacts
    print(
        f"SQLite adapter, {args.contacts:,} contacts: insert {inserted * per:,.0f} µs CPU per "
        f"contact, replace {replaced * per:,.0f} µs | bare executemany floor {floor * per:,.0f} µs "
        f"| ratio insert/floor {inserted / floor:.1f}x | store {size / args.contacts:,.0f} B per "
        f"contact after the replaces (WAL included) | {load_average()}",
        flush=True,
    )
    # Each way deletes half of the contacts.
    half = 2e6 / args.contacts
    (one, many), (one_ceiling, many_ceiling) = deleted, ceiling
    print(
        f"deletes: one call each {one * half:,.0f} µs CPU per contact, by {DELETE_CHUNK}-id list "
        f"{many * half:,.0f} µs | ceiling without side tables {one_ceiling * half:,.0f} and "
        f"{many_ceiling * half:,.0f} µs | ratio {one / one_ceiling:.1f}x and "
        f"{many / many_ceiling:.1f}x | {load_average()}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
