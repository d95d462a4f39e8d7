"""POST /v1/contacts/{id}/activities: the HTTP twin of the ACTIVITIES consumer."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from crm_shared.events import ActivityRecorded
from crm_shared.ids import new_id
from tests.conftest import EDITOR_KEY, VIEWER_KEY, auth
from tests.timeline.factories import at, envelope, erasure_requested, seed_contact

ACTIVITY = {
    "activity_type": "appointment",
    "occurred_at": "2025-03-01T10:30:00+01:00",
    "summary": "Demo call booked",
    "data": {"appointment_id": "ap-1", "duration_min": 30},
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
    event = ActivityRecorded(
        contact_id=via_kafka,
        activity_type="appointment",
        occurred_at=at(30),  # 09:30 UTC, the same moment as 10:30+01:00
        summary="Demo call booked",
        data={"appointment_id": "ap-1", "duration_min": 30},
    )

    response = await _post(client, via_http, ACTIVITY)
    await app.state.bus.handle(envelope(event, source="crm/calendar"))

    assert response.status_code == 201, response.text
    timeline = await client.get(
        f"/v1/contacts/{via_kafka}/timeline", params={"type": "appointment"}, headers=auth()
    )
    [consumed] = timeline.json()["items"]
    posted = response.json()
    fields = ("type", "occurred_at", "summary", "data")
    assert {k: posted[k] for k in fields} == {k: consumed[k] for k in fields}
    assert posted["occurred_at"] == "2025-03-01T09:30:00.000000Z"
    assert consumed["source"] == "crm/calendar"


async def test_an_activity_for_a_contact_not_yet_known_is_accepted(
    client: httpx.AsyncClient,
) -> None:
    contact_id = new_id()

    response = await _post(client, contact_id, ACTIVITY)

    assert response.status_code == 201
    timeline = await client.get(f"/v1/contacts/{contact_id}/timeline", headers=auth())
    assert timeline.json()["items"] == [response.json()]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"occurred_at": "2025-03-01T10:30:00"}, "occurred_at"),
        ({"activity_type": "contact"}, "activity_type"),
        ({"summary": "  "}, "summary"),
        ({"data": {"blob": "x" * 70000}}, "data"),
        ({"source": "me"}, "source"),
    ],
    ids=["naive-time", "bad-type", "blank-summary", "data-too-large", "extra-field"],
)
async def test_an_invalid_activity_is_422_naming_the_field(
    client: httpx.AsyncClient, change: dict[str, object], field: str
) -> None:
    response = await _post(client, new_id(), ACTIVITY | change)

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", field]


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
