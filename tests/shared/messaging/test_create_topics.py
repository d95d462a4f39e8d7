"""The topic-creation CLI (the Kubernetes Job's command) creates what crm_shared.wiring declares."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from crm_shared.devstack import EmbeddedBroker
from crm_shared.messaging.create_topics import declared_topics, main
from crm_shared.messaging.kafka import stop_within
from crm_shared.topics import ALL_TOPICS
from crm_shared.wiring import TOPIC_USES


def test_the_declared_topics_are_those_of_the_wiring_with_their_partitions() -> None:
    topics = declared_topics()
    assert {t.name for t in topics} == {use.topic.name for use in TOPIC_USES}
    assert set(topics) <= set(ALL_TOPICS)


def test_list_prints_each_topic_and_its_partitions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"{t.name}\t{t.partitions}" for t in declared_topics()]


def test_a_replication_factor_below_one_is_refused() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--replication-factor", "0", "--bootstrap-servers", "127.0.0.1:1"])
    assert exit_info.value.code == 2


@pytest.mark.integration
async def test_the_cli_creates_every_declared_topic_on_the_broker(
    broker: EmbeddedBroker,
) -> None:
    servers = broker.bootstrap_servers
    await asyncio.to_thread(main, ["--bootstrap-servers", servers])
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        described = await admin.describe_topics([t.name for t in declared_topics()])
    finally:
        await stop_within(admin.close, what="test admin")
    partitions = {d["topic"]: len(d["partitions"]) for d in described}
    assert partitions == {t.name: t.partitions for t in declared_topics()}
