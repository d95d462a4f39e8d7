"""Handler for consent changes: one consent_changed item per ledger entry the gdpr service made."""

from __future__ import annotations

import logging

from crm_shared.clock import iso
from crm_shared.events import ConsentChanged
from crm_shared.ids import new_id
from crm_shared.storage import DocumentStore
from crm_timeline.adapters.repository import TimelineRepository
from crm_timeline.domain.model import EventOrigin, TimelineItem, as_utc
from crm_timeline.service_layer.delivery import Delivery, first_delivery

log = logging.getLogger(__name__)


def consent_item(event: ConsentChanged, origin: EventOrigin) -> TimelineItem:
    """'Consent withdrawn: marketing (sms)', with the ledger entry's attributes as details."""
    details = event.model_dump(exclude={"contact_id"}, exclude_none=True)
    return TimelineItem(
        id=new_id(),
        tenant=origin.tenant,
        contact_id=event.contact_id,
        type="consent_changed",
        occurred_at=iso(as_utc(origin.occurred_at)),
        source=origin.source,
        summary=f"Consent {event.status}: {event.purpose} ({event.channel})",
        details=details,
        actor=origin.actor,
    )


async def record_consent_change(
    store: DocumentStore, event: ConsentChanged, *, origin: EventOrigin, delivery: Delivery
) -> TimelineItem | None:
    """Record the change on the contact's timeline; None for a redelivery or an erased contact."""
    async with store.transaction() as session:
        if not await first_delivery(session, delivery):
            return None
        repo = TimelineRepository(session)
        held = await repo.get_contact(tenant=origin.tenant, contact_id=event.contact_id)
        if held is not None and (held.erased or held.purged):
            log.info("ignored a consent change of an erased or purged contact")
            return None
        item = consent_item(event, origin)
        await repo.add_items([item])
    return item
