"""Kafka clients built from platform settings; topics are created explicitly, never auto-created."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from crm_shared.settings import PlatformSettings
from crm_shared.topics import ALL_TOPICS, Topic

log = logging.getLogger(__name__)


def new_producer(settings: PlatformSettings, *, client_id: str) -> AIOKafkaProducer:
    """A producer that waits for all in-sync replicas; idempotence follows the settings."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        linger_ms=5,
        security_protocol=settings.kafka_security_protocol,
        request_timeout_ms=15000,
    )


async def ensure_topics(
    bootstrap_servers: str, topics: Sequence[Topic] = ALL_TOPICS, *, replication: int = 1
) -> None:
    """Create the topics that do not exist yet, with their partition counts."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=10000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t.name not in existing]
        if missing:
            await admin.create_topics(
                [NewTopic(t.name, t.partitions, replication) for t in missing]
            )
            log.info("created topics %s", ", ".join(t.name for t in missing))
    finally:
        await admin.close()
