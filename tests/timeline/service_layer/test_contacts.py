"""Contact events in bulk: an import batch ends as if its contacts were handled one by one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from crm_shared.clock import iso
from crm_shared.events import ContactsImported, ImportedContact
from crm_shared.ids import new_id
from crm_shared.storage import DocumentStore, scan
from crm_shared.storage.memory import MemoryStore
from crm_timeline.adapters.repository import (
    COLLECTION_SPECS,
    CONTACTS,
    ITEMS,
    TimelineRepository,
)
from crm_timeline.domain.contact_history import (
    ContactLifecycleEvent,
    Outcome,
    advance,
    facts_from_event,
    outcome_of,
)
from crm_timeline.domain.model import ContactProjection, EventOrigin, TimelineItem
from crm_timeline.service_layer.contacts import record_contact_event
from tests.timeline.factories import at

TENANT = "acme"
ORIGIN = EventOrigin(tenant=TENANT, source="crm/contacts", occurred_at=at(10), actor="key_test")


async def _started_store() -> MemoryStore:
    store = MemoryStore()
    await store.start(COLLECTION_SPECS)
    return store


@pytest.fixture
async def stores() -> AsyncIterator[tuple[MemoryStore, MemoryStore]]:
    """Two empty in-memory timeline stores: one takes the batch in bulk, one contact by contact."""
    bulk = await _started_store()
    single = await _started_store()
    yield bulk, single
    await bulk.close()
    await single.close()


async def _record_one_by_one(store: DocumentStore, event: ContactLifecycleEvent) -> None:
    """The reference: each contact read, decided and written on its own, in one transaction."""
    async with store.transaction() as session:
        repo = TimelineRepository(session)
        for fact in facts_from_event(event):
            held = await repo.get_contact(tenant=TENANT, contact_id=fact.contact_id)
            outcome = outcome_of(held, fact.version)
            if outcome is Outcome.IGNORE:
                continue
            if outcome is Outcome.APPLY:
                await repo.save_contact(advance(held, fact, tenant=TENANT), previous=held)
            item = TimelineItem(
                id=new_id(),
                tenant=TENANT,
                contact_id=fact.contact_id,
                type=fact.item_type,
                occurred_at=iso(ORIGIN.occurred_at),
                source=ORIGIN.source,
                summary=fact.summary,
                data=fact.data,
                actor=ORIGIN.actor,
            )
            await repo.add_items([item])


def _mixed_batch() -> tuple[list[ContactProjection], ContactsImported]:
    """1,000 listed contacts: new, held older/equal/newer, deleted, erased, and some repeats."""
    held: list[ContactProjection] = []
    rows: list[ImportedContact] = []
    for i in range(984):
        contact_id = new_id()
        kind = i % 6
        if kind == 0:  # new to the timeline
            rows.append(ImportedContact(contact_id=contact_id, version=1, action="created"))
            continue
        held_version, state = {
            1: (1, "live"),  # the import is newer: projection and item
            2: (3, "live"),  # the import is older: nothing
            3: (2, "live"),  # the same version: item only
            4: (1, "deleted"),  # newer, and the update keeps the deleted state
            5: (1, "erased"),  # erased stays erased: nothing
        }[kind]
        held.append(
            ContactProjection(id=contact_id, tenant=TENANT, version=held_version, state=state)
        )
        rows.append(
            ImportedContact(
                contact_id=contact_id, version=2, action="updated", changed_fields=["phone"]
            )
        )
    # Contacts listed twice within the batch: a later entry sees what an earlier one did.
    for row in rows[:10]:
        rows.append(_imported_update(row.contact_id, row.version + 1))
    for row in rows[12:18]:
        rows.append(_imported_update(row.contact_id, row.version - 1))
    return held, ContactsImported(job_id="job-9", batch_no=3, contacts=rows)


def _imported_update(contact_id: str, version: int) -> ImportedContact:
    return ImportedContact(
        contact_id=contact_id, version=version, action="updated", changed_fields=["email"]
    )


async def _seed(store: DocumentStore, projections: list[ContactProjection]) -> None:
    async with store.transaction() as session:
        repo = TimelineRepository(session)
        for projection in projections:
            await repo.save_contact(projection, previous=None)


async def _contents(store: DocumentStore) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Projections by id, and items without their generated ids, in a stable order."""
    projections = [doc async for doc in scan(store, CONTACTS, tenant=TENANT)]
    items = [
        {k: v for k, v in doc.items() if k != "id"}
        async for doc in scan(store, ITEMS, tenant=TENANT)
    ]
    items.sort(
        key=lambda item: (item["contact_id"], item["summary"], item["data"]["changed_fields"])
    )
    return projections, items


