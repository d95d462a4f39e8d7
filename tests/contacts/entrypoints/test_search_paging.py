"""Sorting and keyset pages of GET /v1/contacts: stable while contacts change, strict cursors."""

from __future__ import annotations

from typing import Any

import pytest

from crm_contacts.domain.search import sort_order
from crm_contacts.domain.search_cursor import cursor_key, encode_cursor
from crm_contacts.domain.text import fold
from crm_shared.ids import new_id
from tests.conftest import EDITOR_KEY, VIEWER_KEY, auth
from tests.contacts.helpers import Harness

NAMES = ["émile", "Zoë", "bob", "Ádám", "carla", "Bob", "dora", "Éva", "al"]


async def _page(harness: Harness, **params: Any) -> dict[str, Any]:
    response = await harness.client.get("/v1/contacts", params=params, headers=auth(VIEWER_KEY))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _walk(
    harness: Harness, sort: str | None, *, limit: int = 2, between: Any = None
) -> list[dict[str, Any]]:
    """Every page in `sort` order; `between(n)` runs after page n (to change data meanwhile)."""
    params: dict[str, Any] = {"limit": limit}
    if sort:
        params["sort"] = sort
    seen: list[dict[str, Any]] = []
    for n in range(50):
        page = await _page(harness, **params)
        seen.extend(page["items"])
        if between is not None:
            await between(n)
        if page["next_cursor"] is None:
            return seen
        params["cursor"] = page["next_cursor"]
    raise AssertionError("pagination never ended")


@pytest.fixture
async def named(harness: Harness) -> list[dict[str, Any]]:
    return [await harness.create(name=name) for name in NAMES]


@pytest.mark.parametrize("sort", [None, "created_at", "-created_at", "name", "-name"])
async def test_pages_follow_the_sort_order_with_each_contact_once(
    harness: Harness, named: list[dict[str, Any]], sort: str | None
) -> None:
    seen = [c["id"] for c in await _walk(harness, sort)]

    if sort in (None, "created_at"):
        expected = [c["id"] for c in named]
    elif sort == "-created_at":
        expected = [c["id"] for c in reversed(named)]
    else:
        by_name = sorted(named, key=lambda c: (fold(c["name"]), c["id"]))
        expected = [c["id"] for c in (by_name if sort == "name" else reversed(by_name))]
    assert seen == expected


async def test_sort_by_name_ignores_accents_and_case(
    harness: Harness, named: list[dict[str, Any]]
) -> None:
    names = [c["name"] for c in await _walk(harness, "name", limit=50)]
    assert names[:3] == ["Ádám", "al", "bob"] or names[:3] == ["Ádám", "al", "Bob"]
    assert names[-1] == "Zoë"


async def test_sort_by_updated_at_puts_the_latest_change_last(
    harness: Harness, named: list[dict[str, Any]]
) -> None:
    changed = named[0]
    response = await harness.client.patch(
        f"/v1/contacts/{changed['id']}", json={"company": "Acme"}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 200
    assert [c["id"] for c in await _walk(harness, "updated_at")][-1] == changed["id"]
    assert next(c["id"] for c in await _walk(harness, "-updated_at")) == changed["id"]


@pytest.mark.parametrize("sort", [None, "name", "-name", "-created_at", "updated_at"])
async def test_contacts_added_and_changed_between_pages_neither_repeat_nor_hide_others(
    harness: Harness, named: list[dict[str, Any]], sort: str | None
) -> None:
    async def meanwhile(n: int) -> None:
        if n >= 3:
            return  # contacts added after the last page would keep the walk going
        await harness.create(name=f"Newcomer {n}")
        await harness.create(name=f"aaa early {n}")  # sorts before every page already read

    seen = [c["id"] for c in await _walk(harness, sort, between=meanwhile)]

    assert len(seen) == len(set(seen)), "a contact came twice"
    assert {c["id"] for c in named} <= set(seen), "a contact that existed all along was skipped"


async def test_a_cursor_continues_only_with_the_sort_it_was_made_for(
    harness: Harness, named: list[dict[str, Any]]
) -> None:
    page = await _page(harness, sort="name", limit=2)
    response = await harness.client.get(
        "/v1/contacts",
        params={"sort": "-name", "cursor": page["next_cursor"]},
        headers=auth(VIEWER_KEY),
    )
    assert response.status_code == 400
    assert "sort" in response.json()["detail"]


@pytest.mark.parametrize(
    "cursor",
    [
        "!!",
        "bm90LWEtY3Vyc29y",
        "eyJhIjoxfQ.AAAA",
        "x" * 2000,
        encode_cursor(sort_order(None), new_id(), new_id(), key=cursor_key(b"some other key")),
    ],
    ids=["not-base64", "unsigned", "bad-signature", "huge", "signed-elsewhere"],
)
async def test_a_malformed_or_forged_cursor_is_400(harness: Harness, cursor: str) -> None:
    response = await harness.client.get(
        "/v1/contacts", params={"cursor": cursor}, headers=auth(VIEWER_KEY)
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_an_unknown_sort_is_422_naming_sort(harness: Harness) -> None:
    response = await harness.client.get(
        "/v1/contacts", params={"sort": "email"}, headers=auth(VIEWER_KEY)
    )
    assert response.status_code == 422
    assert "sort" in response.json()["detail"]
