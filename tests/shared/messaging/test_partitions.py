"""The relay's partition choice is aiokafka's default partitioner's, for every key."""

from __future__ import annotations

import random
import uuid

import pytest
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as kafka_murmur2

from crm_shared.messaging.partitions import murmur2, partition_of


def _keys() -> list[bytes]:
    rng = random.Random(11)
    # Every length up to 80 (each tail of 0-3 bytes), every byte value, and the ids keys are.
    keys = [rng.randbytes(rng.randrange(81)) for _ in range(5000)]
    keys += [bytes([b]) * n for b in range(256) for n in (1, 2, 3, 4, 5)]
    keys += [str(uuid.UUID(int=rng.getrandbits(128))).encode() for _ in range(2000)]
    return [b"", *keys]


def test_murmur2_equals_aiokafkas_for_every_key() -> None:
    differing = [key for key in _keys() if murmur2(key) != kafka_murmur2(key)]
    assert differing == []


@pytest.mark.parametrize("count", [1, 2, 3, 6, 7, 12, 50])
def test_partition_is_the_default_partitioners(count: int) -> None:
    partitions = list(range(count))
    default = DefaultPartitioner()
    chosen = {key: partition_of(key, partitions) for key in _keys()}
    assert chosen == {key: default(key, partitions, partitions) for key in chosen}
    if count > 1:
        assert len(set(chosen.values())) == count  # the keys spread: the test sees a choice
