"""The topic-creation CLI (the Kubernetes Job's command) creates what crm_shared.wiring declares."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from crm_shared.devstack import EmbeddedBroker
from crm_shared.messaging.create_topics import declared_topics, main, wait_for_topics
from crm_shared.messaging.kafka import TopicsMissing, missing_topics, prepare_topics, stop_within
from crm_shared.settings import PlatformSettings
from crm_shared.topics import ALL_TOPICS, Topic
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


def test_wait_gives_up_with_exit_1_when_no_broker_answers() -> None:
    assert main(["--bootstrap-servers", "127.0.0.1:1", "--wait", "0.5"]) == 1


def test_a_wait_of_zero_seconds_is_refused() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--bootstrap-servers", "127.0.0.1:1", "--wait", "0"])
    assert exit_info.value.code == 2


def test_the_job_needs_only_the_kafka_address_not_the_services_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The Job and the init containers get the ConfigMap (CRM_ENV=production) but no secrets.
    monkeypatch.setenv("CRM_ENV", "production")
    monkeypatch.delenv("CRM_SUPPRESSION_KEY", raising=False)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    assert main(["--wait", "0.3"]) == 1
    assert "topics still missing" in capsys.readouterr().out


@pytest.mark.integration
async def test_wait_returns_once_every_declared_topic_exists(broker: EmbeddedBroker) -> None:
    servers = broker.bootstrap_servers
    await asyncio.to_thread(main, ["--bootstrap-servers", servers])
    assert await asyncio.to_thread(main, ["--bootstrap-servers", servers, "--wait", "30"]) == 0
    assert await wait_for_topics(servers, declared_topics(), within=5) == []


@pytest.mark.integration
async def test_wait_names_a_topic_nobody_created_and_creates_nothing(
    broker: EmbeddedBroker,
) -> None:
    absent = Topic(f"crm.test.never-created.{uuid.uuid4().hex[:8]}", 1)
    missing = await wait_for_topics(broker.bootstrap_servers, [absent], within=0.5, interval=0.1)
    assert missing == [absent.name]
    assert await missing_topics(broker.bootstrap_servers, [absent]) == [absent.name]


@pytest.mark.integration
async def test_a_service_requiring_topics_waits_instead_of_creating_them(
    broker: EmbeddedBroker,
) -> None:
    absent = Topic(f"crm.test.required.{uuid.uuid4().hex[:8]}", 1)
    settings = PlatformSettings(
        kafka_bootstrap_servers=broker.bootstrap_servers, crm_require_topics=True
    )
    with pytest.raises(TopicsMissing, match=absent.name):
        await prepare_topics(settings, [absent])
    assert await missing_topics(broker.bootstrap_servers, [absent]) == [absent.name]

    # The embedded default creates what is missing.
    embedded = PlatformSettings(kafka_bootstrap_servers=broker.bootstrap_servers)
    await prepare_topics(embedded, [absent])
    assert await missing_topics(broker.bootstrap_servers, [absent]) == []
    await prepare_topics(settings, [absent])  # now it exists: no complaint
