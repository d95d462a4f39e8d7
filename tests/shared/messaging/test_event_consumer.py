"""The event consumer on the embedded broker: retries, dead letters, no stuck partition."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from itertools import pairwise

import pytest
from aiokafka import TopicPartition

from crm_shared.cloudevents import binary_record
from crm_shared.devstack import EmbeddedBroker
from crm_shared.envelope import CONTENT_TYPE, EventEnvelope
from crm_shared.events import ActivityRecorded, ContactDeleted, ImportContactsBatch
from crm_shared.ids import new_id
from crm_shared.messaging.bus import MessageBus
from crm_shared.messaging.consumer import EventConsumer, RetryPolicy
from crm_shared.messaging.errors import PermanentMessageError
from crm_shared.settings import PlatformSettings
from crm_shared.storage import ConcurrentWriteError
from crm_shared.topics import DEAD_LETTERS, Topic
from tests.kafka_clients import committed_offset, first_record, producer, reader
from tests.polling import cancel_and_wait, eventually

pytestmark = pytest.mark.integration


async def _new_topic(broker: EmbeddedBroker) -> str:
    from crm_shared.messaging.kafka import ensure_topics

    topic = Topic(f"test.consumer.{uuid.uuid4().hex[:8]}", 1)
    await ensure_topics(broker.bootstrap_servers, [topic])
    return topic.name


def _envelope(contact_id: str) -> EventEnvelope:
    data = ContactDeleted(contact_id=contact_id, version=1)
    return EventEnvelope.wrap(data, source="crm/test", tenant="acme", subject=contact_id)


def _bus_of(handler: Callable[[EventEnvelope], Awaitable[None]]) -> MessageBus:
    async def on_deleted(event: ContactDeleted, envelope: EventEnvelope) -> None:
        await handler(envelope)

    return MessageBus().on(ContactDeleted, on_deleted)


async def _publish(
    broker: EmbeddedBroker,
    topic: str,
    values: list[bytes],
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    async with producer(broker.bootstrap_servers) as sender:
        for value in values:
            await sender.send_and_wait(topic, value=value, key=b"k", headers=headers)


async def _dead_letters_with(broker: EmbeddedBroker, marker: bytes) -> dict[str, bytes]:
    async with reader(broker.bootstrap_servers, DEAD_LETTERS.name) as consumer:
        record = await first_record(
            consumer,
            lambda r: bool(r.value and marker in r.value),
            within=15,
            what="the dead letter",
        )
    return dict(record.headers)


async def test_failing_event_is_dead_lettered_and_the_partition_moves_on(
    broker: EmbeddedBroker,
) -> None:
    topic = await _new_topic(broker)
    poison, good = _envelope("poison"), _envelope("good")
    handled: list[str] = []
    attempts: list[str] = []

    async def handler(envelope: EventEnvelope) -> None:
        attempts.append(envelope.subject or "")
        if envelope.subject == "poison":
            raise RuntimeError("cannot handle this one")
        handled.append(envelope.subject or "")

    settings = PlatformSettings(kafka_bootstrap_servers=broker.bootstrap_servers)
    consumer = EventConsumer(
        settings,
        group=f"test-{uuid.uuid4().hex[:8]}",
        topics=[topic],
        bus=_bus_of(handler),
        retry=RetryPolicy(attempts=3, first_backoff=0.01, max_backoff=0.02),
    )
    await _publish(broker, topic, [poison.to_bytes(), good.to_bytes(), b"not json at all"])
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(lambda: handled == ["good"] and consumer.dead_lettered == 2)
        assert attempts.count("poison") == 3
        headers = await _dead_letters_with(broker, poison.id.encode())
        assert headers["dlq.reason"] == b"retries-exhausted"
        assert (headers["dlq.error"], headers["dlq.attempts"]) == (b"RuntimeError", b"3")
        assert headers["dlq.topic"] == topic.encode()
        assert headers["content-type"] == CONTENT_TYPE.encode()
        # Exception messages may quote personal data: only the type name is kept.
        assert not any(b"cannot handle" in value for value in headers.values())
    finally:
        await cancel_and_wait(task)


async def test_a_restarted_consumer_resumes_after_the_last_committed_offset(
    broker: EmbeddedBroker,
) -> None:
    topic = await _new_topic(broker)
    group = f"test-{uuid.uuid4().hex[:8]}"
    settings = PlatformSettings(kafka_bootstrap_servers=broker.bootstrap_servers)
    first_run: list[str] = []
    second_run: list[str] = []

    async def run_until(target: list[str], count: int, *, committed: int) -> None:
        async def handler(envelope: EventEnvelope) -> None:
            target.append(envelope.id)

        async def commit_held() -> int | None:
            return await committed_offset(broker.bootstrap_servers, group, TopicPartition(topic, 0))

        def reached(offset: int | None) -> bool:
            return offset == committed

        consumer = EventConsumer(settings, group=group, topics=[topic], bus=_bus_of(handler))
        task = asyncio.create_task(consumer.run())
        try:
            await eventually(lambda: len(target) >= count)
            # Stopped once the broker holds the group's commit of what it handled: a commit
            # still in flight when the task is cancelled is lost, and the next member reads the
            # batch again (a fixed 0.3 s here was shorter than a commit on a loaded machine).
            await eventually(commit_held, reached, what=f"the commit of offset {committed}")
        finally:
            await cancel_and_wait(task)

    batch_one = [_envelope(f"a{i}") for i in range(5)]
    await _publish(broker, topic, [e.to_bytes() for e in batch_one])
    await run_until(first_run, 5, committed=5)
    batch_two = [_envelope(f"b{i}") for i in range(5)]
    await _publish(broker, topic, [e.to_bytes() for e in batch_two])
    await run_until(second_run, 5, committed=10)

    assert first_run == [e.id for e in batch_one]
    assert second_run == [e.id for e in batch_two]


async def test_a_consumer_reads_its_topic_again_after_the_embedded_broker_restarted_empty() -> None:
    """The embedded broker keeps everything in memory: restarted, it has no topics until a
    service creates them again. A consumer that was reading, and found its topic gone for a
    while, reads what is published once the topic is back (with no restart of its own)."""
    from crm_shared.messaging.kafka import ensure_topics

    first = EmbeddedBroker()
    first.start()
    port, revived = first.port, None
    topic = Topic(f"test.restart.{uuid.uuid4().hex[:8]}", 1)
    settings = PlatformSettings(
        kafka_bootstrap_servers=first.bootstrap_servers, kafka_metadata_max_age_ms=1000
    )
    handled: list[str] = []

    async def handler(envelope: EventEnvelope) -> None:
        handled.append(envelope.id)

    await ensure_topics(first.bootstrap_servers, [topic])
    group = f"test-{uuid.uuid4().hex[:8]}"
    consumer = EventConsumer(settings, group=group, topics=[topic.name], bus=_bus_of(handler))
    task = asyncio.create_task(consumer.run())
    try:
        before = _envelope("before")
        await _publish(first, topic.name, [before.to_bytes()])
        await eventually(lambda: list(handled), lambda ids: ids == [before.id], within=30)
        await asyncio.to_thread(first.stop)
        revived = EmbeddedBroker(port)
        await asyncio.to_thread(revived.start)
        await asyncio.sleep(4.0)  # the consumer is back on the empty broker: its topic is gone
        await ensure_topics(revived.bootstrap_servers, [topic])
        after = _envelope("after")
        await _publish(revived, topic.name, [after.to_bytes()])
        await eventually(
            lambda: list(handled), lambda ids: ids[-1:] == [after.id], within=20, what="after"
        )
    finally:
        await cancel_and_wait(task)
        for broker in (first, revived):
            if broker is not None:
                await asyncio.to_thread(broker.stop)


SECRET = "Divorce lawyer call, ada@example.com"


def _activity_record(**changes: object) -> EventEnvelope:
    data = ActivityRecorded(
        contact_id="c-1",
        activity_type="conversation",
        occurred_at=datetime(2025, 3, 1, tzinfo=UTC),
        summary=SECRET,
    ).model_dump(mode="json")
    envelope = EventEnvelope(
        id=new_id(),
        source="crm/chat",
        type=ActivityRecorded.event_type,
        time=datetime(2025, 3, 1, tzinfo=UTC),
        subject="c-1",
        tenant="acme",
        data=data,
    )
    return envelope.model_copy(update={"data": {**data, **changes}})


async def test_a_schema_invalid_message_is_dead_lettered_at_once_naming_fields_not_values(
    broker: EmbeddedBroker,
) -> None:
    topic = await _new_topic(broker)
    invalid = _activity_record(summary=None, occurred_at=SECRET)
    unknown = _activity_record(contact_id="c-unknown")
    good = _activity_record()
    handled: list[str] = []

    async def on_activity(event: ActivityRecorded, envelope: EventEnvelope) -> None:
        if event.contact_id == "c-unknown":
            raise PermanentMessageError("unknown-contact", fields=("data.contact_id",))
        handled.append(envelope.id)

    settings = PlatformSettings(kafka_bootstrap_servers=broker.bootstrap_servers)
    # The default policy: five attempts with backoff, about 3 s for a message that keeps failing.
    consumer = EventConsumer(
        settings,
        group=f"test-{uuid.uuid4().hex[:8]}",
        topics=[topic],
        bus=MessageBus().on(ActivityRecorded, on_activity),
    )
    await _publish(broker, topic, [e.to_bytes() for e in (invalid, unknown, good)])
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(lambda: handled == [good.id] and consumer.dead_lettered == 2)
        schema = await _dead_letters_with(broker, invalid.id.encode())
        permanent = await _dead_letters_with(broker, unknown.id.encode())
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    assert schema["dlq.reason"] == b"schema-invalid"
    assert schema["dlq.fields"] == b"data.occurred_at,data.summary"
    assert schema["dlq.attempts"] == b"1"
    assert (permanent["dlq.reason"], permanent["dlq.fields"]) == (
        b"unknown-contact",
        b"data.contact_id",
    )
    assert permanent["dlq.attempts"] == b"1"
    for headers in (schema, permanent):
        assert not any(b"ada@example.com" in v or b"Divorce" in v for v in headers.values())


async def test_a_refused_batch_quoting_personal_values_leaves_them_out_of_headers_and_logs(
    broker: EmbeddedBroker, caplog: pytest.LogCaptureFixture
) -> None:
    topic = await _new_topic(broker)
    email, name = "grace.hopper@example.com", "Grace Hopper"
    # The values sit where pydantic names them in a `loc`: dict keys (the sender's choice).
    rows = [
        {"row_number": 1, "name": name, "external_ids": {email: 5}},
        {"row_number": 2, "custom_fields": {}, "external_ids": {"crm": [name]}, "tags": [7]},
    ]
    batch = EventEnvelope(
        id=new_id(),
        source="crm/importer",
        type=ImportContactsBatch.event_type,
        time=datetime(2025, 3, 1, tzinfo=UTC),
        tenant="acme",
        data={"job_id": "j-1", "batch_no": 1, "on_duplicate": "skip", "rows": rows},
    )

    async def on_batch(event: ImportContactsBatch, envelope: EventEnvelope) -> None:
        raise AssertionError("a schema-invalid batch reaches no handler")

    settings = PlatformSettings(kafka_bootstrap_servers=broker.bootstrap_servers)
    consumer = EventConsumer(
        settings,
        group=f"test-{uuid.uuid4().hex[:8]}",
        topics=[topic],
        bus=MessageBus().on(ImportContactsBatch, on_batch),
    )
    await _publish(broker, topic, [batch.to_bytes()])
    task = asyncio.create_task(consumer.run())
    try:
        with caplog.at_level(logging.DEBUG):
            await eventually(lambda: consumer.dead_lettered == 1)
        refused = await _dead_letters_with(broker, batch.id.encode())
    finally:
        await cancel_and_wait(task)

    assert refused["dlq.reason"] == b"schema-invalid"
    # Every dict key is the sender's choice, a system's name as much as an email.
    assert refused["dlq.fields"] == (
        b"data.rows.0.external_ids.*,data.rows.1.external_ids.*,data.rows.1.tags.0"
    )
    assert refused["dlq.kinds"] == (
        b"data.rows.0.external_ids.*:string_type,data.rows.1.external_ids.*:string_type,"
        b"data.rows.1.tags.0:string_type"
    )
    headers = b"".join(value for key, value in refused.items() if key.startswith("dlq."))
    # The platform's own lines (the Kafka client's debug output quotes whole records).
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("crm"))
    assert "schema-invalid" in logged and "data.rows.0.external_ids.*" in logged
    for secret in (email, name, email.split("@")[0], "Grace", "Hopper"):
        assert secret.encode() not in headers
        assert secret not in logged


async def test_a_transient_error_is_retried_with_backoff_and_not_dead_lettered(
    broker: EmbeddedBroker,
) -> None:
    topic = await _new_topic(broker)
    flaky = _envelope("flaky")
    attempts: list[float] = []

    async def handler(envelope: EventEnvelope) -> None:
        attempts.append(asyncio.get_running_loop().time())
        if len(attempts) < 3:
            raise ConcurrentWriteError("another writer committed first")

    settings = PlatformSettings(kafka_bootstrap_servers=broker.bootstrap_servers)
    consumer = EventConsumer(
        settings,
        group=f"test-{uuid.uuid4().hex[:8]}",
        topics=[topic],
        bus=_bus_of(handler),
        retry=RetryPolicy(attempts=5, first_backoff=0.1, max_backoff=1.0),
    )
    await _publish(broker, topic, [flaky.to_bytes()])
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(lambda: consumer.handled == 1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    assert len(attempts) == 3 and consumer.dead_lettered == 0
    gaps = [later - earlier for earlier, later in pairwise(attempts)]
    assert gaps[0] >= 0.09 and gaps[1] >= 0.19  # the backoff doubles from first_backoff


async def test_a_binary_mode_event_is_handled_like_a_structured_one(
    broker: EmbeddedBroker,
) -> None:
    topic = await _new_topic(broker)
    structured, binary = _envelope("structured"), _envelope("binary")
    handled: list[EventEnvelope] = []

    async def handler(envelope: EventEnvelope) -> None:
        handled.append(envelope)

    settings = PlatformSettings(kafka_bootstrap_servers=broker.bootstrap_servers)
    consumer = EventConsumer(
        settings, group=f"test-{uuid.uuid4().hex[:8]}", topics=[topic], bus=_bus_of(handler)
    )
    await _publish(
        broker, topic, [structured.to_bytes()], [("content-type", CONTENT_TYPE.encode())]
    )
    value, headers = binary_record(binary)
    await _publish(broker, topic, [value], headers)
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(lambda: len(handled) == 2)
    finally:
        await cancel_and_wait(task)

    assert handled == [structured, binary] and consumer.dead_lettered == 0


async def test_a_polls_batchable_records_go_in_one_call_and_fail_alone(
    broker: EmbeddedBroker,
) -> None:
    topic = await _new_topic(broker)
    first, unknown, last = (
        _activity_record(),
        _activity_record(contact_id="c-unknown"),
        _activity_record(),
    )
    calls: list[list[str]] = []

    async def on_activities(
        batch: Sequence[tuple[ActivityRecorded, EventEnvelope]],
    ) -> Sequence[object]:
        calls.append([envelope.id for _, envelope in batch])
        return [
            PermanentMessageError("unknown-contact", fields=("data.contact_id",))
            if event.contact_id == "c-unknown"
            else None
            for event, _ in batch
        ]

    settings = PlatformSettings(kafka_bootstrap_servers=broker.bootstrap_servers)
    consumer = EventConsumer(
        settings,
        group=f"test-{uuid.uuid4().hex[:8]}",
        topics=[topic],
        bus=MessageBus().on_many(ActivityRecorded, on_activities),
    )
    # Published before the consumer starts, so its first poll holds all three.
    await _publish(broker, topic, [e.to_bytes() for e in (first, unknown, last)])
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(lambda: consumer.handled == 2 and consumer.dead_lettered == 1)
        refused = await _dead_letters_with(broker, unknown.id.encode())
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    assert calls == [[first.id, unknown.id, last.id]]
    assert (refused["dlq.reason"], refused["dlq.attempts"]) == (b"unknown-contact", b"1")


async def test_records_of_types_the_group_ignores_do_not_break_up_a_batch(
    broker: EmbeddedBroker,
) -> None:
    topic = await _new_topic(broker)
    first, other, last = _activity_record(), _envelope("c-9"), _activity_record()
    calls: list[list[str]] = []

    async def on_activities(
        batch: Sequence[tuple[ActivityRecorded, EventEnvelope]],
    ) -> Sequence[object]:
        calls.append([envelope.id for _, envelope in batch])
        return [None] * len(batch)

    settings = PlatformSettings(kafka_bootstrap_servers=broker.bootstrap_servers)
    consumer = EventConsumer(
        settings,
        group=f"test-{uuid.uuid4().hex[:8]}",
        topics=[topic],
        bus=MessageBus().on_many(ActivityRecorded, on_activities),
    )
    # One poll: two activities around a contact event this group does not handle.
    await _publish(broker, topic, [e.to_bytes() for e in (first, other, last)])
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(lambda: consumer.handled == 2 and consumer.ignored == 1)
    finally:
        await cancel_and_wait(task)

    assert calls == [[first.id, last.id]]


async def test_a_batch_that_fails_as_a_whole_is_retried_one_record_at_a_time(
    broker: EmbeddedBroker,
) -> None:
    topic = await _new_topic(broker)
    records = [_activity_record() for _ in range(3)]
    calls: list[int] = []

    async def on_activities(
        batch: Sequence[tuple[ActivityRecorded, EventEnvelope]],
    ) -> Sequence[object]:
        calls.append(len(batch))
        if len(batch) > 1:
            raise ConcurrentWriteError("the batch's transaction lost a race")
        return [None]

    settings = PlatformSettings(kafka_bootstrap_servers=broker.bootstrap_servers)
    consumer = EventConsumer(
        settings,
        group=f"test-{uuid.uuid4().hex[:8]}",
        topics=[topic],
        bus=MessageBus().on_many(ActivityRecorded, on_activities),
    )
    await _publish(broker, topic, [e.to_bytes() for e in records])
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(lambda: consumer.handled == 3)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    assert calls == [3, 1, 1, 1]
    assert consumer.dead_lettered == 0
