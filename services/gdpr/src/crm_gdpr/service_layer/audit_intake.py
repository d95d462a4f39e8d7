"""The audit consumer's unit of work: a poll of domain events appended in one transaction per
tenant, the gdpr service's own part of each erasure in the same transaction.

A 5,000-record erasure brings 5,000 requests, 20,000 receipts and the other services' events
about those contacts; each used to be a transaction of its own (two for a request, whose
redaction also truncated the store's log once per record). Now a tenant's share of a poll reads
and writes the chain head once, marks every event handled in the same transaction as its entries
(a redelivery appends nothing), and the log is truncated once per poll that erased something.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from crm_gdpr.domain.audit_events import AuditedEvent, audit_drafts_many
from crm_gdpr.service_layer.audit import AUDIT_CONSUMER, append_audit, with_seq_retry
from crm_gdpr.service_layer.audit_redaction import redact_requested
from crm_gdpr.service_layer.form_consents import record_form_consents
from crm_gdpr.service_layer.merges import follow_merge
from crm_shared.envelope import EventEnvelope, PlainEvent
from crm_shared.events import ContactsMerged, ErasureRequested, FormSubmitted, MergeUndone
from crm_shared.storage import DocumentStore, Session, mark_processed_many

Events = Sequence[AuditedEvent]


def _event_id_and_tenant(item: AuditedEvent) -> tuple[str, str]:
    envelope = item if isinstance(item, PlainEvent) else item[1]
    return envelope.id, envelope.tenant


async def audit_poll(store: DocumentStore, items: Events) -> None:
    """Audit each event once and erase what the poll's erasure requests name; then follow the
    merges and form consents among them (each once, in its own transaction as before).

    A contact's created/updated event may come plain (PlainEvent): it is only audited."""
    by_tenant: dict[str, list[AuditedEvent]] = {}
    for item in items:
        by_tenant.setdefault(_event_id_and_tenant(item)[1], []).append(item)
    erased = False
    for tenant, events in by_tenant.items():
        await with_seq_retry(store, _intake(tenant, events))
        erased = erased or any(_erasure_request(item) is not None for item in events)
    if erased:
        store.forget_deleted()  # the store's log still holds the redacted values as they were
    for item in items:
        if isinstance(item, PlainEvent):
            continue
        data, envelope = item
        if isinstance(data, ContactsMerged | MergeUndone):
            # A merge or its undo also moves consents and links audit trails.
            await follow_merge(store, envelope, data)
        elif isinstance(data, FormSubmitted) and data.consents:
            # The consents a person gave on a public form enter the ledger.
            await record_form_consents(store, envelope, data)


def _erasure_request(item: AuditedEvent) -> tuple[ErasureRequested, EventEnvelope] | None:
    if isinstance(item, PlainEvent) or not isinstance(item[0], ErasureRequested):
        return None
    return item[0], item[1]


def _intake(tenant: str, events: list[AuditedEvent]) -> Callable[[Session], Awaitable[None]]:
    """The unit of work of one tenant's events (run again if a concurrent append took a seq)."""

    async def work(session: Session) -> None:
        ids = [_event_id_and_tenant(item)[0] for item in events]
        fresh = await mark_processed_many(session, AUDIT_CONSUMER, ids)
        new: list[AuditedEvent] = []
        for event_id, item in zip(ids, events, strict=True):
            if event_id in fresh:
                fresh.discard(event_id)  # the same event twice in one poll is audited once
                new.append(item)
        await append_audit(session, tenant, audit_drafts_many(new))
        # After the append: values the same poll brought about an erased contact go too.
        requests = [r for r in map(_erasure_request, events) if r is not None]
        if requests:
            await redact_requested(session, tenant, requests)

    return work
