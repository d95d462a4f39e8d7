"""Group membership on the embedded broker: a restart that forgets every group, a member that
stops in the broker's first generation."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from crm_shared.devstack import EmbeddedBroker
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ContactDeleted
from crm_shared.messaging.bus import MessageBus
from crm_shared.messaging.consumer import EventConsumer
from crm_shared.messaging.kafka import ensure_topics, stop_within
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


async def _members(broker: EmbeddedBroker, group: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([group])
    finally:
        await stop_within(admin.close, what="test admin client")
    (described,) = response.groups
    return [member[0] for member in described[5]]


async def test_a_consumer_that_stops_in_the_first_generation_leaves_its_group(
    broker: EmbeddedBroker,
) -> None:
    """Tansu numbers a group's first generation 0, from which aiokafka sends no LeaveGroup: the
    stopped member stayed in the group with its partitions until its session timed out, and
    whoever took its place (a restarted service) read none of them meanwhile."""
    topic = Topic(f"test.leave.{uuid.uuid4().hex[:8]}", 3)
    await ensure_topics(broker.bootstrap_servers, [topic])
    group = f"test-{uuid.uuid4().hex[:8]}"
    # A session long enough that the broker cannot have timed the member out by the check.
    settings = PlatformSettings(
        kafka_bootstrap_servers=broker.bootstrap_servers, kafka_session_timeout_ms=6000
    )

    handled: list[str] = []

    async def on_deleted(event: ContactDeleted, envelope: EventEnvelope) -> None:
        handled.append(envelope.id)

    consumer = EventConsumer(
        settings, group=group, topics=[topic.name], bus=MessageBus().on(ContactDeleted, on_deleted)
    )
    task = asyncio.create_task(consumer.run())
    try:
        await _publish(broker, topic.name, _envelope("joined"))
        await eventually(lambda: handled, within=30, what="the consumer to have joined")
        assert len(await _members(broker, group)) == 1
    finally:
        await cancel_and_wait(task)

    assert await _members(broker, group) == []
