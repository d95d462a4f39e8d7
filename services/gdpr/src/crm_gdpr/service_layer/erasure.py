"""Erasure saga handlers: open a request for a person, show it, flag late ones (receipts:
erasure_receipts.py)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from crm_gdpr.adapters.repositories import ErasureRepository
from crm_gdpr.domain.erasure import ErasureOrder, ErasureRequest, RequestErasure
from crm_gdpr.domain.errors import ContactErased
from crm_gdpr.domain.person import PersonFound
from crm_gdpr.service_layer.ports import ContactLookup
from crm_shared.clock import iso
from crm_shared.events import ErasureRequested
from crm_shared.events.gdpr import ERASURE_PARTICIPANTS
from crm_shared.idempotency_records import forget_subject
from crm_shared.identity import PersonIdentifiers, person_hashes
from crm_shared.ids import new_id
from crm_shared.observability.metrics import JOBS_STARTED
from crm_shared.outbox import GDPR_SOURCE, outgoing
from crm_shared.problems import NotFound
from crm_shared.storage import Cursor, DocumentStore, DuplicateKeyError, OutgoingEvent

log = logging.getLogger(__name__)

# The record id of a request whose email or phone no contact holds (only a failed import row, say):
# every service still erases by the hashes and the contacts service suppresses them.
NO_RECORD_PREFIX = "subject:"


async def request_erasure(
    store: DocumentStore,
    contacts: ContactLookup,
    command: RequestErasure,
    *,
    tenant: str,
    actor: str,
    suppression_key: bytes,
    region: str,
    deadline_days: float,
    received: datetime,
    resend_after_seconds: float = 300.0,
) -> tuple[ErasureRequest, bool]:
    """Open an erasure request for every record of the person; (request, False) if one is open.

    Its commands are sent again after `resend_after_seconds` to every record still missing a
    receipt (`resend_unanswered`)."""
    found = await contacts.resolve_person(
        contact_ids=command.contact_ids, emails=command.emails, phones=command.phones
    )
    erasure_id = new_id()
    records = _records_to_erase(command, found, erasure_id)
    first = str(records[0]["id"])
    async with store.reader() as session:
        pending = await ErasureRepository(session).pending_for_contact(tenant, first)
    if pending is not None:
        return pending, False
    # The selectors' own hashes too: an email no contact holds may still be in a failed row.
    selector_hashes = person_hashes(
        suppression_key,
        PersonIdentifiers(emails=command.emails, phones=command.phones),
        region=region,
    )
    hashes = list(dict.fromkeys([*found.identifier_hashes, *selector_hashes]))
    request = ErasureRequest.open(
        id=erasure_id,
        tenant=tenant,
        contact_id=first,
        record_count=len(records),
        selector=command.selector,
        requested_by=actor,
        received=received,
        deadline_days=deadline_days,
    )
    events = requested_events(request, records, hashes, actor=actor)
    resend_at = iso(received + timedelta(seconds=resend_after_seconds))
    try:
        async with store.transaction() as session:
            await ErasureRepository(session).add(request, records, ERASURE_PARTICIPANTS)
            await ErasureRepository(session).watch_resend(request, hashes, resend_at)
            for record in records:
                # Kept answers of idempotent requests (a data-subject export) quote the person.
                await forget_subject(session, tenant=tenant, contact_id=str(record["id"]))
            await session.add_events(events)
    except DuplicateKeyError:
        # A concurrent request for the same person won the race: answer with that one.
        async with store.reader() as session:
            pending = await ErasureRepository(session).pending_for_contact(tenant, first)
        if pending is None:
            raise
        return pending, False
    log.info("erasure %s requested for %d record(s)", request.id, len(records))
    JOBS_STARTED.labels("erasure").inc()
    return request, True


def _records_to_erase(
    command: RequestErasure, found: PersonFound, erasure_id: str
) -> list[dict[str, Any]]:
    live = [r for r in found.records if r.get("state") != "erased"]
    if live:
        return sorted(
            ({"id": str(r["id"]), "state": str(r.get("state"))} for r in live),
            key=lambda r: r["id"],
        )
    if found.records:
        raise ContactErased()
    if command.selector in ("contact_id", "contact_ids"):
        raise NotFound(f"contact {command.contact_ids[0]} not found")
    return [{"id": f"{NO_RECORD_PREFIX}{erasure_id}", "state": "none"}]


def requested_events(
    request: ErasureRequest,
    records: list[dict[str, Any]],
    hashes: list[str],
    *,
    actor: str,
    only: set[str] | None = None,
) -> list[OutgoingEvent]:
    """One ErasureRequested per record (or per record in `only`); the hashes are dealt out.

    Every service reads every event of the request, so each hash needs to travel once: 5,000
    records of 5,000 people then carry about three hashes each instead of 15,000. A record's
    share depends only on its position, so a command sent again carries the same hashes.
    """
    count = len(records)
    return [
        outgoing(
            ErasureRequested(
                erasure_id=request.id,
                contact_id=str(record["id"]),
                identifier_hashes=hashes[position::count],
            ),
            source=GDPR_SOURCE,
            tenant=request.tenant,
            key=str(record["id"]),
            actor=actor,
        )
        for position, record in enumerate(records)
        if only is None or record["id"] in only
    ]


def records_with_receipts(
    records: list[dict[str, Any]], receipts: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each record found with every service's receipt for it."""
    by_record: dict[str, dict[str, dict[str, Any]]] = {}
    for receipt in receipts:
        by_record.setdefault(str(receipt["contact_id"]), {})[str(receipt["service"])] = {
            "status": receipt["status"],
            "at": receipt.get("at"),
            "detail": receipt.get("detail"),
        }
    return [{**record, "receipts": by_record.get(str(record["id"]), {})} for record in records]


