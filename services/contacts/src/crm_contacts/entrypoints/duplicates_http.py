"""The duplicates API: a contact's duplicates, the tenant's candidate groups, dismiss, scan."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status

from crm_contacts.domain.contact import public_view
from crm_contacts.domain.matching import Match
from crm_contacts.entrypoints.deps import Settings, Store
from crm_contacts.entrypoints.duplicate_schemas import (
    DuplicateCandidate,
    DuplicateCandidates,
    DuplicateGroup,
    DuplicateGroups,
    ScanStatus,
)
from crm_contacts.entrypoints.schemas import ContactPublic
from crm_contacts.service_layer import duplicates
from crm_contacts.service_layer.duplicate_scan import DuplicateScans
from crm_shared.http import AdminAuth, EditorAuth, ViewerAuth

router = APIRouter(tags=["duplicates"])


def candidates(found: list[tuple[Match, dict[str, Any]]]) -> list[DuplicateCandidate]:
    """Matches as the API shows them."""
    return [
        DuplicateCandidate(
            contact=ContactPublic.model_validate(public_view(doc)),
            score=match.score,
            reasons=list(match.reasons),
        )
        for match, doc in found
    ]


def _group(pair: dict[str, Any]) -> DuplicateGroup:
    return DuplicateGroup.model_validate(pair, from_attributes=False)


def _scans(request: Request) -> DuplicateScans:
    scans: DuplicateScans = request.app.state.duplicate_scans
    return scans


@router.get("/v1/contacts/{contact_id}/duplicates", response_model=DuplicateCandidates)
async def contact_duplicates(
    contact_id: str, principal: ViewerAuth, store: Store
) -> DuplicateCandidates:
    """The contact's likely duplicates, best first (dismissed groups left out)."""
    found = await duplicates.contact_duplicates(store, contact_id, tenant=principal.tenant)
    return DuplicateCandidates(items=candidates(found))


@router.get("/v1/duplicates", response_model=DuplicateGroups)
async def list_duplicates(
    principal: ViewerAuth,
    store: Store,
    settings: Settings,
    min_score: Annotated[float, Query(ge=0, le=1, description="Lowest score listed")] = 0.5,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> DuplicateGroups:
    """Candidate groups across the tenant, best first, kept current as contacts change."""
    page = await duplicates.list_groups(
        store,
        tenant=principal.tenant,
        min_score=min_score,
        limit=limit,
        cursor=cursor,
        secret=settings.suppression_key,
    )
    return DuplicateGroups(items=[_group(p) for p in page.items], next_cursor=page.next_cursor)


@router.post("/v1/duplicates/{group_id}/dismiss", response_model=DuplicateGroup)
async def dismiss_duplicates(group_id: str, principal: EditorAuth, store: Store) -> DuplicateGroup:
    """Mark a group as not duplicates; it comes back only if a new reason appears."""
    pair = await duplicates.dismiss_group(
        store, group_id, tenant=principal.tenant, actor=principal.key_id
    )
    return _group(pair)


@router.post("/v1/duplicates/scan", status_code=status.HTTP_202_ACCEPTED, response_model=ScanStatus)
async def start_scan(principal: AdminAuth, store: Store, request: Request) -> ScanStatus:
    """Rebuild the tenant's groups from all its contacts in the background (admins)."""
    job = await _scans(request).start(store, principal.tenant)
    return ScanStatus.model_validate(job, from_attributes=True)


@router.get("/v1/duplicates/scan", response_model=ScanStatus)
async def scan_status(principal: ViewerAuth, store: Store, request: Request) -> ScanStatus:
    """The tenant's latest full scan, whichever replica runs it."""
    job = await _scans(request).status(store, principal.tenant)
    return ScanStatus.model_validate(job, from_attributes=True)
