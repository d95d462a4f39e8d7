"""The receipts consumer: the erasure saga completes, fails, and ignores what it cannot use."""

from __future__ import annotations

import httpx

from crm_gdpr.entrypoints.consumers import GdprBuses
from crm_shared.events import ContactDeleted, ErasureReceipt
from crm_shared.events.gdpr import ERASURE_PARTICIPANTS
from crm_shared.storage import DocumentStore
from crm_shared.topics import GDPR_EVENTS
from tests.conftest import ADMIN_KEY, auth
from tests.gdpr.fakes import ALICE_ID, outbox, wrap

COMPLETED = "crm.gdpr.erasure.completed.v1"


async def _open_request(client: httpx.AsyncClient) -> str:
    response = await client.post(
        "/v1/erasure-requests", json={"contact_id": ALICE_ID}, headers=auth(ADMIN_KEY)
    )
    assert response.status_code == 202
    return str(response.json()["id"])


def _receipt(
    erasure_id: str,
    service: str,
    status: str = "completed",
    detail: str | None = None,
) -> ErasureReceipt:
    return ErasureReceipt.model_validate(
        {
            "erasure_id": erasure_id,
            "contact_id": ALICE_ID,
            "service": service,
            "status": status,
            "detail": detail,
        }
    )


async def _send(consumers: GdprBuses, receipt: ErasureReceipt, tenant: str = "acme") -> None:
    await consumers.receipts.handle(
        wrap(receipt, tenant=tenant, subject=ALICE_ID, source=f"crm/{receipt.service}")
    )


async def _read(client: httpx.AsyncClient, erasure_id: str) -> dict[str, object]:
    response = await client.get(f"/v1/erasure-requests/{erasure_id}", headers=auth(ADMIN_KEY))
    body: dict[str, object] = response.json()
    return body


async def _completions(store: DocumentStore) -> list[dict[str, object]]:
    return [env.data for topic, _, env in await outbox(store) if env.type == COMPLETED]


async def test_receipts_from_every_participant_complete_the_request(
    client: httpx.AsyncClient, consumers: GdprBuses, store: DocumentStore
) -> None:
    erasure_id = await _open_request(client)
    for service in ERASURE_PARTICIPANTS:
        await _send(consumers, _receipt(erasure_id, service))
    body = await _read(client, erasure_id)
    assert body["status"] == "completed"
    assert body["completed_at"] is not None
    assert await _completions(store) == [
        {"erasure_id": erasure_id, "contact_id": ALICE_ID, "status": "completed"}
    ]


async def test_erasure_completed_goes_to_gdpr_events_keyed_by_contact(
    client: httpx.AsyncClient, consumers: GdprBuses, store: DocumentStore
) -> None:
    erasure_id = await _open_request(client)
    for service in ERASURE_PARTICIPANTS:
        await _send(consumers, _receipt(erasure_id, service))
    [(topic, key)] = [(t, k) for t, k, env in await outbox(store) if env.type == COMPLETED]
    assert (topic, key) == (GDPR_EVENTS.name, ALICE_ID)


async def test_partial_receipts_leave_the_request_pending(
    client: httpx.AsyncClient, consumers: GdprBuses, store: DocumentStore
) -> None:
    erasure_id = await _open_request(client)
    await _send(consumers, _receipt(erasure_id, "contacts"))
    body = await _read(client, erasure_id)
    assert body["status"] == "pending"
    receipts = body["receipts"]
    assert isinstance(receipts, dict)
    assert receipts["contacts"]["status"] == "completed"
    assert receipts["contacts"]["at"] is not None
    assert await _completions(store) == []


async def test_a_failed_receipt_fails_the_request_with_its_detail(
    client: httpx.AsyncClient, consumers: GdprBuses
) -> None:
    erasure_id = await _open_request(client)
    await _send(consumers, _receipt(erasure_id, "contacts"))
    await _send(consumers, _receipt(erasure_id, "timeline", "failed", "store unavailable"))
    body = await _read(client, erasure_id)
    assert body["status"] == "failed"
    receipts = body["receipts"]
    assert isinstance(receipts, dict)
    assert receipts["timeline"] == {
        "status": "failed",
        "at": receipts["timeline"]["at"],
        "detail": "store unavailable",
    }


async def test_duplicate_receipt_changes_nothing(
    client: httpx.AsyncClient, consumers: GdprBuses, store: DocumentStore
) -> None:
    erasure_id = await _open_request(client)
    envelopes = [
        wrap(_receipt(erasure_id, s), subject=ALICE_ID, source=f"crm/{s}")
        for s in ERASURE_PARTICIPANTS
    ]
    for envelope in envelopes:
        await consumers.receipts.handle(envelope)
    before = await _read(client, erasure_id)
    await consumers.receipts.handle(envelopes[-1])
    await _send(consumers, _receipt(erasure_id, "importer"))  # same content, new event id
    assert await _read(client, erasure_id) == before
    assert len(await _completions(store)) == 1


async def test_receipt_for_an_unknown_request_is_ignored(
    client: httpx.AsyncClient, consumers: GdprBuses, store: DocumentStore
) -> None:
    await _send(consumers, _receipt("no-such-request", "contacts"))
    assert await outbox(store) == []


async def test_receipt_from_another_tenant_does_not_touch_the_request(
    client: httpx.AsyncClient, consumers: GdprBuses
) -> None:
    erasure_id = await _open_request(client)
    await _send(consumers, _receipt(erasure_id, "contacts"), tenant="globex")
    body = await _read(client, erasure_id)
    receipts = body["receipts"]
    assert isinstance(receipts, dict)
    assert receipts["contacts"]["status"] == "pending"


async def test_receipts_consumer_ignores_other_event_types(
    client: httpx.AsyncClient, consumers: GdprBuses, store: DocumentStore
) -> None:
    await consumers.receipts.handle(wrap(ContactDeleted(contact_id=ALICE_ID, version=2)))
    assert await outbox(store) == []
