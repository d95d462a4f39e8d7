"""Handler for contact lifecycle events: projection by version, one item per change."""

from __future__ import annotations

import logging
from typing import Any

from crm_shared.clock import iso
from crm_shared.ids import new_ids
from crm_shared.storage import DocumentStore
from crm_shared.validation import is_clean_text, json_problem
from crm_timeline.adapters.repository import TimelineRepository
from crm_timeline.domain.contact_history import (
    ContactFact,
    ContactLifecycleEvent,
    Outcome,
    advance,
    facts_from_event,
    outcome_of,
)
from crm_timeline.domain.model import ContactProjection, EventOrigin, as_utc
from crm_timeline.service_layer.delivery import Delivery, first_delivery
from crm_timeline.service_layer.parking import release_parked

log = logging.getLogger(__name__)


async def record_contact_event(
    store: DocumentStore,
    event: ContactLifecycleEvent,
    *,
    origin: EventOrigin,
    delivery: Delivery | None,
) -> list[dict[str, Any]]:
    """Advance the projection for newer versions and record an item for newer-or-equal ones;
    the stored items.

    An import batch lists up to 1,000 contacts, so every fact of the event is decided in memory
    against projections read with one query and written back with a few bulk statements.
    """
    facts = _storable_facts(facts_from_event(event))
    occurred_at = iso(as_utc(origin.occurred_at))
    kept: list[ContactFact] = []
    async with store.transaction() as session:
        if not await first_delivery(session, delivery):
            return []
        repo = TimelineRepository(session)
        stored = await repo.get_contacts(
            tenant=origin.tenant, contact_ids=[fact.contact_id for fact in facts]
        )
        # Facts apply in order, so a contact listed twice sees the projection its first fact left.
        held = dict(stored)
        advanced: dict[str, ContactProjection] = {}
        for fact in facts:
            current = held.get(fact.contact_id)
            outcome = outcome_of(current, fact.version)
            if outcome is Outcome.IGNORE:
                log.info("ignored stale or post-erasure version %d of a contact", fact.version)
                continue
            if outcome is Outcome.APPLY:
                held[fact.contact_id] = advanced[fact.contact_id] = advance(
                    current, fact, tenant=origin.tenant
                )
            kept.append(fact)
        # One read of the OS's randomness for the batch's item ids, not one per contact.
        recorded = [
            _contact_item(item_id, fact, origin, occurred_at)
            for item_id, fact in zip(new_ids(len(kept)), kept, strict=True)
        ]
        await repo.save_contacts(
            tenant=origin.tenant, contacts=list(advanced.values()), stored=stored.keys()
        )
        await repo.add_item_documents(recorded)
        # Activities reported before the contact's first event waited for it.
        newly_known = [contact_id for contact_id in advanced if contact_id not in stored]
        await release_parked(session, repo, tenant=origin.tenant, contact_ids=newly_known)
    return recorded


async def purge_contact(
    store: DocumentStore, contact_id: str, *, origin: EventOrigin, delivery: Delivery | None
) -> bool:
    """In one transaction: delete every item of the contact and mark its projection purged.

    The purged projection (holding no personal data) stays as a tombstone, so a stale event
    about the contact arriving later is dropped instead of bringing it back. Returns False for
    a redelivered event.
    """
    async with store.transaction() as session:
        if not await first_delivery(session, delivery):
            return False
        repo = TimelineRepository(session)
        held = await repo.get_contact(tenant=origin.tenant, contact_id=contact_id)
        if held is not None and held.merged_into:
            # Merged away, then purged when undo was no longer possible: its history stays with
            # the primary for good.
            await repo.repoint_items(
                tenant=origin.tenant, from_id=contact_id, to_id=held.merged_into
            )
        deleted = await repo.delete_items_of(tenant=origin.tenant, contact_id=contact_id)
        await repo.unpark_contact(tenant=origin.tenant, contact_id=contact_id)
        purged = ContactProjection(
            id=contact_id,
            tenant=origin.tenant,
            version=held.version if held is not None else 0,
            state="purged",
        )
        await repo.save_contact(purged, previous=held)
    log.info("purged contact %s: %d timeline items deleted", contact_id, deleted)
    return True


def _storable_facts(facts: list[ContactFact]) -> list[ContactFact]:
    """The facts every store can hold (UTF-8 text, 64-bit integers); one bad one loses no other."""
    kept = [
        fact
        for fact in facts
        if is_clean_text(fact.contact_id)
        and is_clean_text(fact.summary)
        and json_problem(fact.data) is None
    ]
    if len(kept) < len(facts):
        log.warning("skipped %d contact fact(s) no store can hold", len(facts) - len(kept))
    return kept


def _contact_item(
    item_id: str, fact: ContactFact, origin: EventOrigin, occurred_at: str
) -> dict[str, Any]:
    """The stored item of a fact, as `TimelineItem.model_dump()` writes it.

    A plain document: every value is the validated event's (its text checked storable by
    `_storable_facts`) or the handler's own, and an import's summary makes a thousand at once,
    for which building and dumping a model each was a tenth of the timeline's CPU per row.
    """
    return {
        "id": item_id,
        "tenant": origin.tenant,
        "contact_id": fact.contact_id,
        "type": fact.item_type,
        "occurred_at": occurred_at,
        "source": origin.source,
        "summary": fact.summary,
        "details": {},
        "data": fact.data,
        "actor": origin.actor,
        "edited_at": None,
    }
