"""Consent ledger handlers: record a decision, show the current status with its history."""

from __future__ import annotations

from crm_gdpr.adapters.repositories import ConsentRepository
from crm_gdpr.domain.consent import ConsentEntry, PurposeConsent, RecordConsent, current_consents
from crm_gdpr.domain.errors import ContactErased
from crm_gdpr.service_layer.ports import ContactLookup
from crm_shared.clock import now_iso
from crm_shared.ids import new_id
from crm_shared.outbox import GDPR_SOURCE, outgoing
from crm_shared.storage import DocumentStore


async def record_consent(
    store: DocumentStore,
    contacts: ContactLookup,
    command: RecordConsent,
    *,
    tenant: str,
    actor: str,
) -> ConsentEntry:
    """Append a ledger entry for an existing contact and emit ConsentChanged."""
    await contacts.get_contact(command.contact_id)
    entry = ConsentEntry.record(
        command, id=new_id(), tenant=tenant, recorded_at=now_iso(), recorded_by=actor
    )
    event = entry.changed()
    async with store.transaction() as session:
        await ConsentRepository(session).add(entry)
        await session.add_events(
            [outgoing(event, source=GDPR_SOURCE, tenant=tenant, key=entry.contact_id, actor=actor)]
        )
    return entry


async def consents_of(
    store: DocumentStore, *, tenant: str, contact_id: str
) -> list[PurposeConsent]:
    """The current consent per (purpose, channel) of a contact, from the tenant's ledger."""
    async with store.reader() as session:
        entries = await ConsentRepository(session).for_contact(tenant, contact_id)
    return current_consents(entries)


async def consent_overview(
    store: DocumentStore, contacts: ContactLookup, *, tenant: str, contact_id: str
) -> list[PurposeConsent]:
    """Like `consents_of`, but 404 when the ledger is empty and the contact is unknown."""
    purposes = await consents_of(store, tenant=tenant, contact_id=contact_id)
    if not purposes:
        try:
            await contacts.get_contact(contact_id)
        except ContactErased:
            return []
    return purposes


def public_purpose(purpose: PurposeConsent) -> dict[str, object]:
    """A purpose's current consent as the API shows it."""
    return {
        "purpose": purpose.purpose,
        "channel": purpose.channel,
        "status": purpose.status,
        "updated_at": purpose.updated_at,
        "history": [entry.public() for entry in purpose.history],
    }
