"""POST /v1/contacts/{id}/notes."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from crm_shared.events import NoteAdded
from crm_shared.ids import new_id
from crm_shared.topics import TIMELINE_EVENTS
from tests.conftest import EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.timeline.factories import pending, seed_contact


async def _post_note(
    client: httpx.AsyncClient, contact_id: str, body: object, key: str = EDITOR_KEY
) -> httpx.Response:
    return await client.post(f"/v1/contacts/{contact_id}/notes", json=body, headers=auth(key))


async def test_an_editor_adds_a_note_and_gets_the_item(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = await seed_contact(app)
    body = "  Called about the renewal. " + "x" * 200 + "  "

    response = await _post_note(client, contact_id, {"body": body})

    assert response.status_code == 201, response.text
    item = response.json()
    stripped = body.strip()
    assert (item["type"], item["source"]) == ("note", "crm/timeline")
    assert item["summary"] == stripped[:140]
    assert item["data"] == {"body": stripped, "note_id": item["data"]["note_id"]}
    assert item["occurred_at"].endswith("Z")
    timeline = await client.get(f"/v1/contacts/{contact_id}/timeline", headers=auth())
    assert timeline.json()["items"][0] == item


async def test_a_note_emits_note_added_without_the_body(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = await seed_contact(app)

    response = await _post_note(client, contact_id, {"body": "private remark"})

    [(key, event)] = await pending(app.state.store, TIMELINE_EVENTS.name)
    assert key == contact_id.encode()
    assert event.type == NoteAdded.event_type
    assert event.data == {"contact_id": contact_id, "note_id": response.json()["data"]["note_id"]}
    assert (event.tenant, event.subject, event.source) == ("acme", contact_id, "crm/timeline")
    assert event.actor is not None and event.actor.startswith("key:")
    assert "private remark" not in event.model_dump_json()


@pytest.mark.parametrize(
    "payload",
    [{"body": ""}, {"body": "   \n\t "}, {"body": "x" * 10001}, {}, {"body": "ok", "pin": True}],
    ids=["empty", "blank", "too-long", "missing", "extra-field"],
)
async def test_an_invalid_note_is_422_naming_the_field(
    app: FastAPI, client: httpx.AsyncClient, payload: dict[str, object]
) -> None:
    contact_id = await seed_contact(app)

    response = await _post_note(client, contact_id, payload)

    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["loc"][0] == "body"
    assert await pending(app.state.store, TIMELINE_EVENTS.name) == []


async def test_a_note_of_10000_characters_is_accepted(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = await seed_contact(app)

    response = await _post_note(client, contact_id, {"body": "y" * 10000})

    assert response.status_code == 201


async def test_a_note_for_an_unknown_contact_is_404(client: httpx.AsyncClient) -> None:
    response = await _post_note(client, new_id(), {"body": "hello"})

    assert response.status_code == 404


async def test_a_viewer_cannot_add_a_note(app: FastAPI, client: httpx.AsyncClient) -> None:
    contact_id = await seed_contact(app)

    response = await _post_note(client, contact_id, {"body": "hello"}, key=VIEWER_KEY)

    assert response.status_code == 403
    assert "editor" in response.json()["detail"]


async def test_a_note_on_another_tenants_contact_is_404(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = await seed_contact(app)

    response = await _post_note(client, contact_id, {"body": "hello"}, key=OTHER_TENANT_KEY)

    assert response.status_code == 404
    assert await pending(app.state.store, TIMELINE_EVENTS.name) == []


async def test_malformed_json_is_400(app: FastAPI, client: httpx.AsyncClient) -> None:
    contact_id = await seed_contact(app)

    response = await client.post(
        f"/v1/contacts/{contact_id}/notes",
        content=b'{"body": ',
        headers=auth(EDITOR_KEY) | {"content-type": "application/json"},
    )

    assert response.status_code == 400
