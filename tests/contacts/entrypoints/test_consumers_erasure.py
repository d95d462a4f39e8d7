"""The erasure consumer: anonymize, suppress, receipt; then nobody can re-create the person."""

from __future__ import annotations

import re
from typing import Any

from crm_shared.events import (
    ContactAnonymized,
    ErasureReceipt,
    ErasureRequested,
    ImportBatchProcessed,
)
from crm_shared.identity import identifier_hash
from crm_shared.settings import DEV_SUPPRESSION_KEY
from crm_shared.storage import In
from crm_shared.topics import CONTACT_EVENTS, ERASURE_RECEIPTS
from tests.conftest import EDITOR_KEY, VIEWER_KEY, auth
from tests.contacts.custom_field_support import define_field
from tests.contacts.helpers import Harness, envelope, import_batch

PERSON: dict[str, Any] = {
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "phone": "(415) 555-2671",
    "company": "Analytical Engines",
    "timezone": "Europe/London",
    "tags": ["VIP"],
    "custom_fields": {"plan": "pro"},
}


async def _person(harness: Harness) -> dict[str, Any]:
    """Create PERSON, defining its custom field first (values are typed by definitions)."""
    defined = await harness.client.get("/v1/custom-fields/plan", headers=auth(VIEWER_KEY))
    if defined.status_code == 404:
        await define_field(harness, "plan", "text")
    return await harness.create(**PERSON)


def _erasure(contact_id: str, hashes: list[str] | None = None) -> ErasureRequested:
    return ErasureRequested(
        erasure_id="er-1", contact_id=contact_id, identifier_hashes=hashes or []
    )


async def test_erasure_anonymizes_the_contact_and_answers_410(harness: Harness) -> None:
    contact = await _person(harness)
    await harness.handle(envelope(_erasure(contact["id"])))
    response = await harness.client.get(f"/v1/contacts/{contact['id']}", headers=auth(VIEWER_KEY))
    assert response.status_code == 410
    assert response.headers["content-type"] == "application/problem+json"
    async with harness.app.state.store.reader() as session:
        stored = await session.get("contacts", tenant="acme", id=contact["id"])
    assert stored is not None
    assert stored["name"] == "Erased contact"
    for field in ("email", "phone", "phone_raw", "company", "timezone"):
        assert stored[field] is None
        held = await session.find(
            "contacts", tenant="acme", where=[In("id", (contact["id"],))], fields=["search_text"]
        )
    assert stored["tags"] == [] and stored["custom_fields"] == {} and held[0]["search_text"] == ""
    assert stored["version"] == 2 and stored["erased_at"] is not None
    assert stored["created_at"] == contact["created_at"]
    # Ids and hashes are random hex and may hold "ada" by chance: look at everything else.
    values = str({k: v for k, v in stored.items() if k not in ("id", "tenant")}).lower()
    assert "ada" not in re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}|[0-9a-f]{16,}", "<hex>", values)


async def test_erasure_publishes_anonymized_and_receipt_keyed_by_contact(harness: Harness) -> None:
    contact = await _person(harness)
    await harness.handle(envelope(_erasure(contact["id"])))
    [anonymized] = await harness.outbox(ContactAnonymized.event_type)
    [receipt] = await harness.outbox(ErasureReceipt.event_type)
    assert (anonymized.topic, anonymized.key) == (CONTACT_EVENTS.name, contact["id"])
    assert anonymized.data == {"contact_id": contact["id"], "version": 2, "erasure_id": "er-1"}
    assert (receipt.topic, receipt.key) == (ERASURE_RECEIPTS.name, contact["id"])
    assert receipt.data["service"] == "contacts" and receipt.data["status"] == "completed"
    assert receipt.envelope["tenant"] == "acme" and receipt.envelope["actor"] == "system:erasure"


async def test_erased_person_cannot_be_recreated_by_api(harness: Harness) -> None:
    contact = await _person(harness)
    await harness.handle(envelope(_erasure(contact["id"])))
    for body in (
        {"name": "Ada", "email": "ADA@example.com"},
        {"name": "Ada", "phone": "+14155552671"},
    ):
        response = await harness.client.post("/v1/contacts", json=body, headers=auth(EDITOR_KEY))
        assert response.status_code == 409
        assert "erased at their request" in response.json()["detail"]


async def test_erased_person_cannot_be_recreated_by_import(harness: Harness) -> None:
    contact = await _person(harness)
    await harness.handle(envelope(_erasure(contact["id"])))
    await harness.handle(envelope(import_batch([{"name": "Ada", "email": "ada@example.com"}])))
    [processed] = await harness.outbox(ImportBatchProcessed.event_type)
    [result] = processed.data["results"]
    assert result["status"] == "failed"
    assert "erased at their request" in result["error"]
    assert "ada@example.com" not in result["error"]


