"""Sending again the batches of an import whose results never came back.

A batch command (or its results) acknowledged by the embedded in-memory broker and not read
yet dies with it when it restarts; the job would then wait for ever. So a job read to the end
whose results stopped coming for `after_seconds` has its unanswered batches made again from the
upload (the same records, mapped the same way) and sent again, at most `RESEND_LIMIT` times.
The contacts service knows a batch by its job and number: a batch it had applied is not applied
twice, its results are published again. If nothing comes back after the last try either, the
worker fails the job with its reason (`fail_stalled_imports`): no job stays `running`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from crm_importer.adapters.files import DataFiles
from crm_importer.adapters.repository import ImportJobs, WorkQueue
from crm_importer.domain.jobs import ImportJob
from crm_importer.domain.records import CsvRecords, UnparsableRecord
from crm_importer.domain.rows import MappedRow, RowMapper
from crm_importer.service_layer.imports import batch_events
from crm_importer.service_layer.reading import ReadingOptions
from crm_shared.storage import DocumentStore

log = logging.getLogger(__name__)
RESEND_LIMIT = 3


def _rows_of(
    files: DataFiles, job: ImportJob, batches: set[int], options: ReadingOptions
) -> dict[int, list[dict[str, Any]]]:
    """The rows each of these batches was sent with, read again from the upload."""
    rows: dict[int, list[dict[str, Any]]] = {n: [] for n in batches}
    last = max(job.batch_records[n - 1][1] for n in batches)
    mapper = RowMapper(job.plan, max_row_bytes=options.max_row_bytes)
    with files.open_upload(job.id, encoding=job.layout.encoding) as text:
        records = CsvRecords(text, delimiter=job.layout.delimiter)
        records.header(skip=job.layout.header_row - 1)
        for record_number, record in records:
            if record_number > last:
                break
            batch_no = job.batch_of(record_number)
            if batch_no not in rows or isinstance(record, UnparsableRecord):
                continue
            outcome = mapper.map(record_number, record)
            if isinstance(outcome, MappedRow):
                rows[batch_no].append(outcome.values)
    return rows


async def resend_unanswered(
    store: DocumentStore, files: DataFiles, job: ImportJob, options: ReadingOptions, *, now: str
) -> list[int]:
    """Send this job's unanswered batches again; return their numbers ([] if none now)."""
    missing = {n for n in job.missing_batches() if n <= len(job.batch_records)}
    if not missing or not files.upload_path(job.id).exists():
        return []
    rows = _rows_of(files, job, missing, options)
    async with store.transaction() as session:
        jobs = ImportJobs(session)
        current = await jobs.get(tenant=job.tenant, job_id=job.id)
        if current is None or not current.awaiting_results:
            return []
        again = sorted(missing & set(current.missing_batches()))
        commands = batch_events(current, [(n, rows[n]) for n in again])
        current.resends += 1
        current.progressed_at = now
        await jobs.save(current)
        await session.add_events(commands)
    return again


async def resend_stalled_batches(
    store: DocumentStore,
    files: DataFiles,
    options: ReadingOptions,
    *,
    now: str,
    after_seconds: float,
) -> int:
    """Send again the unanswered batches of every job whose results stopped for
    `after_seconds` (each job at most RESEND_LIMIT times); return how many jobs."""
    async with store.reader() as session:
        waiting = await WorkQueue(session).items("results", limit=1000)
        jobs = [await ImportJobs(session).get(tenant=t, job_id=j) for j, t in waiting]
    deadline = datetime.fromisoformat(now) - timedelta(seconds=after_seconds)
    resent = 0
    for job in jobs:
        if job is None or not job.awaiting_results or job.resends >= RESEND_LIMIT:
            continue
        if datetime.fromisoformat(job.progressed_at or job.created_at) > deadline:
            continue
        again = await resend_unanswered(store, files, job, options, now=now)
        if again:
            resent += 1
            # Batch numbers only: no row values.
            log.warning(
                "import %s: no results for batch(es) %s within %g s; sent them again (try %d)",
                job.id,
                ", ".join(str(n) for n in again[:20]),
                after_seconds,
                job.resends + 1,
            )
    return resent
