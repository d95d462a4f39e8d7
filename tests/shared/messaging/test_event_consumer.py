"""The event consumer on the embedded broker: retries, dead letters, no stuck partition."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from crm_shared.devstack import EmbeddedBroker
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ContactDeleted
from crm_shared.messaging.consumer import EventConsumer, RetryPolicy
from crm_shared.settings import PlatformSettings
from crm_shared.topics import DEAD_LETTERS, Topic

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
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value=value, key=b"k")
    finally:
        await producer.stop()


async def _wait_until(condition: object, within: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def _dead_letters_with(broker: EmbeddedBroker, marker: bytes) -> list[dict[str, bytes]]:
    consumer = AIOKafkaConsumer(
        DEAD_LETTERS.name,
        bootstrap_servers=broker.bootstrap_servers,
        group_id=f"test-{uuid.uuid4()}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    found: list[dict[str, bytes]] = []
    try:
        deadline = asyncio.get_running_loop().time() + 15
        while not found and asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                found += [dict(r.headers) for r in records if r.value and marker in r.value]
    finally:
        await consumer.stop()
    return found


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
        await _wait_until(lambda: handled == ["good"] and consumer.dead_lettered == 2)
        assert attempts.count("poison") == 3
        headers = await _dead_letters_with(broker, poison.id.encode())
        assert headers and b"cannot handle this one" in headers[0]["dlq.error"]
        assert headers[0]["dlq.topic"] == topic.encode()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


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
            await _wait_until(lambda: len(target) >= count)
            await asyncio.sleep(0.3)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    batch_one = [_envelope(f"a{i}") for i in range(5)]
    await _publish(broker, topic, [e.to_bytes() for e in batch_one])
    await run_until(first_run, 5)
    batch_two = [_envelope(f"b{i}") for i in range(5)]
    await _publish(broker, topic, [e.to_bytes() for e in batch_two])
    await run_until(second_run, 5)

    assert first_run == [e.id for e in batch_one]
    assert second_run == [e.id for e in batch_two]
