"""Which contacts an import batch queues for the duplicate re-match: the API's rule."""

from __future__ import annotations

from crm_contacts.adapters.duplicates import MATCH_QUEUE, QUEUE_TENANT
from crm_shared.events import ImportBatchProcessed
from crm_shared.storage import In
from tests.contacts.helpers import Harness, envelope, import_batch


async def _queued_ids(harness: Harness) -> set[str]:
    async with harness.app.state.store.reader() as session:
        entries = await session.find(MATCH_QUEUE, tenant=QUEUE_TENANT, limit=1_000)
    return {str(entry["contact_id"]) for entry in entries}


async def _empty_queue(harness: Harness) -> None:
    async with harness.app.state.store.transaction() as session:
        entries = await session.find(MATCH_QUEUE, tenant=QUEUE_TENANT, limit=1_000)
        ids = tuple(str(entry["id"]) for entry in entries)
        if ids:
            await session.delete_where(MATCH_QUEUE, tenant=QUEUE_TENANT, where=(In("id", ids),))


async def test_an_update_of_what_contacts_match_on_queues_them_and_tags_alone_do_not(
    harness: Harness,
) -> None:
    tagged = await harness.create(email="ada@example.com", company="Acme")
    moved = await harness.create(name="Grace Hopper", email="grace@example.com", company="Acme")
    renamed = await harness.create(name="Alan T", email="alan@example.com")
    await _empty_queue(harness)
    assert await _queued_ids(harness) == set()
    batch = import_batch(
        [
            {"email": "ada@example.com", "tags": ["Webinar"], "timezone": "Europe/Paris"},
            {"email": "grace@example.com", "company": "Globex"},
            {"name": "Alan Turing", "email": "alan@example.com"},
            {"name": "New Person", "email": "new@example.com"},
        ],
        policy="update",
    )
    await harness.handle(envelope(batch))
    [processed] = await harness.outbox(ImportBatchProcessed.event_type)
    results = processed.data["results"]
    assert [r["status"] for r in results] == ["updated", "updated", "updated", "created"]
    created = results[3]["contact_id"]
    # The tags and timezone change none of Ada's pairs; a company and a name may.
    assert await _queued_ids(harness) == {moved["id"], renamed["id"], created}
    assert tagged["id"] not in await _queued_ids(harness)
