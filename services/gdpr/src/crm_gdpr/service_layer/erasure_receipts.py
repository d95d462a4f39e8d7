"""The erasure saga's receipts: a consumer's poll of them applied in one transaction per tenant.

A 5,000-record request brings 20,000 receipts (one per service per record). Applied one
transaction each, the request document was read, validated and rewritten 20,000 times; applied a
poll at a time, each request touched by the poll is read and saved once, the poll's receipts are
read in one query, and every receipt is still marked handled in the same transaction as its
effect, so a redelivered one (after a crash before the offset commit) changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from crm_gdpr.adapters.repositories import ErasureRepository, receipt_id
from crm_gdpr.domain.erasure import ErasureRequest, Outcome, apply_receipt
from crm_shared.actors import system_actor
from crm_shared.clock import iso, now_iso
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ErasureCompleted, ErasureReceipt
from crm_shared.observability.metrics import JOBS_FINISHED
from crm_shared.outbox import GDPR_SOURCE, outgoing
from crm_shared.storage import DocumentStore, OutgoingEvent, Session, mark_processed_many

log = logging.getLogger(__name__)

RECEIPTS_CONSUMER = "gdpr.receipts"


@dataclass
class _Progress:
    """What one tenant's receipts of a poll changed, kept until the transaction's end."""

    requests: dict[str, ErasureRequest | None] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)
    announced: list[tuple[ErasureRequest, Outcome]] = field(default_factory=list)


async def record_receipts(
    store: DocumentStore, items: Sequence[tuple[ErasureReceipt, EventEnvelope]]
) -> None:
    """Apply each receipt once, a tenant's share of the poll in one transaction; announce the
    end of every saga that ended."""
    by_tenant: dict[str, list[tuple[ErasureReceipt, EventEnvelope]]] = {}
    for receipt, envelope in items:
        by_tenant.setdefault(envelope.tenant, []).append((receipt, envelope))
    for tenant, receipts in by_tenant.items():
        async with store.transaction() as session:
            progress = await _apply(session, tenant, receipts)
        for request, outcome in progress.announced:
            JOBS_FINISHED.labels("erasure", outcome).inc()
            log.info("erasure %s %s", request.id, outcome)


async def _apply(
    session: Session, tenant: str, receipts: list[tuple[ErasureReceipt, EventEnvelope]]
) -> _Progress:
    fresh = await mark_processed_many(session, RECEIPTS_CONSUMER, [e.id for _, e in receipts])
    repo = ErasureRepository(session)
    progress = _Progress()
    new = [(r, e) for r, e in receipts if e.id in fresh]
    stored = await repo.receipts_by_id(
        tenant, [receipt_id(r.erasure_id, r.contact_id, r.service) for r, _ in new]
    )
    done = set()  # event ids applied: a repeat within the poll (same id) counts once
    for receipt, envelope in new:
        if envelope.id in done:
            continue
        done.add(envelope.id)
        await _apply_one(repo, progress, stored, receipt, envelope)
    for erasure_id in sorted(progress.changed):
        request = progress.requests[erasure_id]
        if request is not None:
            await repo.save(request)
    await session.add_events([_completion(tenant, r, o) for r, o in progress.announced])
    return progress


async def _apply_one(
    repo: ErasureRepository,
    progress: _Progress,
    stored: dict[str, dict[str, Any]],
    receipt: ErasureReceipt,
    envelope: EventEnvelope,
) -> None:
    if receipt.erasure_id not in progress.requests:
        progress.requests[receipt.erasure_id] = await repo.get(envelope.tenant, receipt.erasure_id)
    request = progress.requests[receipt.erasure_id]
    if request is None:
        log.debug("receipt %s for an unknown erasure request; ignored", envelope.id)
        return
    key = receipt_id(request.id, receipt.contact_id, receipt.service)
    before = stored.get(key)
    if before is None:
        log.warning("receipt %s is for no record or participant of %s", envelope.id, request.id)
        return
    at = iso(envelope.time)
    applied = apply_receipt(
        request,
        service=receipt.service,
        previous=before["status"],
        status=receipt.status,
        at=at,
        detail=receipt.detail,
        now=now_iso(),
    )
    if not applied.changed:
        return
    # Later receipts of the poll for the same record see this one (a resent command's answer).
    stored[key] = {**before, "status": receipt.status, "at": at, "detail": receipt.detail}
    await repo.save_receipt(stored[key])
    progress.requests[request.id] = applied.request
    progress.changed.add(request.id)
    if applied.announce is not None:
        progress.announced.append((applied.request, applied.announce))


def _completion(tenant: str, request: ErasureRequest, outcome: Outcome) -> OutgoingEvent:
    done = ErasureCompleted(erasure_id=request.id, contact_id=request.contact_id, status=outcome)
    return outgoing(
        done,
        source=GDPR_SOURCE,
        tenant=tenant,
        key=request.contact_id,
        actor=system_actor("erasure"),
    )