async def test_an_import_batch_in_bulk_matches_handling_its_contacts_one_by_one(
    stores: tuple[MemoryStore, MemoryStore],
) -> None:
    bulk, single = stores
    held, batch = _mixed_batch()
    assert len(batch.contacts) == 1000
    for store in stores:
        await _seed(store, held)

    recorded = await record_contact_event(bulk, batch, origin=ORIGIN, delivery=None)
    await _record_one_by_one(single, batch)

    bulk_projections, bulk_items = await _contents(bulk)
    assert (bulk_projections, bulk_items) == await _contents(single)
    assert len(recorded) == len(bulk_items)
    # Not vacuous: 164 each of new, newer, equal and deleted-then-updated contacts give an item,
    # older and erased ones none; 9 of the 10 newer repeats give one more (not the erased one),
    # the 6 older repeats none.
    assert len(bulk_items) == 4 * 164 + 9
    by_id = {doc["id"]: (doc["version"], doc["state"]) for doc in bulk_projections}
    # Rows 12-17 are one of each kind (their older repeats change nothing); row 0 is a new
    # contact updated again later in the batch.
    assert [by_id[row.contact_id] for row in batch.contacts[12:18]] == [
        (1, "live"),
        (2, "live"),
        (3, "live"),
        (2, "live"),
        (2, "deleted"),
        (1, "erased"),
    ]
    assert by_id[batch.contacts[0].contact_id] == (2, "live")


async def test_one_fact_no_store_can_hold_does_not_lose_the_others_of_its_batch(
    stores: tuple[MemoryStore, MemoryStore],
) -> None:
    store, _ = stores
    rows = [
        ImportedContact(contact_id=contact_id, version=1, action="created", changed_fields=["name"])
        for contact_id in ("c-1", "c-\ud800", "c-3")
    ]
    event = ContactsImported(job_id="job-1", batch_no=1, contacts=rows)
    recorded = await record_contact_event(store, event, origin=ORIGIN, delivery=None)
    assert sorted(item["contact_id"] for item in recorded) == ["c-1", "c-3"]
    projections, items = await _contents(store)
    assert sorted(p["id"] for p in projections) == ["c-1", "c-3"]
    assert len(items) == 2


async def test_a_recorded_item_is_stored_exactly_as_its_model_writes_it(
    stores: tuple[MemoryStore, MemoryStore],
) -> None:
    from crm_timeline.domain.model import TimelineItem

    store, _ = stores
    rows = [
        ImportedContact(contact_id="c-1", version=1, action="created", changed_fields=["name"]),
        ImportedContact(contact_id="c-2", version=1, action="updated", changed_fields=[]),
    ]
    event = ContactsImported(job_id="job-1", batch_no=1, contacts=rows)
    recorded = await record_contact_event(store, event, origin=ORIGIN, delivery=None)
    _, items = await _contents(store)
    without_ids = [{key: value for key, value in doc.items() if key != "id"} for doc in recorded]
    assert sorted(items, key=lambda doc: doc["contact_id"]) == without_ids
    for doc in recorded:
        assert TimelineItem.model_validate(doc).model_dump() == doc
    assert [doc["type"] for doc in recorded] == ["imported", "imported"]
    assert recorded[0]["data"] == {"job_id": "job-1", "changed_fields": ["name"]}


async def test_an_import_batchs_items_get_distinct_ids_in_the_order_they_were_made(
    stores: tuple[MemoryStore, MemoryStore],
) -> None:
    store, _ = stores
    rows = [
        ImportedContact(contact_id=f"c-{n}", version=1, action="created", changed_fields=["name"])
        for n in range(300)
    ]
    before = new_id()
    event = ContactsImported(job_id="job-1", batch_no=1, contacts=rows)
    recorded = await record_contact_event(store, event, origin=ORIGIN, delivery=None)
    ids = [item["id"] for item in recorded]
    assert [item["contact_id"] for item in recorded] == [row.contact_id for row in rows]
    assert len(set(ids)) == 300 and ids == sorted(ids)
    assert before < ids[0] and ids[-1] < new_id()
