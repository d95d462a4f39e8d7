"""Topics that carry personal data are created with a retention no longer than the deadline."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from crm_shared.devstack import EmbeddedBroker
from crm_shared.messaging.kafka import ensure_topics, stop_within
from crm_shared.topics import ALL_TOPICS, DAY_MS, Topic, topic_config


def test_personal_topics_get_the_retention_and_others_keep_the_default() -> None:
    personal = {t.name for t in ALL_TOPICS if t.personal}
    assert {"crm.contacts.events.v1", "crm.dead-letters.v1", "crm.activities.v1"} <= personal
    assert "crm.gdpr.erasure-receipts.v1" not in personal
    for topic in ALL_TOPICS:
        if topic.compacted:
            continue
        config = topic_config(topic, personal_retention_ms=7 * DAY_MS)
        assert config == ({"retention.ms": str(7 * DAY_MS)} if topic.personal else {})


def test_the_state_topic_is_compacted_and_compaction_keeps_the_deadline() -> None:
    [state] = [t for t in ALL_TOPICS if t.compacted]
    assert state.name == "crm.contacts.state.v1"
    assert topic_config(state, personal_retention_ms=7 * DAY_MS) == {
        "cleanup.policy": "compact",
        "max.compaction.lag.ms": str(7 * DAY_MS),
        "delete.retention.ms": str(DAY_MS),
    }


async def test_the_broker_keeps_a_created_topics_retention(broker: EmbeddedBroker) -> None:
    topic = Topic("test.retention.personal.v1", 1, personal=True)
    await ensure_topics(broker.bootstrap_servers, [topic], personal_retention_ms=3 * DAY_MS)
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    await admin.start()
    try:
        [response] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic.name)]
        )
    finally:
        await stop_within(admin.close, what="admin client")
    entries = {entry[0]: entry[1] for resource in response.resources for entry in resource[4]}
    assert entries.get("retention.ms") == str(3 * DAY_MS)
