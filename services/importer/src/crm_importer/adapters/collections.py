"""The importer's collections and their indexes, created idempotently at start-up."""

from __future__ import annotations

from crm_shared.idempotency_records import IDEMPOTENCY_COLLECTION
from crm_shared.rate_limit_store import RATE_LIMIT_COLLECTION
from crm_shared.storage import CollectionSpec, Index

IMPORT_JOBS = "import_jobs"
IMPORT_ERRORS = "import_errors"
EXPORTS = "exports"
WORK_QUEUE = "work_queue"

COLLECTION_SPECS: tuple[CollectionSpec, ...] = (
    # Repeat detection looks up a tenant's recent imports of the same file.
    CollectionSpec(IMPORT_JOBS, (Index(("file_sha256", "created_at")),)),
    CollectionSpec(IMPORT_ERRORS, (Index(("job_id", "row_number")),)),
    CollectionSpec(EXPORTS, (Index(("status",)),)),
    CollectionSpec(WORK_QUEUE, (Index(("kind",)),)),
    IDEMPOTENCY_COLLECTION,
    RATE_LIMIT_COLLECTION,
)
