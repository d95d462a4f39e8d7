"""Idle groups nobody waits on by the millisecond fetch with a longer wait; others stay quick."""

from __future__ import annotations

from crm_shared.messaging.consumer import fetch_wait_ms
from crm_shared.settings import PlatformSettings
from crm_shared.wiring import SERVICES, UNHURRIED_GROUPS

EMBEDDED = PlatformSettings(kafka_fetch_max_wait_ms=25, kafka_unhurried_fetch_max_wait_ms=250)


def test_every_unhurried_group_is_a_declared_consumer_group() -> None:
    declared = {s.group for service in SERVICES for s in service.subscriptions}
    assert declared >= UNHURRIED_GROUPS


def test_an_unhurried_group_waits_longer_and_the_activity_group_stays_quick() -> None:
    assert fetch_wait_ms("crm-timeline-erasure", EMBEDDED) == 250
    assert fetch_wait_ms("crm-timeline", EMBEDDED) == 25
    assert fetch_wait_ms("crm-timeline-conversations", EMBEDDED) == 25


def test_the_unhurried_wait_never_shortens_a_longer_configured_one() -> None:
    kafka = PlatformSettings(kafka_fetch_max_wait_ms=500, kafka_unhurried_fetch_max_wait_ms=250)
    assert fetch_wait_ms("crm-gdpr-receipts", kafka) == 500
