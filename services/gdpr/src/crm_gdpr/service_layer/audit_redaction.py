"""Erasure in the gdpr service: redact the audit values and consent ledger entries about a
contact, delete the access bundles kept about it, then send the receipt.

Audit redaction deletes each value and its salt and keeps the commitment, so `verify` still passes
(domain/audit_values.py) while the values can no longer be read or guessed. A ledger entry keeps
the proof (purpose, channel, status, lawful basis, notice version, when and by whom) and loses its
free-text `source`; the audit log's chained entry of the same change stays verifiable.
"""

from __future__ import annotations

import logging

from crm_gdpr.adapters.repositories import AuditRepository, ConsentRepository
from crm_gdpr.service_layer.bundle_retention import forget_bundles_about
from crm_shared.actors import system_actor
from crm_shared.clock import now_iso
from crm_shared.events import ErasureReceipt, ErasureRequested
from crm_shared.outbox import GDPR_SOURCE, outgoing
from crm_shared.storage import DocumentStore

log = logging.getLogger(__name__)

ERASURE_CONSUMER = "gdpr.erasure"
SERVICE = "gdpr"


async def redact_audit_values(
    store: DocumentStore, request: ErasureRequested, *, tenant: str, event_id: str
) -> int:
    """Redact once per request event; return how many entries lost their values."""
    async with store.transaction() as session:
        if not await session.mark_processed(ERASURE_CONSUMER, event_id):
            return 0
        repo = AuditRepository(session)
        entries = await repo.with_values_about(tenant, request.contact_id)
        now = now_iso()
        for entry in entries:
            await repo.replace({**entry, "values": None, "redacted_at": now})
        ledger = await ConsentRepository(session).redact_contact(tenant, request.contact_id, at=now)
        # A kept access bundle quotes everything about the person.
        bundles = await forget_bundles_about(session, tenant=tenant, contact_id=request.contact_id)
        receipt = ErasureReceipt(
            erasure_id=request.erasure_id,
            contact_id=request.contact_id,
            service=SERVICE,
            status="completed",
            detail=(
                f"redacted the values of {len(entries)} audit entries "
                f"and {ledger} consent ledger entries; deleted {bundles} access bundles"
            ),
        )
        await session.add_events(
            [
                outgoing(
                    receipt,
                    source=GDPR_SOURCE,
                    tenant=tenant,
                    key=request.contact_id,
                    actor=system_actor("erasure"),
                )
            ]
        )
    store.forget_deleted()  # the store's log still holds the values as they were
    log.info("erasure %s: %d audit entries redacted", request.erasure_id, len(entries))
    return len(entries)
