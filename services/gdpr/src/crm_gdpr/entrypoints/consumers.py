"""The gdpr service's message tables: the audit log over every domain event, and the receipts.

The two groups treat ErasureReceipt differently (one audits it, one advances the saga), so each
has its own table.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm_gdpr.service_layer.audit import record_event
from crm_gdpr.service_layer.audit_redaction import redact_audit_values
from crm_gdpr.service_layer.erasure import record_receipt
from crm_gdpr.service_layer.form_consents import record_form_consents
from crm_gdpr.service_layer.merges import follow_merge
from crm_shared.clock import iso
from crm_shared.envelope import EventData, EventEnvelope
from crm_shared.events import (
    EVENT_TYPES,
    ContactsMerged,
    ErasureReceipt,
    ErasureRequested,
    FormSubmitted,
    MergeUndone,
    envelope_in_import_summary,
)
from crm_shared.messaging.bus import MessageBus
from crm_shared.storage import DocumentStore
from crm_shared.wiring import GDPR

AUDIT_GROUP = "crm-gdpr-audit"
RECEIPTS_GROUP = "crm-gdpr-receipts"
# Declared in crm_shared.wiring, which the AsyncAPI document is generated from; the audit reads
# every domain topic, the activities other products report included.
AUDIT_TOPICS = GDPR.topics_of(AUDIT_GROUP)
RECEIPTS_TOPICS = GDPR.topics_of(RECEIPTS_GROUP)


@dataclass(frozen=True)
class GdprBuses:
    """The table each gdpr consumer group routes by (tests hand envelopes to them directly)."""

    audit: MessageBus
    receipts: MessageBus


def build_buses(store: DocumentStore) -> GdprBuses:
    """Build both tables once, at start-up."""

    async def on_any_event(event: EventData, envelope: EventEnvelope) -> None:
        await record_event(store, envelope, event)
        if isinstance(event, ErasureRequested):
            # The gdpr service's own part of the erasure: the audit values about the contact.
            await redact_audit_values(store, event, tenant=envelope.tenant, event_id=envelope.id)
        if isinstance(event, ContactsMerged | MergeUndone):
            # A merge or its undo also moves consents and links audit trails (once as well).
            await follow_merge(store, envelope, event)
        elif isinstance(event, FormSubmitted) and event.consents:
            # The consents a person gave on a public form enter the ledger (once as well).
            await record_form_consents(store, envelope, event)

    async def on_receipt(receipt: ErasureReceipt, envelope: EventEnvelope) -> None:
        await record_receipt(
            store, receipt, tenant=envelope.tenant, event_id=envelope.id, at=iso(envelope.time)
        )

    # An import's per-contact events are skipped unparsed: the batch's ContactsImported audits
    # each contact of the import (audit_events.py).
    audit = MessageBus(skip=envelope_in_import_summary)
    for model in EVENT_TYPES.values():
        audit.on(model, on_any_event)
    return GdprBuses(audit=audit, receipts=MessageBus().on(ErasureReceipt, on_receipt))
