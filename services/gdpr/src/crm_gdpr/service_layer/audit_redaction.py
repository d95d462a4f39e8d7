"""Erasure in the gdpr service: redact the audit values and consent ledger entries about a
contact, delete the access bundles kept about it, then send the receipt.

Audit redaction deletes each value and its salt and keeps the commitment, so `verify` still passes
(domain/audit_values.py) while the values can no longer be read or guessed. A ledger entry keeps
the proof (purpose, channel, status, lawful basis, notice version, when and by whom) and loses its
free-text `source`; the audit log's chained entry of the same change stays verifiable.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from crm_gdpr.adapters.repositories import AuditRepository, ConsentRepository
from crm_gdpr.service_layer.bundle_retention import forget_bundles_about
from crm_shared.actors import system_actor
from crm_shared.clock import now_iso
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ErasureReceipt, ErasureRequested
from crm_shared.outbox import GDPR_SOURCE, outgoing
from crm_shared.storage import OutgoingEvent, Session, mark_processed_many

log = logging.getLogger(__name__)

ERASURE_CONSUMER = "gdpr.erasure"
SERVICE = "gdpr"


async def redact_requested(
    session: Session, tenant: str, requests: Sequence[tuple[ErasureRequested, EventEnvelope]]
) -> int:
    """Redact once per request event, in the caller's transaction, each with its receipt; how
    many audit entries lost their values. The caller calls `store.forget_deleted()` after the
    commit: the store's log still holds the values as they were."""
    fresh = await mark_processed_many(session, ERASURE_CONSUMER, [e.id for _, e in requests])
    receipts: list[OutgoingEvent] = []
    redacted = 0
    now = now_iso()
    for request, envelope in requests:
        if envelope.id not in fresh:
            continue
        fresh.discard(envelope.id)  # the same event twice in one poll is redacted once
        entries, detail = await _redact_contact(session, tenant, request.contact_id, now=now)
        redacted += entries
        receipt = ErasureReceipt(
            erasure_id=request.erasure_id,
            contact_id=request.contact_id,
            service=SERVICE,
            status="completed",
            detail=detail,
        )
        receipts.append(
            outgoing(
                receipt,
                source=GDPR_SOURCE,
                tenant=tenant,
                key=request.contact_id,
                actor=system_actor("erasure"),
            )
        )
    await session.add_events(receipts)
    if receipts:
        log.info("erasure: %d record(s), %d audit entries redacted", len(receipts), redacted)
    return redacted


async def _redact_contact(
    session: Session, tenant: str, contact_id: str, *, now: str
) -> tuple[int, str]:
    repo = AuditRepository(session)
    entries = await repo.with_values_about(tenant, contact_id)
    for entry in entries:
        await repo.replace({**entry, "values": None, "redacted_at": now})
    ledger = await ConsentRepository(session).redact_contact(tenant, contact_id, at=now)
    # A kept access bundle quotes everything about the person.
    bundles = await forget_bundles_about(session, tenant=tenant, contact_id=contact_id)
    detail = (
        f"redacted the values of {len(entries)} audit entries "
        f"and {ledger} consent ledger entries; deleted {bundles} access bundles"
    )
    return len(entries), detail
