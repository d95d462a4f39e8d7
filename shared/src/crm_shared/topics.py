"""Topic names and partition counts; created explicitly at start-up, never auto-created."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    """A Kafka topic and the number of partitions it is created with."""

    name: str
    partitions: int = 3


CONTACT_EVENTS = Topic("crm.contacts.events.v1", 6)
CONTACT_COMMANDS = Topic("crm.contacts.commands.v1", 6)
IMPORT_RESULTS = Topic("crm.importer.batch-results.v1", 3)
IMPORTER_EVENTS = Topic("crm.importer.events.v1", 3)
TIMELINE_EVENTS = Topic("crm.timeline.events.v1", 3)
ACTIVITIES = Topic("crm.activities.v1", 6)
GDPR_EVENTS = Topic("crm.gdpr.events.v1", 3)
ERASURE_RECEIPTS = Topic("crm.gdpr.erasure-receipts.v1", 3)
# Other products' input: chat conversations, and integrations' contact upserts for bulk sync.
CONVERSATIONS = Topic("crm.conversations.v1", 6)
CONTACT_UPSERTS = Topic("crm.contacts.upserts.v1", 6)
DEAD_LETTERS = Topic("crm.dead-letters.v1", 1)

ALL_TOPICS: tuple[Topic, ...] = (
    CONTACT_EVENTS,
    CONTACT_COMMANDS,
    IMPORT_RESULTS,
    IMPORTER_EVENTS,
    TIMELINE_EVENTS,
    ACTIVITIES,
    GDPR_EVENTS,
    ERASURE_RECEIPTS,
    CONVERSATIONS,
    CONTACT_UPSERTS,
    DEAD_LETTERS,
)
