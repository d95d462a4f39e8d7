"""The `ids` filter (a selection handed over by a bulk export) in listing and search."""

from __future__ import annotations

from tests.conftest import VIEWER_KEY, auth
from tests.contacts.helpers import Harness


async def test_ids_select_exactly_those_live_contacts_in_query_and_body(harness: Harness) -> None:
    made = [await harness.create(name=f"Person {n}") for n in range(4)]
    wanted = [made[0]["id"], made[2]["id"], "0190f000-0000-7000-8000-000000000000"]
    listed = await harness.client.get(
        "/v1/contacts", params=[("ids", i) for i in wanted], headers=auth(VIEWER_KEY)
    )
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()["items"]] == wanted[:2]
    searched = await harness.client.post(
        "/v1/contacts/search",
        json={"filter": {"ids": wanted}, "limit": 1},
        headers=auth(VIEWER_KEY),
    )
    page = searched.json()
    assert [c["id"] for c in page["items"]] == wanted[:1]
    rest = await harness.client.post(
        "/v1/contacts/search",
        json={"filter": {"ids": wanted}, "limit": 1, "cursor": page["next_cursor"]},
        headers=auth(VIEWER_KEY),
    )
    assert [c["id"] for c in rest.json()["items"]] == wanted[1:2]


async def test_more_than_10000_ids_is_a_422(harness: Harness) -> None:
    response = await harness.client.post(
        "/v1/contacts/search",
        json={"filter": {"ids": [f"id-{n}" for n in range(10_001)]}},
        headers=auth(VIEWER_KEY),
    )
    assert response.status_code == 422
