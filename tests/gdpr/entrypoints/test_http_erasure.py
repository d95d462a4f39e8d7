"""`/v1/erasure-requests`: admin only, contact looked up through the contacts API, outbox event."""

from __future__ import annotations

import asyncio

import httpx
import orjson

from crm_gdpr.adapters.repositories import ERASURE_REQUESTS
from crm_gdpr.entrypoints.consumers import GdprBuses
from crm_gdpr.settings import GdprSettings
from crm_shared.events import ErasureReceipt
from crm_shared.identity import PersonIdentifiers, identifier_hash, person_hashes
from crm_shared.storage import DocumentStore
from crm_shared.topics import GDPR_EVENTS
from tests.conftest import ADMIN_KEY, EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.gdpr.fakes import ALICE, ALICE_ID, FakeUpstream, outbox, wrap

PATH = "/v1/erasure-requests"


async def _request(client: httpx.AsyncClient, key: str = ADMIN_KEY) -> httpx.Response:
    return await client.post(PATH, json={"contact_id": ALICE_ID}, headers=auth(key))


async def test_request_without_a_key_is_unauthorized(client: httpx.AsyncClient) -> None:
    response = await client.post(PATH, json={"contact_id": ALICE_ID})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_request_with_an_unknown_key_is_unauthorized(client: httpx.AsyncClient) -> None:
    assert (await _request(client, "not-a-key")).status_code == 401


async def test_editor_cannot_request_erasure(client: httpx.AsyncClient) -> None:
    response = await _request(client, EDITOR_KEY)
    assert response.status_code == 403
    assert "admin" in response.json()["detail"]


async def test_viewer_cannot_request_erasure(client: httpx.AsyncClient) -> None:
    assert (await _request(client, VIEWER_KEY)).status_code == 403


async def test_unknown_contact_is_not_found(
    client: httpx.AsyncClient, store: DocumentStore
) -> None:
    response = await client.post(PATH, json={"contact_id": "nobody"}, headers=auth())
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert await outbox(store) == []


async def test_contact_of_another_tenant_is_not_found(client: httpx.AsyncClient) -> None:
    assert (await _request(client, OTHER_TENANT_KEY)).status_code == 404


async def test_already_erased_contact_is_a_conflict(
    client: httpx.AsyncClient, upstream: FakeUpstream
) -> None:
    upstream.erased.add(("acme", ALICE_ID))
    response = await _request(client)
    assert response.status_code == 409
    assert response.json()["detail"] == "contact already erased"


async def test_unreachable_contacts_service_gives_503(
    client: httpx.AsyncClient, upstream: FakeUpstream
) -> None:
    upstream.unreachable = True
    response = await _request(client)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"


async def test_missing_contact_id_is_named_in_the_problem(client: httpx.AsyncClient) -> None:
    response = await client.post(PATH, json={}, headers=auth())
    assert response.status_code == 422
    assert "contact_id" in response.json()["detail"]


async def test_unknown_body_field_is_rejected(client: httpx.AsyncClient) -> None:
    body = {"contact_id": ALICE_ID, "email": "x@example.com"}
    response = await client.post(PATH, json=body, headers=auth())
    assert response.status_code == 422
    assert "email" in response.json()["detail"]


async def test_request_is_accepted_as_pending(client: httpx.AsyncClient) -> None:
    response = await _request(client)
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending"
    assert body["contact_id"] == ALICE_ID
    assert {s: r["status"] for s, r in body["receipts"].items()} == {
        "contacts": "pending",
        "timeline": "pending",
        "importer": "pending",
        "gdpr": "pending",
    }


async def test_lookup_forwards_the_callers_authorization(
    client: httpx.AsyncClient, upstream: FakeUpstream
) -> None:
    await _request(client)
    assert upstream.requests[0].headers["authorization"] == f"Bearer {ADMIN_KEY}"


