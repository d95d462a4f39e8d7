"""Rewrite jobs: queued with a definition change, run batch by batch in the background.

Each batch is one transaction that re-reads its contacts (so a contact a user edited meanwhile
is rewritten from its current state, never from a stale copy), writes each changed contact with
a version check and its own ContactUpdated (the job as the actor), and moves the job's cursor and
progress: a restart resumes at the first batch not committed, and no contact is rewritten twice.
Between batches other writes take the store's writer, so they keep succeeding while a job runs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from crm_contacts.adapters.contact_pages import contacts_after
from crm_contacts.adapters.repository import CONTACTS, ContactRepository
from crm_contacts.adapters.rewrite_jobs import JobErrors, JobQueue, RewriteJobs
from crm_contacts.adapters.tags import TagRepository
from crm_contacts.domain.rewrite_jobs import (
    ACTIVE,
    FIRST_BATCH,
    INTERNAL_ERROR,
    CannotRewrite,
    JobKind,
    RowError,
    error_id,
    error_records,
    finished,
    new_job,
    next_batch_size,
    progressed,
    retried,
    started,
)
from crm_contacts.domain.text import fold
from crm_contacts.service_layer.contact_rewrites import Rewrite, rewrite_events, rewritten
from crm_contacts.service_layer.rewrite_plans import plan_for
from crm_shared.actors import job_actor
from crm_shared.clock import now_iso
from crm_shared.ids import new_id
from crm_shared.observability.metrics import JOBS_FINISHED, JOBS_STARTED
from crm_shared.problems import Conflict, NotFound
from crm_shared.storage import ConcurrentWriteError, DocumentStore, Session

log = logging.getLogger(__name__)
_CONFLICT_RETRIES = 10


class JobGone(Exception):
    """The job finished or was removed meanwhile."""


async def queue_job(
    session: Session, *, tenant: str, kind: JobKind, params: Mapping[str, Any], requested_by: str
) -> dict[str, Any]:
    """Queue a job in the transaction that commits the definition change it catches up."""
    job = new_job(
        job_id=new_id(),
        tenant=tenant,
        kind=kind,
        params=params,
        requested_by=requested_by,
        now=now_iso(),
    )
    await RewriteJobs(session, tenant).add(job)
    await JobQueue(session).add(job)
    JOBS_STARTED.labels("rewrite").inc()
    return job


async def get_job(store: DocumentStore, job_id: str, *, tenant: str) -> dict[str, Any]:
    """One job of the tenant (404 otherwise)."""
    async with store.reader() as session:
        job = await RewriteJobs(session, tenant).get(job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found")
    return job


async def list_jobs(
    store: DocumentStore, *, tenant: str, before: str | None, limit: int
) -> tuple[list[dict[str, Any]], bool]:
    """A page of the tenant's jobs, newest first, and whether more follow."""
    async with store.reader() as session:
        docs = await RewriteJobs(session, tenant).page(before=before, limit=limit + 1)
    return docs[:limit], len(docs) > limit


async def job_errors(
    store: DocumentStore, job_id: str, *, tenant: str, after: int | None, limit: int
) -> tuple[list[dict[str, Any]], bool]:
    """A page of the job's errors in the order found, after the error at position `after`, and
    whether more follow (404 for a job that is not the tenant's). Each has its `position`."""
    async with store.reader() as session:
        job = await RewriteJobs(session, tenant).get(job_id)
        if job is None:
            raise NotFound(f"job {job_id} not found")
        errors = JobErrors(session, tenant)
        start = None if after is None else error_id(job_id, after)
        docs = await errors.page(job_id, after=start, limit=limit + 1)
        if not docs and job["errors"] and not await errors.page(job_id, after=None, limit=1):
            # A job that ran before errors had records of their own kept only its first ones.
            kept = [{**e, "position": n} for n, e in enumerate(job["errors"])]
            first = 0 if after is None else after + 1
            docs = kept[first : first + limit + 1]
    return docs[:limit], len(docs) > limit


async def retry_job(store: DocumentStore, job_id: str, *, tenant: str) -> dict[str, Any]:
    """Queue a failed job again; it resumes after its last committed batch (409 unless failed)."""
    async with store.transaction() as session:
        jobs = RewriteJobs(session, tenant)
        job = await jobs.get(job_id)
        if job is None:
            raise NotFound(f"job {job_id} not found")
        if job["status"] != "failed":
            raise Conflict(
                f"job {job_id} is {job['status']}; only a failed job can be retried",
                extra={"job_id": job_id, "job_status": job["status"]},
            )
        again = retried(job)
        await jobs.save(again, expected_version=int(job["version"]))
        await JobQueue(session).add(again)
    JOBS_STARTED.labels("rewrite").inc()
    return again


async def refuse_name_being_deleted(session: Session, tenant: str, name: str) -> None:
    """409 naming the job while a running tag delete removes a tag of this name (ignoring case
    and accents) from contacts: a new tag under it would lose its contacts to that job."""
    jobs = RewriteJobs(session, tenant)
    for job_id in await JobQueue(session).of_tenant(tenant):
        job = await jobs.get(job_id)
        if (
            job is not None
            and job["kind"] == "tag_delete"
            and job["status"] in ACTIVE
            and fold(job["params"]["name"]) == fold(name)
        ):
            raise Conflict(
                f"tag '{job['params']['name']}' is still being removed from contacts by job "
                f"{job_id}; use the name again once that job has ended",
                extra={"job_id": job_id},
            )


async def queued_jobs(store: DocumentStore) -> list[tuple[str, str]]:
    """(job id, tenant) of every unfinished job of every tenant, oldest first."""
    async with store.reader() as session:
        return await JobQueue(session).entries()


