"""A group passes over the types it does not handle by their `ce_type` header, unparsed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from aiokafka import ConsumerRecord, TopicPartition

from crm_shared.cloudevents import envelope_type, structured_headers
from crm_shared.envelope import EnvelopeWriter, EventEnvelope
from crm_shared.events import ActivityRecorded, ContactCreated, ContactDeleted, ContactProfile
from crm_shared.events.contacts import IMPORT_EVENT_TYPES, data_in_import_summary
from crm_shared.messaging.bus import MessageBus, SkipRule
from tests.consumer_fakes import (
    RecordingDeadLetters,
    RecordingOffsets,
    activity_value,
    deleted_value,
    recording_consumer,
)

TP = TopicPartition("test.events", 0)
Headers = list[tuple[str, bytes]]


def _record(offset: int, value: bytes, headers: Headers) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(TP.topic, 0, offset, 0, 0, b"k", value, None, 1, len(value), headers)


def _as_relayed(offset: int, value: bytes) -> ConsumerRecord[bytes, bytes]:
    """The record the outbox relay sends for an envelope."""
    return _record(offset, value, structured_headers(value, None))


def test_the_relay_names_the_type_of_every_envelope_the_platform_writes() -> None:
    wrapped = deleted_value("c-1")
    writer = EnvelopeWriter(
        ContactDeleted,
        source="crm/test",
        tenant="acme",
        actor=None,
        traceparent=None,
        time=datetime(2026, 1, 1, tzinfo=UTC),
    )
    written = writer.write("e-1", "c-1", {"contact_id": "c-1", "version": 1}).value
    for value in (wrapped, written):
        headers = dict(structured_headers(value, None))
        assert headers["ce_type"] == ContactDeleted.event_type.encode()
        assert headers["content-type"] == b"application/cloudevents+json"


@pytest.mark.parametrize(
    "value",
    [
        # Another layout (attributes in another order): no header, consumers parse it.
        b'{"type":"crm.x.v1","specversion":"1.0","id":"e","source":"s"}',
        # A source holding an escaped quote could make text look like an attribute.
        b'{"specversion":"1.0","id":"e","source":"a\\",\\"type\\":\\"x","type":"crm.y.v1"}',
        b'{"specversion":"1.0","id":"e","source":"s","type":"',
        b'{"specversion":"1.0","id":"e","source":"s","type":"","time":"t"}',
        b'{"specversion":"1.0","id":"e\\u0022","source":"s","type":"crm.y.v1"}',
        b"",
        b"not json",
    ],
)
def test_a_value_in_another_layout_gets_no_type_header(value: bytes) -> None:
    assert envelope_type(value) is None
    assert "ce_type" not in dict(structured_headers(value, None))


async def test_records_of_types_a_group_does_not_handle_are_never_parsed(
    parses: list[bytes | None],
) -> None:
    handled: list[str] = []

    async def on_deleted(event: ContactDeleted, envelope: EventEnvelope) -> None:
        handled.append(event.contact_id)

    bus = MessageBus().on(ContactDeleted, on_deleted)
    consumer = recording_consumer(bus, RecordingDeadLetters(), topic=TP.topic)
    values = [activity_value("x"), deleted_value("a"), activity_value("y"), deleted_value("b")]
    offsets = RecordingOffsets()
    records = [_as_relayed(offset, value) for offset, value in enumerate(values)]
    await consumer._handle_poll(offsets, {TP: records})  # type: ignore[arg-type]
    assert handled == ["a", "b"]
    assert (consumer.handled, consumer.ignored, consumer.dead_lettered) == (2, 2, 0)
    assert parses == [values[1], values[3]]
    # The skipped records' offsets are committed with the poll: none is read again.
    assert offsets.committed == {TP: 4}


async def test_a_batchable_poll_passes_over_other_types_unparsed(
    parses: list[bytes | None],
) -> None:
    batches: list[list[str]] = []

    async def on_activities(
        items: Sequence[tuple[ActivityRecorded, EventEnvelope]],
    ) -> list[object]:
        batches.append([event.contact_id for event, _ in items])
        return [None] * len(items)

    bus = MessageBus().on_many(ActivityRecorded, on_activities)
    consumer = recording_consumer(bus, RecordingDeadLetters(), topic=TP.topic)
    values = [deleted_value("x"), activity_value("a"), deleted_value("y"), activity_value("b")]
    offsets = RecordingOffsets()
    records = [_as_relayed(offset, value) for offset, value in enumerate(values)]
    await consumer._handle_poll(offsets, {TP: records})  # type: ignore[arg-type]
    assert batches == [["a", "b"]]
    assert (consumer.handled, consumer.ignored) == (2, 2)
    assert parses == [values[1], values[3]]
    assert offsets.committed == {TP: 4}


async def test_a_record_without_the_header_is_judged_by_its_parsed_envelope(
    parses: list[bytes | None],
) -> None:
    async def on_deleted(event: ContactDeleted, envelope: EventEnvelope) -> None:
        return None

    bus = MessageBus().on(ContactDeleted, on_deleted)
    dead = RecordingDeadLetters()
    consumer = recording_consumer(bus, dead, topic=TP.topic)
    values = [activity_value("x"), deleted_value("a"), b"{not json"]
    records = [_record(offset, value, []) for offset, value in enumerate(values)]
    offsets = RecordingOffsets()
    await consumer._handle_poll(offsets, {TP: records})  # type: ignore[arg-type]
    assert (consumer.handled, consumer.ignored, consumer.dead_lettered) == (1, 1, 1)
    assert values[0] in parses
    assert dead.sent == [(b"{not json", "malformed-json")]
    assert offsets.committed == {TP: 3}


async def test_a_handled_type_named_in_the_header_is_still_validated(
    parses: list[bytes | None],
) -> None:
    async def on_deleted(event: ContactDeleted, envelope: EventEnvelope) -> None:
        return None

    bus = MessageBus().on(ContactDeleted, on_deleted)
    dead = RecordingDeadLetters()
    consumer = recording_consumer(bus, dead, topic=TP.topic)
    # The header names a handled type: the value is parsed, and a malformed one dead-lettered.
    bad = b'{"specversion":"1.0","id":"e","source":"s","type":"' + b"x" * 3
    header = [("ce_type", ContactDeleted.event_type.encode())]
    records = [_record(0, bad, header)]
    offsets = RecordingOffsets()
    await consumer._handle_poll(offsets, {TP: records})  # type: ignore[arg-type]
    assert dead.sent == [(bad, "malformed-json")]
    assert offsets.committed == {TP: 1}


def _created(contact_id: str, import_job_id: str | None) -> bytes:
    data = ContactCreated(
        contact_id=contact_id,
        version=1,
        source="import",
        profile=ContactProfile(name="Ann"),
        import_job_id=import_job_id,
    )
    return EventEnvelope.wrap(data, source="crm/test", tenant="acme", subject=contact_id).to_bytes()


async def test_an_imports_contact_events_a_summary_reports_are_passed_over_unvalidated(
    parses: list[bytes | None],
) -> None:
    handled: list[str] = []

    async def on_created(event: ContactCreated, envelope: EventEnvelope) -> None:
        handled.append(event.contact_id)

    bus = MessageBus(skip_rule=SkipRule(IMPORT_EVENT_TYPES, data_in_import_summary)).on(
        ContactCreated, on_created
    )
    dead = RecordingDeadLetters()
    consumer = recording_consumer(bus, dead, topic=TP.topic)
    # A malformed one (its time unreadable) is validated, and dead-lettered, as before.
    broken = _created("bad", "j-1").replace(b'"time":"', b'"time":"soon', 1)
    values = [_created("i-1", "j-1"), _created("api", None), _created("i-2", "j-1"), broken]
    records = [_as_relayed(offset, value) for offset, value in enumerate(values)]
    offsets = RecordingOffsets()
    await consumer._handle_poll(offsets, {TP: records})  # type: ignore[arg-type]
    assert handled == ["api"]
    assert (consumer.handled, consumer.ignored, consumer.dead_lettered) == (1, 2, 1)
    assert parses == [values[1], values[3], values[3]]
    assert [reason for _, reason in dead.sent] == ["malformed-envelope"]
    assert offsets.committed == {TP: 4}
    # Without the header the rule still applies, after the envelope is validated.
    plain = recording_consumer(bus, RecordingDeadLetters(), topic=TP.topic)
    await plain._handle_poll(  # type: ignore[arg-type]
        RecordingOffsets(),
        {TP: [_record(offset, value, []) for offset, value in enumerate(values)]},
    )
    assert (plain.handled, plain.ignored, plain.dead_lettered) == (1, 2, 1)


def test_an_events_own_headers_are_kept_beside_one_type_and_one_content_type() -> None:
    value = deleted_value("c-1")
    own = [("traceparent", b"00-abc-def-01"), ("Content-Type", b"application/json")]
    assert structured_headers(value, own) == [
        ("traceparent", b"00-abc-def-01"),
        ("content-type", b"application/cloudevents+json"),
        ("ce_type", ContactDeleted.event_type.encode()),
    ]
    named = [("CE_TYPE", b"crm.other.v1")]
    assert structured_headers(value, named) == [
        ("CE_TYPE", b"crm.other.v1"),
        ("content-type", b"application/cloudevents+json"),
    ]
    assert structured_headers(value, []) == structured_headers(value, None)
