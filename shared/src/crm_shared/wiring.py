"""Which topics each service reads and writes: one table the services run by and the docs show.

Every consumer group a service starts must be declared here with its topics and the message types
its bus handles there; `start_messaging` refuses to start a consumer that differs (see
`consumer_mismatches`). The AsyncAPI document (crm_shared.contract) is generated from this table,
so it cannot claim a subscription the code does not have, nor miss one it has.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from crm_shared.envelope import EventData
from crm_shared.events import (
    ActivityRecorded,
    ActivityRecordedV2,
    ConsentChanged,
    ContactAnonymized,
    ContactCreated,
    ContactDeleted,
    ContactPurged,
    ContactRestored,
    ContactsImported,
    ContactsMerged,
    ContactState,
    ContactUpdated,
    ConversationEnded,
    ConversationLinked,
    ConversationMessage,
    ConversationStarted,
    ErasureReceipt,
    ErasureRequested,
    ImportBatchProcessed,
    ImportContactsBatch,
    ImportJobFinished,
    MergeUndone,
    UpsertContactByExternalId,
    VisitorIdentified,
)
from crm_shared.events.registry import EVENT_TYPES
from crm_shared.topics import (
    ACTIVITIES,
    CONTACT_COMMANDS,
    CONTACT_EVENTS,
    CONTACT_STATE,
    CONTACT_UPSERTS,
    CONVERSATIONS,
    DEAD_LETTERS,
    ERASURE_RECEIPTS,
    GDPR_EVENTS,
    IMPORT_RESULTS,
    IMPORTER_EVENTS,
    TIMELINE_EVENTS,
    Topic,
)


@dataclass(frozen=True)
class Subscription:
    """A consumer group: the topics it reads and what its bus handles there.

    `handles` None means every event type published on those topics (the audit log).
    """

    group: str
    topics: tuple[Topic, ...]
    purpose: str
    handles: tuple[type[EventData], ...] | None

    @property
    def topic_names(self) -> tuple[str, ...]:
        """The topic names, as a consumer subscribes to them."""
        return tuple(topic.name for topic in self.topics)

    def handled_types(self, topic: Topic | None = None) -> frozenset[str]:
        """The message types this group handles (on one of its topics, or on any)."""
        names = {t.name for t in self.topics} if topic is None else {topic.name}
        models = EVENT_TYPES.values() if self.handles is None else self.handles
        return frozenset(m.event_type for m in models if m.topic in names)


@dataclass(frozen=True)
class Publication:
    """A topic a service writes to, and why."""

    topic: Topic
    purpose: str


@dataclass(frozen=True)
class ServiceMessaging:
    """A service's consumer groups and the topics it publishes on."""

    service: str
    subscriptions: tuple[Subscription, ...] = ()
    publications: tuple[Publication, ...] = ()

    def subscription(self, group: str) -> Subscription:
        """The declared consumer group `group` (KeyError if it is not declared)."""
        for subscription in self.subscriptions:
            if subscription.group == group:
                return subscription
        raise KeyError(f"{self.service} declares no consumer group {group}")

    def topics_of(self, group: str) -> tuple[str, ...]:
        """The topic names the consumer group `group` subscribes to."""
        return self.subscription(group).topic_names


_LIFECYCLE: tuple[type[EventData], ...] = (
    ContactCreated,
    ContactUpdated,
    ContactDeleted,
    ContactRestored,
    ContactsImported,
    ContactAnonymized,
    ContactPurged,
    ContactsMerged,
    MergeUndone,
)
_ERASES = "Erases what it holds about the contact and sends its receipt."
_PARKS = "Parks a record its consumers could not handle."

CONTACTS = ServiceMessaging(
    "contacts",
    subscriptions=(
        Subscription(
            "crm-contacts-commands",
            (CONTACT_COMMANDS,),
            "Applies import batches.",
            (ImportContactsBatch,),
        ),
        Subscription(
            "crm-contacts-import-control",
            (IMPORTER_EVENTS,),
            "Skips the batches of a cancelled import not applied yet (read apart from the "
            "batches, so a cancel is not queued behind them).",
            (ImportJobFinished,),
        ),
        Subscription(
            "crm-contacts-erasure",
            (GDPR_EVENTS,),
            "Anonymizes the contact. Keeps each contact's current consent per purpose and "
            "channel (the `consent=` filter; read in order with the erasures of the contact).",
            (ErasureRequested, ConsentChanged),
        ),
        Subscription(
            "crm-contacts-sources",
            (CONVERSATIONS, CONTACT_UPSERTS),
            "Resolves a chat's identified visitor and an integration's upsert to one contact "
            "(external id, then email, then phone), creating it only when nothing matches.",
            (VisitorIdentified, UpsertContactByExternalId),
        ),
    ),
    publications=(
        Publication(
            CONTACT_EVENTS,
            "Publishes contact lifecycle events: one per contact written, API or import, "
            "plus each import batch's summary.",
        ),
        Publication(
            CONTACT_STATE,
            "Publishes each contact's current profile after every change (compacted, keyed by "
            "contact id; cleanup.policy=compact), and a tombstone (null value) once the contact "
            "is erased, purged or merged away, so other products keep a current copy and forget "
            "on time.",
        ),
        Publication(IMPORT_RESULTS, "Reports each import batch's row results."),
        Publication(ERASURE_RECEIPTS, "Confirms its part of an erasure."),
    ),
)

