"""A key hashed once serves every topic its records go to, within a batch and across batches."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.partitioner import DefaultPartitioner

from crm_shared.messaging.partitions import key_hash, partition_by_hash, partition_of
from crm_shared.messaging.relay_batches import enqueue
from crm_shared.storage.port import PendingEvent

PARTITIONS = {"events": 6, "state": 3, "results": 7}


class _Builder:
    def __init__(self) -> None:
        self.keys: list[bytes] = []

    def append(self, *, timestamp: None, key: bytes, value: Any, headers: Any) -> int:
        self.keys.append(key)
        return 1

    def close(self) -> None:
        pass


class _Producer:
    """Records which partition each key's records were handed over on, per topic."""

    def __init__(self) -> None:
        self.landed: dict[tuple[str, bytes], set[int]] = {}

    def create_batch(self) -> _Builder:
        return _Builder()

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(PARTITIONS[topic]))

    async def send_batch(self, builder: _Builder, topic: str, *, partition: int) -> Any:
        for key in builder.keys:
            self.landed.setdefault((topic, key), set()).add(partition)
        return asyncio.get_running_loop().create_future()


def _pending(keys: list[bytes], topic: str) -> list[PendingEvent]:
    return [PendingEvent(f"{topic}-{n}", topic, key, b"{}") for n, key in enumerate(keys)]


def test_partition_by_hash_is_partition_of() -> None:
    for n in range(500):
        key = f"contact-{n}".encode()
        for count in (1, 3, 6, 7):
            partitions = list(range(count))
            assert partition_by_hash(key_hash(key), partitions) == partition_of(key, partitions)


async def test_kept_hashes_put_each_topics_records_on_the_default_partition() -> None:
    producer = _Producer()
    keys = [f"01a23012-ff47-7089-8cf8-{n:012d}".encode() for n in range(300)]
    hashes: dict[bytes, int] = {}
    # As an import writes them: the contacts' events, then (a batch later) their state records
    # and results, on topics of other partition counts, with the hashes kept between batches.
    await enqueue(producer, _pending(keys, "events"), hashes)
    await enqueue(producer, _pending(keys, "state") + _pending(keys, "results"), hashes)
    assert set(hashes) == set(keys)
    default = DefaultPartitioner()
    for topic, count in PARTITIONS.items():
        every = list(range(count))
        for key in keys:
            assert producer.landed[(topic, key)] == {default(key, every, every)}
