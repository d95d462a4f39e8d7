"""CPU per contact of the export's read, in process: `find_json` with the export's paths.

What the contacts stream does for an export (contact_stream.py), without HTTP: pages of CHUNK
contacts in id order through `json_pages.find_json` on a started SQLite store, with the paths of
bench.export_bench's fields; the process's own CPU time is counted (every thread, the
adapter's included; least of ROUNDS passes over the tenant). The same run's ceiling: the same
keyset pages as hand-written SQL handing over each stored document as it is (no JSON built).

    python -m bench.json_pages_bench --store /tmp/crm-export-store

`--store`: a data folder bench.export_bench loaded (`--store` there) or a contacts store file.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import time
from pathlib import Path

from bench.export_bench import FIELDS
from bench.search_bench import TENANT
from crm_contacts.adapters.derived_backfill import BACKFILL_SPECS
from crm_contacts.adapters.repository import COLLECTION_SPECS, CONTACTS
from crm_shared.export_fields import contact_path
from crm_shared.storage.json_pages import find_json
from crm_shared.storage.sqlite import SqliteStore
from crm_shared.storage.sqlite_tenants import TENANT_CODE_OF

ROUNDS = 3
CHUNK = 5000  # the stream's page after its first (contact_stream.CHUNK)
CEILING_FIRST = (
    f"SELECT id, doc FROM c_contacts WHERE tenant = {TENANT_CODE_OF} ORDER BY id LIMIT ?"
)
CEILING = (
    f"SELECT id, doc FROM c_contacts WHERE tenant = {TENANT_CODE_OF} AND id > ? ORDER BY id LIMIT ?"
)


def _file(store: Path) -> Path:
    return store / "contacts.sqlite3" if store.is_dir() else store


def _paths() -> list[str]:
    paths = [contact_path(field) for field in FIELDS if field != "id"]
    return [path for path in paths if path is not None]


async def _store_pass(store: SqliteStore, paths: list[str]) -> int:
    count, after = 0, None
    while True:
        async with store.reader() as session:
            rows = await find_json(
                session, CONTACTS, tenant=TENANT, paths=paths, after=after, limit=CHUNK
            )
        count += len(rows)
        if len(rows) < CHUNK:
            return count
        after = rows[-1][0]


def _ceiling_pass(db: sqlite3.Connection) -> int:
    count = 0
    rows = db.execute(CEILING_FIRST, (TENANT, CHUNK)).fetchall()
    while True:
        count += len(rows)
        if len(rows) < CHUNK:
            return count
        rows = db.execute(CEILING, (TENANT, rows[-1][0], CHUNK)).fetchall()


async def measure(path: Path) -> None:
    """Time the passes and print CPU microseconds per contact beside the ceiling."""
    paths = _paths()
    store = SqliteStore(path)
    await store.start(COLLECTION_SPECS + BACKFILL_SPECS)
    try:
        best, count = float("inf"), 0
        for _ in range(ROUNDS):
            started = time.process_time()
            count = await _store_pass(store, paths)
            best = min(best, (time.process_time() - started) / count * 1e6)
    finally:
        await store.close()
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        ceiling = float("inf")
        for _ in range(ROUNDS):
            started = time.process_time()
            read = _ceiling_pass(db)
            ceiling = min(ceiling, (time.process_time() - started) / read * 1e6)
    finally:
        db.close()
    load = os.getloadavg()
    print(
        f"find_json, export paths ({','.join(paths)}), {count:,} contacts in pages of {CHUNK:,}, "
        f"least of {ROUNDS} passes (load average {load[0]:.2f} {load[1]:.2f})",
        flush=True,
    )
    print(
        f"  find_json CPU {best:.2f} us/contact | ceiling (SELECT id, doc) {ceiling:.2f} "
        f"us/contact | ratio {best / ceiling:.2f}x",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    """Time the export's read on a loaded contacts store."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", type=Path, required=True)
    args = parser.parse_args(argv)
    asyncio.run(measure(_file(args.store)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
