"""Settings of the importer service, read from the environment (IMPORTER_* variables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from crm_shared.settings import PlatformSettings


class ImporterSettings(PlatformSettings):
    """Platform settings plus the importer's own."""

    importer_host: str = "127.0.0.1"
    importer_port: int = 8003
    importer_batch_size: int = Field(
        default=1000, ge=1, le=10_000, description="Rows per ImportContactsBatch command."
    )
    importer_batch_max_bytes: int = Field(
        default=512 * 1024,
        ge=16 * 1024,
        description="Upper bound of a batch's row data, below the broker's 1 MB message limit.",
    )
    importer_max_upload_bytes: int = Field(default=200 * 1024 * 1024, ge=1)
    importer_export_page_size: int = Field(
        default=200,
        ge=1,
        le=200,
        description="Contacts per page asked of the contacts API (max 200).",
    )
    importer_worker_enabled: bool = Field(
        default=True, description="Run the background import worker in this process."
    )
    importer_worker_poll_seconds: float = Field(default=2.0, gt=0)
    importer_recovery_interval_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often one instance fails the exports and dry runs of instances that "
        "are gone and deletes their half-written uploads (also done at every start).",
    )
    importer_results_timeout_seconds: float = Field(
        default=900.0,
        gt=0,
        description="An import read to the end fails when no batch result came for this long.",
    )
    importer_results_resend_seconds: float = Field(
        default=60.0,
        gt=0,
        description="An import read to the end sends its unanswered batches again when no "
        "result came for this long (at most 3 times; then the timeout above fails it).",
    )

    importer_retention_days: float = Field(
        default=30.0,
        gt=0,
        description="Days a finished import keeps its failed rows (errors.csv) and a finished "
        "export its file; then both are deleted, each deletion audited.",
    )
    importer_retention_interval_seconds: float = Field(
        default=3600.0, gt=0, description="How often due job data is looked for."
    )

    @property
    def importer_data_dir(self) -> Path:
        """Where the importer keeps uploads and export files."""
        return Path(self.crm_data_dir) / "importer"
