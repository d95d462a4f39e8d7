"""Stand-ins for a consumer's offset committer and dead-letter sender, recording what they get,
and the consumer and record values for tests that hand an `EventConsumer` a poll's records
directly, without a broker.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import ConsumerRecord, TopicPartition

from crm_shared.envelope import EventEnvelope, plain_attributes
from crm_shared.events import ActivityRecorded, ContactDeleted
from crm_shared.messaging import consumer as consumer_module
from crm_shared.messaging.bus import MessageBus
from crm_shared.messaging.consumer import EventConsumer
from crm_shared.messaging.dead_letters import Failure
from crm_shared.settings import PlatformSettings


class RecordingOffsets:
    """The offsets committed, by partition."""

    def __init__(self) -> None:
        self.committed: dict[TopicPartition, int] = {}

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.committed.update(offsets)


class RecordingDeadLetters:
    """Each dead-lettered record's value and the failure's reason."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes | None, str]] = []

    async def send(
        self, record: ConsumerRecord[bytes, bytes], *, group: str, failure: Failure
    ) -> None:
        self.sent.append((record.value, failure.reason))

    async def close(self) -> None:
        return None


def recording_consumer(
    bus: MessageBus, dead: RecordingDeadLetters, *, group: str = "test-group", topic: str
) -> EventConsumer:
    """A consumer of one topic for `bus`, dead-lettering into `dead`; records are handed to it."""
    return EventConsumer(
        PlatformSettings(),
        group=group,
        topics=[topic],
        bus=bus,
        dead_letters=dead,  # type: ignore[arg-type]
    )


def deleted_value(contact_id: str) -> bytes:
    """A `contact deleted` envelope's bytes, of tenant acme."""
    data = ContactDeleted(contact_id=contact_id, version=1)
    return EventEnvelope.wrap(data, source="crm/test", tenant="acme", subject=contact_id).to_bytes()


def activity_value(contact_id: str) -> bytes:
    """An `activity recorded` envelope's bytes, of tenant acme."""
    data = ActivityRecorded(
        contact_id=contact_id,
        activity_type="email",
        summary="Called",
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return EventEnvelope.wrap(data, source="crm/test", tenant="acme", subject=contact_id).to_bytes()


def count_looks(monkeypatch: pytest.MonkeyPatch) -> list[bytes | None]:
    """Every record value a consumer parses to look at its attributes (`plain_attributes`),
    without validating it; the list fills as the consumer runs."""
    seen: list[bytes | None] = []

    def counting(raw: bytes | None) -> dict[str, Any] | None:
        seen.append(raw)
        return plain_attributes(raw)

    monkeypatch.setattr(consumer_module, "plain_attributes", counting)
    return seen
