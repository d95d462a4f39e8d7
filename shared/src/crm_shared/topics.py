"""Topic names and partition counts; created explicitly at start-up, never auto-created."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    """A Kafka topic, the number of partitions it is created with, and whether it holds people.

    A `personal` topic carries personal data (names, emails, phones, notes, row values): it is
    created with a retention no longer than the erasure deadline, so an erased person's records
    age out of it in time (README, "Nothing left on the bus").
    """

    name: str
    partitions: int = 3
    personal: bool = False
    # Compacted: Kafka keeps the latest record per key (a null value, a tombstone, removes it).
    compacted: bool = False


# Profiles in created/updated/merged events.
CONTACT_EVENTS = Topic("crm.contacts.events.v1", 6, personal=True)
# Import batches: every row's values.
CONTACT_COMMANDS = Topic("crm.contacts.commands.v1", 6, personal=True)
# Row results (ids and error codes) of rows that held personal data.
IMPORT_RESULTS = Topic("crm.importer.batch-results.v1", 3, personal=True)
IMPORTER_EVENTS = Topic("crm.importer.events.v1", 3)
# Note texts.
TIMELINE_EVENTS = Topic("crm.timeline.events.v1", 3, personal=True)
# Other products' summaries of chats, emails and tickets.
ACTIVITIES = Topic("crm.activities.v1", 6, personal=True)
# Consent decisions per contact and the identifier hashes of erasure requests.
GDPR_EVENTS = Topic("crm.gdpr.events.v1", 3, personal=True)
ERASURE_RECEIPTS = Topic("crm.gdpr.erasure-receipts.v1", 3)
# Other products' input: chat conversations (their texts), and integrations' contact upserts.
CONVERSATIONS = Topic("crm.conversations.v1", 6, personal=True)
CONTACT_UPSERTS = Topic("crm.contacts.upserts.v1", 6, personal=True)
# Each contact's current profile, keyed by its id; a tombstone once it is erased, purged or merged.
CONTACT_STATE = Topic("crm.contacts.state.v1", 6, personal=True, compacted=True)
# Copies of any record that failed, from any of the topics above.
DEAD_LETTERS = Topic("crm.dead-letters.v1", 1, personal=True)

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
    CONTACT_STATE,
    DEAD_LETTERS,
)


DAY_MS = 86_400_000


# How long a compacted topic keeps a tombstone, so a consumer that was away still sees it.
TOMBSTONE_RETENTION_MS = DAY_MS


def topic_config(topic: Topic, *, personal_retention_ms: int) -> dict[str, str]:
    """The configs a topic is created with: a bounded retention when it holds personal data.

    A compacted topic keeps each key's latest record for good, so its bound is on compaction
    instead: a record a newer one (or a tombstone) replaced is compacted away within the
    retention, and a tombstone stays a day so that consumers that were away see it.
    """
    if topic.compacted:
        return {
            "cleanup.policy": "compact",
            "max.compaction.lag.ms": str(personal_retention_ms),
            "delete.retention.ms": str(min(TOMBSTONE_RETENTION_MS, personal_retention_ms)),
        }
    return {"retention.ms": str(personal_retention_ms)} if topic.personal else {}
