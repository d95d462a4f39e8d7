"""A relay batch handed to the producer as record batches per partition, not a send per record.

`producer.send` costs, per record, an await, a metadata check, the default partitioner's
pure-Python murmur2 and an accumulator append: most of the relay's CPU at two records per
imported contact. Here each topic's partitions are read once, each key is hashed once whatever
the topics its records go to (partitions.py: the default partitioner's choice; an imported
contact's event and its state record share one key, a thousand records apart, so the relay keeps
the hashes across its batches), and the records are appended to one
`BatchBuilder` per partition, each handed over with one `send_batch`.

Order: a partition's records enter its builders in outbox order and its builders are handed over
in that order; the accumulator sends a partition's batches one after another, as it does the
batches `send` fills, so one key's records keep their order. A record without a key (a random
partition under the default partitioner) goes through `send`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer

from crm_shared.cloudevents import structured_headers
from crm_shared.messaging.partitions import key_hash, partition_by_hash
from crm_shared.storage.port import TOMBSTONE_VALUE, PendingEvent


async def enqueue(
    producer: AIOKafkaProducer,
    pending: Sequence[PendingEvent],
    hashes: dict[bytes, int] | None = None,
) -> list[asyncio.Future[Any]]:
    """Queue every event on the producer; the futures the broker's acknowledgements resolve.

    `hashes` (key -> `key_hash`) is read and filled, so a caller may keep it between batches.
    """
    futures: list[asyncio.Future[Any]] = []
    partitions: dict[str, list[int]] = {}
    if hashes is None:
        hashes = {}
    builders: dict[tuple[str, int], Any] = {}
    for event in pending:
        # A tombstone is Kafka's null value, with no CloudEvents content type.
        tombstone = event.value == TOMBSTONE_VALUE
        value = None if tombstone else event.value
        headers = event.headers if tombstone else structured_headers(event.value, event.headers)
        if event.key is None:
            futures.append(await producer.send(event.topic, value=value, headers=headers))
            continue
        of_topic = partitions.get(event.topic)
        if of_topic is None:
            of_topic = partitions[event.topic] = sorted(await producer.partitions_for(event.topic))
        hashed = hashes.get(event.key)
        if hashed is None:
            hashed = hashes[event.key] = key_hash(event.key)
        partition = partition_by_hash(hashed, of_topic)
        builder = builders.get((event.topic, partition))
        if builder is None:
            builder = builders[(event.topic, partition)] = producer.create_batch()
        if builder.append(timestamp=None, key=event.key, value=value, headers=headers) is None:
            # Full (and closed by the refusal): handed over, and the record starts the
            # partition's next batch (a builder takes its first record whatever its size).
            futures.append(await producer.send_batch(builder, event.topic, partition=partition))
            builder = builders[(event.topic, partition)] = producer.create_batch()
            builder.append(timestamp=None, key=event.key, value=value, headers=headers)
    for (topic, partition), builder in builders.items():
        builder.close()  # nothing else may join it once it is queued
        futures.append(await producer.send_batch(builder, topic, partition=partition))
    return futures
