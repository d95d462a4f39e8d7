"""An import's per-contact events, built as JSON without models, are what the models give.

`import_events` writes each created / updated event and state record from the documents a batch
writes, without building ContactCreated, ContactUpdated, ContactProfile, FieldChange or
ContactState per contact. Validated by their models and dumped, the payloads must come out the
same, field for field and in the same order (a field added to a model and not to the payloads
fails here), and each envelope's bytes must be what wrapping the model gives.
"""

from __future__ import annotations

import itertools
from typing import Any

import orjson

from crm_contacts.domain.contact import new_contact
from crm_contacts.domain.contact_policy import ContactPolicy
from crm_contacts.domain.custom_fields import FieldDefinition
from crm_contacts.domain.importing import existing_by_identifiers, plan_batch, prepare_rows
from crm_contacts.service_layer.import_events import batch_summary, per_contact_events_and_states
from crm_shared.envelope import EventEnvelope
from crm_shared.events import EVENT_TYPES, ContactsImported, ImportBatchProcessed, ImportRow
from crm_shared.storage.port import OutgoingEvent, outbox_value

NOW = "2026-01-01T00:00:00.000000Z"
ROWS: list[dict[str, Any]] = [
    {"name": "Zoë Ødegaard", "email": "zoe@example.com", "phone": "+47 22 12 34 56"},
    {"email": "old@example.com", "company": "New Co", "tags": ["Partner"], "timezone": "UTC"},
    {"name": "Seats", "email": "s@example.com", "custom_fields": {"seats": "12"}, "tags": ["ß"]},
    {"name": "Many", "emails": ["m1@example.com", "m2@example.com"], "phones": ["+14155550100"]},
    {"name": "Ext", "email": "x@example.com", "external_ids": {"hubspot": "42"}},
    {"email": "old@example.com", "phone": "+1 415 555 0123", "custom_fields": {"seats": "3"}},
]


def _events() -> tuple[list[OutgoingEvent], list[OutgoingEvent]]:
    stored = new_contact(
        contact_id="old-1",
        tenant="acme",
        profile={"name": "Old", "email": "old@example.com", "tags": ["VIP"], "company": "Old"},
        source="manual",
        now=NOW,
    )
    seats = FieldDefinition(key="seats", label="Seats", type="number")
    rules = ContactPolicy(definitions={"seats": seats})
    rows = [ImportRow(row_number=n, **row) for n, row in enumerate(ROWS, start=1)]
    ids = (f"new-{n}" for n in itertools.count(1))
    existing = existing_by_identifiers([dict(stored)])
    originals = existing.contacts()
    plan = plan_batch(
        prepare_rows(rows, region="US", suppression_key=b"k"),
        tenant="acme",
        policy="update",
        existing=existing,
        suppressed=set(),
        now=NOW,
        new_id=lambda: next(ids),
        rules=rules,
    )
    return per_contact_events_and_states(
        plan, originals, job_id="job-1", tenant="acme", actor="import:job-1"
    )


def _as_model_gives(event: OutgoingEvent) -> bytes:
    written = EventEnvelope.from_bytes(outbox_value(event))
    model = EVENT_TYPES[written.type].model_validate(written.data)
    wrapped = EventEnvelope.wrap(
        model,
        source=written.source,
        tenant=written.tenant,
        subject=event.key,
        actor=written.actor,
        traceparent=written.traceparent,
        time=written.time,
    )
    return wrapped.model_copy(update={"id": written.id}).to_bytes()


def test_every_payload_is_its_models_dump_field_for_field() -> None:
    events, states = _events()

    kinds = [e.envelope.type.rsplit(".", 2)[-2] for e in events]
    assert kinds.count("created") == 4 and kinds.count("updated") == 1
    assert len(states) == len(events)
    for event in [*events, *states]:
        data = event.envelope.data
        dumped = EVENT_TYPES[event.envelope.type].model_validate(data).model_dump(mode="json")
        assert list(orjson.loads(orjson.dumps(data)).items()) == list(dumped.items())
        assert outbox_value(event) == _as_model_gives(event)


def test_an_updated_contacts_changes_hold_before_and_after() -> None:
    events, _ = _events()

    (updated,) = [e for e in events if e.envelope.type.endswith(".updated.v1")]
    changes = updated.envelope.data["changes"]
    assert changes["company"] == {"before": "Old", "after": "New Co"}
    assert changes["custom_fields"] == {"before": {}, "after": {"seats": 3}}
    assert changes["tags"]["before"] == ["VIP"] and "Partner" in changes["tags"]["after"]


def test_the_batch_summaries_are_their_models_dumps() -> None:
    results: list[dict[str, Any]] = [
        {"row_number": 1, "status": "created", "contact_id": "c1", "error": None, "warnings": []},
        {"row_number": 2, "status": "failed", "contact_id": None, "error": "row 2: x"},
        {"row_number": 3, "status": "failed", "error": "suppressed", "suppressed": True},
        {"row_number": 4, "status": "updated", "contact_id": "c4", "warnings": ["left out"]},
    ]
    imported: list[dict[str, Any]] = [
        {"contact_id": "c1", "version": 1, "action": "created", "changed_fields": ["name"]},
        {"contact_id": "c4", "version": 3, "action": "updated", "changed_fields": []},
    ]
    for kind, entries in ((ImportBatchProcessed, results), (ContactsImported, imported)):
        event = batch_summary(
            kind, job_id="job-1", batch_no=7, entries=entries, tenant="acme", actor="import:job-1"
        )
        assert event.key == "job-1" and event.topic == kind.topic
        data = event.envelope.data
        assert list(data.items()) == list(kind.model_validate(data).model_dump(mode="json").items())
        assert outbox_value(event) == _as_model_gives(event)
    processed = EventEnvelope.from_bytes(
        outbox_value(
            batch_summary(
                ImportBatchProcessed, job_id="j", batch_no=1, entries=results, tenant="t", actor="a"
            )
        )
    )
    assert processed.data["results"][2]["suppressed"] is True
    assert [r["warnings"] for r in processed.data["results"]] == [[], [], [], ["left out"]]
