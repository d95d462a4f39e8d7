"""The message bus: one table from message types to handlers, parse errors made permanent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from crm_shared.envelope import EventEnvelope
from crm_shared.events import (
    ActivityRecorded,
    ContactCreated,
    ContactDeleted,
    ContactUpdated,
    ImportContactsBatch,
    NoteAdded,
    envelope_in_import_summary,
)
from crm_shared.messaging.bus import MessageBus
from crm_shared.messaging.consumer import parse_record
from crm_shared.messaging.errors import PermanentMessageError, declared_names

SECRET_SUMMARY = "Call with ada@example.com about her divorce"


class Gone(Exception):
    """A domain error meaning the message no longer applies."""


def _activity(**data: Any) -> EventEnvelope:
    payload = {
        "contact_id": "c1",
        "activity_type": "email",
        "occurred_at": "2025-01-01T10:00:00Z",
        "summary": SECRET_SUMMARY,
        **data,
    }
    return EventEnvelope(
        id="e1",
        source="crm/mailer",
        type=ActivityRecorded.event_type,
        time=datetime(2025, 1, 1, tzinfo=UTC),
        tenant="acme",
        data=payload,
    )


def _recording_bus(seen: list[tuple[str, str]]) -> MessageBus:
    async def on_activity(event: ActivityRecorded, envelope: EventEnvelope) -> str:
        seen.append((event.summary, envelope.tenant))
        return "recorded"

    async def on_deleted(event: ContactDeleted, envelope: EventEnvelope) -> None:
        raise Gone(event.contact_id)

    return (
        MessageBus(obsolete=(Gone,))
        .on(ActivityRecorded, on_activity)
        .on(ContactDeleted, on_deleted)
    )


async def test_dispatch_runs_the_handler_of_the_type_with_the_parsed_message() -> None:
    seen: list[tuple[str, str]] = []

    result = await _recording_bus(seen).dispatch(_activity())

    assert result == "recorded"
    assert seen == [(SECRET_SUMMARY, "acme")]


async def test_a_type_not_in_the_table_is_ignored() -> None:
    seen: list[tuple[str, str]] = []
    bus = _recording_bus(seen)
    note = EventEnvelope.wrap(
        NoteAdded(contact_id="c1", note_id="n1"), source="crm/timeline", tenant="acme", subject="c1"
    )

    assert not bus.handles(note.type)
    assert await bus.dispatch(note) is None
    await bus.handle(note)
    assert seen == []


async def test_a_schema_invalid_payload_is_permanent_naming_fields_without_values() -> None:
    bus = _recording_bus([])
    invalid = _activity(occurred_at="not a time", summary=None, activity_type=SECRET_SUMMARY)

    with pytest.raises(PermanentMessageError) as raised:
        await bus.handle(invalid)

    error = raised.value
    assert error.reason == "schema-invalid"
    assert error.fields == ("data.activity_type", "data.occurred_at", "data.summary")
    assert "not a time" not in str(error) and SECRET_SUMMARY not in str(error)
    assert error.__cause__ is None and error.__suppress_context__  # no input in a traceback


async def test_a_message_without_tenant_is_permanent() -> None:
    envelope = _activity().model_copy(update={"tenant": " "})

    with pytest.raises(PermanentMessageError) as raised:
        await _recording_bus([]).handle(envelope)

    assert (raised.value.reason, raised.value.fields) == ("unknown-tenant", ("tenant",))


async def test_handle_drops_an_obsolete_message_and_dispatch_raises_it() -> None:
    bus = _recording_bus([])
    deleted = EventEnvelope.wrap(
        ContactDeleted(contact_id="c1", version=2),
        source="crm/contacts",
        tenant="acme",
        subject="c1",
    )

    await bus.handle(deleted)
    with pytest.raises(Gone):
        await bus.dispatch(deleted)


def test_a_type_gets_one_handler_only() -> None:
    async def handler(event: ContactDeleted, envelope: EventEnvelope) -> None:
        return None

    bus = MessageBus().on(ContactDeleted, handler)

    with pytest.raises(ValueError, match="already has a handler"):
        bus.on(ContactDeleted, handler)
    assert bus.event_types == {ContactDeleted.event_type}


@pytest.mark.parametrize(
    ("value", "reason", "fields"),
    [
        (b"not json at all", "malformed-json", ()),
        (None, "malformed-json", ()),
        (
            b'{"id": "e1", "type": "x", "source": "s", "tenant": "acme", "data": {}}',
            "malformed-envelope",
            ("time",),
        ),
        (
            b'{"id": "", "type": "x", "source": "s", "time": "2025-01-01T00:00:00Z",'
            b' "tenant": "ada@example.com", "data": []}',
            "malformed-envelope",
            ("data", "id"),
        ),
    ],
    ids=["not-json", "empty", "no-time", "bad-id-and-data"],
)
def test_a_record_that_is_not_an_envelope_is_permanent(
    value: bytes | None, reason: str, fields: tuple[str, ...]
) -> None:
    with pytest.raises(PermanentMessageError) as raised:
        parse_record(value)

    assert (raised.value.reason, raised.value.fields) == (reason, fields)
    assert "ada@example.com" not in str(raised.value)


def _contact_created(**data: Any) -> EventEnvelope:
    payload = {"contact_id": "c1", "version": 1, "source": "import", "profile": {"name": "Ada"}}
    return EventEnvelope(
        id="e2",
        source="crm/contacts",
        type=ContactCreated.event_type,
        time=datetime(2025, 1, 1, tzinfo=UTC),
        tenant="acme",
        data={**payload, **data},
    )


async def test_a_skipped_message_is_neither_parsed_nor_handled() -> None:
    handled: list[str] = []

    async def on_created(event: ContactCreated, envelope: EventEnvelope) -> None:
        handled.append(event.contact_id)

    bus = MessageBus(skip=envelope_in_import_summary).on(ContactCreated, on_created)
    # Its profile would not validate: skipping must not even parse it.
    imported = _contact_created(import_job_id="job-1", profile={"name": 5})

    assert bus.handles(imported.type) and bus.skips(imported)
    assert bus.parse(imported) is None
    await bus.handle(imported)
    await bus.handle(_contact_created())

    assert handled == ["c1"]  # the API write only


async def test_a_sender_chosen_key_in_a_failing_path_is_shown_as_a_star() -> None:
    async def on_updated(event: ContactUpdated, envelope: EventEnvelope) -> None:
        return None

    bus = MessageBus().on(ContactUpdated, on_updated)
    updated = EventEnvelope(
        id="e1",
        source="crm/contacts",
        type=ContactUpdated.event_type,
        time=datetime(2025, 1, 1, tzinfo=UTC),
        tenant="acme",
        data={
            "contact_id": "c1",
            "version": [2],
            # A field change keyed by a value (and a declared field that is wrong too).
            "changes": {"ada@example.com": "Ada Lovelace", "email": {"before": "x"}},
        },
    )

    with pytest.raises(PermanentMessageError) as raised:
        await bus.handle(updated)

    error = raised.value
    assert error.fields == ("data.changes.*", "data.version")
    assert error.kinds == ("data.changes.*:model_type", "data.version:int_type")
    shown = " ".join((str(error), *error.fields, *error.kinds))
    assert "ada" not in shown and "Lovelace" not in shown


def test_declared_names_hold_the_models_vocabulary_and_nothing_a_sender_sends() -> None:
    names = declared_names(ImportContactsBatch)

    assert {"rows", "row_number", "external_ids", "on_duplicate", "skip", "ImportRow"} <= names
    assert "ada@example.com" not in names
