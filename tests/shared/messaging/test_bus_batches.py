"""Batch handlers: many messages in one call, each message's failure its own."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from crm_shared.envelope import EventEnvelope
from crm_shared.events import ActivityRecorded, ContactDeleted
from crm_shared.messaging.bus import MessageBus
from crm_shared.messaging.errors import PermanentMessageError


class Gone(Exception):
    """A domain error meaning the message no longer applies."""


def _activity(event_id: str, summary: str, **data: Any) -> EventEnvelope:
    payload = {
        "contact_id": "c1",
        "activity_type": "email",
        "occurred_at": "2025-01-01T10:00:00Z",
        "summary": summary,
        **data,
    }
    return EventEnvelope(
        id=event_id,
        source="crm/mailer",
        type=ActivityRecorded.event_type,
        time=datetime(2025, 1, 1, tzinfo=UTC),
        tenant="acme",
        data=payload,
    )


def _deleted(event_id: str) -> EventEnvelope:
    return EventEnvelope.wrap(
        ContactDeleted(contact_id="c1", version=2),
        source="crm/contacts",
        tenant="acme",
        subject="c1",
    ).model_copy(update={"id": event_id})


class Recorder:
    """A batch handler that notes each call; summaries starting with '!' fail on their own."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    async def __call__(
        self, batch: Sequence[tuple[ActivityRecorded, EventEnvelope]]
    ) -> Sequence[object]:
        self.calls.append([envelope.id for _, envelope in batch])
        results: list[object] = []
        for event, _ in batch:
            if event.summary == "!gone":
                results.append(Gone())
            elif event.summary.startswith("!"):
                results.append(PermanentMessageError("unknown-contact", fields=("contact_id",)))
            else:
                results.append(event.summary.upper())
        return results


def _bus(recorder: Recorder) -> MessageBus:
    return MessageBus(obsolete=(Gone,)).on_many(ActivityRecorded, recorder)


async def test_a_batch_is_one_call_and_each_failure_stays_with_its_message() -> None:
    recorder = Recorder()
    envelopes = [
        _activity("a", "fine"),
        _activity("b", "!nobody"),
        _activity("c", "fine too", occurred_at="not a time"),
        _activity("d", "!gone"),
        _activity("e", "last"),
    ]

    outcomes = await _bus(recorder).handle_many(envelopes)

    assert recorder.calls == [["a", "b", "d", "e"]]  # c never parsed, so not handed over
    assert outcomes[0] is None and outcomes[3] is None and outcomes[4] is None
    refused, invalid = outcomes[1], outcomes[2]
    assert isinstance(refused, PermanentMessageError) and refused.reason == "unknown-contact"
    assert isinstance(invalid, PermanentMessageError) and invalid.fields == ("data.occurred_at",)


async def test_one_message_goes_through_the_batch_handler_as_a_batch_of_one() -> None:
    recorder = Recorder()
    bus = _bus(recorder)

    assert await bus.dispatch(_activity("a", "fine")) == "FINE"
    with pytest.raises(PermanentMessageError):
        await bus.dispatch(_activity("b", "!nobody"))
    await bus.handle(_activity("d", "!gone"))  # obsolete: dropped by a consumer

    assert recorder.calls == [["a"], ["b"], ["d"]]
    assert bus.batches(ActivityRecorded.event_type)


async def test_an_error_of_the_whole_batch_is_raised_for_the_caller_to_retry() -> None:
    async def broken(batch: Sequence[tuple[ActivityRecorded, EventEnvelope]]) -> Sequence[object]:
        raise ConnectionError("store down")

    bus = MessageBus().on_many(ActivityRecorded, broken)

    with pytest.raises(ConnectionError):
        await bus.handle_many([_activity("a", "fine")])


async def test_a_type_without_a_batch_handler_is_not_taken_in_a_batch() -> None:
    async def on_deleted(event: ContactDeleted, envelope: EventEnvelope) -> None:
        return None

    bus = _bus(Recorder()).on(ContactDeleted, on_deleted)

    assert not bus.batches(ContactDeleted.event_type)
    with pytest.raises(ValueError, match="no batch handler"):
        await bus.handle_many([_activity("a", "fine"), _deleted("x")])


async def test_one_handler_of_several_types_takes_a_mixed_run_in_one_call() -> None:
    calls: list[list[str]] = []

    async def on_any(batch: Sequence[tuple[Any, EventEnvelope]]) -> Sequence[object]:
        calls.append([envelope.id for _, envelope in batch])
        return [None] * len(batch)

    bus = MessageBus().on_many(ActivityRecorded, on_any).on_many(ContactDeleted, on_any)

    outcomes = await bus.handle_many([_activity("a", "x"), _deleted("b"), _activity("c", "y")])

    assert calls == [["a", "b", "c"]] and outcomes == [None, None, None]


async def test_handlers_of_different_types_each_take_their_own_run_in_order() -> None:
    calls: list[list[str]] = []

    async def on_activities(batch: Sequence[tuple[Any, EventEnvelope]]) -> Sequence[object]:
        calls.append([envelope.id for _, envelope in batch])
        return [None] * len(batch)

    async def on_deleted(batch: Sequence[tuple[Any, EventEnvelope]]) -> Sequence[object]:
        calls.append([envelope.id for _, envelope in batch])
        return [None] * len(batch)

    bus = MessageBus().on_many(ActivityRecorded, on_activities).on_many(ContactDeleted, on_deleted)

    await bus.handle_many([_activity("a", "x"), _deleted("b"), _activity("c", "y")])

    assert calls == [["a"], ["b"], ["c"]]
