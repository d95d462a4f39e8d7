"""Data-subject access: bundle what the platform holds about a contact, and audit that it did."""

from __future__ import annotations

import logging
from typing import Any

from crm_gdpr.domain.audit import DATA_EXPORT_ACTION, AuditDraft
from crm_gdpr.domain.export import EXPORT_SECTIONS, ExportSubjectData, contact_section
from crm_gdpr.service_layer.audit import (
    append_audit,
    audit_for_target,
    public_entry,
    with_seq_retry,
)
from crm_gdpr.service_layer.consents import consents_of, public_purpose
from crm_gdpr.service_layer.ports import ContactLookup, TimelineSource
from crm_shared.clock import now_iso
from crm_shared.ids import new_id
from crm_shared.storage import DocumentStore, Session

log = logging.getLogger(__name__)


async def export_subject_data(
    store: DocumentStore,
    contacts: ContactLookup,
    timeline: TimelineSource,
    command: ExportSubjectData,
    *,
    tenant: str,
    actor: str,
) -> dict[str, Any]:
    """The bundle; the audit log records that an export happened, never what it contained."""
    contact = await contacts.get_contact(command.contact_id)
    activities = await timeline.all_activities(command.contact_id)
    purposes = await consents_of(store, tenant=tenant, contact_id=command.contact_id)
    audit = await audit_for_target(store, tenant=tenant, target=command.contact_id)
    export_id = new_id()
    generated_at = now_iso()
    draft = AuditDraft(
        at=generated_at,
        actor=actor,
        action=DATA_EXPORT_ACTION,
        target=command.contact_id,
        fields=EXPORT_SECTIONS,
        event_id=export_id,
    )

    async def record(session: Session) -> list[dict[str, Any]]:
        return await append_audit(session, tenant, [draft])

    await with_seq_retry(store, record)
    log.info("data export %s produced", export_id)
    return {
        "export_id": export_id,
        "contact_id": command.contact_id,
        "contact": contact_section(contact),
        "timeline": activities,
        "consents": [public_purpose(p) for p in purposes],
        "audit": [public_entry(e) for e in audit],
        "generated_at": generated_at,
    }
