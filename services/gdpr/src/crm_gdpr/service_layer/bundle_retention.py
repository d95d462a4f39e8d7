"""Retention of access bundles: each expired bundle is deleted, and the deletion audited.

A bundle quotes everything held about a person, so it is kept only for the retention period
(`GDPR_BUNDLE_RETENTION_HOURS`). The answer kept for an `Idempotency-Key` replay of the export
is a second copy: it goes with the bundle.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from crm_gdpr.adapters.bundles import BundleRepository
from crm_gdpr.domain.audit import DATA_EXPORT_DELETED_ACTION, AuditDraft
from crm_gdpr.service_layer.audit import append_audit, with_seq_retry
from crm_shared.actors import system_actor
from crm_shared.clock import iso
from crm_shared.idempotency_records import forget_subject
from crm_shared.storage import DocumentStore, Session

log = logging.getLogger(__name__)

ACTOR = system_actor("retention")


async def delete_expired_bundles(store: DocumentStore, *, now: datetime, limit: int = 100) -> int:
    """Delete the bundles (any tenant) expired by `now`, each with its audit entry; how many."""
    moment = iso(now)
    async with store.reader() as session:
        expired = await BundleRepository(session).expired(moment, limit=limit)
    deleted = 0
    for watch in expired:
        if await _delete_one(store, str(watch["bundle_tenant"]), str(watch["id"]), at=moment):
            deleted += 1
    if deleted:
        log.info("deleted %d access bundle(s) past their retention", deleted)
    return deleted


async def _delete_one(store: DocumentStore, tenant: str, export_id: str, *, at: str) -> bool:
    async def work(session: Session) -> bool:
        repository = BundleRepository(session)
        kept = await repository.get(tenant, export_id)
        await repository.delete(tenant, export_id)
        if kept is None:
            return False  # deleted meanwhile (an erasure): only its watch entry was left
        for record_id in kept["record_ids"]:
            await forget_subject(session, tenant=tenant, contact_id=record_id)
        await append_audit(session, tenant, [_deletion(kept, at=at)])
        return True

    return await with_seq_retry(store, work)


def _deletion(kept: dict[str, Any], *, at: str) -> AuditDraft:
    return AuditDraft(
        at=at,
        actor=ACTOR,
        action=DATA_EXPORT_DELETED_ACTION,
        target=str(kept["contact_id"]),
        event_id=str(kept["id"]),
    )


async def forget_bundles_about(session: Session, *, tenant: str, contact_id: str) -> int:
    """Delete the kept bundles covering a record, in the caller's transaction (erasure)."""
    repository = BundleRepository(session)
    found = await repository.about(tenant, contact_id)
    for kept in found:
        await repository.delete(tenant, str(kept["id"]))
    return len(found)
