"""CPU per read of the contacts' SQLite store, in process: by id, pages, sorted pages, `q`.

Each read goes through the service layer a request calls (`get_contact`, `search_contacts`)
on a started store, one after another, and the process's own CPU time is counted (least of
ROUNDS rounds): a figure for back-to-back comparisons of the storage code on a shared machine.
The reads: a contact by id; the first page of 50 in creation order; a page sorted by
`created_at`, and the next one through its cursor; a page sorted by `-updated_at`; a page of
contacts created after a moment (a range on `created_at`, sorted by it); a `q` search. The same
run's ceiling: the sorted page by `created_at` as hand-written SQL on the same file (the
tenant's live contacts off the created_at index, each document parsed by orjson).

    python -m bench.page_reads_bench --store /tmp/crm-read-store

`--store` is a data folder bench.read_bench loaded (`--store` there) or a search bench store
file (`--keep`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from bench.search_bench import SECRET, TENANT
from crm_contacts.adapters.derived_backfill import BACKFILL_SPECS
from crm_contacts.adapters.repository import COLLECTION_SPECS, CONTACTS
from crm_contacts.service_layer.queries import get_contact
from crm_contacts.service_layer.search import search_contacts
from crm_shared.clock import iso
from crm_shared.filters import ContactFilter
from crm_shared.storage.sqlite import SqliteStore
from crm_shared.storage.sqlite_ids import read_id
from crm_shared.storage.sqlite_keys import stored_keys
from crm_shared.storage.sqlite_tenants import TENANT_CODE_OF

ROUNDS = 5
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The ceiling: the first page of live contacts in creation order, off the created_at index.
CEILING = (
    "SELECT id, doc FROM c_contacts INDEXED BY contacts_ix_created_at WHERE tenant = "
    + TENANT_CODE_OF
    + " AND doc ->> '{deleted}' IS NULL AND doc ->> '{erased}' IS NULL "
    "ORDER BY json_extract(doc, '{created}'), id LIMIT 50"
)

Read = Callable[[int], Awaitable[int]]


def _file(store: Path) -> Path:
    return store / "contacts.sqlite3" if store.is_dir() else store


def _sample(path: Path, count: int) -> tuple[list[str], str]:
    """Ids of `count` random contacts, and a moment that leaves about a tenth of them after."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute(
            f"SELECT id FROM c_contacts WHERE tenant = {TENANT_CODE_OF}", (TENANT,)
        ).fetchall()
        created = stored_keys(db, CONTACTS).path("created_at")
        moments = db.execute(
            f"SELECT doc ->> '{created}' FROM c_contacts WHERE tenant = {TENANT_CODE_OF} "
            f"ORDER BY doc ->> '{created}'",
            (TENANT,),
        ).fetchall()
    finally:
        db.close()
    rng = random.Random(3)
    ids = [read_id(rng.choice(rows)[0]) for _ in range(count)]
    moment = moments[len(moments) * 9 // 10][0]
    if isinstance(moment, int):  # an integer timestamp (sqlite_stamps.py)
        moment = iso(EPOCH + timedelta(microseconds=moment))
    return ids, str(moment)


async def _cpu_per_read(read: Read, calls: int) -> float:
    """Least CPU microseconds per call over ROUNDS rounds of `calls` calls."""
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.process_time()
        for n in range(calls):
            await read(n)
        best = min(best, (time.process_time() - started) / calls * 1e6)
    return best


def _ceiling(path: Path, calls: int) -> float:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        keys = stored_keys(db, CONTACTS)
        sql = CEILING.format(
            deleted=keys.path("deleted_at"),
            erased=keys.path("erased_at"),
            created=keys.path("created_at"),
        )
        best = float("inf")
        for _ in range(ROUNDS):
            started = time.process_time()
            for _ in range(calls):
                rows = db.execute(sql, (TENANT,)).fetchall()
                docs = [orjson.loads(doc) for _, doc in rows]
                assert len(docs) == 50
            best = min(best, (time.process_time() - started) / calls * 1e6)
        return best
    finally:
        db.close()


async def measure(path: Path, calls: int) -> None:
    """Time every read and print CPU microseconds per call beside the ceiling."""
    ids, moment = _sample(path, calls)
    store = SqliteStore(path)
    await store.start(COLLECTION_SPECS + BACKFILL_SPECS)
    try:

        async def page(criteria: ContactFilter, sort: str | None, cursor: str | None) -> int:
            found = await search_contacts(
                store, tenant=TENANT, criteria=criteria, secret=SECRET, sort=sort, cursor=cursor
            )
            assert found.items, f"an empty page measures nothing: {criteria!r} {sort}"
            return len(found.items)

        everyone = ContactFilter()
        second = (
            await search_contacts(
                store, tenant=TENANT, criteria=everyone, secret=SECRET, sort="created_at"
            )
        ).next_cursor
        recent = ContactFilter.model_validate({"created_after": moment})

        # A word of a contact's name: a common one (names repeat), as a search box gets.
        word = str((await get_contact(store, ids[0], tenant=TENANT))["name"]).split()[0].lower()

        async def by_id(n: int) -> int:
            return len(await get_contact(store, ids[n], tenant=TENANT))

        reads: list[tuple[str, Read]] = [
            ("get by id", by_id),
            ("first page, creation order", lambda n: page(everyone, None, None)),
            ("page sorted by created_at", lambda n: page(everyone, "created_at", None)),
            ("its next page (cursor)", lambda n: page(everyone, "created_at", second)),
            ("page sorted by -updated_at", lambda n: page(everyone, "-updated_at", None)),
            ("created_after (range), sorted", lambda n: page(recent, "created_at", None)),
            ("q (a common name)", lambda n: page(ContactFilter(q=word), None, None)),
        ]
        results = [(label, await _cpu_per_read(read, calls)) for label, read in reads]
    finally:
        await store.close()
    ceiling = _ceiling(path, calls)
    load = os.getloadavg()
    print(
        f"page reads, in process, {calls:,} calls each, least of {ROUNDS} rounds "
        f"(load average {load[0]:.2f} {load[1]:.2f})",
        flush=True,
    )
    for label, micros in results:
        print(f"  {label:34} CPU {micros:8.1f} us/call", flush=True)
    sorted_page = dict(results)["page sorted by created_at"]
    print(
        f"  ceiling: hand-written SQL sorted page CPU {ceiling:8.1f} us/call | "
        f"ratio service/SQL {sorted_page / ceiling:.1f}x",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    """Time the reads on a loaded contacts store."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args(argv)
    asyncio.run(measure(_file(args.store), args.calls))
    return 0


if __name__ == "__main__":
    sys.exit(main())
