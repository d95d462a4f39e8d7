"""The contacts API client: pages, retries of passing failures, and refusals."""

from __future__ import annotations

import httpx
import orjson
import pytest

from crm_importer.adapters.contacts_client import ContactsClient, ContactsUnavailable
from crm_shared.filters import ContactFilter


def client_of(*responses: httpx.Response) -> tuple[ContactsClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return queue.pop(0)

    return ContactsClient("http://contacts", transport=httpx.MockTransport(handle)), seen


async def collect(client: ContactsClient) -> list[list[dict[str, object]]]:
    return [
        page async for page in client.pages(ContactFilter(), authorization="Bearer k", page_size=2)
    ]


async def test_pages_follow_the_next_cursor_until_it_is_null() -> None:
    client, seen = client_of(
        httpx.Response(200, json={"items": [{"id": "a"}, {"id": "b"}], "next_cursor": "x"}),
        httpx.Response(200, json={"items": [{"id": "c"}], "next_cursor": None}),
    )

    pages = await collect(client)

    assert pages == [[{"id": "a"}, {"id": "b"}], [{"id": "c"}]]
    assert seen[1].url.params["cursor"] == "x"
    assert seen[0].headers["authorization"] == "Bearer k"


async def test_a_passing_unavailability_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("crm_importer.adapters.contacts_client.asyncio.sleep", _no_wait)
    client, seen = client_of(
        httpx.Response(503),
        httpx.Response(200, json={"items": [], "next_cursor": None}),
    )

    assert await collect(client) == [[]]
    assert len(seen) == 2


async def test_a_refusal_is_not_retried() -> None:
    client, seen = client_of(httpx.Response(401))

    with pytest.raises(ContactsUnavailable, match="answered 401"):
        await collect(client)
    assert len(seen) == 1


async def test_an_answer_without_items_is_an_error() -> None:
    client, _ = client_of(httpx.Response(200, json={"data": []}))

    with pytest.raises(ContactsUnavailable, match="items"):
        await collect(client)


async def _no_wait(_: float) -> None:
    return None


async def test_a_filter_of_ids_is_sent_as_a_search_body_not_a_query_string() -> None:
    client, seen = client_of(
        httpx.Response(200, json={"items": [{"id": "a"}], "next_cursor": "x"}),
        httpx.Response(200, json={"items": [{"id": "b"}], "next_cursor": None}),
    )
    ids = [f"id-{n}" for n in range(3000)]

    pages = [
        page
        async for page in client.pages(
            ContactFilter(ids=ids), authorization="Bearer k", page_size=1
        )
    ]

    assert pages == [[{"id": "a"}], [{"id": "b"}]]
    assert [(r.method, r.url.path) for r in seen] == [("POST", "/v1/contacts/search")] * 2
    first, second = (orjson.loads(r.content) for r in seen)
    assert first == {"filter": {"ids": ids}, "limit": 1}
    assert second["cursor"] == "x"
