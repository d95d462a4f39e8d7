"""Idle groups nobody waits on fetch with a longer wait; heavy records come a few per poll."""

from __future__ import annotations

from crm_shared.messaging.bus import MessageBus
from crm_shared.messaging.consumer import EventConsumer, fetch_wait_ms, poll_records
from crm_shared.settings import PlatformSettings
from crm_shared.wiring import POLL_RECORDS, SERVICES, UNHURRIED_GROUPS

EMBEDDED = PlatformSettings(kafka_fetch_max_wait_ms=25, kafka_unhurried_fetch_max_wait_ms=250)


def test_every_unhurried_group_is_a_declared_consumer_group() -> None:
    declared = {s.group for service in SERVICES for s in service.subscriptions}
    assert declared >= UNHURRIED_GROUPS


def test_an_unhurried_group_waits_longer_and_the_activity_group_stays_quick() -> None:
    assert fetch_wait_ms("crm-timeline-erasure", EMBEDDED) == 250
    assert fetch_wait_ms("crm-gdpr-audit", EMBEDDED) == 250
    assert fetch_wait_ms("crm-timeline", EMBEDDED) == 25
    assert fetch_wait_ms("crm-timeline-conversations", EMBEDDED) == 25


def test_the_contacts_sources_and_import_batch_groups_wait_longer() -> None:
    # Sources idle through every import; an import's batches fill one partition of six, and
    # the next ones are fetched while the last are applied.
    assert fetch_wait_ms("crm-contacts-sources", EMBEDDED) == 250
    assert fetch_wait_ms("crm-contacts-commands", EMBEDDED) == 250
    assert fetch_wait_ms("crm-importer-results", EMBEDDED) == 25


def test_the_unhurried_wait_never_shortens_a_longer_configured_one() -> None:
    kafka = PlatformSettings(kafka_fetch_max_wait_ms=500, kafka_unhurried_fetch_max_wait_ms=250)
    assert fetch_wait_ms("crm-gdpr-receipts", kafka) == 500


def test_the_import_batch_group_takes_few_records_per_poll_and_others_the_default() -> None:
    # 500 import batches of 1,000 rows in one poll outlast the 60 s poll limit many times over.
    assert poll_records("crm-contacts-commands") * 8 < 60  # ~8 s per batch on a loaded machine
    assert poll_records("crm-timeline") == 500


def test_every_group_with_its_own_poll_size_is_a_declared_consumer_group() -> None:
    declared = {s.group for service in SERVICES for s in service.subscriptions}
    assert declared >= set(POLL_RECORDS)


async def test_a_consumer_asks_for_its_topics_partitions_as_often_as_configured() -> None:
    # aiokafka's own default is 5 minutes: that long with stale partitions, should a consumer
    # learn its topics are gone (an embedded broker restarted empty) before they are back.
    settings = PlatformSettings(kafka_metadata_max_age_ms=2000)
    consumer = EventConsumer(settings, group="crm-timeline", topics=["t"], bus=MessageBus())
    kafka = consumer._new_consumer()
    assert kafka._client._metadata_max_age_ms == 2000
    assert PlatformSettings().kafka_metadata_max_age_ms == 30_000