async def test_erased_contact_is_not_listed(harness: Harness) -> None:
    contact = await _person(harness)
    await harness.handle(envelope(_erasure(contact["id"])))
    listed = await harness.client.get(
        "/v1/contacts", params={"include_deleted": "true"}, headers=auth(EDITOR_KEY)
    )
    assert listed.json()["items"] == []


async def test_identifier_hashes_of_the_request_are_suppressed_too(harness: Harness) -> None:
    other_email = identifier_hash(DEV_SUPPRESSION_KEY.encode(), "email", "old@example.com")
    await harness.handle(envelope(_erasure("0190a000-0000-7000-8000-000000000000", [other_email])))
    response = await harness.client.post(
        "/v1/contacts", json={"name": "X", "email": "old@example.com"}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 409


async def test_erasure_of_an_unknown_contact_still_sends_a_receipt(harness: Harness) -> None:
    await harness.handle(envelope(_erasure("0190a000-0000-7000-8000-000000000000")))
    [receipt] = await harness.outbox(ErasureReceipt.event_type)
    assert receipt.data["status"] == "completed"
    assert receipt.data["detail"] == "no data held"
    assert await harness.outbox(ContactAnonymized.event_type) == []


async def test_the_same_erasure_envelope_twice_changes_nothing(harness: Harness) -> None:
    contact = await _person(harness)
    event = envelope(_erasure(contact["id"]))
    await harness.handle(event)
    await harness.handle(event)
    assert len(await harness.outbox(ContactAnonymized.event_type)) == 1
    assert len(await harness.outbox(ErasureReceipt.event_type)) == 1
    async with harness.app.state.store.reader() as session:
        stored = await session.get("contacts", tenant="acme", id=contact["id"])
    assert stored is not None and stored["version"] == 2


async def test_a_repeated_erasure_request_reports_completed_without_a_new_version(
    harness: Harness,
) -> None:
    contact = await _person(harness)
    await harness.handle(envelope(_erasure(contact["id"])))
    await harness.handle(envelope(_erasure(contact["id"])))  # a new envelope id: a retry by gdpr
    receipts = await harness.outbox(ErasureReceipt.event_type)
    assert [r.data["status"] for r in receipts] == ["completed", "completed"]
    assert len(await harness.outbox(ContactAnonymized.event_type)) == 1


async def test_erasure_of_a_soft_deleted_contact_erases_it(harness: Harness) -> None:
    contact = await _person(harness)
    await harness.client.delete(f"/v1/contacts/{contact['id']}", headers=auth(EDITOR_KEY))
    await harness.handle(envelope(_erasure(contact["id"])))
    restore = await harness.client.post(
        f"/v1/contacts/{contact['id']}/restore", headers=auth(EDITOR_KEY)
    )
    assert restore.status_code == 410


async def test_patching_in_an_erased_persons_email_is_409(harness: Harness) -> None:
    erased = await _person(harness)
    await harness.handle(envelope(_erasure(erased["id"])))
    other = await harness.create(name="Someone", email="someone@example.com")
    response = await harness.client.patch(
        f"/v1/contacts/{other['id']}", json={"email": "ada@example.com"}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 409


async def test_patching_an_erased_contact_is_410(harness: Harness) -> None:
    contact = await _person(harness)
    await harness.handle(envelope(_erasure(contact["id"])))
    response = await harness.client.patch(
        f"/v1/contacts/{contact['id']}", json={"company": "X"}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 410


async def test_a_poll_of_erasures_anonymizes_each_and_sends_each_receipt_once(
    harness: Harness,
) -> None:
    first = await _person(harness)
    second = await harness.create(name="Grace Hopper", email="grace@example.com")
    poll = [envelope(_erasure(first["id"])), envelope(_erasure(second["id"]))]

    # Handled, then the same poll again (offsets not committed), with a repeat inside it.
    assert await harness.app.state.bus.handle_many(poll) == [None, None]
    await harness.app.state.bus.handle_many([*poll, poll[1]])

    for contact in (first, second):
        response = await harness.client.get(
            f"/v1/contacts/{contact['id']}", headers=auth(VIEWER_KEY)
        )
        assert response.status_code == 410
    receipts = [r.key for r in await harness.outbox(ErasureReceipt.event_type)]
    assert sorted(receipts) == sorted([first["id"], second["id"]])
    assert len(await harness.outbox(ContactAnonymized.event_type)) == 2
