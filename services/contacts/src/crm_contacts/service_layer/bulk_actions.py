"""Bulk actions as the API sees them: queue one, read its progress and results, cancel it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm_contacts.adapters.bulk import BulkJobs, BulkQueue
from crm_contacts.adapters.custom_fields import CustomFieldRepository
from crm_contacts.adapters.repository import CONTACTS
from crm_contacts.domain.bulk import (
    ACTIONS,
    ACTIVE,
    EDITOR_DELETE_LIMIT,
    MAX_IDS,
    checked_params,
    new_job,
)
from crm_contacts.domain.search import conditions
from crm_contacts.domain.validation import validate_profile
from crm_contacts.service_layer.campaigns import existing_campaign
from crm_shared.clock import now_iso
from crm_shared.filters import ContactFilter
from crm_shared.ids import new_id
from crm_shared.observability.metrics import JOBS_STARTED
from crm_shared.problems import Conflict, Forbidden, NotFound, Unprocessable
from crm_shared.storage import DocumentStore, Session


def _selection(ids: list[str] | None, criteria: ContactFilter | None) -> None:
    if (ids is None) == (criteria is None):
        raise Unprocessable("send either ids or filter, not both and not neither")
    if ids is not None and not ids:
        raise Unprocessable("ids must name at least one contact", extra={"parameter": "ids"})
    if ids is not None and len(ids) > MAX_IDS:
        raise Unprocessable(
            f"ids may name at most {MAX_IDS:,} contacts; select more with a filter",
            extra={"parameter": "ids"},
        )


async def _selected_count(
    session: Session, tenant: str, ids: list[str] | None, criteria: ContactFilter | None
) -> int:
    if ids is not None:
        return len(set(ids))
    assert criteria is not None
    definitions = await CustomFieldRepository(session, tenant).all() if criteria.custom else {}
    return await session.count(CONTACTS, tenant=tenant, where=conditions(criteria, definitions))


async def queue_bulk_action(
    store: DocumentStore,
    *,
    tenant: str,
    actor: str,
    is_admin: bool,
    action: str,
    ids: list[str] | None,
    criteria: ContactFilter | None,
    params: Mapping[str, Any],
) -> dict[str, Any]:
    """Check the request and queue the job; the runner takes the filter's snapshot at its start.

    422 naming what is wrong (action, selection, parameters, filter); 403 when an editor deletes
    more than 1,000 contacts.
    """
    if action not in ACTIONS:
        raise Unprocessable(
            f"unknown action '{action}'; one of {', '.join(ACTIONS)}", extra={"parameter": "action"}
        )
    _selection(ids, criteria)
    checked = checked_params(action, params)
    if action == "assign_owner":
        # 422 naming `owner` if it breaks the field rule (the region matters for phones only).
        validate_profile({"owner": checked["owner"]}, region="US")
    job = new_job(
        job_id=new_id(),
        tenant=tenant,
        actor=actor,
        action=action,
        params=checked,
        ids=list(dict.fromkeys(ids)) if ids is not None else None,
        filter_doc=criteria.model_dump(mode="json", exclude_defaults=True) if criteria else None,
        now=now_iso(),
    )
    async with store.transaction() as session:
        if "campaign_id" in checked:
            try:
                await existing_campaign(session, tenant, checked["campaign_id"])
            except NotFound as exc:
                raise Unprocessable(
                    f"params.campaign_id: {exc.detail}", extra={"parameter": "params.campaign_id"}
                ) from None
        if action == "delete" and not is_admin:
            count = await _selected_count(session, tenant, ids, criteria)
            if count > EDITOR_DELETE_LIMIT:
                raise Forbidden(
                    f"deleting {count:,} contacts at once needs the 'admin' role (editors may "
                    f"delete up to {EDITOR_DELETE_LIMIT:,})"
                )
        elif criteria is not None:
            # Checks the filter now (an undefined custom field is a 422, not a failed job).
            definitions = await CustomFieldRepository(session, tenant).all()
            conditions(criteria, definitions)
        await BulkJobs(session, tenant).add(job)
        await BulkQueue(session).add(job)
    JOBS_STARTED.labels("bulk").inc()
    return job


async def get_bulk_action(store: DocumentStore, job_id: str, *, tenant: str) -> dict[str, Any]:
    """A job's state and progress; 404 if not the tenant's."""
    async with store.reader() as session:
        job = await BulkJobs(session, tenant).get(job_id)
    if job is None:
        raise NotFound(f"bulk action {job_id} not found")
    return job


async def list_bulk_actions(
    store: DocumentStore, *, tenant: str, before: str | None, limit: int
) -> tuple[list[dict[str, Any]], bool]:
    """A page of the tenant's bulk actions, newest first, and whether more follow."""
    async with store.reader() as session:
        docs = await BulkJobs(session, tenant).page(before=before, limit=limit + 1)
    return docs[:limit], len(docs) > limit


async def bulk_results(
    store: DocumentStore,
    job_id: str,
    *,
    tenant: str,
    outcome: str | None,
    after: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], bool]:
    """A page of per-contact outcomes in processing order, and whether more follow."""
    async with store.reader() as session:
        jobs = BulkJobs(session, tenant)
        if await jobs.get(job_id) is None:
            raise NotFound(f"bulk action {job_id} not found")
        docs = await jobs.results(job_id, outcome=outcome, after=after, limit=limit + 1)
    return docs[:limit], len(docs) > limit


async def cancel_bulk_action(store: DocumentStore, job_id: str, *, tenant: str) -> dict[str, Any]:
    """Stop a queued or running job between chunks (what ran stays done); 409 once finished."""
    async with store.transaction() as session:
        jobs = BulkJobs(session, tenant)
        job = await jobs.get(job_id)
        if job is None:
            raise NotFound(f"bulk action {job_id} not found")
        if job["status"] not in ACTIVE:
            raise Conflict(
                f"bulk action {job_id} is {job['status']}; only a queued or running one can be "
                "cancelled",
                extra={"job_status": job["status"]},
            )
        version = int(job["version"])
        job.update(status="cancelled", finished_at=now_iso())
        if not await jobs.save(job, expected_version=version):
            raise Conflict(f"bulk action {job_id} changed meanwhile; retry")
        await BulkQueue(session).remove(job_id)
    return job
