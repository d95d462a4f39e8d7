"""Consumers that commit offsets only after handling, retry with backoff, then dead-letter."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from pydantic import ValidationError

from crm_shared.envelope import EventEnvelope
from crm_shared.messaging.kafka import ensure_topics, new_producer
from crm_shared.settings import PlatformSettings
from crm_shared.topics import ALL_TOPICS, DEAD_LETTERS

log = logging.getLogger(__name__)

EventHandler = Callable[[EventEnvelope], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failing message is retried before it is dead-lettered."""

    attempts: int = 5
    first_backoff: float = 0.2
    max_backoff: float = 5.0


class DeadLetterSink:
    """Publishes a message that kept failing to the dead-letter topic, with the error in headers."""

    def __init__(self, settings: PlatformSettings, *, client_id: str) -> None:
        self._settings = settings
        self._client_id = client_id

    async def send(self, record: ConsumerRecord[bytes, bytes], *, group: str, error: str) -> None:
        """Publish the record unchanged plus headers naming where it came from and why it failed."""
        producer = new_producer(self._settings, client_id=f"{self._client_id}-dlq")
        await producer.start()
        try:
            headers = [
                *(record.headers or ()),
                ("dlq.error", error[:1000].encode()),
                ("dlq.group", group.encode()),
                ("dlq.topic", record.topic.encode()),
                ("dlq.partition", str(record.partition).encode()),
                ("dlq.offset", str(record.offset).encode()),
            ]
            await producer.send_and_wait(
                DEAD_LETTERS.name, value=record.value, key=record.key, headers=headers
            )
        finally:
            await producer.stop()


class EventConsumer:
    """Runs a handler over topics in one group, committing each partition after handling."""

    def __init__(
        self,
        settings: PlatformSettings,
        *,
        group: str,
        topics: Sequence[str],
        handler: EventHandler,
        retry: RetryPolicy | None = None,
        dead_letters: DeadLetterSink | None = None,
    ) -> None:
        self._settings = settings
        self._group = group
        self._topics = list(topics)
        self._handler = handler
        self._retry = retry or RetryPolicy()
        self._dead_letters = dead_letters or DeadLetterSink(settings, client_id=group)
        self.handled = 0
        self.dead_lettered = 0

    def _new_consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            *self._topics,
            bootstrap_servers=self._settings.kafka_bootstrap_servers,
            group_id=self._group,
            client_id=self._group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            security_protocol=self._settings.kafka_security_protocol,
            max_poll_interval_ms=60000,
            session_timeout_ms=self._settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=self._settings.kafka_heartbeat_interval_ms,
        )

    async def _handle_with_retries(self, record: ConsumerRecord[bytes, bytes]) -> None:
        try:
            envelope = EventEnvelope.from_bytes(record.value or b"")
        except ValidationError as exc:
            await self._dead_letter(record, f"malformed envelope: {exc.error_count()} error(s)")
            return
        backoff = self._retry.first_backoff
        for attempt in range(1, self._retry.attempts + 1):
            try:
                await self._handler(envelope)
                self.handled += 1
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if attempt == self._retry.attempts:
                    log.error(
                        "%s: event %s (%s) failed %d times, dead-lettering: %s",
                        self._group,
                        envelope.id,
                        envelope.type,
                        attempt,
                        type(exc).__name__,
                    )
                    await self._dead_letter(record, f"{type(exc).__name__}: {exc}")
                    return
                log.warning(
                    "%s: event %s (%s) failed (attempt %d): %s",
                    self._group,
                    envelope.id,
                    envelope.type,
                    attempt,
                    type(exc).__name__,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._retry.max_backoff)

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], error: str) -> None:
        await self._dead_letters.send(record, group=self._group, error=error)
        self.dead_lettered += 1

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            for tp, records in batches.items():
                for record in records:
                    await self._handle_with_retries(record)
                # Handlers record handled event ids with their effect, so the redelivery of an
                # uncommitted tail after a crash changes nothing.
                await consumer.commit(
                    {TopicPartition(tp.topic, tp.partition): records[-1].offset + 1}
                )

    async def run(self) -> None:
        """Consume until cancelled, reconnecting with backoff while the broker is unreachable."""
        backoff = 0.5
        known = [t for t in ALL_TOPICS if t.name in self._topics or t == DEAD_LETTERS]
        while True:
            consumer = self._new_consumer()
            try:
                # A restarted in-memory broker comes back empty: recreate what this group reads.
                await ensure_topics(self._settings.kafka_bootstrap_servers, known)
                await consumer.start()
                backoff = 0.5
                await self._consume(consumer)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "%s: consumer stopped (%s); reconnecting in %.1fs", self._group, exc, backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()
