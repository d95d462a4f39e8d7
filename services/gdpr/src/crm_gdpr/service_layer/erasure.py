"""Erasure saga handlers: open a request, record each service's receipt, announce the outcome."""

from __future__ import annotations

import logging

from crm_gdpr.adapters.repositories import ErasureRepository
from crm_gdpr.domain.erasure import ErasureRequest, RequestErasure, apply_receipt
from crm_gdpr.service_layer.ports import ContactLookup
from crm_shared.actors import system_actor
from crm_shared.clock import now_iso
from crm_shared.events import ErasureCompleted, ErasureReceipt, ErasureRequested
from crm_shared.idempotency_records import forget_subject
from crm_shared.identity import PersonIdentifiers, person_hashes
from crm_shared.ids import new_id
from crm_shared.observability.metrics import JOBS_FINISHED, JOBS_STARTED
from crm_shared.outbox import GDPR_SOURCE, outgoing
from crm_shared.problems import NotFound
from crm_shared.storage import DocumentStore, DuplicateKeyError

log = logging.getLogger(__name__)

RECEIPTS_CONSUMER = "gdpr.receipts"


async def request_erasure(
    store: DocumentStore,
    contacts: ContactLookup,
    command: RequestErasure,
    *,
    tenant: str,
    actor: str,
    suppression_key: bytes,
    region: str,
) -> tuple[ErasureRequest, bool]:
    """Open an erasure request and emit ErasureRequested; (request, False) if one is pending."""
    async with store.reader() as session:
        pending = await ErasureRepository(session).pending_for_contact(tenant, command.contact_id)
    if pending is not None:
        return pending, False
    contact = await contacts.get_contact(command.contact_id)
    # Every email and phone of the contact, hashed as every service hashes them (`region`: the
    # platform's default). Only the keyed hashes leave this function: no value is stored or sent.
    hashes = person_hashes(suppression_key, PersonIdentifiers.of_contact(contact), region=region)
    request = ErasureRequest.open(
        id=new_id(),
        tenant=tenant,
        contact_id=command.contact_id,
        requested_by=actor,
        requested_at=now_iso(),
    )
    event = ErasureRequested(
        erasure_id=request.id, contact_id=command.contact_id, identifier_hashes=hashes
    )
    try:
        async with store.transaction() as session:
            await ErasureRepository(session).add(request)
            # Kept answers of idempotent requests (a data-subject export) quote the person.
            await forget_subject(session, tenant=tenant, contact_id=command.contact_id)
            await session.add_events(
                [
                    outgoing(
                        event,
                        source=GDPR_SOURCE,
                        tenant=tenant,
                        key=command.contact_id,
                        actor=actor,
                    )
                ]
            )
    except DuplicateKeyError:
        # A concurrent request for the same contact won the race: answer with that one.
        async with store.reader() as session:
            pending = await ErasureRepository(session).pending_for_contact(
                tenant, command.contact_id
            )
        if pending is None:
            raise
        return pending, False
    log.info("erasure %s requested", request.id)
    JOBS_STARTED.labels("erasure").inc()
    return request, True


async def get_erasure(store: DocumentStore, *, tenant: str, erasure_id: str) -> ErasureRequest:
    """One erasure request of the tenant; 404 otherwise."""
    async with store.reader() as session:
        request = await ErasureRepository(session).get(tenant, erasure_id)
    if request is None:
        raise NotFound(f"erasure request {erasure_id} not found")
    return request


async def record_receipt(
    store: DocumentStore, receipt: ErasureReceipt, *, tenant: str, event_id: str, at: str
) -> None:
    """Apply one service's receipt once; emit ErasureCompleted when the saga reaches its end."""
    async with store.transaction() as session:
        if not await session.mark_processed(RECEIPTS_CONSUMER, event_id):
            return
        repo = ErasureRepository(session)
        request = await repo.get(tenant, receipt.erasure_id)
        if request is None or request.contact_id != receipt.contact_id:
            log.debug("receipt %s for an unknown erasure request; ignored", event_id)
            return
        if receipt.service not in request.receipts:
            log.warning("receipt from %r, not an erasure participant; ignored", receipt.service)
            return
        applied = apply_receipt(
            request,
            service=receipt.service,
            status=receipt.status,
            at=at,
            detail=receipt.detail,
            now=now_iso(),
        )
        if not applied.changed:
            return
        await repo.save(applied.request)
        if applied.announce is not None:
            done = ErasureCompleted(
                erasure_id=request.id, contact_id=request.contact_id, status=applied.announce
            )
            await session.add_events(
                [
                    outgoing(
                        done,
                        source=GDPR_SOURCE,
                        tenant=tenant,
                        key=request.contact_id,
                        actor=system_actor("erasure"),
                    )
                ]
            )
    if applied.announce is not None:
        JOBS_FINISHED.labels("erasure", applied.announce).inc()
    log.info(
        "erasure %s: %s reported %s; request is %s",
        request.id,
        receipt.service,
        receipt.status,
        applied.request.status,
    )