async def start_job(store: DocumentStore, job_id: str, tenant: str) -> None:
    """Count the contacts the job will look at (outside the writer), then mark it running."""
    async with store.reader() as session:
        job = await RewriteJobs(session, tenant).get(job_id)
        if job is None or job["status"] not in ACTIVE:
            raise JobGone(job_id)
        if job["status"] == "running":
            return
        plan = await plan_for(session, job)
        total = await session.count(CONTACTS, tenant=tenant, where=plan.where)
    async with store.transaction() as session:
        jobs = RewriteJobs(session, tenant)
        current = await jobs.get(job_id)
        if current is None or current["status"] != "queued":
            return
        await jobs.save(
            started(current, total=total, now=now_iso()), expected_version=current["version"]
        )


async def _on_completion(session: Session, job: Mapping[str, Any]) -> None:
    """What a job's definition change keeps until every contact caught up, dropped at the end."""
    if job["kind"] != "tag_rename":
        return
    tags = TagRepository(session, job["tenant"])
    tag = await tags.get(job["params"]["tag_id"])
    previous = list((tag or {}).get("previous_names") or ())
    if tag is None or job["params"]["old"] not in previous:
        return
    previous.remove(job["params"]["old"])
    version = int(tag["version"])
    await tags.save(
        {**tag, "previous_names": previous, "version": version + 1}, expected_version=version
    )


async def run_batch(store: DocumentStore, job_id: str, tenant: str, *, batch_size: int) -> bool:
    """Rewrite the job's next batch in one transaction; False once the job completed."""
    async with store.transaction() as session:
        jobs = RewriteJobs(session, tenant)
        job = await jobs.get(job_id)
        if job is None or job["status"] != "running":
            raise JobGone(job_id)
        plan = await plan_for(session, job)
        page = await contacts_after(
            session, tenant, where=plan.where, after=job["cursor"], limit=batch_size
        )
        now = now_iso()
        errors: list[RowError] = []
        rewrites: list[Rewrite] = []
        for doc in page:
            try:
                fields = plan.transform(doc) or {}
            except CannotRewrite as exc:
                errors.append(RowError(doc["id"], exc.reason))
                continue
            rewrite = rewritten(doc, fields, now=now)
            if rewrite is not None:
                rewrites.append(rewrite)
        # One statement batch for the whole page, each contact at the version read here: a miss
        # means another writer won (MongoDB; SQLite holds the writer), so the whole batch rolls
        # back and runs again from the contacts' current state.
        saving = asyncio.create_task(
            ContactRepository(session, tenant).save_all(
                [r.doc for r in rewrites], expected_versions=[r.expected_version for r in rewrites]
            )
        )
        try:
            # The writes go to the store's thread (or server); the events are built meanwhile.
            await asyncio.sleep(0)
            events = rewrite_events(rewrites, tenant=tenant, actor=job_actor(job_id))
        finally:
            saved = await saving  # never left running when the transaction ends
        if not saved:
            raise ConcurrentWriteError("a contact of the batch changed during the batch")
        if events:
            await session.add_events(events)
        await JobErrors(session, tenant).add(error_records(job, errors))
        job_after = progressed(
            job,
            cursor=page[-1]["id"] if page else None,
            looked_at=len(page),
            changed=len(rewrites),
            errors=errors,
        )
        done = len(page) < batch_size
        if done:
            job_after = finished(job_after, now=now)
            await _on_completion(session, job_after)
            await JobQueue(session).remove(job_id)
        await jobs.save(job_after, expected_version=int(job["version"]))
    if done:
        JOBS_FINISHED.labels("rewrite", "completed").inc()
    return not done


async def _batch_retrying(
    store: DocumentStore, job_id: str, tenant: str, *, batch_size: int
) -> bool:
    for attempt in range(1, _CONFLICT_RETRIES + 1):
        try:
            return await run_batch(store, job_id, tenant, batch_size=batch_size)
        except ConcurrentWriteError:
            if attempt == _CONFLICT_RETRIES:
                raise
            await asyncio.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


async def _fail(store: DocumentStore, job_id: str, tenant: str) -> None:
    async with store.transaction() as session:
        jobs = RewriteJobs(session, tenant)
        job = await jobs.get(job_id)
        if job is not None and job["status"] in ACTIVE:
            failed = finished(job, now=now_iso(), error=INTERNAL_ERROR)
            await jobs.save(failed, expected_version=int(job["version"]))
        await JobQueue(session).remove(job_id)
    JOBS_FINISHED.labels("rewrite", "failed").inc()


async def run_job(
    store: DocumentStore,
    job_id: str,
    tenant: str,
    *,
    batch_size: int,
    pause: float = 0.0,
    batch_seconds: float | None = None,
) -> None:
    """Run a job to its end from wherever it stands (its cursor).

    With `batch_seconds`, batches of up to `batch_size` contacts are sized so that each holds
    the store's writer about that long (`next_batch_size`); without it, each is `batch_size`.
    """
    try:
        await start_job(store, job_id, tenant)
        # A budgeted job starts small and grows: its first batch cannot hold a write up long.
        more, size = True, batch_size if batch_seconds is None else min(batch_size, FIRST_BATCH)
        while more:
            started = time.perf_counter()
            more = await _batch_retrying(store, job_id, tenant, batch_size=size)
            if batch_seconds is not None:
                took = time.perf_counter() - started
                size = next_batch_size(size, took, budget=batch_seconds, most=batch_size)
            # Between batches: room for interactive writes on a busy store.
            await asyncio.sleep(pause)
    except JobGone:
        async with store.transaction() as session:
            await JobQueue(session).remove(job_id)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        # The message may quote personal data: only the job and the error's type are logged.
        log.error("rewrite job %s stopped on %s", job_id, type(exc).__name__)
        await _fail(store, job_id, tenant)
