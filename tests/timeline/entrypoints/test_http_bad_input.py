"""Every class of bad input is a 422 naming the field, over HTTP and on crm.activities.v1."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from crm_shared.envelope import EventEnvelope
from crm_shared.events import ActivityRecordedV2
from crm_shared.messaging.errors import PermanentMessageError
from tests.conftest import EDITOR_KEY, auth
from tests.timeline.factories import envelope, seed_contact

GOOD = {
    "occurred_at": "2025-03-01T10:30:00+01:00",
    "summary": "Sent the quote",
    "details": {"type": "email_sent", "message_id": "m-1", "subject": "Quote"},
    "data": {"n": 1},
}
MEETING = {"type": "appointment", "appointment_id": "ap-1", "status": "scheduled"}
DEEP: Any = json.loads('{"a":' * 300 + "1" + "}" * 300)

BAD_ACTIVITIES = {
    "data integer above 64 bits": ({"data": {"n": 10**20}}, "data"),
    "data nested 300 levels": ({"data": DEEP}, "data"),
    "data with a lone surrogate": ({"data": {"note": "\ud800"}}, "data"),
    "data key with NUL": ({"data": {"a\x00": 1}}, "data"),
    "summary with a lone surrogate": ({"summary": "Hi \ud800"}, "summary"),
    "summary with NUL": ({"summary": "Hi \x00"}, "summary"),
    "occurred_at past year 9999 in UTC": (
        {"occurred_at": "9999-12-31T23:59:59-14:00"},
        "occurred_at",
    ),
    "occurred_at as a number": ({"occurred_at": 0}, "occurred_at"),
    "occurred_at as digits": ({"occurred_at": "0"}, "occurred_at"),
    "occurred_at without offset": ({"occurred_at": "2025-03-01T10:30:00"}, "occurred_at"),
    "occurred_at in year 1": ({"occurred_at": "0001-01-01T00:00:00+14:00"}, "occurred_at"),
    "empty summary": ({"summary": "  "}, "summary"),
    "an unknown field": ({"source": "me"}, "source"),
    "no details": ({"details": None}, "details"),
    "a type the timeline records itself": ({"details": {"type": "merged"}}, "details"),
    "an unknown type": ({"details": {"type": "fax"}}, "details"),
    "an unknown detail": ({"details": {"type": "email_sent", "cc": "x"}}, "details"),
    "a scheduled appointment without its start": ({"details": MEETING}, "details"),
    "an appointment ending before it starts": (
        {
            "details": MEETING
            | {"starts_at": "2025-03-02T10:00:00Z", "ends_at": "2025-03-02T09:00:00Z"}
        },
        "details",
    ),
    "an appointment status not in the list": (
        {"details": MEETING | {"status": "maybe", "starts_at": "2025-03-02T10:00:00Z"}},
        "details",
    ),
    "a ticket status change without the status": (
        {"details": {"type": "ticket", "ticket_id": "t-1", "change": "status_changed"}},
        "details",
    ),
    "a ticket without its id": ({"details": {"type": "ticket", "change": "opened"}}, "details"),
    "an empty note": ({"details": {"type": "note", "body": " "}}, "details"),
    "a conversation with a negative message count": (
        {"details": {"type": "conversation", "conversation_id": "c", "message_count": -1}},
        "details",
    ),
}


def _body(patch: dict[str, Any]) -> bytes:
    # json.dumps keeps lone surrogates as \ud800 escapes, as a careless client would send them.
    return json.dumps({**GOOD, **patch}).encode()


@pytest.mark.parametrize(("patch", "field"), BAD_ACTIVITIES.values(), ids=list(BAD_ACTIVITIES))
async def test_bad_activity_over_http_is_a_422_naming_the_field(
    app: FastAPI, client: httpx.AsyncClient, patch: dict[str, Any], field: str
) -> None:
    contact_id = await seed_contact(app)
    response = await client.post(
        f"/v1/contacts/{contact_id}/activities",
        content=_body(patch),
        headers={**auth(EDITOR_KEY), "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.json()["detail"]


@pytest.mark.parametrize(("patch", "field"), BAD_ACTIVITIES.values(), ids=list(BAD_ACTIVITIES))
async def test_bad_activity_on_the_topic_is_refused_by_the_same_model(
    app: FastAPI, client: httpx.AsyncClient, patch: dict[str, Any], field: str
) -> None:
    contact_id = await seed_contact(app)
    good = envelope(
        ActivityRecordedV2.model_validate({**GOOD, "contact_id": contact_id}), source="crm/mailer"
    )
    data = {**json.loads(_body(patch)), "contact_id": contact_id}
    bad = EventEnvelope.model_validate({**good.model_dump(), "data": data})
    with pytest.raises(PermanentMessageError) as raised:
        await app.state.bus.handle(bad)
    assert raised.value.reason == "schema-invalid"
    # A dead letter names an unknown field `*`: the name is the sender's (it could be a value).
    shown = "*" if field == "source" else field
    assert any(name.startswith(f"data.{shown}") for name in raised.value.fields)
    timeline = await client.get(f"/v1/contacts/{contact_id}/timeline", headers=auth())
    assert all(item["type"] == "contact_changed" for item in timeline.json()["items"])


async def test_the_good_activity_is_accepted_both_ways(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The control of the two tests above: without the bad part, both ways record it."""
    contact_id = await seed_contact(app)
    response = await client.post(
        f"/v1/contacts/{contact_id}/activities", content=_body({}), headers=_json_editor()
    )
    await app.state.bus.handle(
        envelope(
            ActivityRecordedV2.model_validate({**GOOD, "contact_id": contact_id}),
            source="crm/mailer",
        )
    )
    assert response.status_code == 201, response.text
    timeline = await client.get(
        f"/v1/contacts/{contact_id}/timeline", params={"type": "email_sent"}, headers=auth()
    )
    sources = sorted(item["source"] for item in timeline.json()["items"])
    assert sources == ["crm/mailer", "crm/timeline/api"]


