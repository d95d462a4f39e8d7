"""The import job: its progress through reading, publishing and the contacts service's results."""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from crm_importer.domain.layout import FileLayout
from crm_importer.domain.mapping import ColumnPlan
from crm_importer.domain.rows import MappedRow, RowFailure
from crm_shared.events import ImportJobFinished, RowResult
from crm_shared.events.imports import DuplicatePolicy, MatchIdentifier
from crm_shared.problems import Conflict

ImportStatus = Literal["queued", "running", "completed", "failed", "cancelled"]
TERMINAL: frozenset[str] = frozenset({"completed", "failed", "cancelled"})
CANCELLED = (
    "cancelled by a user; rows applied before the cancel stay imported, the rows of batches "
    "not yet applied are not (not_applied)"
)


class ImportChunk:
    """What was read since the last flush: rows for one batch and the rows that failed locally."""

    def __init__(self, *, max_rows: int, max_bytes: int, max_row_bytes: int) -> None:
        self._max_rows = max_rows
        # Flushing at this mark keeps a batch within max_bytes even if the last row is the largest.
        self._flush_mark = max_bytes - max_row_bytes
        self._bytes = 0
        # Each row in its JSON form (MappedRow.values).
        self.rows: list[dict[str, Any]] = []
        self.failures: list[RowFailure] = []
        self.last_row_number = 0

    def add(self, row_number: int, outcome: MappedRow | RowFailure | None) -> None:
        """Take one record's outcome (None: a blank record, which only advances the position)."""
        self.last_row_number = row_number
        if isinstance(outcome, MappedRow):
            self.rows.append(outcome.values)
            self._bytes += outcome.size
        elif outcome is not None:
            self.failures.append(outcome)

    @property
    def full(self) -> bool:
        """True when the batch must go out before another row could push it over its bounds."""
        return (
            len(self.rows) >= self._max_rows
            or len(self.failures) >= self._max_rows
            or self._bytes >= self._flush_mark
        )


