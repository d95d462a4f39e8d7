"""Listing: free-text and tag filters, keyset pages, deleted contacts."""

from __future__ import annotations

from typing import Any

from tests.conftest import EDITOR_KEY, VIEWER_KEY, auth
from tests.contacts.helpers import Harness


async def _list(harness: Harness, **params: Any) -> dict[str, Any]:
    response = await harness.client.get("/v1/contacts", params=params, headers=auth(VIEWER_KEY))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_pages_return_every_contact_once_in_creation_order(harness: Harness) -> None:
    created = [(await harness.create(name=f"Person {n}"))["id"] for n in range(7)]
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 3}
    pages = 0
    while True:
        page = await _list(harness, **params)
        pages += 1
        seen += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == created
    assert pages == 3


async def test_exactly_full_last_page_has_no_next_cursor(harness: Harness) -> None:
    for n in range(2):
        await harness.create(name=f"Person {n}")
    page = await _list(harness, limit=2)
    assert len(page["items"]) == 2 and page["next_cursor"] is None


async def test_q_matches_name_email_phone_and_company_ignoring_case(harness: Harness) -> None:
    ada = await harness.create(name="Ada Lovelace", email="ada@engines.example")
    grace = await harness.create(name="Grace Hopper", company="COBOL Works")
    alan = await harness.create(name="Alan Turing", phone="+44 20 7946 0958")
    assert [i["id"] for i in (await _list(harness, q="LOVELACE"))["items"]] == [ada["id"]]
    assert [i["id"] for i in (await _list(harness, q="engines.EX"))["items"]] == [ada["id"]]
    assert [i["id"] for i in (await _list(harness, q="cobol"))["items"]] == [grace["id"]]
    assert [i["id"] for i in (await _list(harness, q="2079460"))["items"]] == [alan["id"]]
    assert (await _list(harness, q="nobody"))["items"] == []


async def test_tag_filter_ignores_case(harness: Harness) -> None:
    vip = await harness.create(name="Ada", tags=["VIP", "Customer"])
    await harness.create(name="Grace", tags=["Prospect"])
    assert [i["id"] for i in (await _list(harness, tag="vip"))["items"]] == [vip["id"]]


async def test_filtered_pages_return_each_match_once(harness: Harness) -> None:
    matching = []
    for n in range(5):
        matching.append((await harness.create(name=f"Match {n}", tags=["x"]))["id"])
        await harness.create(name=f"Other {n}")
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2, "tag": "X", "q": "match"}
    while True:
        page = await _list(harness, **params)
        seen += [item["id"] for item in page["items"]]
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == matching


async def test_deleted_contacts_are_listed_only_on_request(harness: Harness) -> None:
    kept = await harness.create(name="Kept")
    gone = await harness.create(name="Gone")
    await harness.client.delete(f"/v1/contacts/{gone['id']}", headers=auth(EDITOR_KEY))
    assert [i["id"] for i in (await _list(harness))["items"]] == [kept["id"]]
    response = await harness.client.get(
        "/v1/contacts", params={"include_deleted": "true"}, headers=auth(EDITOR_KEY)
    )
    items = response.json()["items"]
    assert [i["id"] for i in items] == [kept["id"], gone["id"]]
    assert items[1]["deleted_at"] is not None


async def test_default_limit_is_50(harness: Harness) -> None:
    for n in range(51):
        await harness.create(name=f"Person {n}")
    page = await _list(harness)
    assert len(page["items"]) == 50 and page["next_cursor"] is not None
