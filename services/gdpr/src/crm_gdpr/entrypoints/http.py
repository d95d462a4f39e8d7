"""The gdpr service's HTTP API v1: erasure requests, consents, data exports and the audit log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Response, status
from fastapi.responses import StreamingResponse

from crm_gdpr.domain.consent import RecordConsent
from crm_gdpr.domain.erasure import ErasureOrder, RequestErasure, RequestStatus
from crm_gdpr.domain.export import ExportSubjectData
from crm_gdpr.entrypoints.deps import Contacts, Importer, Settings, Store, Timeline
from crm_gdpr.entrypoints.schemas import (
    CONTACT_ID_PATTERN,
    AuditPagePublic,
    ChainReportPublic,
    ConsentCreate,
    ConsentEntryPublic,
    ConsentsPublic,
    DataExportCreate,
    DataExportPublic,
    ErasurePagePublic,
    ErasurePublic,
    ErasureRequestCreate,
    decode_cursor,
    decode_erasure_cursor,
    encode_cursor,
    encode_erasure_cursor,
)
from crm_gdpr.service_layer.audit import (
    AuditFilters,
    audit_page,
    public_entry,
    stream_audit,
    verify_chain,
)
from crm_gdpr.service_layer.consents import consent_overview, public_purpose, record_consent
from crm_gdpr.service_layer.erasure import (
    erasure_details,
    erasure_page,
    records_with_receipts,
    request_erasure,
)
from crm_gdpr.service_layer.exports import export_subject_data, kept_bundle
from crm_shared.clock import iso, now_iso, utcnow
from crm_shared.http import AdminAuth, EditorAuth, ViewerAuth
from crm_shared.idempotency import Idempotent
from crm_shared.validation import QueryMoment

router = APIRouter(prefix="/v1")

ContactIdPath = Annotated[str, Path(pattern=CONTACT_ID_PATTERN, max_length=100)]


@router.post(
    "/erasure-requests",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ErasurePublic,
    response_model_exclude_none=True,
    tags=["erasure"],
    dependencies=[Idempotent],
)
async def create_erasure_request(
    body: ErasureRequestCreate,
    principal: AdminAuth,
    store: Store,
    contacts: Contacts,
    settings: Settings,
    response: Response,
) -> dict[str, Any]:
    """Erase every record of a person everywhere; 200 with the open request if there is one."""
    request, created = await request_erasure(
        store,
        contacts,
        RequestErasure(**body.command_fields()),
        tenant=principal.tenant,
        actor=principal.key_id,
        suppression_key=settings.suppression_key,
        region=settings.crm_default_region,
        deadline_days=settings.gdpr_erasure_days,
        received=utcnow(),
        resend_after_seconds=settings.gdpr_erasure_resend_seconds,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return request.public(now_iso())


@router.get("/erasure-requests", response_model=ErasurePagePublic, tags=["erasure"])
async def list_erasure_requests(
    principal: AdminAuth,
    store: Store,
    request_status: Annotated[RequestStatus | None, Query(alias="status")] = None,
    overdue: bool = False,
    sort: Annotated[
        ErasureOrder,
        Query(
            description="received_at: oldest first (the default); -received_at: newest first; "
            "due_at: due soonest first (to work the overdue ones); -due_at: due latest first. "
            "Ties by request id; a next_cursor continues the order it was made for."
        ),
    ] = "received_at",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """The tenant's erasure requests in `sort` order; `overdue=true`: open past 80% of their
    time."""
    now = now_iso()
    requests = await erasure_page(
        store,
        tenant=principal.tenant,
        status=request_status,
        overdue_at=now if overdue else None,
        order=sort,
        after=decode_erasure_cursor(cursor, sort) if cursor else None,
        limit=limit,
    )
    full = len(requests) == limit
    return {
        "items": [r.public(now) for r in requests],
        "next_cursor": encode_erasure_cursor(requests[-1], sort) if full else None,
    }


@router.get("/erasure-requests/{erasure_id}", response_model=ErasurePublic, tags=["erasure"])
async def read_erasure_request(
    erasure_id: Annotated[str, Path(max_length=100)], principal: AdminAuth, store: Store
) -> dict[str, Any]:
    """An erasure request with every record it found and each service's receipt for each."""
    request, records, receipts = await erasure_details(
        store, tenant=principal.tenant, erasure_id=erasure_id
    )
    return {**request.public(now_iso()), "records": records_with_receipts(records, receipts)}


@router.post(
    "/contacts/{contact_id}/consents",
    status_code=status.HTTP_201_CREATED,
    response_model=ConsentEntryPublic,
    tags=["consents"],
    dependencies=[Idempotent],
)
async def create_consent(
    contact_id: ContactIdPath,
    body: ConsentCreate,
    principal: EditorAuth,
    store: Store,
    contacts: Contacts,
) -> dict[str, Any]:
    """Record a consent decision as a new ledger entry (a withdrawal is a new entry too)."""
    entry = await record_consent(
        store,
        contacts,
        RecordConsent(contact_id=contact_id, **body.model_dump()),
        tenant=principal.tenant,
        actor=principal.key_id,
    )
    return entry.public()


@router.get("/contacts/{contact_id}/consents", response_model=ConsentsPublic, tags=["consents"])
async def read_consents(
    contact_id: ContactIdPath, principal: ViewerAuth, store: Store, contacts: Contacts
) -> dict[str, Any]:
    """The current consent per purpose and channel, each with its history."""
    purposes = await consent_overview(
        store, contacts, tenant=principal.tenant, contact_id=contact_id
    )
    return {"contact_id": contact_id, "purposes": [public_purpose(p) for p in purposes]}


@router.post(
    "/data-exports",
    response_model=DataExportPublic,
    tags=["data exports"],
    dependencies=[Idempotent],
)
async def create_data_export(
    body: DataExportCreate,
    principal: AdminAuth,
    store: Store,
    contacts: Contacts,
    timeline: Timeline,
    importer: Importer,
    settings: Settings,
) -> dict[str, Any]:
    """Bundle what the platform holds about a contact (data-subject access request).

    The bundle can be read again at `GET /v1/data-exports/{export_id}` until `expires_at`
    (`GDPR_BUNDLE_RETENTION_HOURS`); then it is deleted and the deletion audited.
    """
    return await export_subject_data(
        store,
        contacts,
        timeline,
        ExportSubjectData(**body.command_fields()),
        tenant=principal.tenant,
        actor=principal.key_id,
        now=utcnow(),
        retention=timedelta(hours=settings.gdpr_bundle_retention_hours),
        import_rows=importer,
    )


@router.get("/data-exports/{export_id}", response_model=DataExportPublic, tags=["data exports"])
async def read_data_export(
    export_id: Annotated[str, Path(max_length=100)], principal: AdminAuth, store: Store
) -> dict[str, Any]:
    """A bundle made by `POST /v1/data-exports`, while it is kept; 404 once deleted."""
    return await kept_bundle(store, tenant=principal.tenant, export_id=export_id)


# Async: a plain function would take a thread hop just to copy four query parameters.
async def _filters(
    actor: Annotated[str | None, Query(max_length=200, description="e.g. key:ops")] = None,
    action: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[
        QueryMoment | None, Query(description="RFC 3339 with an offset, inclusive")
    ] = None,
    until: Annotated[
        QueryMoment | None, Query(description="RFC 3339 with an offset, exclusive")
    ] = None,
) -> AuditFilters:
    return AuditFilters(
        actor=actor,
        action=action,
        since=iso(since) if since else None,
        until=iso(until) if until else None,
    )


Filters = Annotated[AuditFilters, Depends(_filters)]


@router.get("/audit-log", response_model=AuditPagePublic, tags=["audit"])
async def read_audit_log(
    principal: AdminAuth,
    store: Store,
    filters: Filters,
    contact_id: Annotated[str | None, Query(pattern=CONTACT_ID_PATTERN, max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Audit entries oldest first by seq: by contact, actor, action, and time."""
    entries, last_seq = await audit_page(
        store,
        tenant=principal.tenant,
        contact_id=contact_id,
        after_seq=decode_cursor(cursor) if cursor else None,
        limit=limit,
        filters=filters,
    )
    return {
        "items": [public_entry(e) for e in entries],
        "next_cursor": encode_cursor(last_seq) if last_seq is not None else None,
    }


@router.get(
    "/audit-log/export",
    tags=["audit"],
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
async def export_audit_log(
    principal: AdminAuth, store: Store, filters: Filters
) -> StreamingResponse:
    """The whole log for an auditor, streamed as one JSON entry per line, oldest first."""

    async def lines() -> AsyncIterator[bytes]:
        async for page in stream_audit(store, tenant=principal.tenant, filters=filters):
            yield b"".join(orjson.dumps(entry) + b"\n" for entry in page)

    return StreamingResponse(
        lines(),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="audit-log.ndjson"'},
    )


@router.get("/audit-log/verify", response_model=ChainReportPublic, tags=["audit"])
async def verify_audit_log(principal: AdminAuth, store: Store) -> dict[str, Any]:
    """Recompute the tenant's hash chain and report the first broken link."""
    report = await verify_chain(store, tenant=principal.tenant)
    return {
        "valid": report.valid,
        "checked": report.checked,
        "first_broken_seq": report.first_broken_seq,
    }
