"""ContactPurged: a contact removed for good after its retention leaves nothing in the timeline."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from crm_shared.events import ActivityRecorded, ContactDeleted, ErasureReceipt
from crm_shared.events.contacts import ContactPurged
from crm_shared.ids import new_id
from crm_timeline.adapters.repository import TimelineRepository
from tests.conftest import EDITOR_KEY, auth
from tests.timeline.factories import (
    all_documents,
    at,
    created,
    dump,
    envelope,
    erasure_requested,
    pending,
    updated,
)

NOTE_BODY = "Ada prefers calls after 5pm, mobile +44 7700 900123"


def _purged(contact_id: str) -> ContactPurged:
    return ContactPurged(contact_id=contact_id, deleted_at="2024-01-01T00:00:00.000000Z")


async def _deleted_contact_with_history(app: FastAPI, client: httpx.AsyncClient) -> str:
    """A contact with a creation, a change with personal data, a note, and a soft delete."""
    contact_id = new_id()
    await app.state.bus.handle(created(contact_id, time=at(0)))
    await app.state.bus.handle(
        updated(contact_id, {"email": ("ada@example.com", "ada@new.io")}, version=2, time=at(5))
    )
    note = await client.post(
        f"/v1/contacts/{contact_id}/notes", json={"body": NOTE_BODY}, headers=auth(EDITOR_KEY)
    )
    assert note.status_code == 201, note.text
    deleted = ContactDeleted(contact_id=contact_id, version=3)
    await app.state.bus.handle(envelope(deleted, time=at(10), subject=contact_id))
    return contact_id


async def _state(app: FastAPI, contact_id: str) -> tuple[int, str] | None:
    async with app.state.store.reader() as session:
        held = await TimelineRepository(session).get_contact(tenant="acme", contact_id=contact_id)
    return None if held is None else (held.version, held.state)


async def test_purge_removes_notes_and_change_items_and_the_timeline_answers_404(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = await _deleted_contact_with_history(app, client)
    before = dump(await all_documents(app.state.store, "acme"))
    assert NOTE_BODY in before and "ada@new.io" in before

    await app.state.bus.handle(envelope(_purged(contact_id), time=at(60), subject=contact_id))

    left = await all_documents(app.state.store, "acme")
    assert [doc["id"] for doc in left] == [contact_id]  # only the purged projection remains
    assert NOTE_BODY not in dump(left) and "ada" not in dump(left)
    assert await _state(app, contact_id) == (3, "purged")
    response = await client.get(f"/v1/contacts/{contact_id}/timeline", headers=auth())
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_purge_leaves_other_contacts_alone(app: FastAPI, client: httpx.AsyncClient) -> None:
    purged_id = await _deleted_contact_with_history(app, client)
    kept_id = new_id()
    await app.state.bus.handle(created(kept_id))

    await app.state.bus.handle(envelope(_purged(purged_id), subject=purged_id))

    response = await client.get(f"/v1/contacts/{kept_id}/timeline", headers=auth())
    assert response.status_code == 200
    assert [i["summary"] for i in response.json()["items"]] == ["Contact created (source: manual)"]


async def test_a_redelivered_purge_changes_nothing(app: FastAPI, client: httpx.AsyncClient) -> None:
    contact_id = await _deleted_contact_with_history(app, client)
    purge = envelope(_purged(contact_id), subject=contact_id)
    await app.state.bus.handle(purge)
    after_first = await all_documents(app.state.store, "acme")

    await app.state.bus.handle(purge)

    assert await all_documents(app.state.store, "acme") == after_first


async def test_a_stale_update_after_the_purge_does_not_resurrect_the_contact(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = await _deleted_contact_with_history(app, client)
    await app.state.bus.handle(envelope(_purged(contact_id), subject=contact_id))

    await app.state.bus.handle(
        updated(contact_id, {"phone": (None, "+15550002222")}, version=4, time=at(90))
    )
    await app.state.bus.handle(created(contact_id, time=at(91)))

    assert await _state(app, contact_id) == (3, "purged")
    assert "+15550002222" not in dump(await all_documents(app.state.store, "acme"))
    response = await client.get(f"/v1/contacts/{contact_id}/timeline", headers=auth())
    assert response.status_code == 404


async def test_a_late_activity_or_note_after_the_purge_is_not_kept(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = await _deleted_contact_with_history(app, client)
    await app.state.bus.handle(envelope(_purged(contact_id), subject=contact_id))
    late = ActivityRecorded(
        contact_id=contact_id, activity_type="email", occurred_at=at(30), summary="Hi Ada"
    )

    await app.state.bus.handle(envelope(late, source="crm/mailer"))
    note = await client.post(
        f"/v1/contacts/{contact_id}/notes", json={"body": "late"}, headers=auth(EDITOR_KEY)
    )

    assert note.status_code == 404
    assert "Hi Ada" not in dump(await all_documents(app.state.store, "acme"))


async def test_a_purge_of_a_contact_never_seen_still_blocks_its_stale_events(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = new_id()
    await app.state.bus.handle(envelope(_purged(contact_id), subject=contact_id))

    await app.state.bus.handle(created(contact_id))

    assert await _state(app, contact_id) == (0, "purged")
    response = await client.get(f"/v1/contacts/{contact_id}/timeline", headers=auth())
    assert response.status_code == 404


async def test_an_erasure_after_the_purge_keeps_nothing_but_still_answers(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = await _deleted_contact_with_history(app, client)
    await app.state.bus.handle(envelope(_purged(contact_id), subject=contact_id))

    await app.state.bus.handle(erasure_requested(contact_id, erasure_id="er-9"))

    assert await _state(app, contact_id) == (3, "purged")
    assert "Contact data erased" not in dump(await all_documents(app.state.store, "acme"))
    receipts = [e for _, e in await pending(app.state.store, ErasureReceipt.topic)]
    assert [(e.data["erasure_id"], e.data["status"]) for e in receipts] == [("er-9", "completed")]
