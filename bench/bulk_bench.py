"""Bulk-action benchmark: `add_tags` over N contacts (default 100,000) against a same-run ceiling.

Loads N contacts into the contacts service's SQLite store through its own adapter and domain
functions (as bench/search_bench.py does), then runs a bulk `add_tags` with an empty filter (every
contact) through the service layer the HTTP route and the background runner use: the filter
snapshot, then chunk after chunk through the single-edit steps (tag rules, system-tag checks,
ContactUpdated events in the outbox, per-contact outcomes, progress). The ceiling is a bare
SQLite update of the same rows on the same file: each document read, its tags extended in
Python, written back with `executemany` in transactions of the same chunk size, the changed
`tags_norm` side-table entries written as the adapter writes them (bench/tag_ceiling.py), with
no events and no outcomes.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.search_bench import load
from bench.tag_ceiling import rewrite_tags
from crm_contacts.adapters.bulk import BULK_SPECS
from crm_contacts.adapters.campaigns import CAMPAIGN_SPECS
from crm_contacts.adapters.importer_client import ImporterExports
from crm_contacts.adapters.repository import COLLECTION_SPECS
from crm_contacts.service_layer.bulk_actions import get_bulk_action, queue_bulk_action
from crm_contacts.service_layer.bulk_runner import run_job
from crm_contacts.settings import ContactsSettings
from crm_shared.filters import ContactFilter
from crm_shared.storage.sqlite import SqliteStore

TENANT = "bench"
CHUNK = 500


async def service_run(path: Path, count: int) -> float:
    """Seconds for the bulk add_tags of every contact through the service layer."""
    store = SqliteStore(path)
    await store.start((*COLLECTION_SPECS, *CAMPAIGN_SPECS, *BULK_SPECS))
    settings = ContactsSettings(contacts_bulk_chunk_size=CHUNK)
    exports = ImporterExports("http://127.0.0.1:1")
    try:
        started = time.perf_counter()
        job = await queue_bulk_action(
            store,
            tenant=TENANT,
            actor="bench",
            is_admin=True,
            action="add_tags",
            ids=None,
            criteria=ContactFilter(),
            params={"tags": ["Bulk bench"]},
        )
        await run_job(store, job["id"], TENANT, settings, exports)
        elapsed = time.perf_counter() - started
        done = await get_bulk_action(store, job["id"], tenant=TENANT)
        assert done["status"] == "completed", done
        assert done["succeeded"] == count, f"{done['succeeded']} of {count} tagged"
    finally:
        await exports.aclose()
        await store.close()
    return elapsed


def ceiling_run(path: Path) -> tuple[float, int]:
    """Seconds for a bare SQLite read-modify-write of the same rows, and how many it wrote."""
    return rewrite_tags(path, tenant=TENANT, batch=CHUNK, change=lambda held: [*held, "Ceiling"])


def main(argv: list[str] | None = None) -> int:
    """Load N contacts, run the bulk add_tags, then the bare-SQLite ceiling; print rows/s."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="crm-bulk-bench-"))
    path = workdir / "contacts.sqlite3"
    try:
        print(f"loading {args.contacts:,} contacts into {path} ...", flush=True)
        _, loaded, indexed = asyncio.run(load(path, args.contacts))
        print(f"loaded in {loaded:.1f} s, indexes built in {indexed:.1f} s", flush=True)
        service = asyncio.run(service_run(path, args.contacts))
        ceiling, written = ceiling_run(path)
        assert written == args.contacts
        s_rate, c_rate = args.contacts / service, written / ceiling
        print(
            f"bulk add_tags over {args.contacts:,} contacts: service {s_rate:,.0f} rows/s "
            f"({service:.1f} s, events and outcomes included) | bare SQLite read-modify-write "
            f"{c_rate:,.0f} rows/s ({ceiling:.1f} s) | service/ceiling {s_rate / c_rate:.2f}"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
