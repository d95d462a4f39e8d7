"""The declared consumer groups: a consumer that differs from its declaration is caught."""

from __future__ import annotations

from crm_shared.events import ActivityRecorded, ErasureRequested, ImportContactsBatch
from crm_shared.topics import (
    ACTIVITIES,
    CONTACT_COMMANDS,
    CONTACT_UPSERTS,
    CONVERSATIONS,
    DEAD_LETTERS,
    GDPR_EVENTS,
)
from crm_shared.wiring import CONTACTS, GDPR, PRODUCTS, consumer_mismatches, publications

COMMANDS = "crm-contacts-commands"


def test_a_consumer_as_declared_matches() -> None:
    handled = {ImportContactsBatch.event_type, ErasureRequested.event_type}
    # The bus is shared by both groups: only the types on a group's topics count.
    assert consumer_mismatches("contacts", COMMANDS, [CONTACT_COMMANDS.name], handled) == []


def test_an_undeclared_topic_or_handler_or_group_is_reported() -> None:
    topics = [CONTACT_COMMANDS.name, ACTIVITIES.name]
    handled = {ImportContactsBatch.event_type, ActivityRecorded.event_type}

    [extra_topic, extra_type] = consumer_mismatches("contacts", COMMANDS, topics, handled)
    assert "crm.activities.v1" in extra_topic and "declared" in extra_topic
    assert "crm.activities.activity.recorded.v1" in extra_type
    assert consumer_mismatches("contacts", "crm-contacts-chat", [], []) == [
        "contacts declares no consumer group crm-contacts-chat"
    ]


def test_a_declared_handler_missing_from_the_bus_is_reported() -> None:
    [missing] = consumer_mismatches("contacts", COMMANDS, [CONTACT_COMMANDS.name], [])
    assert ImportContactsBatch.event_type in missing


def test_the_audit_log_handles_every_type_on_its_topics_activities_included() -> None:
    audit = GDPR.subscription("crm-gdpr-audit")
    assert ACTIVITIES in audit.topics and GDPR_EVENTS in audit.topics
    assert ActivityRecorded.event_type in audit.handled_types(ACTIVITIES)


def test_consumers_park_what_they_cannot_handle_and_products_only_send() -> None:
    assert DEAD_LETTERS in {p.topic for p in publications(CONTACTS)}
    sent = [p.topic for p in publications(PRODUCTS)]
    assert sent == [ACTIVITIES, CONVERSATIONS, CONTACT_UPSERTS]
    assert DEAD_LETTERS not in sent
