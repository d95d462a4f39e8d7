"""PATCH and DELETE /v1/contacts/{id}/notes/{note_id}: audited edits and deletions."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from crm_shared.events import NoteDeleted, NoteEdited
from crm_shared.ids import new_id
from crm_shared.topics import TIMELINE_EVENTS
from tests.conftest import EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.timeline.factories import pending, seed_contact

FIRST = "Called about the renewal"
SECOND = "Called again: renewal signed, send the invoice to the finance team"


async def _note(app: FastAPI, client: httpx.AsyncClient) -> tuple[str, str]:
    contact_id = await seed_contact(app)
    response = await client.post(
        f"/v1/contacts/{contact_id}/notes", json={"body": FIRST}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 201, response.text
    return contact_id, str(response.json()["id"])


async def _patch(
    client: httpx.AsyncClient, contact_id: str, note_id: str, body: object, key: str = EDITOR_KEY
) -> httpx.Response:
    return await client.patch(
        f"/v1/contacts/{contact_id}/notes/{note_id}", json=body, headers=auth(key)
    )


async def _notes(client: httpx.AsyncClient, contact_id: str) -> list[dict[str, object]]:
    response = await client.get(
        f"/v1/contacts/{contact_id}/timeline", params={"type": "note"}, headers=auth()
    )
    items: list[dict[str, object]] = response.json()["items"]
    return items


async def test_an_edit_replaces_the_body_and_is_an_event_without_it(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id, note_id = await _note(app, client)

    response = await _patch(client, contact_id, note_id, {"body": f"  {SECOND}  "})

    assert response.status_code == 200, response.text
    edited = response.json()
    assert (edited["id"], edited["summary"]) == (note_id, SECOND)
    assert edited["data"]["body"] == SECOND
    assert edited["edited_at"].endswith("Z")
    assert await _notes(client, contact_id) == [edited]
    events = [e for _, e in await pending(app.state.store, TIMELINE_EVENTS.name)]
    [edit] = [e for e in events if e.type == NoteEdited.event_type]
    assert edit.data == {"contact_id": contact_id, "note_id": note_id}
    assert edit.actor == edited["actor"]
    assert SECOND not in edit.model_dump_json() and FIRST not in edit.model_dump_json()


async def test_a_deletion_removes_the_note_and_is_an_event(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id, note_id = await _note(app, client)

    response = await client.delete(
        f"/v1/contacts/{contact_id}/notes/{note_id}", headers=auth(EDITOR_KEY)
    )

    assert response.status_code == 204, response.text
    assert await _notes(client, contact_id) == []
    events = [e for _, e in await pending(app.state.store, TIMELINE_EVENTS.name)]
    [deletion] = [e for e in events if e.type == NoteDeleted.event_type]
    assert deletion.data == {"contact_id": contact_id, "note_id": note_id}
    again = await client.delete(
        f"/v1/contacts/{contact_id}/notes/{note_id}", headers=auth(EDITOR_KEY)
    )
    assert again.status_code == 404


async def test_a_note_is_not_found_through_another_contact_or_tenant(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id, note_id = await _note(app, client)
    other_contact = await seed_contact(app)

    via_other_contact = await _patch(client, other_contact, note_id, {"body": SECOND})
    via_other_tenant = await _patch(client, contact_id, note_id, {"body": SECOND}, OTHER_TENANT_KEY)
    unknown = await _patch(client, contact_id, new_id(), {"body": SECOND})

    assert via_other_contact.status_code == via_other_tenant.status_code == 404
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    [note] = await _notes(client, contact_id)
    assert note["summary"] == FIRST


async def test_only_notes_written_here_can_be_edited(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = await seed_contact(app)
    [creation] = (await client.get(f"/v1/contacts/{contact_id}/timeline", headers=auth())).json()[
        "items"
    ]

    response = await _patch(client, contact_id, creation["id"], {"body": SECOND})

    assert response.status_code == 404


async def test_a_viewer_cannot_edit_and_a_blank_body_is_422(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id, note_id = await _note(app, client)

    as_viewer = await _patch(client, contact_id, note_id, {"body": SECOND}, VIEWER_KEY)
    blank = await _patch(client, contact_id, note_id, {"body": "   "})
    extra = await _patch(client, contact_id, note_id, {"body": SECOND, "pinned": True})

    assert as_viewer.status_code == 403
    assert blank.status_code == 422 and "body" in blank.json()["detail"]
    assert extra.status_code == 422 and "pinned" in blank.json()["detail"] + extra.text
    [note] = await _notes(client, contact_id)
    assert note["summary"] == FIRST
