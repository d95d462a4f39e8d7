"""The event consumer on the embedded broker: retries, dead letters, no stuck partition."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from crm_shared.devstack import EmbeddedBroker
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ContactDeleted
from crm_shared.messaging.consumer import EventConsumer, RetryPolicy
from crm_shared.settings import PlatformSettings
from crm_shared.topics import DEAD_LETTERS, Topic
from tests.kafka_clients import first_record, producer, reader
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


async def _publish(broker: EmbeddedBroker, topic: str, values: list[bytes]) -> None:
    async with producer(broker.bootstrap_servers) as sender:
        for value in values:
            await sender.send_and_wait(topic, value=value, key=b"k")


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
        handler=handler,
        retry=RetryPolicy(attempts=3, first_backoff=0.01, max_backoff=0.02),
    )
    await _publish(broker, topic, [poison.to_bytes(), good.to_bytes(), b"not json at all"])
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(lambda: handled == ["good"] and consumer.dead_lettered == 2)
        assert attempts.count("poison") == 3
        headers = await _dead_letters_with(broker, poison.id.encode())
        assert b"cannot handle this one" in headers["dlq.error"]
        assert headers["dlq.topic"] == topic.encode()
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

    async def run_until(target: list[str], count: int) -> None:
        async def handler(envelope: EventEnvelope) -> None:
            target.append(envelope.id)

        consumer = EventConsumer(settings, group=group, topics=[topic], handler=handler)
        task = asyncio.create_task(consumer.run())
        try:
            await eventually(lambda: len(target) >= count)
            await asyncio.sleep(0.3)
        finally:
            await cancel_and_wait(task)

    batch_one = [_envelope(f"a{i}") for i in range(5)]
    await _publish(broker, topic, [e.to_bytes() for e in batch_one])
    await run_until(first_run, 5)
    batch_two = [_envelope(f"b{i}") for i in range(5)]
    await _publish(broker, topic, [e.to_bytes() for e in batch_two])
    await run_until(second_run, 5)

    assert first_run == [e.id for e in batch_one]
    assert second_run == [e.id for e in batch_two]
