"""Publishes committed outbox entries and removes them only after the broker acknowledged them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaProducer

from crm_shared.messaging.kafka import stop_within
from crm_shared.storage.port import DocumentStore

log = logging.getLogger(__name__)


class OutboxRelay:
    """Drains a store's outbox into Kafka; a dead broker delays events, it never loses them."""

    def __init__(
        self,
        store: DocumentStore,
        producer_factory: Callable[[], AIOKafkaProducer],
        *,
        on_reconnect: Callable[[], Awaitable[None]] | None = None,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        max_backoff: float = 5.0,
    ) -> None:
        self._store = store
        self._producer_factory = producer_factory
        self._on_reconnect = on_reconnect
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._max_backoff = max_backoff
        self._producer: AIOKafkaProducer | None = None
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

    async def publish_pending(self) -> int:
        """Publish one batch of pending events; return how many were acknowledged."""
        pending = await self._store.pending_events(self._batch_size)
        if not pending:
            return 0
        producer = await self._connected_producer()
        futures = [
            await producer.send(e.topic, value=e.value, key=e.key, headers=e.headers)
            for e in pending
        ]
        await asyncio.gather(*futures)
        await self._store.mark_events_sent([e.outbox_id for e in pending])
        self.published += len(pending)
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
                    log.warning("outbox relay cannot publish (%s); retrying in %.1fs", exc, backoff)
                    await self._drop_producer()
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self._max_backoff)
                    continue
                if sent == self._batch_size:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._store.outbox_signal.wait(), self._poll_interval)
        finally:
            await self._drop_producer()
