"""Merges on the timeline: the duplicates' items show under the primary, and back after undo."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from crm_shared.events import ContactsMerged, MergeUndone
from crm_shared.events.contacts import ContactProfile, ContactPurged
from tests.conftest import auth
from tests.timeline.factories import at, envelope, seed_contact, updated

PROFILE = ContactProfile(name="Ada Lovelace")


def _merge_events(
    primary: str, duplicates: list[str], *, undo: bool = False, version: int = 2
) -> list[Any]:
    model = MergeUndone if undo else ContactsMerged
    merge_id = "m-1"
    return [
        envelope(
            model(
                contact_id=contact_id,
                version=version,
                merge_id=merge_id,
                primary_id=primary,
                duplicate_ids=duplicates,
                profile=PROFILE,
            ),
            time=at(50 if not undo else 60),
            subject=contact_id,
        )
        for contact_id in [primary, *duplicates]
    ]


async def _summaries(client: httpx.AsyncClient, contact_id: str) -> list[tuple[str, str]]:
    response = await client.get(f"/v1/contacts/{contact_id}/timeline", headers=auth())
    assert response.status_code == 200, response.text
    return [(item["contact_id"], item["summary"]) for item in response.json()["items"]]


async def _two_contacts_with_history(app: FastAPI) -> tuple[str, str]:
    primary = await seed_contact(app)
    dup = await seed_contact(app)
    await app.state.bus.handle(updated(dup, {"company": (None, "Engines")}, version=2))
    return primary, dup


async def test_a_duplicates_items_show_under_the_primary_after_a_merge(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    primary, dup = await _two_contacts_with_history(app)

    for event in _merge_events(primary, [dup], version=3):
        await app.state.bus.handle(event)

    items = await _summaries(client, primary)
    assert (dup, "Updated company") in items
    assert (dup, "Contact created (source: manual)") in items
    assert items[0] in {
        (primary, "Merged 1 contact into this contact"),
        (dup, f"Merged into contact {primary}"),
    }
    assert (primary, "Contact created (source: manual)") in items
    assert len(items) == 5


async def test_undo_takes_the_duplicates_items_back(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    primary, dup = await _two_contacts_with_history(app)
    for event in _merge_events(primary, [dup], version=3):
        await app.state.bus.handle(event)

    for event in _merge_events(primary, [dup], undo=True, version=4):
        await app.state.bus.handle(event)

    assert {cid for cid, _ in await _summaries(client, primary)} == {primary}
    assert (dup, "Updated company") in await _summaries(client, dup)
    assert (dup, f"Merge undone: separated from contact {primary}") in await _summaries(client, dup)


async def test_a_redelivered_merge_event_records_nothing_twice(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    primary, dup = await _two_contacts_with_history(app)
    events = _merge_events(primary, [dup], version=3)
    for event in [*events, *events]:
        await app.state.bus.handle(event)
    assert len(await _summaries(client, primary)) == 5


async def test_merges_chain_and_purging_a_merged_contact_keeps_its_items_on_the_primary(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    primary, dup = await _two_contacts_with_history(app)
    top = await seed_contact(app)
    for event in _merge_events(primary, [dup], version=3):
        await app.state.bus.handle(event)
    for event in _merge_events(top, [primary], version=4):
        await app.state.bus.handle(event)
    assert (dup, "Updated company") in await _summaries(client, top)

    purge = ContactPurged(contact_id=dup, deleted_at="2025-03-01T09:50:00.000000Z")
    await app.state.bus.handle(envelope(purge, time=at(90), subject=dup))

    # The purged duplicate's items now belong to its primary for good, wherever it went.
    assert (primary, "Updated company") in await _summaries(client, top)
    assert (primary, "Updated company") in await _summaries(client, primary)
    gone = await client.get(f"/v1/contacts/{dup}/timeline", headers=auth())
    assert gone.status_code == 404
