"""The `crm-timeline-erasure` consumer: nothing about the person stays, and a receipt goes out."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from crm_shared.events import ActivityRecorded, ErasureCompleted, ErasureReceipt
from crm_shared.ids import new_id
from crm_shared.topics import ERASURE_RECEIPTS
from tests.conftest import EDITOR_KEY, auth
from tests.timeline.factories import (
    all_documents,
    at,
    created,
    dump,
    envelope,
    erasure_requested,
    pending,
    seed_contact,
    updated,
)

NOTE_BODY = "Ada prefers calls after 6pm, home number +44 20 7946 0958"


async def _fill_timeline(app: FastAPI, client: httpx.AsyncClient, contact_id: str) -> None:
    await app.state.bus.handle(created(contact_id, email="ada@example.com"))
    await app.state.bus.handle(
        updated(contact_id, {"email": ("ada@example.com", "lovelace@example.org")}, version=2)
    )
    activity = ActivityRecorded(
        contact_id=contact_id,
        activity_type="email",
        occurred_at=at(3),
        summary="Email to lovelace@example.org",
    )
    await app.state.bus.handle(envelope(activity, source="crm/mailer"))
    note = await client.post(
        f"/v1/contacts/{contact_id}/notes", json={"body": NOTE_BODY}, headers=auth(EDITOR_KEY)
    )
    assert note.status_code == 201


async def test_erasure_removes_every_note_change_and_activity_of_the_contact(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = new_id()
    await _fill_timeline(app, client, contact_id)
    assert NOTE_BODY in dump(await all_documents(app.state.store, "acme"))

    await app.state.bus.handle(erasure_requested(contact_id, erasure_id="er-1"))

    stored = dump(await all_documents(app.state.store, "acme"))
    for personal in (NOTE_BODY, "ada@example.com", "lovelace@example.org", "Ada"):
        assert personal not in stored
    response = await client.get(f"/v1/contacts/{contact_id}/timeline", headers=auth())
    [item] = response.json()["items"]
    assert (item["type"], item["summary"]) == ("contact_changed", "Contact data erased")
    assert item["data"] == {"erasure_id": "er-1"}


async def test_erasure_emits_a_completed_receipt_keyed_by_the_contact(app: FastAPI) -> None:
    contact_id = await seed_contact(app)

    await app.state.bus.handle(erasure_requested(contact_id, erasure_id="er-2"))

    [(key, receipt)] = await pending(app.state.store, ERASURE_RECEIPTS.name)
    assert key == contact_id.encode()
    assert receipt.type == ErasureReceipt.event_type
    assert (receipt.tenant, receipt.subject, receipt.source) == ("acme", contact_id, "crm/timeline")
    assert receipt.data == {
        "erasure_id": "er-2",
        "contact_id": contact_id,
        "service": "timeline",
        "status": "completed",
        "detail": None,
    }


async def test_a_redelivered_erasure_request_changes_nothing(app: FastAPI) -> None:
    contact_id = await seed_contact(app)
    request = erasure_requested(contact_id)
    await app.state.bus.handle(request)
    before = await all_documents(app.state.store, "acme")

    await app.state.bus.handle(request)

    assert await all_documents(app.state.store, "acme") == before
    assert len(await pending(app.state.store, ERASURE_RECEIPTS.name)) == 1


async def test_a_repeated_request_for_the_same_erasure_keeps_one_marker_and_answers_again(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = await seed_contact(app)
    await app.state.bus.handle(erasure_requested(contact_id, erasure_id="er-3"))

    await app.state.bus.handle(erasure_requested(contact_id, erasure_id="er-3"))

    response = await client.get(f"/v1/contacts/{contact_id}/timeline", headers=auth())
    assert [i["summary"] for i in response.json()["items"]] == ["Contact data erased"]
    assert len(await pending(app.state.store, ERASURE_RECEIPTS.name)) == 2


async def test_erasure_of_one_contact_leaves_other_contacts_alone(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    erased, kept = await seed_contact(app), await seed_contact(app)
    other_tenant = new_id()
    await app.state.bus.handle(created(other_tenant, tenant="globex"))

    await app.state.bus.handle(erasure_requested(erased))

    kept_items = (await client.get(f"/v1/contacts/{kept}/timeline", headers=auth())).json()
    assert [i["summary"] for i in kept_items["items"]] == ["Contact created (source: manual)"]
    assert len(await all_documents(app.state.store, "globex")) == 2


async def test_a_note_on_an_erased_contact_is_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = await seed_contact(app)
    await app.state.bus.handle(erasure_requested(contact_id))

    response = await client.post(
        f"/v1/contacts/{contact_id}/notes", json={"body": "hello"}, headers=auth(EDITOR_KEY)
    )

    assert response.status_code == 409
    assert "erased" in response.json()["detail"]


async def test_other_gdpr_events_are_ignored(app: FastAPI) -> None:
    # Consent changes are items of their own (test_consumers); the saga's end is not.
    contact_id = await seed_contact(app)
    completed = ErasureCompleted(erasure_id="er-9", contact_id=contact_id, status="completed")
    before = await all_documents(app.state.store, "acme")

    await app.state.bus.handle(envelope(completed, source="crm/gdpr"))

    assert await all_documents(app.state.store, "acme") == before
    assert await pending(app.state.store, ERASURE_RECEIPTS.name) == []


async def test_a_poll_of_erasure_requests_erases_each_and_sends_each_receipt_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contacts = [new_id() for _ in range(3)]
    for contact_id in contacts:
        await _fill_timeline(app, client, contact_id)
    poll = [erasure_requested(c, erasure_id="er-9") for c in contacts]

    # The same poll again (its offsets were not committed), with a repeat inside it.
    assert await app.state.bus.handle_many(poll) == [None, None, None]
    await app.state.bus.handle_many([*poll, poll[0]])

    stored = dump(await all_documents(app.state.store, "acme"))
    assert NOTE_BODY not in stored and "lovelace@example.org" not in stored
    receipts = [
        e.data["contact_id"]
        for _, e in await pending(app.state.store, ERASURE_RECEIPTS.name)
        if e.type == ErasureReceipt.event_type
    ]
    assert sorted(receipts) == sorted(contacts)
