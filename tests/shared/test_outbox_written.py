"""`outgoing_written` writes the bytes `outgoing` writes, without a model per event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from opentelemetry import trace

from crm_shared.envelope import EventData, EventEnvelope
from crm_shared.events import ContactCreated, ContactDeleted, ContactUpdated
from crm_shared.observability.tracing import span
from crm_shared.outbox import CONTACTS_SOURCE, outgoing, outgoing_written
from crm_shared.storage.port import OutgoingEvent, outbox_value

AWKWARD = ['Ødegaard ß 😀 \u2028 "quoted" \\ back', 1.5, 1e20, 5e-324, -0.0, 2**62, None, True]
PROFILE: dict[str, Any] = {
    "name": "Zoë Ødegaard",
    "email": "zoe@example.com",
    "phone": "+14155550100",
    "company": None,
    "timezone": "Europe/Oslo",
    "tags": ["VIP", "ß"],
    "custom_fields": {"seats": 12, "ratio": 0.1, "awkward": AWKWARD},
    "emails": ["z2@example.com"],
    "phones": [],
    "owner": None,
    "account_id": None,
    "external_ids": {"hubspot": "42"},
    "sources": ["import"],
}
PAYLOADS: list[tuple[type[EventData], dict[str, Any], str]] = [
    (
        ContactCreated,
        {
            "contact_id": "c1",
            "version": 1,
            "source": "import",
            "profile": PROFILE,
            "import_job_id": "j",
        },
        "c1",
    ),
    (
        ContactUpdated,
        {
            "contact_id": "c2",
            "version": 7,
            "changes": {
                "company": {"before": None, "after": "Ø Co"},
                "tags": {"before": [], "after": ["a"]},
            },
            "import_job_id": "j",
        },
        "c2",
    ),
    (ContactDeleted, {"contact_id": "c3", "version": 2}, "c3"),
]


def _one_by_one(built: OutgoingEvent, kind: type[EventData], data: dict[str, Any]) -> bytes:
    """What `outgoing` writes for the payload's model, with the built event's id and time."""
    sent = EventEnvelope.from_bytes(outbox_value(built))
    expected = outgoing(
        kind.model_validate(data),
        source=CONTACTS_SOURCE,
        tenant="acme",
        key=built.key or "",
        actor="import:j",
    )
    assert expected.envelope.traceparent == sent.traceparent
    return expected.envelope.model_copy(update={"id": sent.id, "time": sent.time}).to_bytes()


@pytest.mark.parametrize("traced", [True, False], ids=["in a trace", "without a trace"])
@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 11, 30, 9, 8, 7, 654321, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
    ],
    ids=["utc with microseconds", "an offset, whole seconds"],
)
def test_the_bytes_are_what_one_by_one_building_writes(traced: bool, moment: datetime) -> None:
    def build() -> tuple[list[OutgoingEvent], list[bytes]]:
        built = outgoing_written(
            PAYLOADS, source=CONTACTS_SOURCE, tenant="acme", actor="import:j", time=moment
        )
        expected = [
            _one_by_one(b, kind, data) for b, (kind, data, _) in zip(built, PAYLOADS, strict=True)
        ]
        return built, expected

    if traced:
        with span("write", parent=None, kind=trace.SpanKind.INTERNAL):
            built, expected = build()
        assert all(b.envelope.to_bytes().count(b'"traceparent":"00-') == 1 for b in built)
    else:
        built, expected = build()
    assert [outbox_value(b) for b in built] == expected
    assert [(b.topic, b.key) for b in built] == [(k.topic, key) for k, _, key in PAYLOADS]
    assert all(EventEnvelope.from_bytes(e).time == moment for e in expected)


def test_each_event_has_its_own_increasing_id_and_what_the_writer_reads_of_it() -> None:
    built = outgoing_written(PAYLOADS, source=CONTACTS_SOURCE, tenant="acme", actor=None)

    ids = [b.envelope.id for b in built]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for event, (kind, data, key) in zip(built, PAYLOADS, strict=True):
        envelope = event.envelope
        assert (envelope.type, envelope.tenant, envelope.actor, envelope.subject) == (
            kind.event_type,
            "acme",
            None,
            key,
        )
        assert envelope.data == data == EventEnvelope.from_bytes(envelope.to_bytes()).data