async def test_request_emits_erasure_requested_with_hashes_and_no_email(
    client: httpx.AsyncClient, store: DocumentStore, settings: GdprSettings
) -> None:
    erasure_id = (await _request(client)).json()["id"]
    [(topic, key, envelope)] = await outbox(store)
    assert (topic, key, envelope.type) == (
        GDPR_EVENTS.name,
        ALICE_ID,
        "crm.gdpr.erasure.requested.v1",
    )
    assert envelope.data["erasure_id"] == erasure_id
    assert envelope.data["identifier_hashes"] == person_hashes(
        settings.suppression_key, PersonIdentifiers.of_contact(ALICE), region="US"
    )
    raw = envelope.to_bytes().lower()
    assert b"alice@example.com" not in raw
    assert b"7946" not in raw


async def test_request_hashes_every_email_and_phone_of_the_contact(
    client: httpx.AsyncClient, store: DocumentStore, settings: GdprSettings, upstream: FakeUpstream
) -> None:
    upstream.add_contact(
        "acme",
        {
            **ALICE,
            "email": "alice@example.com",
            "phone": "+442079460001",
            "phone_raw": "020 7946 0001",
            "emails": ["alice.home@bücher.de"],
            "phones": ["+14155552671"],
            "phones_raw": ["(415) 555-2671"],
        },
    )
    await _request(client)
    [(_, _, envelope)] = await outbox(store)
    key = settings.suppression_key
    expected = {
        identifier_hash(key, "email", "alice@example.com"),
        identifier_hash(key, "email", "alice.home@xn--bcher-kva.de"),
        identifier_hash(key, "phone", "+442079460001"),
        identifier_hash(key, "phone", "02079460001"),
        identifier_hash(key, "phone", "+14155552671"),
        identifier_hash(key, "phone", "4155552671"),
    }
    assert set(envelope.data["identifier_hashes"]) == expected


async def test_stored_request_holds_no_email_or_phone(
    client: httpx.AsyncClient, store: DocumentStore
) -> None:
    erasure_id = (await _request(client)).json()["id"]
    async with store.reader() as session:
        doc = await session.get(ERASURE_REQUESTS, tenant="acme", id=erasure_id)
    assert doc is not None
    raw = orjson.dumps(doc).lower()
    assert b"alice@example.com" not in raw and b"7946" not in raw


async def test_second_request_for_a_pending_contact_returns_the_first(
    client: httpx.AsyncClient, store: DocumentStore
) -> None:
    first = await _request(client)
    second = await _request(client)
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert len(await outbox(store)) == 1


async def test_request_can_be_read_back(client: httpx.AsyncClient) -> None:
    created = (await _request(client)).json()
    response = await client.get(f"{PATH}/{created['id']}", headers=auth())
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == created["id"]
    assert body["completed_at"] is None
    assert body["receipts"]["timeline"] == {"status": "pending", "at": None, "detail": None}


async def test_reading_a_request_needs_admin(client: httpx.AsyncClient) -> None:
    created = (await _request(client)).json()
    response = await client.get(f"{PATH}/{created['id']}", headers=auth(EDITOR_KEY))
    assert response.status_code == 403


async def test_another_tenants_request_is_not_found(client: httpx.AsyncClient) -> None:
    created = (await _request(client)).json()
    response = await client.get(f"{PATH}/{created['id']}", headers=auth(OTHER_TENANT_KEY))
    assert response.status_code == 404


async def test_concurrent_requests_for_one_contact_open_a_single_request(
    client: httpx.AsyncClient, store: DocumentStore
) -> None:
    first, second = await asyncio.gather(_request(client), _request(client))
    assert sorted([first.status_code, second.status_code]) == [200, 202]
    assert first.json()["id"] == second.json()["id"]
    assert len(await outbox(store)) == 1


async def test_contact_can_be_requested_again_after_a_failed_request(
    client: httpx.AsyncClient, consumers: GdprBuses
) -> None:
    first = (await _request(client)).json()
    receipt = ErasureReceipt(
        erasure_id=first["id"], contact_id=ALICE_ID, service="timeline", status="failed"
    )
    await consumers.receipts.handle(wrap(receipt, subject=ALICE_ID, source="crm/timeline"))
    again = await _request(client)
    assert again.status_code == 202
    assert again.json()["id"] != first["id"]
