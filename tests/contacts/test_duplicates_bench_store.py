"""The duplicates benchmark's kept store holds exactly what the contacts service would store."""

from __future__ import annotations

from pathlib import Path

from bench.duplicates_bench import NOW, TENANT, load
from bench.duplicates_data import generate
from bench.kept_store import stored_ids
from crm_contacts.adapters.repository import COLLECTION_SPECS
from crm_contacts.domain.contact import new_contact
from crm_contacts.domain.contact_doc import as_stored
from crm_contacts.service_layer.derived_backfill import backfill_derived_fields, tenant_progress
from crm_contacts.service_layer.duplicates import find_matches
from crm_shared.storage.sqlite import SqliteStore
from tests.contacts.store_derived import with_store_derived


async def test_the_bulk_loaded_store_reads_as_the_service_stores_and_is_indexed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "contacts.sqlite3"
    profiles, known = generate(400)
    ids, _, _ = await load(path, profiles)

    assert stored_ids(path, TENANT) == ids  # a kept store maps back to the generated profiles
    expected = {
        contact_id: as_stored(
            new_contact(
                contact_id=contact_id, tenant=TENANT, profile=profile, source="import", now=NOW
            )
        )
        for contact_id, profile in zip(ids, profiles, strict=True)
    }
    store = SqliteStore(path)
    await store.start(COLLECTION_SPECS)
    try:
        async with store.reader() as session:
            found = await session.find("contacts", tenant=TENANT, limit=1000)
            stored = await with_store_derived(session, "contacts", TENANT, found)
            assert {doc["id"]: doc for doc in stored} == expected
            pair = known[0]
            matches = await find_matches(session, TENANT, expected[ids[pair.duplicate]])
        assert ids[pair.original] in {match.contact_id for match, _ in matches}
    finally:
        await store.close()


async def test_a_service_started_on_the_loaded_store_does_not_walk_it(tmp_path: Path) -> None:
    path = tmp_path / "contacts.sqlite3"
    profiles, _ = generate(50)
    await load(path, profiles)

    store = SqliteStore(path)
    await store.start(COLLECTION_SPECS)
    try:
        assert (await tenant_progress(store, TENANT))["status"] == "finished"
        run = await backfill_derived_fields(store, pause=0)
    finally:
        await store.close()
    assert (run.processed, run.rewritten) == (0, 0)
