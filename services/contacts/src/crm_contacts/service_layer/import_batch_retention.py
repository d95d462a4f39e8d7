"""Kept import batch results and cancellations go a while after the job's last batch.

They exist so a batch the importer sends again is answered again, not applied twice; the importer
stops sending a job's batches within minutes (it fails a job whose results never come), so a
week later nothing can ask for them, and the results name contacts of a job long finished.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from crm_contacts.adapters.import_batches import forget_job, quiet_jobs
from crm_contacts.adapters.import_cancellations import ImportCancellations
from crm_shared.clock import iso
from crm_shared.storage import DocumentStore

log = logging.getLogger(__name__)

_PAGE = 100


async def purge_import_batches(
    store: DocumentStore, *, now: datetime, retention_days: float
) -> int:
    """Forget the kept batches and cancellation of every job quiet for `retention_days`."""
    before = iso(now - timedelta(days=retention_days))
    jobs = 0
    while True:
        async with store.transaction() as session:
            quiet = await quiet_jobs(session, before=before, limit=_PAGE)
            for entry in quiet:
                await forget_job(session, entry)
                await ImportCancellations(session, entry["job_tenant"]).forget(entry["job_id"])
        jobs += len(quiet)
        if len(quiet) < _PAGE:
            break
    if jobs:
        log.info("forgot the kept batch results of %d import job(s)", jobs)
    return jobs
