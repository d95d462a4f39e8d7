"""Kafka clients built from platform settings; topics are created explicitly, never auto-created."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from crm_shared.settings import PlatformSettings
from crm_shared.topics import ALL_TOPICS, DAY_MS, Topic, topic_config

log = logging.getLogger(__name__)

# How long a client may take to stop before shutdown gives up on it: a dead broker must not hang.
STOP_TIMEOUT = 3.0


async def stop_within(
    stop: Callable[[], Awaitable[object]], *, what: str, within: float = STOP_TIMEOUT
) -> None:
    """Stop a broker client, waiting at most `within` seconds; errors are logged, not raised."""
    task = asyncio.ensure_future(stop())
    try:
        done, _ = await asyncio.wait({task}, timeout=within)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not done:
        # Not awaited: a stop that also ignores its cancellation must not hang us either.
        task.cancel()
        log.warning("%s did not stop within %.1fs; gave up waiting", what, within)
    elif not task.cancelled() and task.exception() is not None:
        log.warning("%s stopped with an error: %s", what, type(task.exception()).__name__)


def producer_options(settings: PlatformSettings) -> dict[str, Any]:
    """The producer's options from the settings: all in-sync replicas acknowledge, idempotence,
    linger, batch size and compression as configured (benchmarks vary them from here)."""
    return {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "acks": "all",
        "enable_idempotence": settings.kafka_idempotence,
        "linger_ms": settings.kafka_linger_ms,
        "max_batch_size": settings.kafka_max_batch_bytes,
        "compression_type": settings.kafka_compression,
        "security_protocol": settings.kafka_security_protocol,
        "request_timeout_ms": 15000,
    }


def new_producer(settings: PlatformSettings, *, client_id: str) -> AIOKafkaProducer:
    """A producer with the settings' options (`producer_options`)."""
    return AIOKafkaProducer(client_id=client_id, **producer_options(settings))


# The erasure deadline's default (30 days): no personal record outlives an erasure request.
DEFAULT_PERSONAL_RETENTION_MS = 30 * DAY_MS


def personal_retention_ms(settings: PlatformSettings) -> int:
    """The retention of personal-data topics, from CRM_PERSONAL_DATA_RETENTION_DAYS."""
    return int(settings.crm_personal_data_retention_days * DAY_MS)


class TopicsMissing(RuntimeError):
    """Topics the platform needs do not exist, and this process may not create them."""


async def missing_topics(bootstrap_servers: str, topics: Sequence[Topic] = ALL_TOPICS) -> list[str]:
    """The names of `topics` the broker does not have yet."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=10000)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
    finally:
        await stop_within(admin.close, what="topic admin client")
    return [t.name for t in topics if t.name not in existing]


async def prepare_topics(settings: PlatformSettings, topics: Sequence[Topic] = ALL_TOPICS) -> None:
    """Before a client (re)connects: create missing topics, or with CRM_REQUIRE_TOPICS only check.

    The embedded stack creates them (one broker, one replica each). On a cluster the topic Job
    creates them with three replicas; a service that started first would otherwise create them
    with one, so there it raises TopicsMissing and its loop retries until the Job has run.
    """
    if not settings.crm_require_topics:
        await ensure_topics(
            settings.kafka_bootstrap_servers,
            topics,
            personal_retention_ms=personal_retention_ms(settings),
        )
        return
    missing = await missing_topics(settings.kafka_bootstrap_servers, topics)
    if missing:
        raise TopicsMissing(
            f"topics missing (CRM_REQUIRE_TOPICS: created by the topic Job): {', '.join(missing)}"
        )


async def ensure_topics(
    bootstrap_servers: str,
    topics: Sequence[Topic] = ALL_TOPICS,
    *,
    replication: int = 1,
    personal_retention_ms: int = DEFAULT_PERSONAL_RETENTION_MS,
) -> None:
    """Create the topics that do not exist yet: partition counts, and retention where personal."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=10000)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t.name not in existing]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(
                        t.name,
                        t.partitions,
                        replication,
                        topic_configs=topic_config(t, personal_retention_ms=personal_retention_ms),
                    )
                    for t in missing
                ]
            )
            log.info("created topics %s", ", ".join(t.name for t in missing))
    finally:
        await stop_within(admin.close, what="topic admin client")