TIMELINE = ServiceMessaging(
    "timeline",
    subscriptions=(
        Subscription(
            "crm-timeline",
            (CONTACT_EVENTS, ACTIVITIES),
            "Records contact changes (an import's from its summaries) and other products' "
            "interactions on the timeline.",
            (*_LIFECYCLE, ActivityRecorded, ActivityRecordedV2),
        ),
        Subscription(
            "crm-timeline-erasure",
            (GDPR_EVENTS,),
            f"{_ERASES} Records consent changes on the timeline.",
            (ErasureRequested, ConsentChanged),
        ),
        Subscription(
            "crm-timeline-conversations",
            (CONVERSATIONS, CONTACT_EVENTS),
            "Shows each conversation as one timeline item with its messages, on the contact its "
            "visitor was linked to.",
            (
                ConversationStarted,
                ConversationMessage,
                ConversationEnded,
                ConversationLinked,
            ),
        ),
    ),
    publications=(
        Publication(
            TIMELINE_EVENTS,
            "Publishes every activity it records and note added/edited/deleted events.",
        ),
        Publication(ERASURE_RECEIPTS, "Confirms its part of an erasure."),
    ),
)

IMPORTER = ServiceMessaging(
    "importer",
    subscriptions=(
        Subscription(
            "crm-importer-results",
            (IMPORT_RESULTS,),
            "Records each row's result.",
            (ImportBatchProcessed,),
        ),
        Subscription("crm-importer-erasure", (GDPR_EVENTS,), _ERASES, (ErasureRequested,)),
    ),
    publications=(
        Publication(CONTACT_COMMANDS, "Sends import batches to contacts."),
        Publication(
            IMPORTER_EVENTS,
            "Publishes import and export job events, and each deletion of a finished job's "
            "kept data by retention.",
        ),
        Publication(ERASURE_RECEIPTS, "Confirms its part of an erasure."),
    ),
)

GDPR = ServiceMessaging(
    "gdpr",
    subscriptions=(
        Subscription(
            "crm-gdpr-audit",
            (
                CONTACT_EVENTS,
                IMPORTER_EVENTS,
                TIMELINE_EVENTS,
                GDPR_EVENTS,
                ERASURE_RECEIPTS,
            ),
            "Appends every domain event to the audit log (an import's contacts from their own "
            "created/updated events, with values; other products' activities once the timeline "
            "recorded them; retention's deletions of import and export data).",
            None,
        ),
        Subscription(
            "crm-gdpr-receipts",
            (ERASURE_RECEIPTS,),
            "Completes an erasure once every receipt is in.",
            (ErasureReceipt,),
        ),
    ),
    publications=(
        Publication(GDPR_EVENTS, "Publishes consent changes and the erasure saga."),
        Publication(ERASURE_RECEIPTS, "Confirms its part of an erasure (audit values redacted)."),
    ),
)

# Other products write to the platform's input topics.
PRODUCTS = ServiceMessaging(
    "products",
    publications=(
        Publication(ACTIVITIES, "Other products report interactions with a contact."),
        Publication(CONVERSATIONS, "A conversation product reports chats and who the visitor is."),
        Publication(CONTACT_UPSERTS, "Integrations upsert contacts by their own ids (bulk sync)."),
    ),
)

SERVICES: tuple[ServiceMessaging, ...] = (CONTACTS, TIMELINE, IMPORTER, GDPR, PRODUCTS)

