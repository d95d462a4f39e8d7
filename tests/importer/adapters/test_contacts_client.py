"""The contacts API client: pages, retries of passing failures, and refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator

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


class Pieces(httpx.AsyncByteStream):
    """A streamed body arriving in these pieces, then breaking off if `broken`."""

    def __init__(self, *pieces: bytes, broken: bool = False) -> None:
        self._pieces = pieces
        self._broken = broken

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self._pieces:
            yield piece
        if self._broken:
            raise httpx.RemoteProtocolError("peer closed connection mid-body")


def streamed(*pieces: bytes, broken: bool = False) -> httpx.Response:
    return httpx.Response(
        200, stream=Pieces(*pieces, broken=broken), headers={"content-type": "application/x-ndjson"}
    )


async def read_stream(client: ContactsClient, contact_filter: ContactFilter) -> list[str]:
    return [
        str(contact["id"])
        async for received in client.stream(contact_filter, authorization="Bearer k", page_size=200)
        for contact in received
    ]


async def test_the_stream_yields_each_line_once_however_the_pieces_cut_them() -> None:
    client, seen = client_of(streamed(b'{"id":"a"}\n{"i', b'd":"b"}\n', b'{"id":"c"}\n'))

    assert await read_stream(client, ContactFilter(tag=["vip"])) == ["a", "b", "c"]
    [request] = seen
    assert request.url.path == "/v1/contacts/stream"
    assert dict(request.url.params) == {"tag": "vip"}
    assert request.headers["authorization"] == "Bearer k"


async def test_a_stream_that_breaks_off_resumes_after_the_last_contact_received(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("crm_importer.adapters.contacts_client.asyncio.sleep", _no_wait)
    client, seen = client_of(
        streamed(b'{"id":"a"}\n{"id":"b"}\n{"id":"c', broken=True),
        streamed(b'{"id":"c"}\n'),
    )

    assert await read_stream(client, ContactFilter()) == ["a", "b", "c"]
    assert "after" not in seen[0].url.params
    assert seen[1].url.params["after"] == "b"


async def test_a_stream_breaking_off_three_times_without_progress_gives_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("crm_importer.adapters.contacts_client.asyncio.sleep", _no_wait)
    client, seen = client_of(*(streamed(b'{"id":"a', broken=True) for _ in range(3)))

    with pytest.raises(ContactsUnavailable, match="broke off"):
        await read_stream(client, ContactFilter())
    assert len(seen) == 3


async def test_a_refused_stream_is_not_asked_again() -> None:
    client, seen = client_of(httpx.Response(403))

    with pytest.raises(ContactsUnavailable, match="answered 403 to the stream"):
        await read_stream(client, ContactFilter())
    assert len(seen) == 1


async def test_a_filter_of_ids_is_read_through_the_search_pages_not_the_stream() -> None:
    last_page = httpx.Response(200, json={"items": [{"id": "a"}], "next_cursor": None})
    client, seen = client_of(last_page)

    assert await read_stream(client, ContactFilter(ids=["a"])) == ["a"]
    assert [(r.method, r.url.path) for r in seen] == [("POST", "/v1/contacts/search")]


async def test_the_stream_asks_for_the_fields_and_keeps_them_when_it_resumes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("crm_importer.adapters.contacts_client.asyncio.sleep", _no_wait)
    client, seen = client_of(
        streamed(b'{"id":"a","name":"A"}\n{"id":"b","na', broken=True),
        streamed(b'{"id":"b","name":"B"}\n', b"\n", b'{"id":"c","name":"C"}\n'),
    )

    received = [
        contact
        async for chunk in client.stream(
            ContactFilter(), authorization="Bearer k", page_size=200, fields=["id", "name"]
        )
        for contact in chunk
    ]

    assert received == [
        {"id": "a", "name": "A"},
        {"id": "b", "name": "B"},
        {"id": "c", "name": "C"},
    ]
    assert [dict(r.url.params) for r in seen] == [
        {"fields": "id,name"},
        {"fields": "id,name", "after": "a"},
    ]
