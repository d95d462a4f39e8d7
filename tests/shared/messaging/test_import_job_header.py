"""The relay names an import's per-contact events by a header; a group that follows the import's
summaries passes over them on it, unparsed, and judges a record without it by its data."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiokafka import ConsumerRecord, TopicPartition

from crm_shared.cloudevents import structured_headers
from crm_shared.contract import asyncapi_document
from crm_shared.envelope import EnvelopeWriter, EventEnvelope
from crm_shared.events import (
    ContactCreated,
    ContactProfile,
    ContactsImported,
    ContactUpdated,
    FieldChange,
)
from crm_shared.events.contacts import (
    IMPORT_EVENT_TYPES,
    IMPORT_JOB_HEADER,
    data_in_import_summary,
    written_import_job,
)
from crm_shared.messaging.bus import MessageBus, SkipRule
from crm_shared.messaging.consumer import EventConsumer
from tests.consumer_fakes import (
    RecordingDeadLetters,
    RecordingOffsets,
    count_looks,
    recording_consumer,
)

TP = TopicPartition("test.events", 0)
JOB = "01a230bd-c4c9-70a2-8c74-686c0c04ce41"
RULE = SkipRule(IMPORT_EVENT_TYPES, data_in_import_summary, IMPORT_JOB_HEADER)


def _created(contact_id: str, job: str | None, *, name: str = "Ann") -> bytes:
    data = ContactCreated(
        contact_id=contact_id,
        version=1,
        source="import",
        profile=ContactProfile(name=name),
        import_job_id=job,
    )
    return EventEnvelope.wrap(data, source="crm/test", tenant="acme", subject=contact_id).to_bytes()


def _written(kind: type[ContactCreated | ContactUpdated], data: dict[str, object]) -> bytes:
    """An envelope as an import batch writes it (`EnvelopeWriter`, no model per event)."""
    writer = EnvelopeWriter(
        kind,
        source="crm/contacts",
        tenant="acme",
        actor=f"import:{JOB}",
        traceparent=None,
        time=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return writer.write("e-1", "c-1", data).value


def _job_header(value: bytes) -> bytes | None:
    return dict(structured_headers(value, None)).get(IMPORT_JOB_HEADER)


def test_the_relay_names_the_job_of_an_imports_created_and_updated_events() -> None:
    profile = {"name": "Ann", "tags": ["a"]}
    created = _written(
        ContactCreated,
        {"contact_id": "c-1", "version": 1, "source": "import", "profile": profile}
        | {"import_job_id": JOB},
    )
    changes = {"email": {"before": "a@x.io", "after": "b@x.io"}}
    updated = _written(
        ContactUpdated,
        {"contact_id": "c-1", "version": 2, "changes": changes, "import_job_id": JOB},
    )
    for value in (created, updated, _created("c-2", JOB)):
        assert _job_header(value) == JOB.encode()


def test_an_event_no_import_made_gets_no_job_header() -> None:
    assert _job_header(_created("c-1", None)) is None
    update = ContactUpdated(
        contact_id="c-1", version=2, changes={"name": FieldChange(before="A", after="B")}
    )
    wrapped = EventEnvelope.wrap(update, source="crm/test", tenant="acme", subject="c-1")
    assert _job_header(wrapped.to_bytes()) is None


@pytest.mark.parametrize(
    "value",
    [
        # The job id inside a nested object, not the data's own field.
        b'{"data":{"x":{"a":1,"import_job_id":"j"}}}',
        # Text that quotes the tail: its quotes are escaped, so it never ends the data.
        b'{"data":{"name":"x\\",\\"import_job_id\\":\\"j\\"}"}}',
        # A job id holding an escaped quote, or none at all.
        b'{"data":{"a":1,"import_job_id":"j\\"k"}}',
        b'{"data":{"a":1,"import_job_id":""}}',
        b'{"data":{"a":1,"import_job_id":null}}',
        b'{"data":{"a":1,"import_job_id":"j"}} ',
        b"",
    ],
)
def test_a_value_that_does_not_end_with_the_data_s_job_id_names_no_job(value: bytes) -> None:
    assert written_import_job(value) is None


def test_the_job_header_is_only_set_on_the_types_it_is_declared_for() -> None:
    # The same tail on an event of another type: the header means an import's contact event.
    value = _created("c-1", JOB).replace(
        ContactCreated.event_type.encode(), b"crm.contacts.contact.restored.v1", 1
    )
    assert written_import_job(value) == JOB.encode()
    assert _job_header(value) is None


def _record(
    offset: int, value: bytes, headers: list[tuple[str, bytes]]
) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(TP.topic, 0, offset, 0, 0, b"k", value, None, 1, len(value), headers)


def _consumer_of_created(rule: SkipRule | None) -> tuple[EventConsumer, list[str]]:
    """A consumer of TP whose bus (with `rule`, if any) handles ContactCreated, and the contact
    ids it handled, in order."""
    handled: list[str] = []

    async def on_created(event: ContactCreated, envelope: EventEnvelope) -> None:
        handled.append(event.contact_id)

    bus = (MessageBus(skip_rule=rule) if rule else MessageBus()).on(ContactCreated, on_created)
    return recording_consumer(bus, RecordingDeadLetters(), topic=TP.topic), handled


async def test_a_group_passes_over_records_the_header_names_without_parsing_them(
    parses: list[bytes | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    looks = count_looks(monkeypatch)
    consumer, handled = _consumer_of_created(RULE)
    # One with an unreadable time: named by its headers, it is passed over like a type the group
    # does not handle (the groups that read it, such as gdpr's, dead-letter it).
    broken = _created("bad", JOB).replace(b'"time":"', b'"time":"soon', 1)
    values = [_created("i-1", JOB), _created("api", None), _created("i-2", JOB), broken]
    records = [_record(n, v, structured_headers(v, None)) for n, v in enumerate(values)]
    offsets = RecordingOffsets()
    await consumer._handle_poll(offsets, {TP: records})
    assert handled == ["api"]
    assert (consumer.handled, consumer.ignored, consumer.dead_lettered) == (1, 3, 0)
    # Only the event no import made was read: the others were judged by their headers.
    assert looks == [values[1]]
    assert parses == [values[1]]
    assert offsets.committed == {TP: 4}


async def test_without_the_job_header_the_data_decides_as_before(
    parses: list[bytes | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    looks = count_looks(monkeypatch)
    consumer, handled = _consumer_of_created(RULE)
    # An older relay's records: `ce_type`, no job header; and a producer with no headers at all.
    values = [_created("i-1", JOB), _created("api", None), _created("i-2", JOB)]
    older = [
        [(k, v) for k, v in structured_headers(value, None) if k != IMPORT_JOB_HEADER]
        for value in values
    ]
    records = [_record(n, v, h) for n, (v, h) in enumerate(zip(values, older, strict=True))]
    records.append(_record(3, values[2], []))
    await consumer._handle_poll(RecordingOffsets(), {TP: records})
    assert handled == ["api"]
    assert (consumer.handled, consumer.ignored, consumer.dead_lettered) == (1, 3, 0)
    # The import's records with `ce_type` are looked at (not validated); the one without any
    # header, and the one the handler takes, are validated.
    assert looks == [values[0], values[1], values[2]]
    assert parses == [values[1], values[2]]


async def test_the_job_header_skips_only_types_the_rule_names(
    parses: list[bytes | None],
) -> None:
    # A bus with no rule handles an import's events, header or not.
    consumer, handled = _consumer_of_created(None)
    value = _created("i-1", JOB)
    records = [_record(0, value, structured_headers(value, None))]
    await consumer._handle_poll(RecordingOffsets(), {TP: records})
    assert handled == ["i-1"]
    assert parses == [value]


def test_the_published_contract_names_every_header_the_relay_sends() -> None:
    messages = asyncapi_document()["components"]["messages"]
    changes = {"email": {"before": "a@x.io", "after": "b@x.io"}}
    updated = _written(
        ContactUpdated,
        {"contact_id": "c-1", "version": 2, "changes": changes, "import_job_id": JOB},
    )
    for kind, value in ((ContactCreated, _created("c-1", JOB)), (ContactUpdated, updated)):
        declared = messages[kind.event_type]["headers"]["properties"]
        sent = dict(structured_headers(value, None))
        assert set(sent) == set(declared) == {"content-type", "ce_type", IMPORT_JOB_HEADER}
        assert sent["ce_type"].decode() == declared["ce_type"]["const"]
    # Other events' messages name no job header, as the relay sends none with them.
    assert IMPORT_JOB_HEADER not in messages[ContactsImported.event_type]["headers"]["properties"]
