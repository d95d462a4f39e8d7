"""Kafka clients that tests start themselves, always started and stopped with a bounded wait."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from crm_shared.ids import new_id
from crm_shared.topics import Topic
from tests.polling import WAIT_SECONDS, bounded, eventually, stop_client

CLIENT_START_SECONDS = 20.0
Record = ConsumerRecord[bytes, bytes]


@asynccontextmanager
async def producer(bootstrap_servers: str) -> AsyncIterator[AIOKafkaProducer]:
    """A started producer, stopped within a bound on exit."""
    client = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    try:
        await bounded(client.start(), seconds=CLIENT_START_SECONDS, what="starting a producer")
        yield client
    finally:
        await stop_client(client)


@asynccontextmanager
async def reader(
    bootstrap_servers: str, *topics: str, group_prefix: str = "test"
) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer in a fresh group reading from the earliest offset, stopped within a bound."""
    client = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap_servers,
        group_id=f"{group_prefix}-{new_id()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        # Tansu completes a group join after about half the session timeout; keep tests quick.
        session_timeout_ms=2000,
        heartbeat_interval_ms=300,
        fetch_max_wait_ms=50,
    )
    try:
        await bounded(client.start(), seconds=CLIENT_START_SECONDS, what="starting a consumer")
        yield client
    finally:
        await stop_client(client)


async def first_record(
    consumer: AIOKafkaConsumer,
    matches: Callable[[Record], bool],
    *,
    within: float = WAIT_SECONDS,
    what: str = "a matching record",
) -> Record:
    """The first record read that `matches`; fails after `within` seconds."""

    async def next_match() -> Record | None:
        for records in (await consumer.getmany(timeout_ms=200)).values():
            for record in records:
                if matches(record):
                    return record
        return None

    found = await eventually(
        next_match, lambda r: r is not None, within=within, interval=0, what=what
    )
    assert found is not None
    return found


@asynccontextmanager
async def assigned_reader(bootstrap_servers: str, topic: Topic) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer with no group, assigned every partition of `topic` from the earliest offset.

    Assigning skips Tansu's slow group join; stopped within a bound on exit.
    """
    client = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=50,
    )
    try:
        await bounded(client.start(), seconds=CLIENT_START_SECONDS, what="starting a consumer")
        client.assign([TopicPartition(topic.name, p) for p in range(topic.partitions)])
        yield client
    finally:
        await stop_client(client)


async def committed_offset(bootstrap_servers: str, group: str, tp: TopicPartition) -> int | None:
    """The offset `group` last committed on `tp` (None: no commit), as the broker holds it.

    Asked by a client of the group that never joins it (no subscription), so the group's members
    see no rebalance.
    """
    client = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, group_id=group, enable_auto_commit=False
    )
    try:
        await bounded(client.start(), seconds=CLIENT_START_SECONDS, what="starting a consumer")
        committed: int | None = await client.committed(tp)
        return committed
    finally:
        await stop_client(client)
