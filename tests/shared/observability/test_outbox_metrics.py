"""The relay's metrics: the outbox backlog, the age of its oldest entry, what it published."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY

from crm_shared.envelope import EventEnvelope
from crm_shared.events import ContactDeleted
from crm_shared.messaging import relay as relay_module
from crm_shared.messaging.relay import OutboxRelay
from crm_shared.outbox import outgoing
from crm_shared.storage import OutgoingEvent
from crm_shared.storage.memory import MemoryStore


class _Batch:
    """A record batch that takes every record (the relay hands the producer one per partition)."""

    def __init__(self) -> None:
        self.values: list[bytes | None] = []

    def append(self, *, timestamp: Any, key: Any, value: bytes | None, headers: Any) -> object:
        self.values.append(value)
        return object()

    def close(self) -> None:
        return None


class _AcceptingProducer:
    """Acknowledges every send at once (the broker is not what these tests are about)."""

    def __init__(self) -> None:
        self.sent: list[bytes | None] = []

    async def partitions_for(self, topic: str) -> set[int]:
        return {0, 1, 2}

    def create_batch(self) -> _Batch:
        return _Batch()

    async def send_batch(
        self, batch: _Batch, topic: str, *, partition: int
    ) -> asyncio.Future[None]:
        self.sent.extend(batch.values)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(
        self, topic: str, *, value: bytes, key: Any, headers: Any
    ) -> asyncio.Future[None]:
        self.sent.append(value)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def _value(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def _store_with(events: int) -> MemoryStore:
    store = MemoryStore()
    await store.start([])
    async with store.transaction() as session:
        await session.add_events(
            [
                OutgoingEvent(
                    topic="crm.contacts.events.v1",
                    key=f"c{i}",
                    envelope=EventEnvelope.wrap(
                        ContactDeleted(contact_id=f"c{i}", version=1),
                        source="crm/test",
                        tenant="acme",
                        subject=f"c{i}",
                    ),
                )
                for i in range(events)
            ]
        )
    return store


async def test_the_backlog_counts_every_pending_entry_even_beyond_one_batch() -> None:
    store = await _store_with(7)
    producer = _AcceptingProducer()
    relay = OutboxRelay(store, lambda: producer, batch_size=3)  # type: ignore[arg-type, return-value]
    await asyncio.sleep(0.02)
    published_before = _value("crm_outbox_published_total")

    assert await relay.publish_pending() == 3
    assert _value("crm_outbox_backlog") == 4  # 7 counted when read, 3 of them then published
    assert _value("crm_outbox_oldest_age_seconds") >= 0.02

    while await relay.publish_pending():
        pass
    assert _value("crm_outbox_backlog") == 0
    assert _value("crm_outbox_oldest_age_seconds") == 0
    assert _value("crm_outbox_published_total") - published_before == 7
    assert len(producer.sent) == 7


async def test_with_an_exporter_each_traced_event_gets_a_publish_span_in_its_write_s_trace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    monkeypatch.setattr(relay_module, "tracer", lambda: provider.get_tracer("test"))
    monkeypatch.setattr(relay_module, "spans_exported", lambda: True)
    store = MemoryStore()
    await store.start([])
    with provider.get_tracer("test").start_as_current_span("write") as write:
        event = outgoing(
            ContactDeleted(contact_id="c-1", version=1),
            source="crm/test",
            tenant="acme",
            key="c-1",
            actor=None,
        )
    async with store.transaction() as session:
        await session.add_events([event])
    relay = OutboxRelay(store, _AcceptingProducer, batch_size=10)  # type: ignore[arg-type]

    assert await relay.publish_pending() == 1
    (span,) = [s for s in exported.get_finished_spans() if s.name.startswith("publish")]
    assert span.name == "publish crm.contacts.events.v1"
    assert span.context.trace_id == write.get_span_context().trace_id
    assert span.parent is not None and span.parent.span_id == write.get_span_context().span_id
