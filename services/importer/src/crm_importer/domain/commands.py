"""Commands the importer's handlers carry out."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from crm_importer.domain.exports import ExportFormat
from crm_importer.domain.layout import LayoutChoice
from crm_importer.domain.mapping import ColumnMapping
from crm_shared.events.imports import DuplicatePolicy, MatchIdentifier
from crm_shared.filters import ContactFilter


class StartImport(BaseModel):
    """Queue an import of the CSV already uploaded under `job_id`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    job_id: str
    on_duplicate: DuplicatePolicy = "skip"
    mapping: ColumnMapping | None = None
    # The upload's size and SHA-256: its progress estimate, and repeat detection.
    file_bytes: int = 0
    file_sha256: str = ""
    layout: LayoutChoice = LayoutChoice()
    match_on: list[MatchIdentifier] = []
    # Decide every row against live contacts and report, writing nothing.
    dry_run: bool = False
    # Define the custom fields the mapping names and the tenant lacks (type from the samples).
    create_fields: bool = False


class RequestExport(BaseModel):
    """Export the contacts matching `filter` with exactly these fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fields: list[str]
    filter: ContactFilter = ContactFilter()
    format: ExportFormat = "csv"
    bom: bool = False
