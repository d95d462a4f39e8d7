"""A poll of receipts or domain events is one transaction per tenant: applied once, whether it
is redelivered whole or its transaction dies before the commit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from crm_gdpr.adapters.repositories import AUDIT_ENTRIES
from crm_gdpr.service_layer.audit_intake import audit_poll
from crm_gdpr.service_layer.erasure_receipts import record_receipts
from crm_shared.envelope import EventData, EventEnvelope
from crm_shared.events import ContactCreated, ErasureReceipt, ErasureRequested
from crm_shared.events.contacts import ContactProfile
from crm_shared.events.gdpr import ERASURE_PARTICIPANTS
from crm_shared.storage import DocumentStore, Session, scan
from tests.conftest import ADMIN_KEY, auth
from tests.gdpr.fakes import ALICE, ALICE_ID, FakeUpstream, outbox, wrap

OTHERS = ("0190a000-0000-7000-8000-000000000002", "0190a000-0000-7000-8000-000000000003")
RECORDS = (ALICE_ID, *OTHERS)
SECRET_NAME = "Dora Batchwise"


class Crash(Exception):
    """The process died before the transaction committed."""


class CountingStore:
    """The app's store, counting transactions; `crash_next` kills the next one before commit."""

    def __init__(self, inner: DocumentStore) -> None:
        self._inner = inner
        self.transactions = 0
        self.crash_next = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        self.transactions += 1
        async with self._inner.transaction() as session:
            yield session
            if self.crash_next:
                self.crash_next = False
                raise Crash()


def _counting(store: DocumentStore) -> DocumentStore:
    counting: Any = CountingStore(store)
    wrapped: DocumentStore = counting
    return wrapped


async def _open_request(client: httpx.AsyncClient, upstream: FakeUpstream) -> str:
    for n, contact_id in enumerate(OTHERS):
        upstream.add_contact("acme", {**ALICE, "id": contact_id, "email": f"o{n}@example.com"})
    response = await client.post(
        "/v1/erasure-requests", json={"contact_ids": list(RECORDS)}, headers=auth(ADMIN_KEY)
    )
    assert response.status_code == 202
    return str(response.json()["id"])


def _receipts(erasure_id: str) -> list[tuple[ErasureReceipt, EventEnvelope]]:
    items = []
    for service in ERASURE_PARTICIPANTS:
        for contact_id in RECORDS:
            receipt = ErasureReceipt(
                erasure_id=erasure_id, contact_id=contact_id, service=service, status="completed"
            )
            items.append((receipt, wrap(receipt, subject=contact_id, source=f"crm/{service}")))
    return items


