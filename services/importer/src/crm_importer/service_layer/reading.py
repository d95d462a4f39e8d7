"""Reading an uploaded CSV into batches: each batch, its local failures and the resume point are
committed together, so a restart resumes after the last published batch and never repeats one.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm_importer.adapters.files import DataFiles
from crm_importer.adapters.repository import ImportErrors, ImportJobs, WorkQueue
from crm_importer.domain.jobs import ImportChunk, ImportJob
from crm_importer.domain.records import CsvRecords, UnparsableRecord
from crm_importer.domain.rows import RowFailure, RowMapper
from crm_importer.service_layer.error_rows import queue_errors_copy
from crm_importer.service_layer.imports import batch_events, fail_import, finished_events
from crm_shared.clock import now_iso
from crm_shared.identity import PersonIdentifiers, person_hashes
from crm_shared.storage import DocumentStore

MISSING_UPLOAD = "the uploaded file is missing; upload it again"


@dataclass(frozen=True)
class ReadingOptions:
    """How rows are grouped into batches, and how failed rows' identifiers are hashed."""

    batch_size: int
    batch_max_bytes: int
    suppression_key: bytes
    # Country of phones typed without one: the platform's CRM_DEFAULT_REGION.
    default_region: str = "US"

    @property
    def max_row_bytes(self) -> int:
        """A single row may fill at most a quarter of a batch."""
        return self.batch_max_bytes // 4

    def new_chunk(self) -> ImportChunk:
        """An empty chunk bounded by these options."""
        return ImportChunk(
            max_rows=self.batch_size,
            max_bytes=self.batch_max_bytes,
            max_row_bytes=self.max_row_bytes,
        )


class JobGone(Exception):
    """The job disappeared or finished while its file was being read."""


def failure_doc(failure: RowFailure, options: ReadingOptions) -> dict[str, object]:
    """The stored error of a failed row: its number, reason, mapped cells and their hashes."""
    doc: dict[str, object] = {"row_number": failure.row_number, "reason": failure.reason}
    if failure.values:
        doc["values"] = failure.values
        # Every email- and phone-like cell, hashed as the contacts service hashes a contact.
        doc["identifier_hashes"] = person_hashes(
            options.suppression_key,
            PersonIdentifiers.of_row(failure.values),
            region=options.default_region,
        )
    return doc


async def _flush(
    store: DocumentStore,
    *,
    tenant: str,
    job_id: str,
    chunk: ImportChunk,
    final: bool,
    options: ReadingOptions,
) -> None:
    async with store.transaction() as session:
        jobs = ImportJobs(session)
        # Read again inside the transaction: the results consumer updates the counts meanwhile.
        job = await jobs.get(tenant=tenant, job_id=job_id)
        if job is None or job.finished:
            raise JobGone(job_id)
        events = []
        job.started_at = job.started_at or now_iso()
        batch_no = job.record_chunk(chunk)
        if batch_no is not None:
            events.extend(batch_events(job, [(batch_no, chunk.rows)]))
        await ImportErrors(session).add_many(
            tenant=tenant,
            job_id=job.id,
            errors=[failure_doc(f, options) for f in chunk.failures],
        )
        if final:
            job.finish_reading()
            job.progressed_at = now_iso()
            queue = WorkQueue(session)
            await queue.remove(job.id)
            if not job.settle(now_iso()):
                await queue.add(kind="results", item_id=job.id, tenant=tenant)
            else:
                await queue_errors_copy(session, job)
                events.extend(finished_events(job))
        await jobs.save(job)
        await session.add_events(events)


async def _read_file(
    store: DocumentStore, files: DataFiles, job: ImportJob, options: ReadingOptions
) -> None:
    mapper = RowMapper(job.plan, max_row_bytes=options.max_row_bytes)
    chunk = options.new_chunk()
    layout = job.layout
    with files.open_upload(job.id, encoding=layout.encoding) as text:
        records = CsvRecords(text, delimiter=layout.delimiter)
        records.header(skip=layout.header_row - 1)
        for row_number, record in records:
            if row_number <= job.records_read:
                continue  # published before a restart
            if isinstance(record, UnparsableRecord):
                chunk.add(row_number, RowFailure(row_number, record.reason, {}))
            else:
                chunk.add(row_number, mapper.map(row_number, record))
            if chunk.full:
                await _flush(
                    store,
                    tenant=job.tenant,
                    job_id=job.id,
                    chunk=chunk,
                    final=False,
                    options=options,
                )
                chunk = options.new_chunk()
    await _flush(store, tenant=job.tenant, job_id=job.id, chunk=chunk, final=True, options=options)


async def process_import(
    store: DocumentStore, files: DataFiles, *, tenant: str, job_id: str, options: ReadingOptions
) -> None:
    """Read a queued job's file from where it stopped, publishing its batches through the outbox."""
    async with store.reader() as session:
        job = await ImportJobs(session).get(tenant=tenant, job_id=job_id)
    if job is not None and not job.finished and not files.upload_path(job_id).exists():
        await fail_import(store, files, tenant=tenant, job_id=job_id, reason=MISSING_UPLOAD)
        return
    try:
        if job is None or job.finished:
            raise JobGone(job_id)
        await _read_file(store, files, job, options)
    except JobGone:
        async with store.transaction() as session:
            current = await ImportJobs(session).get(tenant=tenant, job_id=job_id)
            # A job cancelled while it was read may still await the batches it had sent.
            if current is None or not current.awaiting_results:
                await WorkQueue(session).remove(job_id)
        if job is None:
            files.delete_upload(job_id)
    # Otherwise the upload stays until the job ends: its failed rows are copied for errors.csv.
