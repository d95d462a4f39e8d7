"""The consent projection: each contact's current consents, kept from the gdpr ledger's events."""

from __future__ import annotations

import logging
from typing import Any

from crm_contacts.adapters.consents import ConsentStateRepository, decision_id
from crm_contacts.adapters.repository import ContactRepository
from crm_contacts.domain.consents import decision_doc, granted, public_consents, supersedes
from crm_contacts.service_layer.handlers import visible
from crm_shared.events import ConsentChanged
from crm_shared.storage import ConcurrentWriteError, DocumentStore

log = logging.getLogger(__name__)

CONSUMER = "contacts.consents"


async def record_consent(
    store: DocumentStore, event: ConsentChanged, *, tenant: str, event_id: str, effective_at: str
) -> bool:
    """Apply one ledger decision once; False for a redelivery or a contact with nothing to keep.

    An older decision than the one held changes nothing; an erased (or unknown) contact keeps
    no consents.
    """
    async with store.transaction() as session:
        if not await session.mark_processed(CONSUMER, event_id):
            return False
        contacts = ContactRepository(session, tenant)
        contact = await contacts.get(event.contact_id)
        if contact is None or contact.get("erased_at") is not None:
            log.info("ignored a consent decision for an erased or unknown contact")
            return False
        repository = ConsentStateRepository(session, tenant)
        held = {doc["id"]: doc for doc in await repository.of_contact(event.contact_id)}
        doc_id = decision_id(event.contact_id, event.purpose, event.channel)
        doc = decision_doc(event, id=doc_id, tenant=tenant, effective_at=effective_at)
        if not supersedes(doc, held.get(doc_id)):
            return True
        await repository.put(doc, new=doc_id not in held)
        held[doc_id] = doc
        tokens = granted(held.values())
        if tokens != contact.get("consents_granted"):
            # Not a profile change: the version (and so the ETag and the events) stays.
            saved = await contacts.save(
                {**contact, "consents_granted": tokens}, expected_version=int(contact["version"])
            )
            if not saved:
                raise ConcurrentWriteError("the contact changed while its consents were kept")
    return True


async def current_consents(store: DocumentStore, contact_id: str, *, tenant: str) -> dict[str, Any]:
    """A live contact's current consents (404 when missing or deleted, 410 when erased)."""
    async with store.reader() as session:
        visible(await ContactRepository(session, tenant).get(contact_id), contact_id)
        docs = await ConsentStateRepository(session, tenant).of_contact(contact_id)
    return public_consents(contact_id, docs)