async def get_erasure(store: DocumentStore, *, tenant: str, erasure_id: str) -> ErasureRequest:
    """One erasure request of the tenant; 404 otherwise."""
    async with store.reader() as session:
        request = await ErasureRepository(session).get(tenant, erasure_id)
    if request is None:
        raise NotFound(f"erasure request {erasure_id} not found")
    return request


async def erasure_details(
    store: DocumentStore, *, tenant: str, erasure_id: str
) -> tuple[ErasureRequest, list[dict[str, Any]], list[dict[str, Any]]]:
    """A request, the records it found and every per-record receipt; 404 otherwise."""
    async with store.reader() as session:
        repo = ErasureRepository(session)
        request = await repo.get(tenant, erasure_id)
        if request is None:
            raise NotFound(f"erasure request {erasure_id} not found")
        records = await repo.records_of(tenant, erasure_id)
        receipts = await repo.receipts_of(tenant, erasure_id)
    return request, records, receipts


async def erasure_page(
    store: DocumentStore,
    *,
    tenant: str,
    status: str | None,
    overdue_at: str | None,
    order: ErasureOrder = "received_at",
    after: Cursor | None,
    limit: int,
) -> list[ErasureRequest]:
    """A page of the tenant's requests in `order` (`overdue_at`: only those late by then)."""
    async with store.reader() as session:
        return await ErasureRepository(session).page(
            tenant, status=status, warned_before=overdue_at, order=order, after=after, limit=limit
        )


async def flag_overdue(store: DocumentStore, *, now: datetime, limit: int = 500) -> int:
    """Log and flag every open request (any tenant) past 80% of its time; how many were flagged."""
    moment = iso(now)
    flagged = 0
    async with store.transaction() as session:
        repo = ErasureRepository(session)
        for watch in await repo.due_for_warning(moment, limit=limit):
            await repo.unwatch(str(watch["id"]))
            request = await repo.get(str(watch["request_tenant"]), str(watch["id"]))
            if request is None or request.status == "completed":
                continue
            await repo.save(request.model_copy(update={"flagged_at": moment}))
            flagged += 1
            log.warning(
                "erasure %s is open past 80%% of its time (due %s, %s)",
                request.id,
                request.due_at,
                request.status,
            )
    return flagged
