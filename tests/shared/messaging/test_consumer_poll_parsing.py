"""A poll's records are parsed once, whichever way the consumer then handles them."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import ConsumerRecord, TopicPartition

from crm_shared.envelope import EventEnvelope
from crm_shared.events import ActivityRecorded, ContactDeleted
from crm_shared.messaging.bus import MessageBus
from tests.consumer_fakes import (
    RecordingDeadLetters,
    RecordingOffsets,
    activity_value,
    deleted_value,
    recording_consumer,
)

TP = TopicPartition("test.events", 0)


def _record(offset: int, value: bytes) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(TP.topic, 0, offset, 0, 0, b"k", value, None, 1, len(value), [])


async def test_a_poll_handled_one_by_one_parses_each_record_once(
    parses: list[bytes | None],
) -> None:
    handled: list[str] = []

    async def on_deleted(event: ContactDeleted, envelope: EventEnvelope) -> None:
        handled.append(event.contact_id)

    # Not batchable, and skipping some: the poll's records go one by one.
    bus = MessageBus(skip=lambda envelope: envelope.subject == "skipped").on(
        ContactDeleted, on_deleted
    )
    dead = RecordingDeadLetters()
    consumer = recording_consumer(bus, dead, topic=TP.topic)
    values = [
        deleted_value("skipped"),
        deleted_value("a"),
        b"{not json",
        deleted_value("skipped"),
        deleted_value("b"),
    ]
    records = [_record(offset, value) for offset, value in enumerate(values)]
    offsets = RecordingOffsets()
    await consumer._handle_poll(offsets, {TP: records})  # type: ignore[arg-type]
    assert handled == ["a", "b"]
    assert (consumer.handled, consumer.ignored, consumer.dead_lettered) == (2, 2, 1)
    assert dead.sent == [(b"{not json", "malformed-json")]
    assert offsets.committed == {TP: 5}
    # The malformed record is parsed again on its own, to dead-letter it with its reason; the
    # records before it are not. Those after it are parsed where they are handled, once.
    assert parses.count(values[0]) == 1
    assert parses.count(values[1]) == 1
    assert parses.count(values[2]) == 2
    assert parses.count(values[4]) == 1


async def test_a_batchable_poll_leaves_the_ignored_records_out_and_parses_once(
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
    values = [activity_value("a"), deleted_value("x"), activity_value("b")]
    offsets = RecordingOffsets()
    records = [_record(offset, value) for offset, value in enumerate(values)]
    await consumer._handle_poll(offsets, {TP: records})  # type: ignore[arg-type]
    assert batches == [["a", "b"]]
    assert (consumer.handled, consumer.ignored) == (2, 1)
    assert sorted(parses, key=values.index) == values
    assert offsets.committed == {TP: 3}
