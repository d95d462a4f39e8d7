"""Kafka consumers: the audit log over every domain event, and the erasure receipts."""

from __future__ import annotations

import logging

from crm_gdpr.service_layer.audit import record_event
from crm_gdpr.service_layer.erasure import record_receipt
from crm_gdpr.service_layer.merges import follow_merge
from crm_shared.clock import iso
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ContactsMerged, ErasureReceipt, MergeUndone, parse_event
from crm_shared.storage import DocumentStore
from crm_shared.topics import (
    CONTACT_EVENTS,
    ERASURE_RECEIPTS,
    GDPR_EVENTS,
    IMPORTER_EVENTS,
    TIMELINE_EVENTS,
)

log = logging.getLogger(__name__)

AUDIT_GROUP = "crm-gdpr-audit"
AUDIT_TOPICS: tuple[str, ...] = (
    CONTACT_EVENTS.name,
    IMPORTER_EVENTS.name,
    TIMELINE_EVENTS.name,
    GDPR_EVENTS.name,
    ERASURE_RECEIPTS.name,
)
RECEIPTS_GROUP = "crm-gdpr-receipts"
RECEIPTS_TOPICS: tuple[str, ...] = (ERASURE_RECEIPTS.name,)


class GdprConsumers:
    """The handlers the composition root runs in EventConsumers (and tests call directly)."""

    def __init__(self, store: DocumentStore) -> None:
        self._store = store

    async def handle_audit(self, envelope: EventEnvelope) -> None:
        """Append the event's audit entries (once, however often it is delivered).

        A merge or its undo also moves consents and links audit trails (once as well).
        """
        await record_event(self._store, envelope)
        if envelope.type in (ContactsMerged.event_type, MergeUndone.event_type):
            data = parse_event(envelope)
            if isinstance(data, ContactsMerged | MergeUndone):
                await follow_merge(self._store, envelope, data)

    async def handle_receipt(self, envelope: EventEnvelope) -> None:
        """Apply an erasure receipt; every other event type is ignored."""
        data = parse_event(envelope)
        if not isinstance(data, ErasureReceipt):
            log.debug("receipts: ignoring event type %s", envelope.type)
            return
        await record_receipt(
            self._store,
            data,
            tenant=envelope.tenant,
            event_id=envelope.id,
            at=iso(envelope.time),
        )