def _json_editor() -> dict[str, str]:
    return {**auth(EDITOR_KEY), "content-type": "application/json"}


async def test_bad_note_text_is_a_422_naming_the_body(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = await seed_contact(app)
    response = await client.post(
        f"/v1/contacts/{contact_id}/notes",
        content=b'{"body": "call back \\ud800"}',
        headers={**auth(EDITOR_KEY), "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert "body" in response.json()["detail"]


async def test_nul_in_a_query_parameter_is_a_422_naming_it(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = await seed_contact(app)
    response = await client.get(f"/v1/contacts/{contact_id}/timeline?type=note%00", headers=auth())
    assert response.status_code == 422, response.text
    assert "type" in response.json()["detail"]


async def test_a_wrong_method_is_a_405_with_allow(app: FastAPI, client: httpx.AsyncClient) -> None:
    contact_id = await seed_contact(app)
    response = await client.put(f"/v1/contacts/{contact_id}/notes", headers=auth())
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "position",
    [["2025-03-01T09:30:00.000000Z²", "i"], ["٢٠٢٥-03-01T09:30:00.000000Z", "i"], [10**20, "i"]],
    ids=["superscript two", "arabic-indic digits", "above 64 bits"],
)
async def test_a_forged_cursor_is_a_400(
    app: FastAPI, client: httpx.AsyncClient, position: list[object]
) -> None:
    contact_id = await seed_contact(app)
    token = base64.urlsafe_b64encode(json.dumps(position).encode()).rstrip(b"=").decode()
    response = await client.get(
        f"/v1/contacts/{contact_id}/timeline", params={"cursor": token}, headers=auth()
    )
    assert response.status_code == 400, response.text
    assert "cursor" in response.json()["detail"]
