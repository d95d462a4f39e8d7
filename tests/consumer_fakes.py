"""Stand-ins for a consumer's offset committer and dead-letter sender, recording what they get.

For tests that hand an `EventConsumer` a poll's records directly, without a broker.
"""

from __future__ import annotations

from aiokafka import ConsumerRecord, TopicPartition

from crm_shared.messaging.dead_letters import Failure


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
