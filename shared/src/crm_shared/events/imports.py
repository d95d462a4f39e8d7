"""Import commands and results exchanged between the importer and the contacts service."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from crm_shared.envelope import EventData
from crm_shared.topics import CONTACT_COMMANDS, IMPORT_RESULTS, IMPORTER_EVENTS

DuplicatePolicy = Literal["skip", "update", "create"]
# An identifier that finds the existing contact a row is (`match_on`, tried in order).
# `external_id`: the id the row gives for another system (a column mapped to
# `external_ids.<system>`), the key integrations upsert by.
MatchIdentifier = Literal["email", "phone", "external_id"]
DEFAULT_MATCH_ON: tuple[MatchIdentifier, ...] = ("email", "phone")


class ImportRow(BaseModel):
    """One mapped CSV row, as text, for the contacts service to validate and apply."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    # Strict: a JSON `false` or `"3"` is not a row number (the contacts look-up route takes rows).
    row_number: int = Field(strict=True)
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    timezone: str | None = None
    tags: list[str] = []
    custom_fields: dict[str, Any] = {}
    # Additional emails and phones (the primary ones are `email` and `phone`).
    emails: list[str] = []
    phones: list[str] = []
    # The id another system knows the person by, system -> id (at most one system per import).
    external_ids: dict[str, str] = {}


class ImportContactsBatch(EventData):
    """Command: apply these rows with this duplicate policy and report each row's result."""

    event_type = "crm.contacts.import-batch.requested.v1"
    topic = CONTACT_COMMANDS.name

    job_id: str
    batch_no: int
    on_duplicate: DuplicatePolicy
    rows: list[ImportRow]
    # Which identifiers find the contact a row is, in order; empty: email, then phone.
    match_on: list[MatchIdentifier] = []
    # When the rows were written (the upload): the time of the last-writer rule; None: applied.
    occurred_at: str | None = None


class RowResult(BaseModel):
    """What happened to one row of an import batch."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    row_number: int
    status: Literal["created", "updated", "skipped", "failed"]
    contact_id: str | None = None
    error: str | None = None
    # Cells that did not validate and were left out of an imported row, each with its reason.
    warnings: list[str] = []
    # The row names an erased person: the importer keeps none of its cells (errors.csv either).
    suppressed: bool = False


class ImportBatchProcessed(EventData):
    """The contacts service applied an import batch; one result per row."""

    event_type = "crm.contacts.import-batch.processed.v1"
    topic = IMPORT_RESULTS.name

    job_id: str
    batch_no: int
    results: list[RowResult]
    # The job was cancelled before this batch was applied: none of its rows was written.
    cancelled: bool = False


class ImportJobFinished(EventData):
    """An import job ended, with its counts."""

    event_type = "crm.importer.import.finished.v1"
    topic = IMPORTER_EVENTS.name

    job_id: str
    status: Literal["completed", "failed"]
    total_rows: int
    created: int
    updated: int
    skipped: int
    failed: int
    # A user cancelled it (status is then "failed": it did not complete); rows applied stay.
    cancelled: bool = False


class ExportCompleted(EventData):
    """An export file was produced with these fields and this many rows."""

    event_type = "crm.importer.export.completed.v1"
    topic = IMPORTER_EVENTS.name

    export_id: str
    fields: list[str]
    rows: int


class JobDataDeleted(EventData):
    """The importer deleted what a finished import or export kept (failed rows and their cells,
    an export's file) once its retention period ran out; the job's counts stay."""

    event_type = "crm.importer.job-data.deleted.v1"
    topic = IMPORTER_EVENTS.name

    job_kind: Literal["import", "export"]
    job_id: str
    # What went: "failed_rows" (errors.csv with them), "upload", "export_file".
    deleted: list[str]
    rows: int = 0
    finished_at: str
    retention_days: float
