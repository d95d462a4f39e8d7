"""Erasure: remove everything about a contact from the timeline and confirm it with a receipt."""

from __future__ import annotations

from collections.abc import Sequence

from crm_shared.events import ErasureReceipt
from crm_shared.idempotency_records import forget_subject
from crm_shared.ids import new_id
from crm_shared.outbox import outgoing
from crm_shared.storage import DocumentStore, OutgoingEvent, Session
from crm_timeline.adapters.conversations import ConversationRepository
from crm_timeline.adapters.repository import TimelineRepository
from crm_timeline.domain.items import erased_item
from crm_timeline.domain.model import (
    TIMELINE_SOURCE,
    ContactProjection,
    EraseContact,
    EventOrigin,
)
from crm_timeline.service_layer.delivery import Delivery, first_delivery


async def erase_contact(
    store: DocumentStore,
    command: EraseContact,
    *,
    origin: EventOrigin,
    delivery: Delivery | None,
    send_receipt: bool,
    version: int | None = None,
) -> bool:
    """In one transaction: delete the contact's items, mark it erased, keep one erasure item.

    Returns False for a redelivered event. Erasing again for the same erasure id leaves the
    store as it is (the receipt is sent again, so a re-asking coordinator gets its answer).
    """
    async with store.transaction() as session:
        erased = await _erase_in(
            session,
            command,
            origin=origin,
            delivery=delivery,
            send_receipt=send_receipt,
            version=version,
        )
    if erased:
        store.forget_deleted()  # the store's log still holds the deleted items as they were
    return erased


async def erase_requested(
    store: DocumentStore, requests: Sequence[tuple[EraseContact, EventOrigin, Delivery]]
) -> int:
    """A consumer poll of erasure requests in one transaction, each with its receipt (once:
    each delivery is marked in the same transaction); how many were erased now."""
    erased = 0
    async with store.transaction() as session:
        for command, origin, delivery in requests:
            erased += await _erase_in(
                session, command, origin=origin, delivery=delivery, send_receipt=True
            )
    if erased:
        store.forget_deleted()  # the store's log still holds the deleted items as they were
    return erased


async def _erase_in(
    session: Session,
    command: EraseContact,
    *,
    origin: EventOrigin,
    delivery: Delivery | None,
    send_receipt: bool,
    version: int | None = None,
) -> bool:
    if not await first_delivery(session, delivery):
        return False
    repo = TimelineRepository(session)
    # Kept answers of idempotent requests (a note's body) go with the items.
    await forget_subject(session, tenant=origin.tenant, contact_id=command.contact_id)
    # Activities parked for the person (their contact event never came) go too.
    await repo.unpark_contact(tenant=origin.tenant, contact_id=command.contact_id)
    held = await repo.get_contact(tenant=origin.tenant, contact_id=command.contact_id)
    if held is not None and held.purged:
        # A purge already removed everything and keeps nothing, not even an erasure marker.
        if send_receipt:
            await session.add_events([_receipt(command, origin)])
        return True
    already_erased = held is not None and held.erasure_id == command.erasure_id
    if not already_erased:
        await repo.delete_items_of(tenant=origin.tenant, contact_id=command.contact_id)
        # Its conversations' messages too (their items went with the others).
        await ConversationRepository(session, origin.tenant).forget_contact(command.contact_id)
        marker = erased_item(
            tenant=origin.tenant,
            contact_id=command.contact_id,
            erasure_id=command.erasure_id,
            item_id=new_id(),
            at=origin.occurred_at,
            source=origin.source,
        )
        await repo.add_items([marker])
    held_version = held.version if held is not None else 0
    erased = ContactProjection(
        id=command.contact_id,
        tenant=origin.tenant,
        version=max(held_version, version or 0),
        state="erased",
        erasure_id=command.erasure_id,
    )
    await repo.save_contact(erased, previous=held)
    if send_receipt:
        await session.add_events([_receipt(command, origin)])
    return True


def _receipt(command: EraseContact, origin: EventOrigin) -> OutgoingEvent:
    receipt = ErasureReceipt(
        erasure_id=command.erasure_id,
        contact_id=command.contact_id,
        service="timeline",
        status="completed",
    )
    return outgoing(
        receipt,
        source=TIMELINE_SOURCE,
        tenant=origin.tenant,
        key=command.contact_id,
        actor=origin.actor,
    )
