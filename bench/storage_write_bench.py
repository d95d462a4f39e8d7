"""CPU per contact of the SQLite adapter's writes, in process: inserts, then replaces.

The search bench's contacts (`search_bench.chunk`, built by the domain's `new_contact`) are
inserted in 1,000-contact transactions through `insert_many` with the contacts' full specs (text
index, multi-value side table, expression indexes), then each is replaced once with one more tag
(the replace path: the changed entries diffed and written from Python). Printed: CPU
microseconds per contact (every thread of the process, SQLite's included) beside a same-run
floor, the same rows written by `executemany` into a bare (tenant, id, doc) table; and bytes per
contact of the store after the inserts.
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
from crm_shared.storage.sqlite import SqliteStore

BATCH = 1_000


def _contacts(count: int) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for start in range(0, count, BATCH):
        docs.extend(chunk(start, min(BATCH, count - start), count)[0])
    return docs


async def _store_writes(path: Path, docs: list[dict[str, Any]]) -> tuple[float, float]:
    """CPU seconds of inserting every contact, then of replacing each once."""
    store = SqliteStore(path)
    await store.start(COLLECTION_SPECS)
    try:
        started = time.process_time()
        for at in range(0, len(docs), BATCH):
            async with store.transaction() as session:
                await session.insert_many("contacts", docs[at : at + BATCH])
        inserted = time.process_time() - started
        changed = [{**d, "tags": [*d["tags"], "Moved"], "version": 2} for d in docs]
        started = time.process_time()
        for at in range(0, len(changed), BATCH):
            async with store.transaction() as session:
                for doc in changed[at : at + BATCH]:
                    await session.replace("contacts", doc)
        replaced = time.process_time() - started
    finally:
        await store.close()
    return inserted, replaced


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
        inserted, replaced = asyncio.run(_store_writes(path, docs))
        size = sum(p.stat().st_size for p in Path(workdir).glob("store.sqlite3*"))
    per = 1e6 / args.contacts
    print(
        f"SQLite adapter, {args.contacts:,} contacts: insert {inserted * per:,.0f} µs CPU per "
        f"contact, replace {replaced * per:,.0f} µs | bare executemany floor {floor * per:,.0f} µs "
        f"| ratio insert/floor {inserted / floor:.1f}x | store {size / args.contacts:,.0f} B per "
        f"contact after the replaces (WAL included) | {load_average()}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
