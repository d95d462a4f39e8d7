"""The search/read benchmarks' loaded store needs no derived-fields backfill, and says so."""

from __future__ import annotations

from pathlib import Path

from bench.read_bench import _backfill_pending
from bench.search_bench import TENANT, load
from crm_contacts.adapters.derived_backfill import BACKFILL_SPECS, DERIVED_BACKFILLS
from crm_contacts.adapters.derived_backfill import PROGRESS_TENANT as BACKFILL_TENANT
from crm_contacts.adapters.repository import COLLECTION_SPECS
from crm_contacts.service_layer.derived_backfill import backfill_derived_fields, tenant_progress
from crm_shared.storage.sqlite import SqliteStore


async def _started(tmp_path: Path, contacts: int) -> SqliteStore:
    """The bench loader's store of `contacts`, started as the contacts service starts it."""
    path = tmp_path / "contacts.sqlite3"
    await load(path, contacts)
    store = SqliteStore(path)
    await store.start(COLLECTION_SPECS + BACKFILL_SPECS)
    return store


async def test_a_service_started_on_the_loaded_store_walks_none_of_its_contacts(
    tmp_path: Path,
) -> None:
    store = await _started(tmp_path, 300)
    try:
        assert (await tenant_progress(store, TENANT))["status"] == "finished"
        run = await backfill_derived_fields(store, pause=0)
        assert (run.tenants, run.processed) == (1, 0)
    finally:
        await store.close()


async def test_the_loaded_contacts_already_hold_the_current_derived_fields(
    tmp_path: Path,
) -> None:
    # What makes the finished record true: a backfill from scratch rewrites none of them.
    store = await _started(tmp_path, 300)
    try:
        async with store.transaction() as session:
            await session.delete(DERIVED_BACKFILLS, tenant=BACKFILL_TENANT, id=TENANT)
        run = await backfill_derived_fields(store, pause=0)
        assert (run.processed, run.rewritten) == (300, 0)
    finally:
        await store.close()


async def test_the_read_bench_tells_a_kept_store_the_backfill_would_walk(tmp_path: Path) -> None:
    path = tmp_path / "contacts.sqlite3"
    await load(path, 50)
    assert not _backfill_pending(path)
    store = SqliteStore(path)
    await store.start(COLLECTION_SPECS + BACKFILL_SPECS)
    try:
        async with store.transaction() as session:  # as a store loaded by the older loader
            await session.delete(DERIVED_BACKFILLS, tenant=BACKFILL_TENANT, id=TENANT)
    finally:
        await store.close()
    assert _backfill_pending(path)
