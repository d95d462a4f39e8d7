"""A consumer outlives a restart of the in-memory embedded broker, which forgets every group."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer

from crm_shared.devstack import EmbeddedBroker
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ContactDeleted
from crm_shared.messaging.bus import MessageBus
from crm_shared.messaging.consumer import EventConsumer
from crm_shared.messaging.kafka import ensure_topics
from crm_shared.settings import PlatformSettings
from crm_shared.topics import Topic
from tests.kafka_clients import producer
from tests.polling import cancel_and_wait, eventually

pytestmark = pytest.mark.integration


def _envelope(contact_id: str) -> EventEnvelope:
    data = ContactDeleted(contact_id=contact_id, version=1)
    return EventEnvelope.wrap(data, source="crm/test", tenant="acme", subject=contact_id)


async def _publish(broker: EmbeddedBroker, topic: str, envelope: EventEnvelope) -> None:
    async with producer(broker.bootstrap_servers) as sender:
        await sender.send_and_wait(topic, value=envelope.to_bytes(), key=b"k")


class _CountingConsumer(EventConsumer):
    """An EventConsumer that counts the Kafka clients its loop makes."""

    clients = 0

    def _new_consumer(self) -> AIOKafkaConsumer:
        self.clients += 1
        return super()._new_consumer()


async def test_a_commit_the_restarted_broker_refuses_is_read_again_by_the_same_client() -> None:
    """The broker restarts empty while an event is being handled: it no longer knows the group,
    so the commit after the handler is refused. The consumer rejoins with the client it has and
    reads on; it used to stop and start a new client, and the old one rejoined while it stopped
    and stayed in the group as a member that held every partition until the broker timed it out
    (the new client then read nothing for that long)."""
    first = EmbeddedBroker()
    first.start()
    revived: EmbeddedBroker | None = None
    topic = Topic(f"test.refused.{uuid.uuid4().hex[:8]}", 1)
    await ensure_topics(first.bootstrap_servers, [topic])
    handling, release = asyncio.Event(), asyncio.Event()
    handled: list[str] = []

    async def on_deleted(event: ContactDeleted, envelope: EventEnvelope) -> None:
        if envelope.subject == "held":
            handling.set()
            await release.wait()
        handled.append(envelope.subject or "")

    settings = PlatformSettings(kafka_bootstrap_servers=first.bootstrap_servers)
    consumer = _CountingConsumer(
        settings,
        group=f"test-{uuid.uuid4().hex[:8]}",
        topics=[topic.name],
        bus=MessageBus().on(ContactDeleted, on_deleted),
    )
    task = asyncio.create_task(consumer.run())
    try:
        await _publish(first, topic.name, _envelope("held"))
        await eventually(handling.is_set, what="the handler to hold the event")
        await asyncio.to_thread(first.stop)
        revived = EmbeddedBroker(first.port)
        await asyncio.to_thread(revived.start)
        await ensure_topics(revived.bootstrap_servers, [topic])
        release.set()  # its commit now reaches a broker that never heard of the group
        await _publish(revived, topic.name, _envelope("after"))

        await eventually(lambda: "after" in handled, within=30, what="the event after the restart")
        assert handled == ["held", "after"]
        assert consumer.clients == 1
    finally:
        await cancel_and_wait(task)
        for broker in (first, revived):
            if broker is not None:
                await asyncio.to_thread(broker.stop)
