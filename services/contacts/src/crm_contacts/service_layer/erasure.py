"""Erasure: anonymize the contact, suppress its identifiers, send the receipt, all at once."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from crm_contacts.adapters.consents import ConsentStateRepository
from crm_contacts.adapters.merges import MergeRepository
from crm_contacts.adapters.repository import ContactRepository, SuppressionRepository
from crm_contacts.domain.commands import EraseContact
from crm_contacts.domain.contact import anonymized
from crm_contacts.service_layer.account_erasure import release_account
from crm_contacts.service_layer.duplicates import forget_pairs
from crm_contacts.settings import ContactsSettings
from crm_shared.actors import system_actor
from crm_shared.clock import now_iso
from crm_shared.events import ContactAnonymized, ErasureReceipt
from crm_shared.idempotency_records import forget_subject
from crm_shared.identity import PersonIdentifiers, person_hashes
from crm_shared.outbox import CONTACTS_SOURCE, outgoing
from crm_shared.storage import DocumentStore, OutgoingEvent, Session

log = logging.getLogger(__name__)

CONSUMER = "contacts.erasure"
ACTOR = system_actor("erasure")


async def erase_contact(
    store: DocumentStore,
    command: EraseContact,
    *,
    tenant: str,
    settings: ContactsSettings,
    event_id: str | None = None,
) -> bool:
    """Anonymize the contact and report completion; False if `event_id` was already handled."""
    async with store.transaction() as session:
        detail = await _erase_in(
            session, command, tenant=tenant, settings=settings, event_id=event_id, now=now_iso()
        )
    if detail is None:
        return False
    store.forget_deleted()  # the store's log still holds the record as it was
    log.info(
        "erasure %s of contact %s completed (%s)", command.erasure_id, command.contact_id, detail
    )
    return True


async def erase_requested(
    store: DocumentStore,
    requests: Sequence[tuple[EraseContact, str, str]],
    *,
    settings: ContactsSettings,
) -> int:
    """A consumer poll of (command, tenant, event id): one transaction per tenant, each event
    marked handled in it (a redelivery changes nothing); how many were erased now."""
    by_tenant: dict[str, list[tuple[EraseContact, str]]] = {}
    for command, tenant, event_id in requests:
        by_tenant.setdefault(tenant, []).append((command, event_id))
    erased = 0
    for tenant, commands in by_tenant.items():
        now = now_iso()
        async with store.transaction() as session:
            for command, event_id in commands:
                detail = await _erase_in(
                    session, command, tenant=tenant, settings=settings, event_id=event_id, now=now
                )
                erased += detail is not None
    if erased:
        store.forget_deleted()  # the store's log still holds the records as they were
        log.info("erasure: %d contact(s) of %d request(s) completed", erased, len(requests))
    return erased


async def _erase_in(
    session: Session,
    command: EraseContact,
    *,
    tenant: str,
    settings: ContactsSettings,
    event_id: str | None,
    now: str,
) -> str | None:
    """Erase in the caller's transaction; the receipt's detail, None for a redelivery."""
    contact_id = command.contact_id
    if event_id is not None and not await session.mark_processed(CONSUMER, event_id):
        return None
    contacts = ContactRepository(session, tenant)
    await forget_subject(session, tenant=tenant, contact_id=contact_id)  # kept answers
    # The consents kept from the ledger (sources and notices may single the person out).
    await ConsentStateRepository(session, tenant).forget(contact_id)
    doc = await contacts.get(contact_id)
    hashes = list(command.identifier_hashes)
    events: list[OutgoingEvent] = []
    detail = "erased"
    if doc is None:
        detail = "no data held"
    elif doc.get("erased_at") is not None:
        detail = "already erased"
    else:
        hashes += person_hashes(
            settings.suppression_key,
            PersonIdentifiers.of_contact(doc),
            region=settings.crm_default_region,
        )
        erased = anonymized(doc, now)
        await contacts.save(erased, expected_version=int(doc["version"]))
        await forget_pairs(session, tenant, contact_id)  # it matches nothing any more
        anonymized_event = ContactAnonymized(
            contact_id=contact_id, version=erased["version"], erasure_id=command.erasure_id
        )
        events.append(
            outgoing(
                anonymized_event,
                source=CONTACTS_SOURCE,
                tenant=tenant,
                key=contact_id,
                actor=ACTOR,
            )
        )
        events += await release_account(session, tenant, doc, now=now, actor=ACTOR)
        # A merge's record keeps the person's pre-merge data: it goes too (no undo then).
        await MergeRepository(session, tenant).close_involving(contact_id, status="erased")
    await SuppressionRepository(session, tenant).add(
        hashes, now=now, reason=f"erasure:{command.erasure_id}"
    )
    receipt = ErasureReceipt(
        erasure_id=command.erasure_id,
        contact_id=contact_id,
        service="contacts",
        status="completed",
        # An erased record's receipt carries no detail (as before); the others say why.
        detail=None if detail == "erased" else detail,
    )
    events.append(
        outgoing(receipt, source=CONTACTS_SOURCE, tenant=tenant, key=contact_id, actor=ACTOR)
    )
    await session.add_events(events)
    return detail
