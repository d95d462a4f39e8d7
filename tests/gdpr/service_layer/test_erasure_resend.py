"""Erasure commands lost with a broker's records are sent again to the records lacking receipts."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from crm_gdpr.entrypoints.consumers import GdprBuses
from crm_gdpr.service_layer.erasure_resend import resend_unanswered
from crm_shared.clock import utcnow
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ErasureReceipt
from crm_shared.events.gdpr import ERASURE_PARTICIPANTS
from crm_shared.storage import DocumentStore
from tests.conftest import ADMIN_KEY, auth
from tests.gdpr.fakes import ALICE_ID, outbox, wrap

REQUESTED = "crm.gdpr.erasure.requested.v1"
INTERVAL = 300.0  # the service's default, which the route used


async def _open_request(client: httpx.AsyncClient) -> str:
    response = await client.post(
        "/v1/erasure-requests", json={"contact_id": ALICE_ID}, headers=auth(ADMIN_KEY)
    )
    assert response.status_code == 202
    return str(response.json()["id"])


async def _lose_the_outbox(store: DocumentStore) -> list[EventEnvelope]:
    """The relay sent the commands and the broker lost them: the outbox is empty."""
    pending = await store.pending_events(1000)
    await store.mark_events_sent([e.outbox_id for e in pending])
    return [EventEnvelope.from_bytes(e.value) for e in pending if e.value]


async def _commands(store: DocumentStore) -> list[EventEnvelope]:
    return [env for _, _, env in await outbox(store) if env.type == REQUESTED]


async def _answer(consumers: GdprBuses, erasure_id: str, services: tuple[str, ...]) -> None:
    for service in services:
        receipt = ErasureReceipt(
            erasure_id=erasure_id, contact_id=ALICE_ID, service=service, status="completed"
        )
        await consumers.receipts.handle(wrap(receipt, subject=ALICE_ID, source=f"crm/{service}"))


async def _resend(store: DocumentStore, at: datetime, *, max_attempts: int = 5) -> int:
    return await resend_unanswered(
        store, now=at, interval_seconds=INTERVAL, max_attempts=max_attempts
    )


async def test_a_command_lacking_a_receipt_is_sent_again_with_its_hashes(
    client: httpx.AsyncClient, consumers: GdprBuses, store: DocumentStore
) -> None:
    erasure_id = await _open_request(client)
    [first] = [e for e in await _lose_the_outbox(store) if e.type == REQUESTED]
    await _answer(consumers, erasure_id, ERASURE_PARTICIPANTS[:2])
    await _lose_the_outbox(store)
    now = utcnow()
    assert await _resend(store, now) == 0  # not yet: its interval has not passed
    assert await _resend(store, now + timedelta(seconds=INTERVAL + 1)) == 1
    [again] = await _commands(store)
    assert again.id != first.id  # a new event: the services that had it handle it as a repeat
    assert again.data == first.data  # the same erasure, record and identifier hashes
    await _lose_the_outbox(store)
    # The wait doubles: not again after one more interval, but after two.
    assert await _resend(store, now + timedelta(seconds=2 * INTERVAL + 2)) == 0
    assert await _resend(store, now + timedelta(seconds=INTERVAL * 3 + 2)) == 1


async def test_an_answered_request_is_not_sent_again(
    client: httpx.AsyncClient, consumers: GdprBuses, store: DocumentStore
) -> None:
    erasure_id = await _open_request(client)
    await _answer(consumers, erasure_id, ERASURE_PARTICIPANTS)
    await _lose_the_outbox(store)
    assert await _resend(store, utcnow() + timedelta(days=1)) == 0
    assert await _commands(store) == []


async def test_resends_stop_after_the_last_attempt(
    client: httpx.AsyncClient, store: DocumentStore
) -> None:
    await _open_request(client)
    await _lose_the_outbox(store)
    later = utcnow() + timedelta(days=1)
    assert await _resend(store, later, max_attempts=1) == 1
    assert await _resend(store, later + timedelta(days=1), max_attempts=1) == 0
    assert await _resend(store, later + timedelta(days=2), max_attempts=5) == 0  # unwatched
