"""Request and response bodies of the public HTTP API (v1)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from crm_importer.domain.exports import ExportJob, ExportStatus
from crm_importer.domain.fields import EXPORT_FIELDS
from crm_importer.domain.jobs import ImportJob, ImportStatus
from crm_shared.events.imports import DuplicatePolicy
from crm_shared.filters import ContactFilter

ROW_NUMBER_HELP = (
    "1-based number of the data row: the header row is excluded, so row 1 is the first line "
    "after the header. Blank lines keep their place in the count (row N is line N + 1 of a file "
    "without multi-line cells, and spreadsheet row N + 1)."
)


class JobAccepted(BaseModel):
    """A job was queued."""

    id: str
    status: str


class ImportJobPublic(BaseModel):
    """An import's progress and counts."""

    id: str
    status: ImportStatus
    total_rows: int | None = Field(
        description="Data rows in the file (blank lines not counted); null until it is read."
    )
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
    on_duplicate: DuplicatePolicy
    mapping: dict[str, str] = Field(description="The resolved mapping, column header -> field.")
    ignored_columns: list[str]
    created_at: str
    finished_at: str | None
    error: str | None = None

    @classmethod
    def of(cls, job: ImportJob) -> ImportJobPublic:
        """The public view of a job."""
        return cls(
            **job.model_dump(include=set(cls.model_fields) - {"mapping", "ignored_columns"}),
            mapping=job.plan.as_mapping(),
            ignored_columns=job.plan.ignored_columns,
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


class ExportPublic(BaseModel):
    """An export's state."""

    id: str
    status: ExportStatus
    rows: int
    fields: list[str]
    filter: ContactFilter
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
