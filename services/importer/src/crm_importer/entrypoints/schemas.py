"""Request and response bodies of the public HTTP API (v1)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from crm_importer.domain.exports import ExportFormat, ExportJob, ExportStatus
from crm_importer.domain.fields import EXPORT_FIELDS
from crm_importer.domain.jobs import ImportJob, ImportStatus
from crm_importer.domain.progress import progress
from crm_shared.clock import now_iso
from crm_shared.events.imports import DuplicatePolicy, MatchIdentifier
from crm_shared.filters import ContactFilter
from crm_shared.validation import Flag

ROW_NUMBER_HELP = (
    "1-based number of the data row: the header row is excluded, so row 1 is the first line "
    "after the header. Blank lines keep their place in the count (row N is line N + 1 of a file "
    "without multi-line cells, and spreadsheet row N + 1)."
)


class JobAccepted(BaseModel):
    """A job was queued (or, for a repeated upload, the earlier job of the same file)."""

    id: str
    status: str
    repeat_of: str | None = Field(
        default=None,
        description="Set when the same file was imported in the last 24 hours: that import, "
        "answered instead of a new one (send allow_repeat=true to import it again).",
    )


class ImportJobPublic(BaseModel):
    """An import's progress and counts."""

    id: str
    status: ImportStatus
    total_rows: int | None = Field(
        description="Data rows in the file (blank lines not counted): estimated from the file's "
        "size until it is read to the end (`total_rows_estimated`), null if no estimate."
    )
    total_rows_estimated: bool = Field(
        description="True while total_rows is an estimate (the file is still being read)."
    )
    rows_per_second: float | None = Field(
        description="Rows with an outcome per second since reading began; null before."
    )
    eta_seconds: float | None = Field(
        description="Seconds left at that pace; 0 once the import ended, null if unknown."
    )
    started_at: str | None = Field(description="When reading began; null while queued.")
    rows_read: int
    processed_rows: int
    created: int
    updated: int
    skipped: int
    failed: int
    warned: int = Field(
        description="Imported rows with cells that did not validate and were left out; "
        "their warnings are listed under /errors."
    )
    not_applied: int = Field(
        default=0,
        description="Rows of a cancelled import that were sent but not applied: the contacts "
        "service skipped their batches once the cancel reached it.",
    )
    on_duplicate: DuplicatePolicy
    match_on: list[MatchIdentifier] = Field(
        default=[],
        description="Identifiers that find the existing contact a row is, in order; empty: "
        "email, then phone.",
    )
    dry_run: bool = Field(
        default=False,
        description="A dry run: the counts say what an import would have created, updated, "
        "skipped and failed; nothing was written.",
    )
    mapping: dict[str, str] = Field(description="The resolved mapping, column header -> field.")
    ignored_columns: list[str]
    created_at: str
    finished_at: str | None
    error: str | None = None

    @classmethod
    def of(cls, job: ImportJob) -> ImportJobPublic:
        """The public view of a job, with its progress as of now."""
        now = progress(job, now_iso())
        return cls(
            **job.model_dump(
                include=set(cls.model_fields) - {"mapping", "ignored_columns", "total_rows"}
            ),
            mapping=job.plan.as_mapping(),
            ignored_columns=job.plan.ignored_columns,
            total_rows=now.total_rows,
            total_rows_estimated=now.total_rows_estimated,
            rows_per_second=now.rows_per_second,
            eta_seconds=now.eta_seconds,
        )


class ImportJobList(BaseModel):
    """One page of imports, newest first, with their counts and progress."""

    items: list[ImportJobPublic]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class ImportErrorItem(BaseModel):
    """A row that failed, and why; or an imported row with cells left out, and why."""

    row_number: int = Field(description=ROW_NUMBER_HELP)
    reason: str | None = Field(description="Why the row failed; null for an imported row.")
    warnings: list[str] = Field(
        default=[], description="Cells that did not validate and were left out of the row."
    )
    values: dict[str, str] | None = Field(
        default=None,
        description="The row's mapped cells (column header -> text), for rows the importer "
        "rejected itself; absent for rows the contacts service rejected.",
    )


class ImportErrorPage(BaseModel):
    """One page of failed rows in row order."""

    items: list[ImportErrorItem]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class ExportCreate(BaseModel):
    """Which contacts to export, and exactly which fields (in this column order)."""

    model_config = ConfigDict(extra="forbid")

    fields: list[str] = Field(
        description=f"{', '.join(EXPORT_FIELDS)}, or custom.<key>",
        examples=[["name", "email", "tags", "custom.plan"]],
    )
    filter: ContactFilter | None = None
    format: ExportFormat = Field(
        default="csv", description="csv, or xlsx (one sheet of up to 1,048,576 rows, then more)."
    )
    bom: Flag = Field(
        default=False,
        description="CSV only: start the file with a UTF-8 byte order mark, so Excel reads it "
        "as UTF-8.",
    )


class ExportPublic(BaseModel):
    """An export's state."""

    id: str
    status: ExportStatus
    rows: int
    fields: list[str]
    filter: ContactFilter
    format: ExportFormat
    bom: bool
    created_at: str
    finished_at: str | None
    error: str | None = None

    @field_serializer("filter")
    def _only_the_set_criteria(self, value: ContactFilter) -> dict[str, Any]:
        return value.model_dump(mode="json", exclude_defaults=True)

    @classmethod
    def of(cls, export: ExportJob) -> ExportPublic:
        """The public view of an export (without internal bookkeeping)."""
        return cls(**export.model_dump(include=set(cls.model_fields)))


class ExportList(BaseModel):
    """One page of exports, newest first."""

    items: list[ExportPublic]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )
