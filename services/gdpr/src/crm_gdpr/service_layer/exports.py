"""Data-subject access: bundle what every service holds about a person, and audit that it did."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from crm_gdpr.adapters.bundles import BundleRepository
from crm_gdpr.domain.audit import DATA_EXPORT_ACTION, AuditDraft
from crm_gdpr.domain.export import (
    EXPORT_SECTIONS,
    ExportSubjectData,
    contact_section,
    per_record,
    section_csv,
)
from crm_gdpr.service_layer.audit import (
    append_audit,
    audit_for_target,
    public_entry,
    with_seq_retry,
)
from crm_gdpr.service_layer.consents import consents_of, public_purpose
from crm_gdpr.service_layer.ports import ContactLookup, ImportRowsSource, TimelineSource
from crm_shared.clock import iso
from crm_shared.held_uploads import HELD_UPLOADS_NOTE
from crm_shared.ids import new_id
from crm_shared.problems import NotFound
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
    now: datetime,
    retention: timedelta,
    import_rows: ImportRowsSource | None = None,
) -> dict[str, Any]:
    """The bundle over every record of the person (soft-deleted and merged-away included).

    It is kept for `retention` (`GET /v1/data-exports/{id}`), then deleted by the retention
    loop. The audit log records that an export happened, never what it contained.
    """
    found = await contacts.resolve_person(
        contact_ids=command.contact_ids,
        emails=command.emails,
        phones=command.phones,
        with_profiles=True,
    )
    records = [r for r in found.records if r.get("state") != "erased"]
    if not records:
        raise NotFound("no contact of this person was found")
    primary = _primary(records, command)
    activities: list[dict[str, Any]] = []
    consents: list[dict[str, Any]] = []
    audit: list[dict[str, Any]] = []
    for record in records:
        record_id = str(record["id"])
        activities += [
            {"contact_id": record_id, **item} for item in await timeline.all_activities(record_id)
        ]
        for purpose in await consents_of(store, tenant=tenant, contact_id=record_id):
            consents.append({"contact_id": record_id, **public_purpose(purpose)})
        audit += [
            public_entry(e) for e in await audit_for_target(store, tenant=tenant, target=record_id)
        ]
    # Rows of imported files that hold one of the person's emails or phones (failed or warned
    # rows, as errors.csv repeats them), found by the identifiers' keyed hashes.
    mentioning = await import_rows.rows_mentioning(found.identifier_hashes) if import_rows else []
    export_id = new_id()
    generated_at = iso(now)
    draft = AuditDraft(
        at=generated_at,
        actor=actor,
        action=DATA_EXPORT_ACTION,
        target=str(primary["id"]),
        fields=EXPORT_SECTIONS,
        event_id=export_id,
    )

    sections: dict[str, list[dict[str, Any]]] = {
        "records": [{"id": r["id"], **(r.get("profile") or {})} for r in records],
        "custom_fields": per_record(records, "custom_fields"),
        "tags": per_record(records, "tags"),
        "campaigns": per_record(records, "campaigns"),
        "timeline": activities,
        "consents": consents,
        "import_rows": [_flat_import_row(row) for row in mentioning],
        "audit": audit,
    }
    bundle = {
        "export_id": export_id,
        "contact_id": str(primary["id"]),
        "contact": contact_section(primary.get("profile") or {}),
        **sections,
        "csv": {name: section_csv(rows) for name, rows in sections.items()},
        # Copies no service holds, which no bundle can show: what they are and how long they live.
        "held_elsewhere": [dict(HELD_UPLOADS_NOTE)],
        "generated_at": generated_at,
        "expires_at": iso(now + retention),
    }
    kept = {
        "id": export_id,
        "tenant": tenant,
        "contact_id": bundle["contact_id"],
        "record_ids": [str(r["id"]) for r in records],
        "expires_at": bundle["expires_at"],
        "bundle": bundle,
    }

    async def record_export(session: Session) -> list[dict[str, Any]]:
        await BundleRepository(session).add(kept)
        return await append_audit(session, tenant, [draft])

    await with_seq_retry(store, record_export)
    log.info("data export %s produced over %d record(s)", export_id, len(records))
    return bundle


async def kept_bundle(store: DocumentStore, *, tenant: str, export_id: str) -> dict[str, Any]:
    """A bundle still kept (within its retention); 404 once deleted or for another tenant."""
    async with store.reader() as session:
        kept = await BundleRepository(session).get(tenant, export_id)
    if kept is None:
        raise NotFound(f"data export {export_id} not found (deleted after its retention?)")
    bundle: dict[str, Any] = kept["bundle"]
    return bundle


def _flat_import_row(row: dict[str, Any]) -> dict[str, Any]:
    """An import row as one flat record (its cells under their headers), for JSON and CSV."""
    warnings = row.get("warnings") or []
    return {
        "job_id": row.get("job_id"),
        "row_number": row.get("row_number"),
        "outcome": row.get("outcome"),
        "reason": row.get("reason"),
        "warnings": "; ".join(str(w) for w in warnings),
        "row": row.get("row") or {},
    }


def _primary(records: list[dict[str, Any]], command: ExportSubjectData) -> dict[str, Any]:
    """The record asked for by id, else the first live one, else the first found."""
    for wanted in command.contact_ids:
        for record in records:
            if record["id"] == wanted:
                return record
    return next((r for r in records if r.get("state") == "live"), records[0])
