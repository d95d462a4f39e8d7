"""Settings of the contacts service, read from the environment."""

from __future__ import annotations

from pydantic import Field

from crm_shared.settings import PlatformSettings


class ContactsSettings(PlatformSettings):
    """Platform settings plus the contacts service's own (CONTACTS_* variables)."""

    contacts_host: str = "127.0.0.1"
    contacts_port: int = 8001
    # Soft-deleted contacts stay restorable this long, then the purge removes them for good.
    contacts_retention_days: int = Field(default=30, ge=0)
    contacts_purge_interval_seconds: float = Field(default=3600.0, gt=0)
    # The first purge runs shortly after start-up, not a whole interval later.
    contacts_purge_first_run_seconds: float = Field(default=60.0, ge=0)
    # An import job's kept batch results and cancellation go this long after its last batch
    # (the importer stops sending a job's batches within minutes).
    contacts_import_batch_retention_days: float = Field(default=7.0, gt=0)

    # How long the duplicate-pair refresh waits when its queue is empty.
    contacts_match_interval_seconds: float = Field(default=0.2, gt=0)
    # An import's contacts are re-matched once its batches have stopped arriving this long.
    contacts_import_rematch_quiet_seconds: float = Field(default=5.0, ge=0)
    # Bulk actions: contacts per transaction, and a pause between chunks that leaves room for
    # interactive requests on a busy store (0: none).
    contacts_bulk_chunk_size: int = Field(default=500, ge=1, le=5000)
    contacts_bulk_chunk_pause_seconds: float = Field(default=0.0, ge=0)
    # Rewrite jobs (tag rename/delete, tag rules, field type change/purge): contacts per
    # transaction (a single write waits at most one batch for SQLite's writer; MongoDB
    # transactions stay far below their limits), and a pause between batches (0: none).
    contacts_job_batch_size: int = Field(default=500, ge=1, le=5000)
    contacts_job_pause_seconds: float = Field(default=0.0, ge=0)
    # How long one batch of a rewrite job may hold the store's writer: batches shrink (down to 20
    # contacts) or grow (up to the batch size) towards it, so a single write made meanwhile waits
    # about this long at most (0: fixed batches of the batch size).
    contacts_job_batch_seconds: float = Field(default=0.05, ge=0)
    # Public form submissions per form and client address: `rate[/burst]` per second (0: none).
    contacts_form_rate_limit: str = "0.2/5"
