"""The import-batch consumer: one transaction, a summary and an event per contact, idempotent."""

from __future__ import annotations

from typing import Any

from crm_shared.events import (
    ContactCreated,
    ContactsImported,
    ContactUpdated,
    ImportBatchProcessed,
)
from crm_shared.topics import CONTACT_EVENTS, IMPORT_RESULTS
from tests.conftest import EDITOR_KEY, VIEWER_KEY, auth
from tests.contacts.helpers import Harness, envelope, import_batch


async def _results(harness: Harness) -> list[dict[str, Any]]:
    [event] = await harness.outbox(ImportBatchProcessed.event_type)
    return list(event.data["results"])


async def _get(harness: Harness, contact_id: str) -> dict[str, Any]:
    response = await harness.client.get(f"/v1/contacts/{contact_id}", headers=auth(VIEWER_KEY))
    assert response.status_code == 200
    return dict(response.json())


async def test_skip_policy_with_existing_invalid_and_in_batch_duplicate(harness: Harness) -> None:
    existing = await harness.create(email="ada@example.com")
    batch = import_batch(
        [
            {"name": "Ada Again", "email": "ADA@example.com"},
            {"name": "Grace", "email": "grace@example.com", "tags": ["Webinar"]},
            {"email": "grace@", "phone": "+44 20 7946 0000"},
            {"name": "Grace Twin", "email": "grace@example.com"},
        ],
        policy="skip",
    )
    await harness.handle(envelope(batch))
    results = await _results(harness)
    assert [r["status"] for r in results] == ["skipped", "created", "failed", "skipped"]
    assert results[0]["contact_id"] == existing["id"]
    assert results[3]["contact_id"] == results[1]["contact_id"]
    # Without its bad email the row names no one: nothing usable is left, so it fails.
    assert results[2]["error"] == "row 3: email is not a valid address"
    grace = await _get(harness, results[1]["contact_id"])
    # An import-created contact also carries the system tags source:import and imported.
    assert (grace["name"], grace["source"]) == ("Grace", "import")
    assert grace["tags"] == ["Webinar", "source:import", "imported"]


async def test_update_policy_updates_existing_and_merges_tags(harness: Harness) -> None:
    existing = await harness.create(email="ada@example.com", company="Old Co", tags=["VIP"])
    batch = import_batch(
        [
            {"email": "ada@example.com", "company": "New Co", "tags": ["Partner"]},
            {"name": "Bad Phone", "email": "b@example.com", "phone": "nope"},
            {"name": "Grace", "email": "grace@example.com"},
            {"email": "grace@example.com", "timezone": "America/New_York"},
        ],
        policy="update",
    )
    await harness.handle(envelope(batch))
    results = await _results(harness)
    assert [r["status"] for r in results] == ["updated", "created", "created", "updated"]
    # The bad phone is left out with a warning; the row still names and emails someone.
    assert results[1]["error"] is None
    assert results[1]["warnings"] == ["phone is not a valid phone number (left out)"]
    bad_phone = await _get(harness, results[1]["contact_id"])
    assert (bad_phone["email"], bad_phone["phone"]) == ("b@example.com", None)
    ada = await _get(harness, existing["id"])
    assert (ada["name"], ada["company"], ada["version"]) == ("Ada Lovelace", "New Co", 2)
    assert ada["tags"] == ["VIP", "source:manual", "Partner"]
    grace = await _get(harness, results[2]["contact_id"])
    assert grace["timezone"] == "America/New_York"


async def test_create_policy_creates_even_when_the_email_exists(harness: Harness) -> None:
    existing = await harness.create(email="ada@example.com")
    batch = import_batch([{"name": "Ada 2", "email": "ada@example.com"}], policy="create")
    await harness.handle(envelope(batch))
    [result] = await _results(harness)
    assert result["status"] == "created" and result["contact_id"] != existing["id"]


async def test_batch_publishes_one_result_event_and_one_imported_event(harness: Harness) -> None:
    existing = await harness.create(email="ada@example.com")
    batch = import_batch(
        [
            {"email": "ada@example.com", "company": "New Co"},
            {"name": "Grace", "email": "grace@example.com"},
        ],
        policy="update",
        job_id="job-42",
        batch_no=3,
    )
    await harness.handle(envelope(batch))
    [processed] = await harness.outbox(ImportBatchProcessed.event_type)
    [imported] = await harness.outbox(ContactsImported.event_type)
    assert (processed.topic, processed.key) == (IMPORT_RESULTS.name, "job-42")
    assert (imported.topic, imported.key) == (CONTACT_EVENTS.name, "job-42")
    for event in (processed, imported):
        assert event.envelope["tenant"] == "acme"
        assert event.envelope["actor"] == "import:job-42"
    assert processed.data["batch_no"] == 3
    contacts = {c["contact_id"]: c for c in imported.data["contacts"]}
    assert contacts[existing["id"]] == {
        "contact_id": existing["id"],
        "version": 2,
        "action": "updated",
        "changed_fields": ["company", "sources"],
    }
    grace_id = processed.data["results"][1]["contact_id"]
    assert contacts[grace_id]["action"] == "created"
    assert contacts[grace_id]["version"] == 1

    # Each contact also gets its own event, keyed by its id, with the API's payload.
    [created] = [e for e in await harness.outbox(ContactCreated.event_type) if e.key == grace_id]
    assert (created.topic, created.envelope["subject"]) == (CONTACT_EVENTS.name, grace_id)
    assert created.data["version"] == 1 and created.data["source"] == "import"
    assert created.data["profile"]["email"] == "grace@example.com"
    assert created.data["import_job_id"] == "job-42"
    [updated] = await harness.outbox(ContactUpdated.event_type)
    assert updated.key == existing["id"] and updated.data["version"] == 2
    assert updated.data["changes"] == {
        "company": {"before": None, "after": "New Co"},
        "sources": {"before": ["manual"], "after": ["manual", "import"]},
    }
    assert updated.envelope["actor"] == "import:job-42"


