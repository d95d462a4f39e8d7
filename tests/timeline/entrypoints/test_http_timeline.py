"""GET /v1/contacts/{id}/timeline: auth, tenancy, filtering and keyset pagination."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from crm_shared.events import ActivityRecorded
from crm_shared.ids import new_id
from tests.conftest import OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.timeline.factories import at, envelope, seed_contact


async def _add_activities(app: FastAPI, contact_id: str, minutes: list[int]) -> None:
    for n, minute in enumerate(minutes):
        activity = ActivityRecorded(
            contact_id=contact_id,
            activity_type="ticket" if n % 2 else "email",
            occurred_at=at(minute),
            summary=f"activity {n}",
        )
        await app.state.bus.handle(envelope(activity, source="crm/helpdesk"))


async def test_a_missing_key_is_401(app: FastAPI, client: httpx.AsyncClient) -> None:
    contact_id = await seed_contact(app)

    response = await client.get(f"/v1/contacts/{contact_id}/timeline")

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_unknown_key_is_401(app: FastAPI, client: httpx.AsyncClient) -> None:
    contact_id = await seed_contact(app)

    response = await client.get(f"/v1/contacts/{contact_id}/timeline", headers=auth("not-a-key"))

    assert response.status_code == 401


async def test_a_viewer_reads_the_timeline(app: FastAPI, client: httpx.AsyncClient) -> None:
    contact_id = await seed_contact(app)

    response = await client.get(f"/v1/contacts/{contact_id}/timeline", headers=auth(VIEWER_KEY))

    assert response.status_code == 200
    body = response.json()
    assert body["next_cursor"] is None
    assert set(body["items"][0]) >= {"id", "type", "occurred_at", "source", "summary", "data"}


async def test_an_unknown_contact_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/v1/contacts/{new_id()}/timeline", headers=auth())

    assert response.status_code == 404
    assert response.json()["status"] == 404


async def test_another_tenants_contact_is_404(app: FastAPI, client: httpx.AsyncClient) -> None:
    contact_id = await seed_contact(app)

    response = await client.get(
        f"/v1/contacts/{contact_id}/timeline", headers=auth(OTHER_TENANT_KEY)
    )

    assert response.status_code == 404


async def test_pages_return_every_item_once_newest_first(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = await seed_contact(app)  # created at minute 0
    # Ties on occurred_at must be split by id, not skipped or repeated across pages.
    await _add_activities(app, contact_id, [5, 5, 5, 7, 3, 9, 5])
    seen: list[dict[str, str]] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        response = await client.get(
            f"/v1/contacts/{contact_id}/timeline", params=params, headers=auth()
        )
        assert response.status_code == 200, response.text
        body = response.json()
        seen += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert pages == 3
    assert len(seen) == 8
    assert len({i["id"] for i in seen}) == 8
    keys = [(i["occurred_at"], i["id"]) for i in seen]
    assert keys == sorted(keys, reverse=True)
    assert seen[-1]["summary"] == "Contact created (source: manual)"


async def test_the_type_filter_keeps_only_that_type(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = await seed_contact(app)
    await _add_activities(app, contact_id, [1, 2, 3])

    response = await client.get(
        f"/v1/contacts/{contact_id}/timeline", params={"type": "email"}, headers=auth()
    )

    items = response.json()["items"]
    assert [i["summary"] for i in items] == ["activity 2", "activity 0"]
    assert {i["type"] for i in items} == {"email"}


async def test_a_malformed_cursor_is_400(app: FastAPI, client: httpx.AsyncClient) -> None:
    contact_id = await seed_contact(app)

    response = await client.get(
        f"/v1/contacts/{contact_id}/timeline", params={"cursor": "garbage!"}, headers=auth()
    )

    assert response.status_code == 400
    assert "cursor" in response.json()["detail"]


@pytest.mark.parametrize("params", [{"limit": 201}, {"limit": 0}, {"type": "meeting"}])
async def test_an_out_of_range_limit_or_unknown_type_is_422(
    app: FastAPI, client: httpx.AsyncClient, params: dict[str, int | str]
) -> None:
    contact_id = await seed_contact(app)

    response = await client.get(
        f"/v1/contacts/{contact_id}/timeline", params=params, headers=auth()
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][0] == "query"


async def test_the_default_page_holds_fifty_items(app: FastAPI, client: httpx.AsyncClient) -> None:
    contact_id = await seed_contact(app)
    await _add_activities(app, contact_id, list(range(1, 51)))

    response = await client.get(f"/v1/contacts/{contact_id}/timeline", headers=auth())

    body = response.json()
    assert len(body["items"]) == 50
    assert body["next_cursor"] is not None


async def test_several_types_and_a_time_range_filter_together_across_pages(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = await seed_contact(app)  # contact_changed at minute 0
    # Types alternate email (even n) and ticket (odd n), at minutes 1..10.
    await _add_activities(app, contact_id, list(range(1, 11)))
    seen: list[dict[str, str]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int | list[str]] = {
            "type": ["ticket", "contact_changed"],
            "since": "2025-03-01T09:00:00Z",  # minute 0 included
            "until": "2025-03-01T10:07:00+01:00",  # 09:07 UTC, excluded
            "limit": 2,
        }
        response = await client.get(
            f"/v1/contacts/{contact_id}/timeline",
            params=params | ({"cursor": cursor} if cursor else {}),
            headers=auth(),
        )
        assert response.status_code == 200, response.text
        seen += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break

    # Tickets are the odd n: minutes 2, 4, 6 before 09:07; then the creation at minute 0.
    assert [(i["type"], i["occurred_at"][11:16]) for i in seen] == [
        ("ticket", "09:06"),
        ("ticket", "09:04"),
        ("ticket", "09:02"),
        ("contact_changed", "09:00"),
    ]


@pytest.mark.parametrize("bound", ["since", "until"])
async def test_a_bound_that_is_not_a_moment_is_422_naming_it(
    app: FastAPI, client: httpx.AsyncClient, bound: str
) -> None:
    contact_id = await seed_contact(app)

    response = await client.get(
        f"/v1/contacts/{contact_id}/timeline", params={bound: "yesterday"}, headers=auth()
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", bound]


async def test_items_say_who_caused_them(app: FastAPI, client: httpx.AsyncClient) -> None:
    contact_id = await seed_contact(app)
    await _add_activities(app, contact_id, [1])

    items = (await client.get(f"/v1/contacts/{contact_id}/timeline", headers=auth())).json()
    # The factories' envelopes carry actor "key_test"; the item keeps what the event said.
    assert [i["actor"] for i in items["items"]] == ["key_test", "key_test"]
