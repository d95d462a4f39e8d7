"""Dry runs: the whole file read, mapped and validated, each row decided against the tenant's
live contacts by the contacts service's look-up (the batch apply's own rule), nothing written.

A dry run is read by a task of the process that accepted the upload, because the look-ups go
out with the caller's key, which is never stored; a restart fails the dry runs it interrupted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from crm_importer.adapters.contacts_client import ContactsClient, ContactsUnavailable
from crm_importer.adapters.files import DataFiles
from crm_importer.adapters.repository import ImportErrors, ImportJobs, WorkQueue
from crm_importer.domain.jobs import ImportChunk, ImportJob
from crm_importer.domain.records import CsvRecords, UnparsableRecord
from crm_importer.domain.rows import RowFailure, RowMapper
from crm_importer.service_layer.caller_tasks import CallerTasks
from crm_importer.service_layer.error_rows import queue_errors_copy
from crm_importer.service_layer.imports import DRY_RUN_WORK, fail_import, problem_doc
from crm_importer.service_layer.reading import JobGone, ReadingOptions, failure_doc
from crm_shared.clock import now_iso
from crm_shared.events import ImportRow, RowResult
from crm_shared.storage import DocumentStore

log = logging.getLogger(__name__)
# The contacts service decides at most this many rows per look-up.
LOOKUP_ROWS = 1000
INTERRUPTED = "the dry run was interrupted by a restart of the importer; upload the file again"
INTERNAL_ERROR = "the dry run stopped on an internal error; upload the file again"


async def _record(
    store: DocumentStore,
    job: ImportJob,
    chunk: ImportChunk,
    results: list[RowResult],
    *,
    options: ReadingOptions,
    final: bool,
) -> None:
    """Count one chunk's outcomes (local failures and the look-up's answers) in one unit."""
    async with store.transaction() as session:
        jobs = ImportJobs(session)
        current = await jobs.get(tenant=job.tenant, job_id=job.id)
        if current is None or current.finished:
            raise JobGone(job.id)  # cancelled meanwhile
        now = now_iso()
        current.started_at = current.started_at or now
        batch_no = current.record_chunk(chunk)
        errors = [failure_doc(f, options) for f in chunk.failures]
        if batch_no is not None:
            current.apply_results(batch_no, results)
            errors += [problem_doc(r) for r in results if r.status == "failed" or r.warnings]
        await ImportErrors(session).add_many(tenant=job.tenant, job_id=job.id, errors=errors)
        current.progressed_at = now
        if final:
            current.finish_reading()
            current.settle(now)
            await WorkQueue(session).remove(job.id)
            await queue_errors_copy(session, current)
        await jobs.save(current)


async def _read(
    store: DocumentStore,
    files: DataFiles,
    contacts: ContactsClient,
    job: ImportJob,
    *,
    authorization: str,
    options: ReadingOptions,
) -> None:
    mapper = RowMapper(job.plan, max_row_bytes=options.max_row_bytes)

    def new_chunk() -> ImportChunk:
        return ImportChunk(
            max_rows=min(options.batch_size, LOOKUP_ROWS),
            max_bytes=options.batch_max_bytes,
            max_row_bytes=options.max_row_bytes,
        )

    async def flush(chunk: ImportChunk, *, final: bool) -> None:
        results: list[RowResult] = []
        if chunk.rows:
            results = await contacts.look_up_rows(
                [ImportRow.model_validate(row) for row in chunk.rows],
                on_duplicate=job.on_duplicate,
                match_on=job.match_on,
                occurred_at=job.created_at,
                authorization=authorization,
            )
        await _record(store, job, chunk, results, options=options, final=final)

    chunk = new_chunk()
    layout = job.layout
    with files.open_upload(job.id, encoding=layout.encoding) as text:
        records = CsvRecords(text, delimiter=layout.delimiter)
        records.header(skip=layout.header_row - 1)
        for row_number, record in records:
            if isinstance(record, UnparsableRecord):
                chunk.add(row_number, RowFailure(row_number, record.reason, {}))
            else:
                chunk.add(row_number, mapper.map(row_number, record))
            if chunk.full:
                await flush(chunk, final=False)
                chunk = new_chunk()
    await flush(chunk, final=True)


async def run_dry_run(
    store: DocumentStore,
    files: DataFiles,
    contacts: ContactsClient,
    *,
    tenant: str,
    job_id: str,
    authorization: str,
    options: ReadingOptions,
) -> None:
    """Read the dry run's file to the end and complete it, or fail it saying why."""
    async with store.reader() as session:
        job = await ImportJobs(session).get(tenant=tenant, job_id=job_id)
    if job is None or job.finished:
        return
    reason: str | None = None
    try:
        await _read(store, files, contacts, job, authorization=authorization, options=options)
    except JobGone:
        return
    except ContactsUnavailable as exc:
        reason = f"{exc}; the dry run stopped: try it again"
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        # Only the type: an exception's message may quote a row.
        log.error("dry run %s stopped on %s", job_id, type(exc).__name__)
        reason = INTERNAL_ERROR
    if reason is not None:
        await fail_import(store, files, tenant=tenant, job_id=job_id, reason=reason)


async def fail_interrupted_dry_runs(
    store: DocumentStore, files: DataFiles, *, owner_gone: Callable[[str], Awaitable[bool]]
) -> int:
    """At start-up: the dry runs a gone instance was reading cannot resume (the caller's key
    went with it); they fail, and their problems so far stay listed. Dry runs a live instance
    (another replica, or this one) is reading are left alone."""
    async with store.reader() as session:
        items = await WorkQueue(session).owned_items(DRY_RUN_WORK, limit=100_000)
    failed = 0
    for job_id, tenant, owner in items:
        # Recorded before dry runs had owners: the last process's, as before.
        if owner is None or await owner_gone(owner):
            await fail_import(store, files, tenant=tenant, job_id=job_id, reason=INTERRUPTED)
            failed += 1
    return failed


class DryRunRunner:
    """One background task per dry run; the caller's key lives only in that task."""

    def __init__(
        self,
        store: DocumentStore,
        files: DataFiles,
        contacts: ContactsClient,
        options: ReadingOptions,
        *,
        on_finished: Callable[[], None] | None = None,
        owner: str | None = None,
    ) -> None:
        self.owner = owner  # the instance whose tasks read the dry runs (crm_shared.presence)
        self._store = store
        self._files = files
        self._contacts = contacts
        self._options = options
        # on_finished: the dry run's failed rows' cells are copied for errors.csv
        self._tasks = CallerTasks(on_finished=on_finished)

    def start(self, job: ImportJob, *, authorization: str) -> None:
        """Start reading the dry run in the background."""
        work = run_dry_run(
            self._store,
            self._files,
            self._contacts,
            tenant=job.tenant,
            job_id=job.id,
            authorization=authorization,
            options=self._options,
        )
        self._tasks.start(work, name=f"dry-run-{job.id}")

    async def wait_idle(self) -> None:
        """Wait until every dry run finished (for tests and a graceful stop)."""
        await self._tasks.wait_idle()

    async def stop(self) -> None:
        """Cancel the running dry runs; the next start fails them as interrupted."""
        await self._tasks.stop()
