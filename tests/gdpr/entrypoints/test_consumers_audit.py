"""The audit consumer: one entry per event, field names and values, once per event id."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest

from crm_gdpr.adapters.repositories import AUDIT_ENTRIES
from crm_gdpr.domain.audit import ChainReport, recomputed_hash
from crm_gdpr.entrypoints.consumers import AUDIT_TOPICS, GdprBuses
from crm_gdpr.service_layer.audit import verify_chain
from crm_shared.envelope import EventEnvelope
from crm_shared.events import (
    ActivityRecorded,
    ContactCreated,
    ContactsImported,
    ContactUpdated,
    FieldChange,
    ImportedContact,
    NoteDeleted,
    NoteEdited,
    TimelineActivityRecorded,
)
from crm_shared.events.contacts import AccountDeleted, ContactProfile, ContactPurged
from crm_shared.storage import DocumentStore, scan
from crm_shared.topics import (
    CONTACT_EVENTS,
    ERASURE_RECEIPTS,
    GDPR_EVENTS,
    IMPORTER_EVENTS,
    TIMELINE_EVENTS,
)
from tests.conftest import ADMIN_KEY, OTHER_TENANT_KEY, auth
from tests.gdpr.fakes import ALICE_ID, outbox, wrap

SECRET_EMAIL = "carol.private@example.org"
SECRET_PHONE = "+15550001234"
SECRET_NAME = "Carol Hidden"


def _created(contact_id: str = "c1", tenant: str = "acme") -> Any:
    profile = ContactProfile(name=SECRET_NAME, email=SECRET_EMAIL, phone=SECRET_PHONE)
    data = ContactCreated(contact_id=contact_id, version=1, source="manual", profile=profile)
    return wrap(data, tenant=tenant, subject=contact_id)


def _updated(contact_id: str = "c1") -> Any:
    changes = {
        "email": FieldChange(before=SECRET_EMAIL, after="carol.new@example.org"),
        "phone": FieldChange(before=SECRET_PHONE, after=None),
    }
    return wrap(
        ContactUpdated(contact_id=contact_id, version=2, changes=changes), subject=contact_id
    )


async def _log(
    client: httpx.AsyncClient, key: str = ADMIN_KEY, **params: str
) -> list[dict[str, Any]]:
    response = await client.get("/v1/audit-log", params=params, headers=auth(key))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_audit_consumer_listens_to_every_domain_topic() -> None:
    # Other products' activities arrive as the timeline recorded them, on TIMELINE_EVENTS.
    assert set(AUDIT_TOPICS) == {
        CONTACT_EVENTS.name,
        IMPORTER_EVENTS.name,
        TIMELINE_EVENTS.name,
        GDPR_EVENTS.name,
        ERASURE_RECEIPTS.name,
    }


async def test_an_activity_from_another_product_is_audited_by_its_type_only(
    client: httpx.AsyncClient, consumers: GdprBuses
) -> None:
    activity = ActivityRecorded(
        contact_id="c1",
        activity_type="ticket",
        occurred_at=datetime(2025, 3, 1, tzinfo=UTC),
        summary=f"Refund for {SECRET_NAME}",
    )
    await consumers.audit.handle(wrap(activity, subject="c1"))

    [entry] = await _log(client)
    assert (entry["action"], entry["target"]) == (ActivityRecorded.event_type, "c1")
    assert entry["fields"] == ["activity.ticket"]
    assert SECRET_NAME not in orjson.dumps(entry).decode()


async def test_the_timelines_recorded_activities_and_note_changes_are_audited(
    client: httpx.AsyncClient, consumers: GdprBuses
) -> None:
    recorded = TimelineActivityRecorded(
        contact_id="c1",
        item_id="i1",
        item_type="appointment",
        occurred_at=datetime(2025, 3, 1, tzinfo=UTC),
        source="crm/calendar",
    )
    await consumers.audit.handle(wrap(recorded, subject="c1"))
    await consumers.audit.handle(wrap(NoteEdited(contact_id="c1", note_id="n1"), subject="c1"))
    await consumers.audit.handle(wrap(NoteDeleted(contact_id="c1", note_id="n1"), subject="c1"))

    entries = await _log(client)
    assert sorted((e["action"], e["target"], tuple(e["fields"])) for e in entries) == [
        (TimelineActivityRecorded.event_type, "c1", ("activity.appointment",)),
        (NoteDeleted.event_type, "c1", ()),
        (NoteEdited.event_type, "c1", ()),
    ]


async def test_contact_update_is_audited_with_field_names(
    client: httpx.AsyncClient, consumers: GdprBuses
) -> None:
    envelope = _updated()
    await consumers.audit.handle(envelope)
    [entry] = await _log(client)
    assert entry["seq"] == 1
    assert entry["action"] == "crm.contacts.contact.updated.v1"
    assert entry["target"] == "c1"
    assert entry["fields"] == ["email", "phone"]
    assert entry["actor"] == envelope.actor
    assert entry["event_id"] == envelope.id


async def test_same_event_twice_is_audited_once(
    client: httpx.AsyncClient, consumers: GdprBuses
) -> None:
    envelope = _created()
    await consumers.audit.handle(envelope)
    await consumers.audit.handle(envelope)
    assert len(await _log(client)) == 1


async def test_seq_increments_per_tenant_independently(
    client: httpx.AsyncClient, consumers: GdprBuses
) -> None:
    await consumers.audit.handle(_created("a1"))
    await consumers.audit.handle(_created("g1", tenant="globex"))
    await consumers.audit.handle(_created("a2"))
    assert [(e["seq"], e["target"]) for e in await _log(client)] == [(1, "a1"), (2, "a2")]
    assert [(e["seq"], e["target"]) for e in await _log(client, OTHER_TENANT_KEY)] == [(1, "g1")]


async def test_an_imports_summary_adds_nothing_its_contacts_own_events_are_audited(
    client: httpx.AsyncClient, consumers: GdprBuses
) -> None:
    data = ContactsImported(
        job_id="job1",
        batch_no=1,
        contacts=[
            ImportedContact(contact_id="c1", version=1, action="created"),
            ImportedContact(contact_id="c2", version=3, action="updated", changed_fields=["phone"]),
        ],
    )
    await consumers.audit.handle(wrap(data, source="crm/contacts"))
    assert await _log(client) == []
    for envelope in _imported(2):
        await consumers.audit.handle(envelope)
    entries = await _log(client)
    assert [(e["seq"], e["target"], e["action"]) for e in entries] == [
        (1, "c0", "crm.contacts.contacts.imported.v1:updated"),
        (2, "c1", "crm.contacts.contacts.imported.v1:created"),
    ]
    assert entries[0]["actor"] == "import:job1"
    assert [(c["field"], c["before"], c["after"]) for c in entries[0]["changes"]] == [
        ("phone", None, "+14155550100")
    ]


async def test_unknown_event_type_is_ignored(
    client: httpx.AsyncClient, consumers: GdprBuses
) -> None:
    envelope = _created().model_copy(update={"type": "crm.somebody.thing.happened.v9"})
    await consumers.audit.handle(envelope)
    assert await _log(client) == []


async def test_gdpr_own_erasure_request_is_audited_through_the_consumer(
    client: httpx.AsyncClient, consumers: GdprBuses, store: DocumentStore
) -> None:
    await client.post("/v1/erasure-requests", json={"contact_id": ALICE_ID}, headers=auth())
    [(_, _, envelope)] = await outbox(store)
    await consumers.audit.handle(envelope)
    [entry] = await _log(client, contact_id=ALICE_ID)
    assert entry["action"] == "crm.gdpr.erasure.requested.v1"
    assert entry["fields"] == []
    for value in envelope.data["identifier_hashes"]:
        assert value not in str(entry)


def _imported(count: int) -> list[EventEnvelope]:
    """An import's per-contact events, as the contacts service publishes them."""
    envelopes: list[EventEnvelope] = []
    for n in range(count):
        contact_id = f"c{n}"
        data: ContactCreated | ContactUpdated
        if n % 2:
            profile = ContactProfile(name=f"Person {n}", email=f"p{n}@example.com")
            data = ContactCreated(
                contact_id=contact_id,
                version=1,
                source="import",
                profile=profile,
                import_job_id="job1",
            )
        else:
            changes = {"phone": FieldChange(before=None, after="+14155550100")}
            data = ContactUpdated(
                contact_id=contact_id, version=2, changes=changes, import_job_id="job1"
            )
        envelopes.append(wrap(data, subject=contact_id, actor="import:job1"))
    return envelopes


