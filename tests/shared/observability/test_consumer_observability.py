"""The consumer: each event's handling logs its id, tenant and trace; lag and outcomes counted."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
from prometheus_client import REGISTRY

from crm_shared.devstack import EmbeddedBroker
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ContactDeleted
from crm_shared.messaging.bus import MessageBus
from crm_shared.messaging.consumer import EventConsumer
from crm_shared.messaging.kafka import ensure_topics
from crm_shared.observability.tracing import configure_tracing
from crm_shared.settings import PlatformSettings
from crm_shared.topics import Topic
from tests.kafka_clients import producer
from tests.polling import cancel_and_wait, eventually
from tests.shared.observability.log_capture import json_logs

pytestmark = pytest.mark.integration

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01"
log = logging.getLogger("crm.test.handler")


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_handling_an_event_logs_in_its_trace_and_the_group_s_metrics_move(
    broker: EmbeddedBroker,
) -> None:
    configure_tracing("test")
    topic = Topic(f"test.obs.{uuid.uuid4().hex[:8]}", 1)
    await ensure_topics(broker.bootstrap_servers, [topic])
    group = f"test-obs-{uuid.uuid4().hex[:8]}"
    traced = EventEnvelope.wrap(
        ContactDeleted(contact_id="c-1", version=1),
        source="crm/test",
        tenant="acme",
        subject="c-1",
        traceparent=TRACEPARENT,
    )
    handled: list[str] = []

    async def on_deleted(event: ContactDeleted, envelope: EventEnvelope) -> None:
        log.info("handling the deletion")
        handled.append(envelope.id)

    consumer = EventConsumer(
        PlatformSettings(kafka_bootstrap_servers=broker.bootstrap_servers),
        group=group,
        topics=[topic.name],
        bus=MessageBus().on(ContactDeleted, on_deleted),
    )
    async with producer(broker.bootstrap_servers) as sender:
        await sender.send_and_wait(topic.name, value=traced.to_bytes(), key=b"c-1")
        await sender.send_and_wait(topic.name, value=b"{not json", key=b"c-2")
    with json_logs() as lines:
        task = asyncio.create_task(consumer.run())
        try:
            await eventually(lambda: handled and consumer.dead_lettered == 1, within=30)
            await eventually(
                lambda: (
                    REGISTRY.get_sample_value(
                        "crm_consumer_lag", {"group": group, "topic": topic.name, "partition": "0"}
                    )
                    == 0
                ),
                within=10,
                what="the lag of the partition, read up to its end",
            )
        finally:
            await cancel_and_wait(task)

    (line,) = [line for line in lines.parsed() if line["message"] == "handling the deletion"]
    assert (line["event_id"], line["tenant"], line["trace_id"]) == (traced.id, "acme", TRACE_ID)
    assert _sample("crm_consumer_messages_total", group=group, outcome="handled") == 1
    assert _sample("crm_dead_lettered_messages_total", group=group, reason="malformed-json") == 1