async def test_a_contact_changed_twice_in_a_batch_gets_one_event_from_its_first_state(
    harness: Harness,
) -> None:
    existing = await harness.create(email="ada@example.com", company="Old Co")
    batch = import_batch(
        [
            {"email": "ada@example.com", "company": "Mid Co"},
            {"email": "ada@example.com", "company": "New Co", "timezone": "UTC"},
        ],
        policy="update",
    )
    await harness.handle(envelope(batch))

    [updated] = await harness.outbox(ContactUpdated.event_type)
    assert updated.key == existing["id"] and updated.data["version"] == 2
    assert updated.data["changes"] == {
        "company": {"before": "Old Co", "after": "New Co"},
        "timezone": {"before": None, "after": "UTC"},
        "sources": {"before": ["manual"], "after": ["manual", "import"]},
    }


async def test_per_contact_events_precede_the_batch_summary_in_the_outbox(
    harness: Harness,
) -> None:
    batch = import_batch([{"name": "Grace", "email": "grace@example.com"}, {"name": "Alan"}])
    await harness.handle(envelope(batch))

    types = [e.type for e in await harness.outbox() if ".account." not in e.type]
    assert types[1:] == [ContactCreated.event_type] * 2 + [ContactsImported.event_type]
    assert types[0] == ImportBatchProcessed.event_type


async def test_handling_the_same_batch_twice_creates_nothing_new(harness: Harness) -> None:
    event = envelope(import_batch([{"name": "Grace", "email": "grace@example.com"}]))
    await harness.handle(event)
    await harness.handle(event)
    listed = await harness.client.get("/v1/contacts", headers=auth(EDITOR_KEY))
    assert len(listed.json()["items"]) == 1
    assert len(await harness.outbox(ImportBatchProcessed.event_type)) == 1
    assert len(await harness.outbox(ContactsImported.event_type)) == 1


async def test_batch_goes_to_the_envelopes_tenant(harness: Harness) -> None:
    await harness.handle(envelope(import_batch([{"name": "Grace"}]), tenant="globex"))
    listed = await harness.client.get("/v1/contacts", headers=auth(EDITOR_KEY))
    assert listed.json()["items"] == []


async def test_batch_where_every_row_fails_publishes_no_imported_event(harness: Harness) -> None:
    await harness.handle(envelope(import_batch([{"name": "", "email": "x"}])))
    [result] = await _results(harness)
    assert result["status"] == "failed"
    assert await harness.outbox(ContactsImported.event_type) == []


async def test_unknown_event_types_are_ignored(harness: Harness) -> None:
    from crm_shared.events import NoteAdded

    await harness.handle(envelope(NoteAdded(contact_id="c1", note_id="n1")))
    assert await harness.outbox() == []


async def test_a_batch_sent_again_is_answered_again_and_applied_once(harness: Harness) -> None:
    # The importer sends a batch again when its results never came back: a new event, the same
    # job and batch number.
    rows = [{"name": "Grace", "email": "grace@example.com"}, {"email": "grace@"}]
    await harness.handle(envelope(import_batch(rows, policy="create", job_id="job-9")))
    await harness.handle(envelope(import_batch(rows, policy="create", job_id="job-9")))

    first, again = await harness.outbox(ImportBatchProcessed.event_type)
    statuses = [(r["row_number"], r["status"], r["contact_id"]) for r in first.data["results"]]
    assert [(r["row_number"], r["status"], r["contact_id"]) for r in again.data["results"]] == (
        statuses
    )
    assert [s for _, s, _ in statuses] == ["created", "failed"]
    # Only the number, status and contact id are kept: the reason quoted a cell.
    assert again.data["results"][1]["error"] is None
    listed = await harness.client.get(
        "/v1/contacts", params={"email": "grace@example.com"}, headers=auth(VIEWER_KEY)
    )
    assert [c["id"] for c in listed.json()["items"]] == [statuses[0][2]]
    assert len(await harness.outbox(ContactCreated.event_type)) == 1


async def test_a_batch_creating_hundreds_gives_each_row_its_own_id_in_row_order(
    harness: Harness,
) -> None:
    # More rows than the planner makes ids for at once: the later draws continue the order.
    rows = [{"name": f"Person {n}", "email": f"p{n}@example.com"} for n in range(300)]
    await harness.handle(envelope(import_batch(rows, policy="skip")))
    results = await _results(harness)
    assert [r["status"] for r in results] == ["created"] * 300
    ids = [r["contact_id"] for r in results]
    assert len(set(ids)) == 300
    assert ids == sorted(ids)  # time-ordered ids, made in row order
