"""The erasure request list in the orders an admin works it: newest first, due soonest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from crm_gdpr.adapters.repositories import ErasureRepository
from crm_gdpr.domain.erasure import ErasureRequest
from crm_shared.ids import new_id
from crm_shared.storage import DocumentStore
from tests.conftest import auth

PATH = "/v1/erasure-requests"
RECEIVED = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
# (days after RECEIVED it came in, days it had to be answered in): the deadline setting changed
# over time (an extension, a stricter policy), so due order differs from received order; the
# last two are due at the same moment (a tie the cursor must get past).
REQUESTS = ((0, 30), (1, 10), (2, 60), (3, 5), (4, 20), (4, 20))


async def _stored_requests(store: DocumentStore) -> list[ErasureRequest]:
    """The requests of REQUESTS in tenant acme, received (and given ids) in that order."""
    stored: list[ErasureRequest] = []
    for number, (after_days, deadline_days) in enumerate(REQUESTS):
        request = ErasureRequest.open(
            id=new_id(),
            tenant="acme",
            contact_id=f"contact-{number}",
            record_count=1,
            selector="contact_id",
            requested_by="key-admin",
            received=RECEIVED + timedelta(days=after_days),
            deadline_days=deadline_days,
        )
        if number == 2:
            request = request.model_copy(update={"status": "completed"})
        async with store.transaction() as tx:
            await ErasureRepository(tx).add(request, [{"id": request.contact_id}], ["contacts"])
        stored.append(request)
    return stored


async def _every_page(
    client: httpx.AsyncClient, **params: str
) -> tuple[list[str], list[dict[str, Any]]]:
    """The ids of every request, following next_cursor two at a time, and each page's body."""
    ids: list[str] = []
    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": "2", **({"cursor": cursor} if cursor else {})}
        response = await client.get(PATH, params=query, headers=auth())
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids, pages


async def test_newest_first_lists_every_request_once_across_pages(
    client: httpx.AsyncClient, store: DocumentStore
) -> None:
    stored = await _stored_requests(store)
    ids, pages = await _every_page(client, sort="-received_at")
    assert ids == [r.id for r in reversed(stored)]
    assert len(pages) == 4  # three full pages, then an empty one
    oldest_first, _ = await _every_page(client)
    assert oldest_first == [r.id for r in stored]


async def test_due_order_lists_the_soonest_due_first_and_gets_past_a_tie(
    client: httpx.AsyncClient, store: DocumentStore
) -> None:
    stored = await _stored_requests(store)
    soonest_first = [r.id for r in sorted(stored, key=lambda r: (r.due_at, r.id))]
    assert soonest_first != [r.id for r in stored]  # the order is not received order
    ids, _ = await _every_page(client, sort="due_at")
    assert ids == soonest_first
    latest_first, _ = await _every_page(client, sort="-due_at")
    assert latest_first == list(reversed(soonest_first))


async def test_due_order_keeps_the_status_filter_on_every_page(
    client: httpx.AsyncClient, store: DocumentStore
) -> None:
    stored = await _stored_requests(store)
    pending = sorted((r for r in stored if r.status == "pending"), key=lambda r: (r.due_at, r.id))
    ids, pages = await _every_page(client, sort="due_at", status="pending")
    assert ids == [r.id for r in pending]
    dues = [item["due_at"] for page in pages for item in page["items"]]
    assert dues == sorted(dues)


async def test_an_unknown_order_is_a_422_naming_sort(client: httpx.AsyncClient) -> None:
    response = await client.get(PATH, params={"sort": "name"}, headers=auth())
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "sort" in response.text


@pytest.mark.parametrize(("made_for", "passed_with"), [("due_at", "-received_at"), ("", "due_at")])
async def test_a_cursor_passed_with_another_order_is_a_400(
    client: httpx.AsyncClient, store: DocumentStore, made_for: str, passed_with: str
) -> None:
    await _stored_requests(store)
    first = await client.get(
        PATH, params={"limit": "2", **({"sort": made_for} if made_for else {})}, headers=auth()
    )
    cursor = first.json()["next_cursor"]
    response = await client.get(
        PATH, params={"sort": passed_with, "cursor": cursor}, headers=auth()
    )
    assert response.status_code == 400
    assert "cursor" in response.json()["detail"]