class ImportJob(BaseModel):
    """One CSV import; `records_read` is where reading resumes after a restart."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False)

    id: str
    tenant: str
    actor: str | None = None
    status: ImportStatus = "queued"
    on_duplicate: DuplicatePolicy
    # Which identifiers find the contact a row is, in order; empty: email, then phone.
    match_on: list[MatchIdentifier] = []
    # A dry run decides every row against live contacts and writes nothing.
    dry_run: bool = False
    plan: ColumnPlan
    # How the worker reads the upload (a workbook's sheet was converted to UTF-8 CSV).
    layout: FileLayout = FileLayout()
    created_at: str
    finished_at: str | None = None
    error: str | None = None
    records_read: int = 0
    rows_read: int = 0
    published_rows: int = 0
    batches_published: int = 0
    total_rows: int | None = None
    processed_rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    # Imported rows with cells left out (each such cell a warning on its row).
    warned: int = 0
    # Rows sent in batches the contacts service skipped because the job was cancelled.
    not_applied: int = 0
    applied_batches: list[int] = []
    # The first and last record number of each published batch (batch n at index n - 1): the
    # rows a batch whose results never came back is made of again, to send it again.
    batch_records: list[tuple[int, int]] = []
    # How often unanswered batches were sent again (bounded: then the job fails).
    resends: int = 0
    # When the job last moved (file read to the end, a batch's results): a job awaiting
    # results that stops moving is failed by the worker instead of staying `running`.
    progressed_at: str | None = None
    # Progress: when reading began, the upload's size and the rows it was estimated to hold.
    started_at: str | None = None
    file_bytes: int = 0
    estimated_rows: int | None = None
    # SHA-256 of the uploaded file: the same file posted again within a day is a repeat.
    file_sha256: str = ""
    # The original header and failed rows' cells are copied for errors.csv once the job ends.
    header: list[str] = []
    errors_captured: bool = False

    @property
    def finished(self) -> bool:
        """True once the job completed, failed or was cancelled."""
        return self.status in TERMINAL

    @property
    def awaiting_results(self) -> bool:
        """True while results may still come: running, or cancelled with batches unanswered."""
        if self.status == "cancelled":
            return bool(self.missing_batches())
        return not self.finished

    def cancel(self, now: str) -> None:
        """Stop the job: reading stops before its next batch; batches already sent still count."""
        if self.finished:
            raise Conflict(
                f"import {self.id} is {self.status}; only a queued or running import can be "
                "cancelled",
                extra={"import_status": self.status},
            )
        self.status = "cancelled"
        self.error = CANCELLED
        self.finished_at = now

    def record_chunk(self, chunk: ImportChunk) -> int | None:
        """Account for a flushed chunk; return the batch number its rows go out as, if any."""
        self.status = "running"
        first_record = self.records_read + 1
        self.records_read = chunk.last_row_number
        self.rows_read += len(chunk.rows) + len(chunk.failures)
        self.failed += len(chunk.failures)
        self.processed_rows += len(chunk.failures)
        if not chunk.rows:
            return None
        self.batches_published += 1
        self.published_rows += len(chunk.rows)
        self.batch_records.append((first_record, chunk.last_row_number))
        return self.batches_published

    def batch_of(self, record_number: int) -> int | None:
        """The number of the published batch holding this record, if any."""
        for batch_no, (first, last) in enumerate(self.batch_records, start=1):
            if first <= record_number <= last:
                return batch_no
        return None

    def finish_reading(self) -> None:
        """The whole file was read: the total is now known."""
        self.status = "running"
        self.total_rows = self.rows_read

    def apply_results(
        self, batch_no: int, results: list[RowResult], *, cancelled: bool = False
    ) -> bool:
        """Add a batch's row results to the counts; False if this batch was already applied.

        `cancelled`: the contacts service skipped the batch (the job was cancelled first); its
        rows count as not applied, so the other counts say exactly what was written.
        """
        if batch_no in self.applied_batches:
            return False
        self.applied_batches.append(batch_no)
        if cancelled:
            self.not_applied += len(results)
            self.processed_rows += len(results)
            return True
        counts = Counter(result.status for result in results)
        self.created += counts["created"]
        self.updated += counts["updated"]
        self.skipped += counts["skipped"]
        self.failed += counts["failed"]
        self.warned += sum(1 for r in results if r.warnings and r.status != "failed")
        self.processed_rows += len(results)
        return True

    def missing_batches(self) -> list[int]:
        """The published batches whose results never came back."""
        applied = set(self.applied_batches)
        return [n for n in range(1, self.batches_published + 1) if n not in applied]

    def settle(self, now: str) -> bool:
        """Complete the job if every row has a result; True if it completed just now."""
        if self.finished or self.total_rows is None or self.processed_rows < self.total_rows:
            return False
        self.status = "completed"
        self.finished_at = now
        return True

    def fail(self, reason: str, now: str) -> None:
        """Stop the job for good with a reason the user can act on."""
        self.status = "failed"
        self.error = reason
        self.finished_at = now

    def batch_payload(self, batch_no: int, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """The JSON form of the command applying batch `batch_no` of these rows (sent again,
        the same one): what `ImportContactsBatch(...).model_dump(mode="json")` gives, its rows
        already in their JSON form, so a batch is serialised once and no row is re-validated."""
        return {
            "job_id": self.id,
            "batch_no": batch_no,
            "on_duplicate": self.on_duplicate,
            "rows": rows,
            "match_on": list(self.match_on),
            # The rows were written when uploaded: the resolver's last-writer rule's time.
            "occurred_at": self.created_at,
        }

    def finished_event(self) -> ImportJobFinished:
        """The event announcing that this job ended, with its counts."""
        return ImportJobFinished(
            job_id=self.id,
            status="completed" if self.status == "completed" else "failed",
            cancelled=self.status == "cancelled",
            total_rows=self.total_rows if self.total_rows is not None else self.rows_read,
            created=self.created,
            updated=self.updated,
            skipped=self.skipped,
            failed=self.failed,
        )
