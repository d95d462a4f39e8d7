"""Publishes committed outbox entries and removes them only after the broker acknowledged them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

import orjson
from aiokafka import AIOKafkaProducer
from opentelemetry import trace

from crm_shared.ids import id_unix_time
from crm_shared.messaging.kafka import stop_within
from crm_shared.messaging.relay_batches import enqueue
from crm_shared.observability import stages
from crm_shared.observability.metrics import OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE, OUTBOX_PUBLISHED
from crm_shared.observability.tracing import context_from, spans_exported, tracer
from crm_shared.storage.port import DocumentStore, PendingEvent

log = logging.getLogger(__name__)

# Key hashes the relay keeps between batches (about 1 MB at most): an import batch's records for
# 1,000 contacts come before their 1,000 state records, two relay batches later.
KEY_HASHES_KEPT = 8192


class OutboxRelay:
    """Drains a store's outbox into Kafka; a dead broker delays events, it never loses them."""

    def __init__(
        self,
        store: DocumentStore,
        producer_factory: Callable[[], AIOKafkaProducer],
        *,
        on_reconnect: Callable[[], Awaitable[None]] | None = None,
        may_publish: Callable[[], bool] | None = None,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        max_backoff: float = 5.0,
        gather_for: float = 0.0,
    ) -> None:
        self._store = store
        self._producer_factory = producer_factory
        self._on_reconnect = on_reconnect
        self._may_publish = may_publish
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._max_backoff = max_backoff
        self._gather_for = gather_for
        self._producer: AIOKafkaProducer | None = None
        self._key_hashes: dict[bytes, int] = {}
        self.published = 0

    async def _connected_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            if self._on_reconnect is not None:
                await self._on_reconnect()
            producer = self._producer_factory()
            try:
                await producer.start()
            except BaseException:
                await stop_within(producer.stop, what="outbox relay producer")
                raise
            self._producer = producer
        return self._producer

    async def _drop_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await stop_within(producer.stop, what="outbox relay producer")

    async def _measure_backlog(self, pending: Sequence[PendingEvent]) -> None:
        """Set the backlog gauges from a batch just read (counting only when the batch is full)."""
        if len(pending) < self._batch_size:
            OUTBOX_BACKLOG.set(len(pending))
        else:
            OUTBOX_BACKLOG.set(await self._store.pending_count())
        made = id_unix_time(pending[0].outbox_id) if pending else None
        OUTBOX_OLDEST_AGE.set(max(0.0, time.time() - made) if made is not None else 0.0)

    async def publish_pending(self) -> int:
        """Publish one batch of pending events; return how many were acknowledged.

        With `may_publish` (the relay's lease, when replicas share the store), a batch starts
        only while it says yes, so a replica whose lease may have passed to another publishes
        nothing more.
        """
        if self._may_publish is not None and not self._may_publish():
            return 0
        read_at = time.time()
        pending = await self._store.pending_events(self._batch_size)
        await self._measure_backlog(pending)
        if not pending:
            return 0
        producer = await self._connected_producer()
        spans = _publish_spans(pending)
        if len(self._key_hashes) > KEY_HASHES_KEPT:
            self._key_hashes.clear()
        try:
            await asyncio.gather(*await enqueue(producer, pending, self._key_hashes))
        except BaseException as exc:
            for span in spans:
                span.record_exception(exc)
                span.end()
            raise
        for span in spans:
            span.end()
        acked_at = time.time()
        await self._store.mark_events_sent([e.outbox_id for e in pending])
        # Where the relay's time goes (off unless CRM_STAGE_LOG asks).
        stages.write(
            {
                "kind": "relay",
                "n": len(pending),
                "read": read_at,
                "acked": acked_at,
                "marked": time.time(),
            }
        )
        self.published += len(pending)
        OUTBOX_PUBLISHED.inc(len(pending))
        OUTBOX_BACKLOG.dec(len(pending))
        return len(pending)

    async def run(self) -> None:
        """Run until cancelled: publish whenever a commit signals or the poll interval passes."""
        backoff = 0.2
        try:
            while True:
                # Cleared before reading, so a commit that lands meanwhile wakes the next wait.
                self._store.outbox_signal.clear()
                try:
                    sent = await self.publish_pending()
                    backoff = 0.2
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning(
                        "outbox relay cannot publish (%s); retrying in %.1fs",
                        type(exc).__name__,
                        backoff,
                    )
                    await self._drop_producer()
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self._max_backoff)
                    continue
                if sent == self._batch_size:
                    continue
                if sent and self._gather_for:
                    # A busy writer commits again and again: let its events gather, so one read,
                    # one send and one (write-locked) removal serve many commits, not each one.
                    await asyncio.sleep(self._gather_for)
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._store.outbox_signal.wait(), self._poll_interval)
        finally:
            await self._drop_producer()


def _publish_spans(pending: Sequence[PendingEvent]) -> list[trace.Span]:
    """A producer span per event that carries a trace context, child of the write that made it."""
    spans: list[trace.Span] = []
    if not spans_exported():
        return spans  # nobody would see them: an import's million events skip the parsing
    for event in pending:
        if b'"traceparent":"' not in event.value:
            continue  # cheap test first: most bulk events (imports) carry no trace context
        traceparent = orjson.loads(event.value).get("traceparent")
        parent = context_from(traceparent if isinstance(traceparent, str) else None)
        if parent is None:
            continue
        spans.append(
            tracer().start_span(
                f"publish {event.topic}",
                context=parent,
                kind=trace.SpanKind.PRODUCER,
                attributes={"messaging.system": "kafka", "messaging.destination.name": event.topic},
            )
        )
    return spans
