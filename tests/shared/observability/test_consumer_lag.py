"""Consumer lag per partition: highwater minus position; a partition handed over stops showing."""

from __future__ import annotations

from aiokafka import TopicPartition
from aiokafka.errors import IllegalStateError
from prometheus_client import REGISTRY

from crm_shared.messaging.bus import MessageBus
from crm_shared.messaging.consumer import EventConsumer
from crm_shared.settings import PlatformSettings

GROUP = "test-lag-group"


class _Consumer:
    """What the lag measurement reads from an aiokafka consumer."""

    def __init__(self, ends: dict[TopicPartition, tuple[int | None, int]]) -> None:
        self.ends = ends

    def assignment(self) -> set[TopicPartition]:
        return set(self.ends)

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.ends[tp][0]

    async def position(self, tp: TopicPartition) -> int:
        return self.ends[tp][1]


class _RebalancingConsumer(_Consumer):
    """One whose partition 0 is handed over between `assignment()` and `position()`."""

    async def position(self, tp: TopicPartition) -> int:
        if tp.partition == 0:
            raise IllegalStateError(f"Partition {tp} is not assigned")
        return await super().position(tp)


def _lag(partition: int) -> float | None:
    labels = {"group": GROUP, "topic": "t", "partition": str(partition)}
    return REGISTRY.get_sample_value("crm_consumer_lag", labels)


async def test_lag_is_reported_per_assigned_partition_and_dropped_after_a_rebalance() -> None:
    consumer = EventConsumer(
        PlatformSettings(kafka_bootstrap_servers="127.0.0.1:1"),
        group=GROUP,
        topics=["t"],
        bus=MessageBus(),
    )
    p0, p1, p2 = TopicPartition("t", 0), TopicPartition("t", 1), TopicPartition("t", 2)
    await consumer._measure_lag(_Consumer({p0: (10, 4), p1: (7, 7), p2: (None, 0)}))  # type: ignore[arg-type]
    assert (_lag(0), _lag(1), _lag(2)) == (6, 0, None)

    await consumer._measure_lag(_Consumer({p1: (9, 7)}))  # type: ignore[arg-type]
    assert (_lag(0), _lag(1)) == (None, 2)


async def test_a_partition_handed_over_while_measured_is_skipped_not_raised() -> None:
    """aiokafka's position() raises for a partition a rebalance took away meanwhile (the embedded
    broker restarted and forgot the group, say): the consume loop would have replaced its client
    for a metric."""
    consumer = EventConsumer(
        PlatformSettings(kafka_bootstrap_servers="127.0.0.1:1"),
        group=GROUP,
        topics=["t"],
        bus=MessageBus(),
    )
    p0, p1 = TopicPartition("t", 0), TopicPartition("t", 1)
    await consumer._measure_lag(_RebalancingConsumer({p0: (10, 4), p1: (9, 5)}))  # type: ignore[arg-type]
    assert (_lag(0), _lag(1)) == (None, 4)
