"""Consents given on a public form: the contacts service reports them, the ledger records them.

Each ticked purpose becomes a `granted` entry with lawful basis `consent`, source `form:<id>`
and the form's notice version, recorded once per event, with a ConsentChanged like any other.
"""

from __future__ import annotations

from crm_gdpr.adapters.repositories import ConsentRepository
from crm_gdpr.domain.consent import ConsentEntry, RecordConsent
from crm_gdpr.service_layer.ids import new_ids
from crm_shared.actors import form_actor
from crm_shared.clock import now_iso
from crm_shared.envelope import EventEnvelope
from crm_shared.events import FormSubmitted
from crm_shared.outbox import GDPR_SOURCE, outgoing
from crm_shared.storage import DocumentStore

FORM_CONSENTS_CONSUMER = "gdpr.form-consents"


async def record_form_consents(
    store: DocumentStore, envelope: EventEnvelope, event: FormSubmitted
) -> list[ConsentEntry]:
    """Append the form's consents to the ledger once; returns the entries appended."""
    tenant = envelope.tenant
    source = form_actor(event.form_id)
    actor = envelope.actor or source
    commands = [
        RecordConsent(
            contact_id=event.contact_id,
            purpose=given.purpose,
            status="granted",
            channel=given.channel,
            lawful_basis="consent",
            source=source,
            notice_version=event.notice_version,
        )
        for given in event.consents
    ]
    recorded_at = now_iso()
    entries = [
        ConsentEntry.record(
            command, id=entry_id, tenant=tenant, recorded_at=recorded_at, recorded_by=actor
        )
        for command, entry_id in zip(commands, new_ids(len(commands)), strict=True)
    ]
    async with store.transaction() as session:
        if not await session.mark_processed(FORM_CONSENTS_CONSUMER, envelope.id):
            return []
        repository = ConsentRepository(session)
        for entry in entries:
            await repository.add(entry)
        await session.add_events(
            [
                outgoing(
                    entry.changed(),
                    source=GDPR_SOURCE,
                    tenant=tenant,
                    key=entry.contact_id,
                    actor=actor,
                )
                for entry in entries
            ]
        )
    return entries
