"""errors.csv: the original cells of every failed (or warned) row, copied once the job ends.

The contacts service reports a failed row by number only, so the upload is kept until the job
ends; then the worker reads it once more, copies its header and the cells of the rows listed in
the job's errors (both in row order, so memory stays flat) with their identifier hashes (an
erasure finds them), and deletes the upload.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from crm_importer.adapters.files import DataFiles
from crm_importer.adapters.repository import ImportErrors, ImportJobs, WorkQueue
from crm_importer.domain.jobs import ImportJob
from crm_importer.domain.records import CsvRecords, Record
from crm_importer.domain.rows import readable
from crm_shared.clock import now_iso
from crm_shared.identity import PersonIdentifiers, person_hashes
from crm_shared.problems import Conflict, NotFound
from crm_shared.storage import Cursor, DocumentStore, Session

PAGE = 500


async def queue_errors_copy(session: Session, job: ImportJob) -> None:
    """In the transaction that ends a job: the worker copies its header and failed rows' cells,
    then deletes the upload (kept until then)."""
    if not job.errors_captured:
        await WorkQueue(session).add_errors_copy(job_id=job.id, tenant=job.tenant)


def _identifier_hashes(doc: dict[str, Any], cells: list[str], key: bytes, region: str) -> list[str]:
    person = PersonIdentifiers.of_row({str(i): cell for i, cell in enumerate(cells)})
    found = person_hashes(key, person, region=region)
    return list(dict.fromkeys([*doc.get("identifier_hashes", ()), *found]))


class _Rows:
    """Walks the file's records forward to the row numbers asked for, in increasing order."""

    def __init__(self, records: CsvRecords) -> None:
        self._records = iter(records)
        self._current: Record | None = next(self._records, None)

    def cells(self, row_number: int) -> list[str] | None:
        while self._current is not None and self._current[0] < row_number:
            self._current = next(self._records, None)
        if self._current is None or self._current[0] != row_number:
            return None
        record = self._current[1]
        return [readable(cell) for cell in record] if isinstance(record, list) else None


async def copy_error_cells(
    store: DocumentStore,
    files: DataFiles,
    *,
    tenant: str,
    job_id: str,
    suppression_key: bytes,
    region: str,
) -> None:
    """Copy the original cells of the job's failed rows from its upload, then delete the upload."""
    header: list[str] = []
    async with store.reader() as session:
        started = await ImportJobs(session).get(tenant=tenant, job_id=job_id)
    if started is not None and files.upload_path(job_id).exists():
        # Read as the import read it: the same encoding, delimiter and header row.
        layout = started.layout
        with files.open_upload(job_id, encoding=layout.encoding) as text:
            records = CsvRecords(text, delimiter=layout.delimiter)
            header = [readable(cell) for cell in records.header(skip=layout.header_row - 1) or []]
            rows = _Rows(records)
            after: Cursor | None = None
            while True:
                async with store.reader() as session:
                    docs = await ImportErrors(session).page(
                        tenant=tenant, job_id=job_id, limit=PAGE, after=after
                    )
                if not docs:
                    break
                for doc in docs:
                    # An erased person's row is reported by its number and reason alone.
                    cells = None if doc.get("suppressed") else rows.cells(doc["row_number"])
                    if cells is not None:
                        doc["cells"] = cells
                        doc["identifier_hashes"] = _identifier_hashes(
                            doc, cells, suppression_key, region
                        )
                async with store.transaction() as session:
                    errors = ImportErrors(session)
                    for doc in docs:
                        await errors.save(doc)
                after = Cursor(value=docs[-1]["row_number"], id=docs[-1]["id"])
    async with store.transaction() as session:
        jobs = ImportJobs(session)
        job = await jobs.get(tenant=tenant, job_id=job_id)
        queue = WorkQueue(session)
        if job is not None:
            job.header = header
            job.errors_captured = True
            await jobs.save(job)
            # Its failed rows are kept for the retention period (crm_importer retention).
            await queue.add_retention(
                job_kind="import",
                job_id=job_id,
                tenant=tenant,
                finished_at=job.finished_at or now_iso(),
            )
        await queue.remove_errors_copy(job_id)
    files.delete_upload(job_id)


async def copy_pending_error_cells(
    store: DocumentStore, files: DataFiles, *, suppression_key: bytes, region: str
) -> int:
    """Copy the cells of every finished job waiting for it; return how many jobs were done."""
    async with store.reader() as session:
        pending = await WorkQueue(session).items("errors")
    for job_id, tenant in pending:
        await copy_error_cells(
            store,
            files,
            tenant=tenant,
            job_id=job_id,
            suppression_key=suppression_key,
            region=region,
        )
    return len(pending)


def _csv_row(doc: dict[str, Any], header: list[str]) -> list[str]:
    """The row as it was in the file, then its error and warnings (cells past the header last)."""
    cells: list[str] = doc.get("cells") or []
    if not cells and doc.get("values"):
        # Copied before the job ended only as the mapped cells: put them under their headers.
        values: dict[str, str] = doc["values"]
        cells = [values.get(name, "") for name in header]
    width = len(header)
    known = cells[:width] + [""] * (width - len(cells))
    warnings: list[str] = doc.get("warnings") or []
    return [*known, doc.get("reason") or "", "; ".join(warnings), *cells[width:]]


async def error_file_rows(
    store: DocumentStore, *, tenant: str, job_id: str
) -> tuple[ImportJob, AsyncIterator[list[list[str]]]]:
    """The job and its errors.csv rows page by page (header first); 404 unknown, 409 not ready."""
    async with store.reader() as session:
        job = await ImportJobs(session).get(tenant=tenant, job_id=job_id)
    if job is None:
        raise NotFound(f"import {job_id} not found")
    if not job.finished or not job.errors_captured:
        raise Conflict(
            f"import {job_id} is {job.status}; its errors.csv is ready once it ended and its "
            "failed rows were copied (a few seconds later)",
            extra={"import_status": job.status},
        )
    return job, _pages(store, job)


async def _pages(store: DocumentStore, job: ImportJob) -> AsyncIterator[list[list[str]]]:
    yield [[*job.header, "error", "warnings"]]
    after: Cursor | None = None
    while True:
        async with store.reader() as session:
            docs = await ImportErrors(session).page(
                tenant=job.tenant, job_id=job.id, limit=PAGE, after=after
            )
        if not docs:
            return
        yield [_csv_row(doc, job.header) for doc in docs]
        after = Cursor(value=docs[-1]["row_number"], id=docs[-1]["id"])
