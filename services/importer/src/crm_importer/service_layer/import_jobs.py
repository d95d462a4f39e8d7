"""Import jobs as a list: newest first, cancelling one, and finding an earlier import of a file."""

from __future__ import annotations

from datetime import datetime, timedelta

from crm_importer.adapters.repository import ImportJobs, WorkQueue
from crm_importer.domain.jobs import ImportJob
from crm_importer.service_layer.error_rows import queue_errors_copy
from crm_importer.service_layer.imports import finished_events
from crm_shared.clock import iso, now_iso
from crm_shared.observability.metrics import JOBS_FINISHED
from crm_shared.problems import NotFound
from crm_shared.storage import DocumentStore

# The same file posted again within this window answers with the earlier job.
REPEAT_WINDOW = timedelta(hours=24)
# An earlier import that did not go through is no reason to refuse the file again.
_NOT_A_REPEAT = frozenset({"failed", "cancelled"})


async def list_imports(
    store: DocumentStore, *, tenant: str, limit: int, after: str | None
) -> tuple[list[ImportJob], str | None]:
    """The tenant's imports, newest first, and the id to continue after when more follow."""
    async with store.reader() as session:
        jobs = await ImportJobs(session).newest(tenant=tenant, limit=limit + 1, after=after)
    return jobs[:limit], jobs[limit - 1].id if len(jobs) > limit else None


async def earlier_import_of(
    store: DocumentStore, *, tenant: str, file_sha256: str, now: str
) -> ImportJob | None:
    """The newest import of the same file within 24 hours that did not fail or get cancelled."""
    since = iso(datetime.fromisoformat(now) - REPEAT_WINDOW)
    async with store.reader() as session:
        jobs = await ImportJobs(session).of_file(
            tenant=tenant, file_sha256=file_sha256, since=since
        )
    # A dry run wrote nothing: the same file may be imported after it.
    return next((job for job in jobs if job.status not in _NOT_A_REPEAT and not job.dry_run), None)


async def cancel_import(store: DocumentStore, *, tenant: str, job_id: str) -> ImportJob:
    """Cancel a queued or running import: the worker stops reading before its next batch.

    Batches already sent are still applied by the contacts service and counted; the job's
    failed rows are copied for errors.csv once they are all answered. 409 if it already ended.
    """
    async with store.transaction() as session:
        jobs = ImportJobs(session)
        job = await jobs.get(tenant=tenant, job_id=job_id)
        if job is None:
            raise NotFound(f"import {job_id} not found")
        now = now_iso()
        job.cancel(now)
        job.progressed_at = now
        await jobs.save(job)
        queue = WorkQueue(session)
        await queue.remove(job.id)  # no more reading
        if job.awaiting_results:
            await queue.add(kind="results", item_id=job.id, tenant=tenant)
        else:
            await queue_errors_copy(session, job)
        await session.add_events(finished_events(job))
    JOBS_FINISHED.labels("import", "cancelled").inc()
    return job
