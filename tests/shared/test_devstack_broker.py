"""The embedded broker of the devstack stops at once, even with clients connected."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka import AIOKafkaConsumer

from crm_shared.devstack import EmbeddedBroker
from crm_shared.messaging.kafka import ensure_topics, stop_within
from crm_shared.topics import Topic
from tests.polling import eventually

pytestmark = pytest.mark.integration


async def test_the_embedded_broker_stops_without_serving_its_clients_on() -> None:
    """Tansu answers SIGTERM by serving its open connections for 5 more seconds; the tests stop
    and restart it to play a dead broker, and `make run` stops it on Ctrl-C."""
    broker = EmbeddedBroker()
    broker.start()
    topic = Topic("test.broker-stop", 1)
    await ensure_topics(broker.bootstrap_servers, [topic])
    # A member of a group, fetching: a producer alone does not keep Tansu serving.
    consumer = AIOKafkaConsumer(
        topic.name,
        bootstrap_servers=broker.bootstrap_servers,
        group_id="test-broker-stop",
        session_timeout_ms=2000,
        heartbeat_interval_ms=300,
    )
    try:
        await consumer.start()
        await eventually(
            lambda: consumer.getmany(timeout_ms=100), lambda _: bool(consumer.assignment())
        )
        started = time.monotonic()
        await asyncio.to_thread(broker.stop)
        took = time.monotonic() - started
        # Bounded well under Tansu's 5 s of grace, with room for a busy machine.
        assert took < 3.0, f"the broker took {took:.1f}s to stop"
    finally:
        broker.stop()
        await stop_within(consumer.stop, what="test consumer", within=0.5)
