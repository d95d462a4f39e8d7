"""The gdpr service's message tables: the audit log over every domain event, and the receipts.

The two groups treat ErasureReceipt differently (one audits it, one advances the saga), so each
has its own table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from crm_gdpr.domain.audit_events import AuditedEvent
from crm_gdpr.service_layer.audit_intake import audit_poll
from crm_gdpr.service_layer.erasure_receipts import record_receipts
from crm_shared.envelope import EventData, EventEnvelope
from crm_shared.events import (
    EVENT_TYPES,
    ContactCreated,
    ContactsImported,
    ContactUpdated,
    ErasureReceipt,
)
from crm_shared.events.contacts import (
    is_import_summary,
    plain_contact_created,
    plain_contact_updated,
)
from crm_shared.messaging.bus import MessageBus, SkipRule
from crm_shared.storage import DocumentStore
from crm_shared.wiring import GDPR

AUDIT_GROUP = "crm-gdpr-audit"
RECEIPTS_GROUP = "crm-gdpr-receipts"
# Declared in crm_shared.wiring, which the AsyncAPI document is generated from; the audit reads
# every domain topic, the activities other products report included.
AUDIT_TOPICS = GDPR.topics_of(AUDIT_GROUP)
RECEIPTS_TOPICS = GDPR.topics_of(RECEIPTS_GROUP)


_READ_PLAIN: dict[type[EventData], Callable[[dict[str, Any]], bool]] = {
    ContactCreated: plain_contact_created,
    ContactUpdated: plain_contact_updated,
}


@dataclass(frozen=True)
class GdprBuses:
    """The table each gdpr consumer group routes by (tests hand envelopes to them directly)."""

    audit: MessageBus
    receipts: MessageBus


def build_buses(store: DocumentStore) -> GdprBuses:
    """Build both tables once, at start-up."""

    async def on_events(items: Sequence[AuditedEvent]) -> list[object]:
        await audit_poll(store, items)
        return [None] * len(items)

    async def on_receipts(items: Sequence[tuple[ErasureReceipt, EventEnvelope]]) -> list[object]:
        await record_receipts(store, items)
        return [None] * len(items)

    # An import's summaries add nothing to the log (each contact's own event is audited):
    # passed over before their envelope, a thousand contacts long, is validated.
    audit = MessageBus(
        skip_rule=SkipRule(frozenset({ContactsImported.event_type}), is_import_summary)
    )
    # Every type through one batch handler: a poll is one unit of work per tenant, whatever mix
    # of types it holds (an erasure's requests and receipts, an import's contact events).
    for model in EVENT_TYPES.values():
        if model not in _READ_PLAIN:
            audit.on_many(model, on_events)
    # A contact's created/updated events, an import's bulk, are audited from their JSON as it
    # is, without a model each, where that JSON is what the model would take unchanged.
    for model, takes_as_is in _READ_PLAIN.items():
        audit.on_many_plain(model, on_events, takes_as_is=takes_as_is)
    return GdprBuses(audit=audit, receipts=MessageBus().on_many(ErasureReceipt, on_receipts))
