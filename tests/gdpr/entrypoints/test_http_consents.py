"""`/v1/contacts/{id}/consents`: a ledger per purpose and channel, tenant-scoped."""

from __future__ import annotations

from typing import Any

import httpx

from crm_shared.storage import DocumentStore
from crm_shared.topics import GDPR_EVENTS
from tests.conftest import ADMIN_KEY, EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.gdpr.fakes import ALICE, ALICE_ID, FakeUpstream, outbox

PATH = f"/v1/contacts/{ALICE_ID}/consents"


async def _record(
    client: httpx.AsyncClient, body: dict[str, Any], key: str = EDITOR_KEY, path: str = PATH
) -> httpx.Response:
    return await client.post(path, json=body, headers=auth(key))


async def test_recording_consent_returns_the_ledger_entry(client: httpx.AsyncClient) -> None:
    body = {
        "purpose": "newsletter",
        "status": "granted",
        "source": "signup-form",
        "channel": "email",
        "notice_version": "2025-01",
    }
    response = await _record(client, body)
    assert response.status_code == 201
    entry = response.json()
    assert {k: entry[k] for k in body} == body
    assert entry["contact_id"] == ALICE_ID
    assert entry["lawful_basis"] == "consent"
    assert entry["id"] and entry["recorded_at"] and entry["recorded_by"].startswith("key:")


async def test_recording_consent_emits_consent_changed(
    client: httpx.AsyncClient, store: DocumentStore
) -> None:
    body = {
        "purpose": "newsletter",
        "status": "withdrawn",
        "channel": "sms",
        "lawful_basis": "legitimate_interests",
        "source": "preference-centre",
        "notice_version": "2025-01",
    }
    entry = (await _record(client, body)).json()
    [(topic, key, envelope)] = await outbox(store)
    assert (topic, key, envelope.type) == (
        GDPR_EVENTS.name,
        ALICE_ID,
        "crm.gdpr.consent.changed.v1",
    )
    # The channel travels with the status: withdrawn on sms is not withdrawn everywhere.
    assert envelope.data == {"contact_id": ALICE_ID, "entry_id": entry["id"], **body}


async def test_grant_then_withdraw_is_withdrawn_with_two_history_entries(
    client: httpx.AsyncClient,
) -> None:
    await _record(client, {"purpose": "newsletter", "status": "granted"})
    await _record(client, {"purpose": "newsletter", "status": "withdrawn"})
    response = await client.get(PATH, headers=auth(VIEWER_KEY))
    assert response.status_code == 200
    body = response.json()
    assert body["contact_id"] == ALICE_ID
    [newsletter] = body["purposes"]
    assert (newsletter["purpose"], newsletter["channel"], newsletter["status"]) == (
        "newsletter",
        "any",
        "withdrawn",
    )
    assert [e["status"] for e in newsletter["history"]] == ["granted", "withdrawn"]
    assert newsletter["updated_at"] == newsletter["history"][-1]["recorded_at"]


async def test_viewer_cannot_record_consent(client: httpx.AsyncClient) -> None:
    response = await _record(client, {"purpose": "newsletter", "status": "granted"}, VIEWER_KEY)
    assert response.status_code == 403


async def test_reading_consents_without_a_key_is_unauthorized(client: httpx.AsyncClient) -> None:
    assert (await client.get(PATH)).status_code == 401


async def test_consent_for_an_unknown_contact_is_not_found(client: httpx.AsyncClient) -> None:
    body = {"purpose": "newsletter", "status": "granted"}
    response = await _record(client, body, path="/v1/contacts/nobody/consents")
    assert response.status_code == 404


async def test_invalid_purpose_is_named_in_the_problem(client: httpx.AsyncClient) -> None:
    response = await _record(client, {"purpose": "News Letter", "status": "granted"})
    assert response.status_code == 422
    assert "purpose" in response.json()["detail"]


async def test_unknown_channel_is_rejected(client: httpx.AsyncClient) -> None:
    response = await _record(client, {"purpose": "x", "status": "granted", "channel": "fax"})
    assert response.status_code == 422
    assert "channel" in response.json()["detail"]


async def test_unknown_status_is_rejected(client: httpx.AsyncClient) -> None:
    response = await _record(client, {"purpose": "x", "status": "maybe"})
    assert response.status_code == 422
    assert "status" in response.json()["detail"]


async def test_unknown_body_field_is_rejected(client: httpx.AsyncClient) -> None:
    response = await _record(client, {"purpose": "x", "status": "granted", "override": True})
    assert response.status_code == 422


async def test_consents_of_a_contact_of_another_tenant_are_not_found(
    client: httpx.AsyncClient,
) -> None:
    await _record(client, {"purpose": "newsletter", "status": "granted"})
    response = await client.get(PATH, headers=auth(OTHER_TENANT_KEY))
    assert response.status_code == 404


async def test_other_tenants_ledger_is_invisible_for_the_same_contact_id(
    client: httpx.AsyncClient, upstream: FakeUpstream
) -> None:
    upstream.add_contact("globex", dict(ALICE))
    await _record(client, {"purpose": "newsletter", "status": "granted"}, OTHER_TENANT_KEY)
    acme = (await client.get(PATH, headers=auth(ADMIN_KEY))).json()
    globex = (await client.get(PATH, headers=auth(OTHER_TENANT_KEY))).json()
    assert acme["purposes"] == []
    assert [p["purpose"] for p in globex["purposes"]] == ["newsletter"]


async def test_contact_without_consents_has_an_empty_list(client: httpx.AsyncClient) -> None:
    response = await client.get(PATH, headers=auth(VIEWER_KEY))
    assert response.status_code == 200
    assert response.json()["purposes"] == []