async def _audit_all(consumers: GdprBuses, envelopes: list[EventEnvelope]) -> None:
    for envelope in envelopes:
        await consumers.audit.handle(envelope)


async def _stored(store: DocumentStore) -> list[dict[str, Any]]:
    return [doc async for doc in scan(store, AUDIT_ENTRIES, tenant="acme", order_by="seq")]


async def _put(store: DocumentStore, entry: dict[str, Any]) -> None:
    async with store.transaction() as session:
        assert await session.replace(AUDIT_ENTRIES, entry)


async def test_an_imports_n_contacts_append_n_consecutive_linked_entries(
    consumers: GdprBuses, store: DocumentStore
) -> None:
    await consumers.audit.handle(_created("c-before"))
    envelopes = _imported(200)
    await _audit_all(consumers, envelopes)
    head, *batch = await _stored(store)
    assert [e["seq"] for e in batch] == list(range(2, 202))
    assert [e["target"] for e in batch] == [f"c{n}" for n in range(200)]
    assert [e["event_id"] for e in batch] == [e.id for e in envelopes]
    assert [e["prev_hash"] for e in batch] == [e["hash"] for e in [head, *batch[:-1]]]
    assert len({e["id"] for e in [head, *batch]}) == 201
    assert await verify_chain(store, tenant="acme") == ChainReport(True, 201, None)


