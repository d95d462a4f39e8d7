"""Import handlers: accept an upload, apply the contacts service's batch results, fail a job."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from crm_importer.adapters.contacts_client import ContactsClient
from crm_importer.adapters.files import DataFiles
from crm_importer.adapters.repository import ImportErrors, ImportJobs, WorkKind, WorkQueue
from crm_importer.adapters.workbooks import WorkbookBudget, check_workbook, convert_sheet
from crm_importer.domain.commands import StartImport
from crm_importer.domain.dialect import uses_decimal_comma
from crm_importer.domain.jobs import ImportJob
from crm_importer.domain.layout import FileLayout
from crm_importer.domain.mapping import ColumnPlan, check_match_on, plan_columns
from crm_importer.domain.progress import estimate_rows
from crm_importer.domain.rows import has_undecodable_bytes
from crm_importer.service_layer.custom_columns import type_custom_columns
from crm_importer.service_layer.error_rows import queue_errors_copy
from crm_importer.service_layer.file_head import FileHead, read_head, sniff_upload
from crm_shared.clock import now_iso
from crm_shared.events import ImportBatchProcessed, ImportContactsBatch, RowResult
from crm_shared.observability.metrics import IMPORT_ROWS, JOBS_FINISHED, JOBS_STARTED
from crm_shared.outbox import IMPORTER_SOURCE, outgoing, outgoing_written
from crm_shared.problems import Unprocessable
from crm_shared.storage import DocumentStore, OutgoingEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FieldDefinitions:
    """Where the tenant's custom fields are read (and created), with the uploader's key."""

    contacts: ContactsClient
    authorization: str


RESULTS_CONSUMER = "importer.results"
DRY_RUN_WORK: WorkKind = "dry-run"
CONTACTS_FAILED_ROW = "rejected by the contacts service"


async def _read_upload_head(
    files: DataFiles, command: StartImport, budget: WorkbookBudget
) -> FileHead:
    """The upload's head; a workbook's sheet is first converted (one bounded child run) into
    the UTF-8 CSV that replaces the upload, and the head is read from that."""
    path = files.partial_upload_path(command.job_id)
    file_format = sniff_upload(path)
    if file_format == "csv":
        return await read_head(path, command.layout, budget)
    check_workbook(path, file_format, budget)
    sheet_csv = files.sheet_path(command.job_id)
    sheet = await convert_sheet(path, command.layout.sheet, sheet_csv, budget)
    files.replace_partial_upload(command.job_id, sheet_csv)
    as_csv = command.layout.model_copy(
        update={"encoding": "utf-8", "delimiter": ",", "sheet": None}
    )
    head = await read_head(path, as_csv, budget)
    head.layout = head.layout.model_copy(
        update={"format": file_format, "sheet": sheet.sheet, "sheets": sheet.sheets}
    )
    return head


async def _plan_upload(
    files: DataFiles,
    command: StartImport,
    budget: WorkbookBudget,
    definitions: FieldDefinitions | None,
) -> tuple[ColumnPlan, FileLayout]:
    """Read the head of the uploaded file and plan its columns. Returns the plan and the
    layout the worker reads with (a workbook's: its sheet converted to UTF-8 CSV)."""
    head = await _read_upload_head(files, command, budget)
    if has_undecodable_bytes(head.header):
        raise Unprocessable(
            f"the header row is not valid {head.layout.encoding.removesuffix('-sig')} text; "
            "choose the file's encoding (form field encoding)",
            extra={"field": "encoding"},
        )
    plan = plan_columns(head.header, command.mapping, head.samples())
    check_match_on(plan, list(command.match_on))
    if not head.rows:
        raise Unprocessable("the file has a header row but no data rows", extra={"field": "file"})
    plan = plan.model_copy(update={"decimal_comma": uses_decimal_comma(head.layout.delimiter)})
    if definitions is not None:
        plan = await type_custom_columns(
            plan,
            head.samples(),
            definitions.contacts,
            authorization=definitions.authorization,
            create_fields=command.create_fields,
            dry_run=command.dry_run,
        )
    return plan, head.layout


async def start_import(
    store: DocumentStore,
    files: DataFiles,
    command: StartImport,
    *,
    tenant: str,
    actor: str,
    budget: WorkbookBudget | None = None,
    definitions: FieldDefinitions | None = None,
    replica: str | None = None,
) -> ImportJob:
    """Validate the uploaded file's head against the mapping (and, given `definitions`, the
    tenant's custom fields) and queue the job; `replica` is the instance that reads a dry run."""
    try:
        plan, layout = await _plan_upload(files, command, budget or WorkbookBudget(), definitions)
        job = ImportJob(
            id=command.job_id,
            tenant=tenant,
            actor=actor,
            on_duplicate=command.on_duplicate,
            match_on=command.match_on,
            dry_run=command.dry_run,
            plan=plan,
            layout=layout,
            created_at=now_iso(),
            file_bytes=command.file_bytes,
            file_sha256=command.file_sha256,
            estimated_rows=estimate_rows(*files.upload_sample(command.job_id)),
        )
        # Renamed before the commit: a crash in between leaves a file without a job, which the
        # start-up sweep deletes; never a job without its file.
        files.accept_upload(job.id)
        async with store.transaction() as session:
            await ImportJobs(session).add(job)
            # A dry run is read by its own task, which holds the caller's key for the look-ups.
            if job.dry_run:
                await WorkQueue(session).add(
                    kind=DRY_RUN_WORK, item_id=job.id, tenant=tenant, replica=replica
                )
            else:
                await WorkQueue(session).add(kind="import", item_id=job.id, tenant=tenant)
    except BaseException:
        files.delete_upload(command.job_id)
        raise
    JOBS_STARTED.labels("import").inc()
    return job


def finished_events(job: ImportJob) -> list[OutgoingEvent]:
    """The event announcing that the job ended; none for a dry run, which publishes nothing."""
    if job.dry_run:
        return []
    event = job.finished_event()
    return [outgoing(event, source=IMPORTER_SOURCE, tenant=job.tenant, key=job.id, actor=job.actor)]


def batch_events(
    job: ImportJob, batches: Sequence[tuple[int, list[dict[str, Any]]]]
) -> list[OutgoingEvent]:
    """The commands applying these (batch number, rows in their JSON form) of the job: each
    envelope written once from its plain payload (`ImportJob.batch_payload`)."""
    payloads = [
        (ImportContactsBatch, job.batch_payload(batch_no, rows), job.id)
        for batch_no, rows in batches
    ]
    return outgoing_written(payloads, source=IMPORTER_SOURCE, tenant=job.tenant, actor=job.actor)


def problem_doc(result: RowResult) -> dict[str, object]:
    """A failed row's reason, or an imported row's warnings (reason null)."""
    doc: dict[str, object] = {"row_number": result.row_number, "warnings": result.warnings}
    doc["reason"] = (result.error or CONTACTS_FAILED_ROW) if result.status == "failed" else None
    if result.suppressed:
        doc["suppressed"] = True  # an erased person's row: its cells are never copied
    return doc


async def apply_batch_results(
    store: DocumentStore,
    files: DataFiles,
    processed: ImportBatchProcessed,
    *,
    event_id: str,
    tenant: str,
    on_finished: Callable[[], None] | None = None,
) -> None:
    """Add one batch's row results to its job; complete the job when every row has a result.

    A cancelled job still counts the batches it had sent; once they are all answered, its
    failed rows are copied for errors.csv (`on_finished` wakes the worker that does it).
    """
    ended = False
    async with store.transaction() as session:
        if not await session.mark_processed(RESULTS_CONSUMER, event_id):
            return
        jobs = ImportJobs(session)
        job = await jobs.get(tenant=tenant, job_id=processed.job_id)
        if job is None or not job.awaiting_results:
            log.warning(
                "results of batch %d for unknown or finished import %s ignored",
                processed.batch_no,
                processed.job_id,
            )
            return
        if not job.apply_results(
            processed.batch_no, processed.results, cancelled=processed.cancelled
        ):
            log.warning(
                "results of batch %d of import %s arrived twice; ignored",
                processed.batch_no,
                job.id,
            )
            return
        # Rows failed or warned by the contacts service keep only their number, reason and
        # warnings, no values. A batch skipped after a cancel is counted, not listed.
        problems = [] if processed.cancelled else processed.results
        await ImportErrors(session).add_many(
            tenant=tenant,
            job_id=job.id,
            errors=[problem_doc(r) for r in problems if r.status == "failed" or r.warnings],
        )
        job.progressed_at = now_iso()
        completed = job.settle(now_iso())
        await jobs.save(job)
        ended = completed or not job.awaiting_results
        if ended:
            await WorkQueue(session).remove(job.id)
            await queue_errors_copy(session, job)
        if completed:
            await session.add_events(finished_events(job))
    if any(r.suppressed for r in processed.results):
        # The batch sent an erased person's cells through the outbox: its log still holds them.
        store.forget_deleted()
    # Counted once the results are committed (a redelivered batch returned above).
    for outcome, rows in Counter(r.status for r in processed.results).items():
        IMPORT_ROWS.labels("not_applied" if processed.cancelled else outcome).inc(rows)
    if completed:
        JOBS_FINISHED.labels("import", job.status).inc()
    if ended and on_finished is not None:
        on_finished()


async def fail_import(
    store: DocumentStore, files: DataFiles, *, tenant: str, job_id: str, reason: str
) -> None:
    """Stop a job for good: mark it failed, announce it, and have its failed rows copied (then
    its upload deleted) by the worker."""
    failed = False
    async with store.transaction() as session:
        jobs = ImportJobs(session)
        job = await jobs.get(tenant=tenant, job_id=job_id)
        await WorkQueue(session).remove(job_id)
        if job is not None and not job.finished:
            job.fail(reason, now_iso())
            await jobs.save(job)
            failed = True
            await session.add_events(finished_events(job))
        if job is not None:
            await queue_errors_copy(session, job)
    if failed:
        JOBS_FINISHED.labels("import", "failed").inc()
    if job is None:
        files.delete_upload(job_id)


def stalled_reason(missing: list[int], timeout_seconds: float) -> str:
    """Why a job awaiting results was stopped (batch numbers only: no row values)."""
    shown = ", ".join(str(n) for n in missing[:20]) + (" ..." if len(missing) > 20 else "")
    return (
        f"no result came back for batch(es) {shown} within {timeout_seconds:g} s (the contacts "
        "service could not apply them); their rows may not be imported: import them again"
    )


async def fail_stalled_imports(
    store: DocumentStore, files: DataFiles, *, now: str, timeout_seconds: float
) -> int:
    """Fail every job read to the end whose results stopped coming for `timeout_seconds`.

    A batch the contacts service dead-lettered is never answered; without this its job would
    stay `running` for ever. Returns how many jobs were failed.
    """
    async with store.reader() as session:
        waiting = await WorkQueue(session).items("results", limit=1000)
        jobs = [(await ImportJobs(session).get(tenant=t, job_id=j), t, j) for j, t in waiting]
    deadline = datetime.fromisoformat(now) - timedelta(seconds=timeout_seconds)
    failed = 0
    for job, tenant, job_id in jobs:
        # A cancelled job waits for the batches it had sent, and stops waiting the same way.
        if job is not None and job.awaiting_results:
            moved = datetime.fromisoformat(job.progressed_at or job.created_at)
            if moved > deadline:
                continue
            reason = stalled_reason(job.missing_batches(), timeout_seconds)
            log.error(
                "import %s stopped: %d batch(es) never answered", job_id, len(job.missing_batches())
            )
            failed += 1
        else:
            reason = ""
        # fail_import removes the work item, and leaves a finished job as it is.
        await fail_import(store, files, tenant=tenant, job_id=job_id, reason=reason)
    return failed
