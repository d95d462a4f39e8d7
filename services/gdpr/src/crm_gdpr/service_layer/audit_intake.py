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

from crm_gdpr.domain.audit_events import audit_drafts_many
from crm_gdpr.service_layer.audit import AUDIT_CONSUMER, append_audit, with_seq_retry
from crm_gdpr.service_layer.audit_redaction import redact_requested
from crm_gdpr.service_layer.form_consents import record_form_consents
from crm_gdpr.service_layer.merges import follow_merge
from crm_shared.envelope import EventData, EventEnvelope
from crm_shared.events import ContactsMerged, ErasureRequested, FormSubmitted, MergeUndone
from crm_shared.storage import DocumentStore, Session, mark_processed_many

Events = Sequence[tuple[EventData, EventEnvelope]]


async def audit_poll(store: DocumentStore, items: Events) -> None:
    """Audit each event once and erase what the poll's erasure requests name; then follow the
    merges and form consents among them (each once, in its own transaction as before)."""
    by_tenant: dict[str, list[tuple[EventData, EventEnvelope]]] = {}
    for data, envelope in items:
        by_tenant.setdefault(envelope.tenant, []).append((data, envelope))
    erased = False
    for tenant, events in by_tenant.items():
        await with_seq_retry(store, _intake(tenant, events))
        erased = erased or any(isinstance(data, ErasureRequested) for data, _ in events)
    if erased:
        store.forget_deleted()  # the store's log still holds the redacted values as they were
    for data, envelope in items:
        if isinstance(data, ContactsMerged | MergeUndone):
            # A merge or its undo also moves consents and links audit trails.
            await follow_merge(store, envelope, data)
        elif isinstance(data, FormSubmitted) and data.consents:
            # The consents a person gave on a public form enter the ledger.
            await record_form_consents(store, envelope, data)


def _intake(
    tenant: str, events: list[tuple[EventData, EventEnvelope]]
) -> Callable[[Session], Awaitable[None]]:
    """The unit of work of one tenant's events (run again if a concurrent append took a seq)."""

    async def work(session: Session) -> None:
        fresh = await mark_processed_many(session, AUDIT_CONSUMER, [e.id for _, e in events])
        new: list[tuple[EventData, EventEnvelope]] = []
        for data, envelope in events:
            if envelope.id in fresh:
                fresh.discard(envelope.id)  # the same event twice in one poll is audited once
                new.append((data, envelope))
        await append_audit(session, tenant, audit_drafts_many(new))
        # After the append: values the same poll brought about an erased contact go too.
        requests = [(d, e) for d, e in events if isinstance(d, ErasureRequested)]
        if requests:
            await redact_requested(session, tenant, requests)

    return work