async def test_an_imports_events_delivered_twice_append_once(
    consumers: GdprBuses, store: DocumentStore
) -> None:
    envelopes = _imported(50)
    await _audit_all(consumers, envelopes)
    await _audit_all(consumers, envelopes)
    assert [e["seq"] for e in await _stored(store)] == list(range(1, 51))


@pytest.mark.parametrize(
    ("attribute", "forged"),
    [
        ("target", "c-forged"),
        ("action", "crm.contacts.contact.deleted.v1"),
        ("fields", ["forged"]),
        ("at", "2000-01-01T00:00:00.000000Z"),
        ("actor", "forged"),
        ("event_id", "forged"),
        ("prev_hash", "f" * 64),
        ("hash", "f" * 64),
    ],
)
async def test_tampering_any_one_imported_entry_is_detected_at_that_entry(
    consumers: GdprBuses, store: DocumentStore, attribute: str, forged: object
) -> None:
    await _audit_all(consumers, _imported(20))
    for entry in await _stored(store):
        await _put(store, {**entry, attribute: forged})
        report = await verify_chain(store, tenant="acme")
        assert (report.valid, report.first_broken_seq) == (False, entry["seq"])
        await _put(store, entry)
    assert (await verify_chain(store, tenant="acme")).valid


async def test_rehashed_forgery_of_any_imported_entry_breaks_the_next_link(
    consumers: GdprBuses, store: DocumentStore
) -> None:
    await _audit_all(consumers, _imported(20))
    *entries, _last = await _stored(store)
    for entry in entries:
        forged = {**entry, "fields": ["forged"]}
        await _put(store, {**forged, "hash": recomputed_hash(forged)})
        report = await verify_chain(store, tenant="acme")
        assert (report.valid, report.first_broken_seq) == (False, entry["seq"] + 1)
        await _put(store, entry)
    assert (await verify_chain(store, tenant="acme")).valid


async def test_contact_purge_and_account_deletion_are_audited_once(
    client: httpx.AsyncClient, consumers: GdprBuses
) -> None:
    purged = wrap(
        ContactPurged(contact_id="c1", deleted_at="2025-01-01T00:00:00.000000Z"), subject="c1"
    )
    account_gone = wrap(AccountDeleted(account_id="acc1"), subject="c1")
    for envelope in (purged, account_gone, purged, account_gone):
        await consumers.audit.handle(envelope)
    entries = await _log(client)
    assert [(e["seq"], e["action"], e["target"], e["fields"]) for e in entries] == [
        (1, "crm.contacts.contact.purged.v1", "c1", []),
        (2, "crm.contacts.account.deleted.v1", "acc1", []),
    ]


async def test_an_imports_contact_events_polled_together_append_in_one_unit_once(
    consumers: GdprBuses, store: DocumentStore
) -> None:
    envelopes = [e for e in _imported(40) if e.type == ContactUpdated.event_type]
    assert consumers.audit.batches(ContactUpdated.event_type)
    assert await consumers.audit.handle_many(envelopes) == [None] * len(envelopes)
    assert await consumers.audit.handle_many(envelopes) == [None] * len(envelopes)
    stored = await _stored(store)
    assert [e["event_id"] for e in stored] == [e.id for e in envelopes]
    assert (await verify_chain(store, tenant="acme")).valid
