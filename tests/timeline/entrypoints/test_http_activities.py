"""POST /v1/contacts/{id}/activities: the HTTP twin of the ACTIVITIES consumer (v2 reports)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from crm_shared.events import ActivityRecordedV2
from crm_shared.ids import new_id
from crm_shared.topics import TIMELINE_EVENTS
from tests.conftest import EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.timeline.factories import envelope, erasure_requested, pending, seed_contact

ACTIVITY: dict[str, Any] = {
    "occurred_at": "2025-03-01T10:30:00+01:00",
    "summary": "Demo call booked",
    "details": {
        "type": "appointment",
        "appointment_id": "ap-1",
        "status": "scheduled",
        "starts_at": "2025-03-04T15:00:00+01:00",
    },
    "data": {"duration_min": 30},
}

# One valid report of every type a product may send.
EVERY_TYPE: dict[str, dict[str, Any]] = {
    "conversation": {"type": "conversation", "conversation_id": "cv-1", "message_count": 4},
    "email_sent": {"type": "email_sent", "message_id": "m-1", "subject": "Your quote"},
    "email_received": {"type": "email_received", "thread_id": "t-9"},
    "appointment": {"type": "appointment", "appointment_id": "ap-2", "status": "attended"},
    "note": {"type": "note", "body": "Prefers mornings"},
    "ticket": {"type": "ticket", "ticket_id": "tk-1", "change": "status_changed", "status": "open"},
}


async def _post(
    client: httpx.AsyncClient, contact_id: str, payload: object, key: str = EDITOR_KEY
) -> httpx.Response:
    return await client.post(
        f"/v1/contacts/{contact_id}/activities", json=payload, headers=auth(key)
    )


async def test_http_and_consumer_record_the_same_item(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    via_http, via_kafka = await seed_contact(app), await seed_contact(app)
    event = ActivityRecordedV2.model_validate({**ACTIVITY, "contact_id": via_kafka})

    response = await _post(client, via_http, ACTIVITY)
    await app.state.bus.handle(envelope(event, source="crm/calendar"))

    assert response.status_code == 201, response.text
    timeline = await client.get(
        f"/v1/contacts/{via_kafka}/timeline", params={"type": "appointment"}, headers=auth()
    )
    [consumed] = timeline.json()["items"]
    posted = response.json()
    fields = ("type", "occurred_at", "summary", "details", "data")
    assert {k: posted[k] for k in fields} == {k: consumed[k] for k in fields}
    assert posted["occurred_at"] == "2025-03-01T09:30:00.000000Z"
    assert posted["details"] == {
        "appointment_id": "ap-1",
        "status": "scheduled",
        "starts_at": "2025-03-04T14:00:00Z",
    }
    assert (consumed["source"], consumed["actor"]) == ("crm/calendar", "key_test")
    assert posted["source"] == "crm/timeline/api"
    assert posted["actor"].startswith("key:")  # the key's fingerprint: the test keys have no label


@pytest.mark.parametrize("details", EVERY_TYPE.values(), ids=list(EVERY_TYPE))
async def test_every_reported_type_is_recorded_with_its_typed_details(
    app: FastAPI, client: httpx.AsyncClient, details: dict[str, Any]
) -> None:
    contact_id = await seed_contact(app)

    response = await _post(client, contact_id, ACTIVITY | {"details": details})

    assert response.status_code == 201, response.text
    item = response.json()
    assert item["type"] == details["type"]
    assert item["details"] == {k: v for k, v in details.items() if k != "type"}


async def test_an_activity_for_an_unknown_contact_is_404_and_keeps_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = new_id()

    response = await _post(client, contact_id, ACTIVITY)

    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert contact_id in response.json()["detail"]
    timeline = await client.get(f"/v1/contacts/{contact_id}/timeline", headers=auth())
    assert timeline.status_code == 404
    assert await pending(app.state.store, TIMELINE_EVENTS.name) == []


async def test_an_activity_for_another_tenants_contact_is_404(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    theirs = await seed_contact(app, tenant="acme")

    response = await _post(client, theirs, ACTIVITY, key=OTHER_TENANT_KEY)

    assert response.status_code == 404, response.text


async def test_a_recorded_activity_is_published_for_other_products(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = await seed_contact(app)

    response = await _post(client, contact_id, ACTIVITY)

    [(key, event)] = await pending(app.state.store, TIMELINE_EVENTS.name)
    assert key == contact_id.encode()
    assert event.type == "crm.timeline.activity.recorded.v1"
    assert event.actor == response.json()["actor"]
    assert event.data["item_id"] == response.json()["id"]
    assert event.data["item_type"] == "appointment"
    assert "Demo call booked" not in event.model_dump_json()  # no free text on the bus


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"occurred_at": "2025-03-01T10:30:00"}, "occurred_at"),
        ({"details": {"type": "contact_changed"}}, "details"),
        ({"summary": "  "}, "summary"),
        ({"data": {"blob": "x" * 70000}}, "data"),
        ({"source": "me"}, "source"),
    ],
    ids=["naive-time", "internal-type", "blank-summary", "data-too-large", "extra-field"],
)
async def test_an_invalid_activity_is_422_naming_the_field(
    app: FastAPI, client: httpx.AsyncClient, change: dict[str, object], field: str
) -> None:
    response = await _post(client, await seed_contact(app), ACTIVITY | change)

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][:2] == ["body", field]


async def test_a_viewer_cannot_record_an_activity(client: httpx.AsyncClient) -> None:
    response = await _post(client, new_id(), ACTIVITY, key=VIEWER_KEY)

    assert response.status_code == 403


async def test_an_activity_for_an_erased_contact_is_409(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = await seed_contact(app)
    await app.state.bus.handle(erasure_requested(contact_id))

    response = await _post(client, contact_id, ACTIVITY)

    assert response.status_code == 409
