"""Retention: what a finished import or export kept is deleted once its period runs out.

An import keeps its failed and warned rows with their original cells (errors.csv) and an export
its file, so users can fix and re-upload or download them; both hold personal data, so they are
deleted a settable number of days after the job finished. Each deletion is an event on the bus
(`JobDataDeleted`), which the gdpr service writes to the audit log; the job and its counts stay.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from crm_importer.adapters.files import DataFiles
from crm_importer.adapters.repository import Exports, ImportErrors, WorkQueue
from crm_shared.actors import system_actor
from crm_shared.clock import iso
from crm_shared.events import JobDataDeleted
from crm_shared.outbox import IMPORTER_SOURCE, outgoing
from crm_shared.storage import DocumentStore, Session

log = logging.getLogger(__name__)

RETENTION_ACTOR = system_actor("retention")
PAGE = 200


async def delete_expired_job_data(
    store: DocumentStore, files: DataFiles, *, now: datetime, retention_days: float
) -> int:
    """Delete the kept data of every job finished more than `retention_days` before `now`, one
    job per transaction, each with its audit event; returns how many jobs were done."""
    cutoff = iso(now - timedelta(days=retention_days))
    done = 0
    while True:
        async with store.reader() as session:
            due = await WorkQueue(session).retention_due(finished_before=cutoff, limit=PAGE)
        for item in due:
            async with store.transaction() as session:
                await _delete_one(session, files, item, now=now, retention_days=retention_days)
            done += 1
        if len(due) < PAGE:
            break
    if done:
        store.forget_deleted()  # the store's log still holds the deleted rows as they were
        log.info("retention deleted the kept data of %d finished job(s)", done)
    return done


async def _delete_one(
    session: Session,
    files: DataFiles,
    item: dict[str, Any],
    *,
    now: datetime,
    retention_days: float,
) -> None:
    tenant, job_id = str(item["owner"]), str(item["job_id"])
    rows = 0
    if item["job_kind"] == "import":
        rows = await ImportErrors(session).delete_job(tenant=tenant, job_id=job_id)
        files.delete_upload(job_id)  # normally gone once the rows were copied
        deleted = ["failed_rows", "upload"]
    else:
        exports = Exports(session)
        export = await exports.get(tenant=tenant, export_id=job_id)
        # Deleted before the commit: a crash in between deletes it again, never leaves it.
        files.delete_export(job_id)
        if export is not None and export.status == "completed":
            export.expire(iso(now))
            await exports.save(export)
        deleted = ["export_file"]
    event = JobDataDeleted(
        job_kind=item["job_kind"],
        job_id=job_id,
        deleted=deleted,
        rows=rows,
        finished_at=str(item["finished_at"]),
        retention_days=retention_days,
    )
    await session.add_events(
        [outgoing(event, source=IMPORTER_SOURCE, tenant=tenant, key=job_id, actor=RETENTION_ACTOR)]
    )
    await WorkQueue(session).remove_retention(job_id)
