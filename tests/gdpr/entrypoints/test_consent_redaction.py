"""Erasure and the consent ledger: the proof stays, the personal values go, the chain verifies."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from crm_gdpr.adapters.repositories import CONSENTS
from crm_gdpr.entrypoints.consumers import GdprBuses
from crm_shared.events import ErasureRequested
from crm_shared.storage import DocumentStore, Eq
from tests.conftest import EDITOR_KEY, auth
from tests.gdpr.fakes import ALICE_ID, FakeUpstream, outbox, wrap

OTHER_ID = "0190a000-0000-7000-8000-000000000009"
SOURCE = "phone call with Alice Example on +44 20 7946 0958"


async def _consent(client: httpx.AsyncClient, contact_id: str, **body: Any) -> None:
    response = await client.post(
        f"/v1/contacts/{contact_id}/consents",
        json={"purpose": "marketing", "source": SOURCE, "notice_version": "v7", **body},
        headers=auth(EDITOR_KEY),
    )
    assert response.status_code == 201, response.text


async def _audit_the_outbox(consumers: GdprBuses, store: DocumentStore) -> None:
    # What the relay would publish and the audit group read back: the ledger's own events.
    for _, _, envelope in await outbox(store):
        await consumers.audit.handle(envelope)


async def _ledger(store: DocumentStore, contact_id: str) -> list[dict[str, Any]]:
    async with store.reader() as session:
        return await session.find(CONSENTS, tenant="acme", where=[Eq("contact_id", contact_id)])


async def test_erasure_keeps_the_consent_proof_without_its_personal_values(
    client: httpx.AsyncClient, consumers: GdprBuses, store: DocumentStore, upstream: FakeUpstream
) -> None:
    upstream.add_contact("acme", {"id": OTHER_ID, "name": "Someone Else", "version": 1})
    await _consent(client, ALICE_ID, status="granted", channel="email")
    await _consent(client, ALICE_ID, status="withdrawn", channel="email")
    await _consent(client, OTHER_ID, status="granted")
    await _audit_the_outbox(consumers, store)

    request = ErasureRequested(erasure_id="er-1", contact_id=ALICE_ID, identifier_hashes=[])
    await consumers.audit.handle(wrap(request, subject=ALICE_ID, source="crm/gdpr"))

    ledger = await _ledger(store, ALICE_ID)
    assert SOURCE not in orjson.dumps(ledger).decode()
    assert sorted(
        (e["status"], e["channel"], e["notice_version"], e["source"], e["redacted_at"] is not None)
        for e in ledger
    ) == [("granted", "email", "v7", None, True), ("withdrawn", "email", "v7", None, True)]
    # The proof is still read through the API: what was decided, when, on which notice.
    response = await client.get(f"/v1/contacts/{ALICE_ID}/consents", headers=auth(EDITOR_KEY))
    [purpose] = response.json()["purposes"]
    assert purpose["status"] == "withdrawn" and len(purpose["history"]) == 2
    assert all(entry["redacted_at"] for entry in purpose["history"])
    # Someone else's entries keep their source.
    [other] = await _ledger(store, OTHER_ID)
    assert other["source"] == SOURCE and other["redacted_at"] is None
    verify = (await client.get("/v1/audit-log/verify", headers=auth())).json()
    assert verify["valid"] is True and verify["checked"] >= 3
    receipts = [e for _, _, e in await outbox(store) if e.type == "crm.gdpr.erasure.receipt.v1"]
    assert "2 consent ledger entries" in receipts[-1].data["detail"]


async def test_a_redelivered_erasure_redacts_nothing_twice(
    client: httpx.AsyncClient, consumers: GdprBuses, store: DocumentStore
) -> None:
    await _consent(client, ALICE_ID, status="granted")
    request = wrap(
        ErasureRequested(erasure_id="er-1", contact_id=ALICE_ID, identifier_hashes=[]),
        subject=ALICE_ID,
        source="crm/gdpr",
    )
    await consumers.audit.handle(request)
    [first] = await _ledger(store, ALICE_ID)
    await consumers.audit.handle(request)
    assert await _ledger(store, ALICE_ID) == [first]