async def _request(client: httpx.AsyncClient, erasure_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/erasure-requests/{erasure_id}", headers=auth(ADMIN_KEY))
    body: dict[str, Any] = response.json()
    return body


async def _completions(store: DocumentStore) -> list[EventEnvelope]:
    return [e for _, _, e in await outbox(store) if e.type == "crm.gdpr.erasure.completed.v1"]


async def test_a_poll_of_receipts_is_one_transaction_and_completes_the_request(
    client: httpx.AsyncClient, upstream: FakeUpstream, store: DocumentStore
) -> None:
    erasure_id = await _open_request(client, upstream)
    counting = _counting(store)

    await record_receipts(counting, _receipts(erasure_id))

    body = await _request(client, erasure_id)
    assert body["status"] == "completed"
    assert all(s == {"completed": 3, "failed": 0, "pending": 0} for s in body["services"].values())
    assert all(
        r["receipts"][s]["status"] == "completed"
        for r in body["records"]
        for s in ERASURE_PARTICIPANTS
    )
    assert counting.transactions == 1  # type: ignore[attr-defined]
    assert len(await _completions(store)) == 1


async def test_receipts_redelivered_after_a_crash_before_the_commit_count_once(
    client: httpx.AsyncClient, upstream: FakeUpstream, store: DocumentStore
) -> None:
    erasure_id = await _open_request(client, upstream)
    counting = _counting(store)
    poll = _receipts(erasure_id)

    counting.crash_next = True  # type: ignore[attr-defined]
    with pytest.raises(Crash):
        await record_receipts(counting, poll[:7])
    crashed = await _request(client, erasure_id)
    # Nothing of the dead transaction stayed: no receipt counted, none marked handled.
    assert all(s["completed"] == 0 for s in crashed["services"].values())

    # The consumer never committed its offset: the poll comes again, a second time, and again
    # with the rest (a repeat inside one poll too).
    await record_receipts(counting, poll[:7])
    await record_receipts(counting, [*poll[:7], *poll[5:], poll[-1]])

    body = await _request(client, erasure_id)
    assert body["status"] == "completed"
    assert all(s == {"completed": 3, "failed": 0, "pending": 0} for s in body["services"].values())
    assert len(await _completions(store)) == 1


def _created(contact_id: str) -> EventEnvelope:
    data = ContactCreated(
        contact_id=contact_id,
        version=1,
        source="manual",
        profile=ContactProfile(name=SECRET_NAME, email="dora@example.com"),
    )
    return wrap(data, subject=contact_id)


def _erasure_poll(erasure_id: str) -> list[tuple[EventData, EventEnvelope]]:
    items: list[tuple[EventData, EventEnvelope]] = []
    for contact_id in RECORDS:
        requested = ErasureRequested(erasure_id=erasure_id, contact_id=contact_id)
        items.append((requested, wrap(requested, subject=contact_id, source="crm/gdpr")))
    items += [(receipt, envelope) for receipt, envelope in _receipts(erasure_id)]
    return items


async def _entries(store: DocumentStore) -> list[dict[str, Any]]:
    return [doc async for doc in scan(store, AUDIT_ENTRIES, tenant="acme", order_by="seq")]


async def _gdpr_receipts(store: DocumentStore) -> list[str]:
    return [
        str(e.data["contact_id"])
        for _, _, e in await outbox(store)
        if e.type == ErasureReceipt.event_type and e.data["service"] == "gdpr"
    ]


async def test_a_poll_of_erasure_events_is_audited_and_redacted_in_one_transaction(
    store: DocumentStore,
) -> None:
    await audit_poll(
        store, [(ContactCreated.model_validate(e.data), e) for e in map(_created, RECORDS)]
    )
    counting = _counting(store)
    poll = _erasure_poll("erasure-1")

    await audit_poll(counting, poll)

    entries = await _entries(store)
    assert counting.transactions == 1  # type: ignore[attr-defined]
    assert len(entries) == len(RECORDS) + len(poll)
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert SECRET_NAME not in repr(entries)  # every created entry lost its values
    assert sorted(await _gdpr_receipts(store)) == sorted(RECORDS)


async def test_an_audit_poll_redelivered_after_a_crash_before_the_commit_appends_once(
    store: DocumentStore,
) -> None:
    created = [(ContactCreated.model_validate(e.data), e) for e in map(_created, RECORDS)]
    await audit_poll(store, created)
    counting = _counting(store)
    poll = _erasure_poll("erasure-1")

    counting.crash_next = True  # type: ignore[attr-defined]
    with pytest.raises(Crash):
        await audit_poll(counting, poll)
    assert len(await _entries(store)) == len(RECORDS)
    assert await _gdpr_receipts(store) == []
    assert SECRET_NAME in repr(await _entries(store))  # nothing redacted by the dead one

    await audit_poll(counting, poll)
    await audit_poll(counting, [*poll, *created])  # again, with the older events too

    entries = await _entries(store)
    assert len(entries) == len(RECORDS) + len(poll)
    assert SECRET_NAME not in repr(entries)
    assert sorted(await _gdpr_receipts(store)) == sorted(RECORDS)  # one receipt per record