# Groups nobody waits on by the millisecond (an erasure's deadline is days, a cancel or a consent
# change may take a quarter second): they fetch with the longer KAFKA_UNHURRIED_FETCH_MAX_WAIT_MS.
# On the embedded broker each idle group otherwise asks about 40 times a second.
UNHURRIED_GROUPS: frozenset[str] = frozenset(
    {
        "crm-contacts-import-control",
        "crm-contacts-erasure",
        "crm-timeline-erasure",
        "crm-importer-erasure",
        "crm-gdpr-receipts",
        # The audit log is read by people and audits, never waited on by the millisecond; the
        # group reads 18 partitions, and idle at 25 ms it cost the embedded broker 13% of a core
        # (2% at 250 ms) and itself 3% (0.6%). In an import it is busy and fetches at once.
        "crm-gdpr-audit",
        # A chat's identified visitor or an integration's upsert may reach its contact a quarter
        # second later on the embedded broker (Kafka answers a fetch when data arrives); idle at
        # 25 ms the group's 12 partitions cost contacts 2.7% of a core (0.5% at 250 ms), all
        # through every import. A bulk sync keeps it busy, and a busy group fetches at once.
        "crm-contacts-sources",
        # An import's batches are keyed by its job: one of the topic's 6 partitions carries
        # them, and the 5 others were asked 40 times a second through every import (idle at
        # 25 ms the group cost contacts 2.3% of a core and the embedded broker 3.0%; 0.5% and
        # 0.6% at 250 ms). A busy partition's next records are fetched while the last ones are
        # applied (seconds per batch), so only an import's first batch waits the longer hop.
        "crm-contacts-commands",
    }
)

# Records a group takes per poll when 500 (the default) could outlast the 60 s poll limit: each
# import batch command carries up to 1,000 rows and takes seconds to apply on a busy machine, so
# 500 of them in one poll got the contacts consumer dropped from its group mid-import.
POLL_RECORDS: dict[str, int] = {"crm-contacts-commands": 4}
DEFAULT_POLL_RECORDS = 500

# Published for other products only (no service of the platform reads them): the state topic,
# from which a product keeps a current copy of every contact and deletes it on a tombstone.
FOR_OTHER_PRODUCTS: frozenset[str] = frozenset({ContactState.event_type})


def messaging_of(service: str) -> ServiceMessaging:
    """The declared messaging of a service (KeyError if it has none)."""
    for declared in SERVICES:
        if declared.service == service:
            return declared
    raise KeyError(f"no messaging declared for service {service}")


def publications(messaging: ServiceMessaging) -> tuple[Publication, ...]:
    """What a service writes, including the dead-letter topic when it consumes anything."""
    parked = (Publication(DEAD_LETTERS, _PARKS),) if messaging.subscriptions else ()
    return (*messaging.publications, *parked)


def consumer_mismatches(
    service: str, group: str, topics: Iterable[str], handled: Iterable[str]
) -> list[str]:
    """How a consumer about to start differs from its declaration; empty when it matches.

    `handled` are the message types its bus handles; only those on its topics count.
    """
    try:
        declared = messaging_of(service).subscription(group)
    except KeyError as exc:
        return [str(exc.args[0])]
    found: list[str] = []
    reads = set(topics)
    if reads != set(declared.topic_names):
        found.append(f"{group} reads {sorted(reads)}, declared {sorted(declared.topic_names)}")
    on_topics = {t for t in handled if t in EVENT_TYPES and EVENT_TYPES[t].topic in reads}
    if on_topics != declared.handled_types():
        found.append(
            f"{group} handles {sorted(on_topics)}, declared {sorted(declared.handled_types())}"
        )
    return found


Action = Literal["send", "receive"]


@dataclass(frozen=True)
class TopicUse:
    """One row of the send/receive table: a service sends or receives messages on a topic."""

    service: str
    action: Action
    topic: Topic
    purpose: str
    event_types: tuple[str, ...] = ()  # the messages it handles; empty: all of the topic's
    group: str | None = None  # the consumer group that receives


def _topic_uses() -> tuple[TopicUse, ...]:
    """The send/receive table the AsyncAPI document shows, from the declarations above."""
    uses: list[TopicUse] = []
    for messaging in SERVICES:
        for publication in publications(messaging):
            uses.append(TopicUse(messaging.service, "send", publication.topic, publication.purpose))
        for subscription in messaging.subscriptions:
            for topic in subscription.topics:
                types = tuple(
                    m.event_type
                    for m in EVENT_TYPES.values()
                    if m.event_type in subscription.handled_types(topic)
                )
                uses.append(
                    TopicUse(
                        messaging.service,
                        "receive",
                        topic,
                        subscription.purpose,
                        types,
                        subscription.group,
                    )
                )
    return tuple(uses)


TOPIC_USES: tuple[TopicUse, ...] = _topic_uses()
