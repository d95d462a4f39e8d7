"""Erasure of a person: every record found by email, per-record receipts, listing, lateness."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import httpx
import pytest

from crm_gdpr.entrypoints.consumers import GdprBuses
from crm_gdpr.service_layer.erasure import flag_overdue
from crm_shared.clock import utcnow
from crm_shared.events import ErasureReceipt
from crm_shared.events.gdpr import ERASURE_PARTICIPANTS
from crm_shared.identity import identifier_hash
from crm_shared.settings import DEV_SUPPRESSION_KEY
from crm_shared.storage import DocumentStore
from tests.conftest import ADMIN_KEY, auth
from tests.gdpr.fakes import ALICE_ID, FakeUpstream, outbox, wrap

PATH = "/v1/erasure-requests"
REQUESTED = "crm.gdpr.erasure.requested.v1"
DELETED_TWIN = "0190a000-0000-7000-8000-000000000002"


@pytest.fixture(autouse=True)
def _soft_deleted_twin(upstream: FakeUpstream) -> None:
    # Alice's soft-deleted duplicate: same email in its list, another phone.
    upstream.add_contact(
        "acme",
        {
            "id": DELETED_TWIN,
            "name": "Alice E.",
            "emails": ["alice@example.com"],
            "phone": "+1 415 555 2671",
            "state": "deleted",
        },
    )


async def _erase(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post(PATH, json=body, headers=auth(ADMIN_KEY))


async def _receipt(consumers: GdprBuses, erasure_id: str, contact_id: str, service: str) -> None:
    receipt = ErasureReceipt(
        erasure_id=erasure_id, contact_id=contact_id, service=service, status="completed"
    )
    await consumers.receipts.handle(wrap(receipt, subject=contact_id, source=f"crm/{service}"))


async def test_erasing_by_email_reaches_the_soft_deleted_duplicate(
    client: httpx.AsyncClient, store: DocumentStore
) -> None:
    response = await _erase(client, {"email": "ALICE@example.com"})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["selector"] == "email"
    assert body["record_count"] == 2
    assert body["services"]["timeline"] == {"completed": 0, "failed": 0, "pending": 2}

    requested = [env for _, _, env in await outbox(store) if env.type == REQUESTED]
    assert sorted(env.data["contact_id"] for env in requested) == [ALICE_ID, DELETED_TWIN]
    hashes = {h for env in requested for h in env.data["identifier_hashes"]}
    key = DEV_SUPPRESSION_KEY.encode()
    assert identifier_hash(key, "email", "alice@example.com") in hashes
    assert identifier_hash(key, "phone", "+14155552671") in hashes
    # The hashes travel once, dealt out among the records' events.
    assert sum(len(env.data["identifier_hashes"]) for env in requested) == len(hashes)

    read = (await client.get(f"{PATH}/{body['id']}", headers=auth())).json()
    assert {r["id"]: r["state"] for r in read["records"]} == {
        ALICE_ID: "live",
        DELETED_TWIN: "deleted",
    }
    assert read["due_at"] > read["warn_at"] > read["received_at"]
    assert read["overdue"] is False


async def test_the_request_completes_when_every_service_confirmed_every_record(
    client: httpx.AsyncClient, consumers: GdprBuses
) -> None:
    erasure_id = (await _erase(client, {"email": "alice@example.com"})).json()["id"]
    for service in ERASURE_PARTICIPANTS:
        await _receipt(consumers, erasure_id, ALICE_ID, service)
    halfway = (await client.get(f"{PATH}/{erasure_id}", headers=auth())).json()
    assert halfway["status"] == "pending"
    twin = next(r for r in halfway["records"] if r["id"] == DELETED_TWIN)
    assert {s: r["status"] for s, r in twin["receipts"].items()} == dict.fromkeys(
        ERASURE_PARTICIPANTS, "pending"
    )
    for service in ERASURE_PARTICIPANTS:
        await _receipt(consumers, erasure_id, DELETED_TWIN, service)
    done = (await client.get(f"{PATH}/{erasure_id}", headers=auth())).json()
    assert done["status"] == "completed"
    assert done["completed_at"] is not None


async def test_a_receipt_for_a_record_outside_the_request_is_ignored(
    client: httpx.AsyncClient, consumers: GdprBuses
) -> None:
    erasure_id = (await _erase(client, {"contact_id": ALICE_ID})).json()["id"]
    await _receipt(consumers, erasure_id, DELETED_TWIN, "contacts")
    read = (await client.get(f"{PATH}/{erasure_id}", headers=auth())).json()
    assert read["services"]["contacts"]["completed"] == 0


async def test_an_email_nobody_holds_still_opens_a_request_to_suppress_it(
    client: httpx.AsyncClient, store: DocumentStore
) -> None:
    response = await _erase(client, {"email": "only-in-a-failed-row@example.com"})
    assert response.status_code == 202
    [event] = [env for _, _, env in await outbox(store) if env.type == REQUESTED]
    key = DEV_SUPPRESSION_KEY.encode()
    assert event.data["identifier_hashes"] == [
        identifier_hash(key, "email", "only-in-a-failed-row@example.com")
    ]
    assert event.data["contact_id"].startswith("subject:")


async def test_many_contact_ids_make_one_request(client: httpx.AsyncClient) -> None:
    response = await _erase(client, {"contact_ids": [ALICE_ID, DELETED_TWIN]})
    assert response.status_code == 202
    assert response.json()["record_count"] == 2


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"contact_id": ALICE_ID, "email": "alice@example.com"}, "exactly one"),
        ({}, "exactly one"),
        ({"contact_ids": []}, "contact_ids"),
        ({"contact_ids": ["x"] * 5001}, "contact_ids"),
    ],
)
async def test_a_bad_selector_is_a_422_naming_it(
    client: httpx.AsyncClient, body: dict[str, Any], named: str
) -> None:
    response = await _erase(client, body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert named in response.text


async def test_listing_filters_by_status_and_pages(
    client: httpx.AsyncClient, consumers: GdprBuses
) -> None:
    first = (await _erase(client, {"contact_id": ALICE_ID})).json()["id"]
    for service in ERASURE_PARTICIPANTS:
        await _receipt(consumers, first, ALICE_ID, service)
    second = (await _erase(client, {"contact_id": DELETED_TWIN})).json()["id"]

    pending = (await client.get(PATH, params={"status": "pending"}, headers=auth())).json()
    assert [r["id"] for r in pending["items"]] == [second]
    page = (await client.get(PATH, params={"limit": 1}, headers=auth())).json()
    assert [r["id"] for r in page["items"]] == [first]
    rest = await client.get(
        PATH, params={"limit": 1, "cursor": page["next_cursor"]}, headers=auth()
    )
    assert [r["id"] for r in rest.json()["items"]] == [second]
    bad = await client.get(PATH, params={"status": "lost"}, headers=auth())
    assert bad.status_code == 422


async def test_a_request_open_past_80_percent_is_flagged_in_the_list_and_logged(
    client: httpx.AsyncClient, store: DocumentStore, caplog: pytest.LogCaptureFixture
) -> None:
    erasure_id = (await _erase(client, {"contact_id": ALICE_ID})).json()["id"]
    listed = (await client.get(PATH, params={"overdue": "true"}, headers=auth())).json()
    assert listed["items"] == []

    with caplog.at_level(logging.WARNING):
        assert await flag_overdue(store, now=utcnow() + timedelta(days=25)) == 1
        assert await flag_overdue(store, now=utcnow() + timedelta(days=26)) == 0  # logged once
    assert [r.getMessage() for r in caplog.records if erasure_id in r.getMessage()] != []
    assert "alice" not in caplog.text.lower()


async def test_an_access_request_by_email_bundles_the_soft_deleted_duplicate_too(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/v1/data-exports", json={"email": "alice@example.com"}, headers=auth()
    )
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert {r["id"] for r in bundle["records"]} == {ALICE_ID, DELETED_TWIN}
    assert bundle["contact_id"] == ALICE_ID  # the live record leads
    assert set(bundle["csv"]) >= {"records", "timeline", "consents", "audit", "tags"}
    assert "Alice E." in bundle["csv"]["records"]
