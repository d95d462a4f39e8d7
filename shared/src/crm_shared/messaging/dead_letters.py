"""The dead-letter topic: records a consumer gave up on, with why in headers and no values."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer, ConsumerRecord

from crm_shared.cloudevents import Headers, carries_binary_event, with_structured_content_type
from crm_shared.messaging.errors import PermanentMessageError
from crm_shared.messaging.kafka import new_producer, stop_within
from crm_shared.settings import PlatformSettings
from crm_shared.topics import DEAD_LETTERS


@dataclass(frozen=True)
class Failure:
    """Why a record is dead-lettered: slugs and names only, never a value from the record."""

    reason: str  # e.g. schema-invalid, malformed-envelope, retries-exhausted
    error: str  # the exception's type name
    attempts: int
    fields: Sequence[str] = ()
    kinds: Sequence[str] = ()  # `<path>:<kind of error>` for each failing field

    @classmethod
    def of(cls, refused: PermanentMessageError, error: str, attempts: int) -> Failure:
        """The failure of a message refused for good: its reason, fields and kinds of error."""
        return cls(refused.reason, error, attempts, refused.fields, refused.kinds)

    def headers(self) -> list[tuple[str, bytes]]:
        """The dlq.* headers describing the failure."""
        headers = [
            ("dlq.reason", self.reason.encode()),
            ("dlq.error", self.error.encode()),
            ("dlq.attempts", str(self.attempts).encode()),
        ]
        if self.fields:
            headers.append(("dlq.fields", ",".join(self.fields).encode()))
        if self.kinds:
            headers.append(("dlq.kinds", ",".join(self.kinds).encode()))
        return headers


class DeadLetterSink:
    """Publishes records to the dead-letter topic through one producer, started on first use."""

    def __init__(self, settings: PlatformSettings, *, client_id: str) -> None:
        self._settings = settings
        self._client_id = f"{client_id}-dlq"
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _started(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = new_producer(self._settings, client_id=self._client_id)
                try:
                    await producer.start()
                except BaseException:
                    await stop_within(producer.stop, what="dead-letter producer")
                    raise
                self._producer = producer
            return self._producer

    async def send(
        self, record: ConsumerRecord[bytes, bytes], *, group: str, failure: Failure
    ) -> None:
        """Publish the record unchanged plus headers naming where it came from and why it failed."""
        producer = await self._started()
        headers = [
            *_content_headers(record.headers),
            *failure.headers(),
            ("dlq.group", group.encode()),
            ("dlq.topic", record.topic.encode()),
            ("dlq.partition", str(record.partition).encode()),
            ("dlq.offset", str(record.offset).encode()),
        ]
        try:
            await producer.send_and_wait(
                DEAD_LETTERS.name, value=record.value, key=record.key, headers=headers
            )
        except Exception:
            await self.close()  # a broken connection is rebuilt on the next send
            raise

    async def close(self) -> None:
        """Stop the producer, waiting a bounded time; the next send starts a new one."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await stop_within(producer.stop, what="dead-letter producer")


def _content_headers(headers: Headers | None) -> list[tuple[str, bytes]]:
    """The record's own headers, marked structured CloudEvents unless it came in binary mode.

    A binary-mode record keeps its `ce_*` and `content-type` headers, so it stays readable as
    what it was; anything else is a structured envelope (possibly a malformed one).
    """
    if carries_binary_event(headers):
        return list(headers or ())
    return with_structured_content_type(headers)
