"""Kept import batch results and cancellations go a while after the job's last batch."""

from __future__ import annotations

from datetime import timedelta

from crm_contacts.adapters.import_batches import IMPORT_BATCH_JOBS, IMPORT_BATCHES, JOBS_TENANT
from crm_contacts.adapters.import_cancellations import IMPORT_CANCELLATIONS
from crm_contacts.service_layer.import_batch_retention import purge_import_batches
from crm_shared.clock import utcnow
from crm_shared.events import ImportBatchProcessed, ImportJobFinished
from crm_shared.storage import DocumentStore
from tests.contacts.helpers import Harness, envelope, import_batch

RETENTION_DAYS = 7.0


async def _kept(store: DocumentStore) -> tuple[int, int, int]:
    async with store.reader() as session:
        return (
            await session.count(IMPORT_BATCHES, tenant="acme"),
            await session.count(IMPORT_CANCELLATIONS, tenant="acme"),
            await session.count(IMPORT_BATCH_JOBS, tenant=JOBS_TENANT),
        )


async def _purge(store: DocumentStore, days_from_now: float) -> int:
    now = utcnow() + timedelta(days=days_from_now)
    return await purge_import_batches(store, now=now, retention_days=RETENTION_DAYS)


def _cancelled(job_id: str) -> ImportJobFinished:
    return ImportJobFinished(
        job_id=job_id,
        status="failed",
        total_rows=2,
        created=0,
        updated=0,
        skipped=0,
        failed=0,
        cancelled=True,
    )


async def test_a_jobs_batch_results_stay_a_week_after_its_last_batch_then_go(
    harness: Harness,
) -> None:
    store = harness.app.state.store
    for batch_no in (1, 2):
        rows = [{"name": f"Person {batch_no}"}]
        await harness.handle(envelope(import_batch(rows, job_id="job-1", batch_no=batch_no)))
    assert await _kept(store) == (2, 0, 1)
    assert await _purge(store, RETENTION_DAYS - 1) == 0
    assert await _kept(store) == (2, 0, 1)
    assert await _purge(store, RETENTION_DAYS + 1) == 1
    assert await _kept(store) == (0, 0, 0)


async def test_a_batch_sent_again_within_the_week_is_answered_not_applied(
    harness: Harness,
) -> None:
    command = import_batch([{"name": "Ada"}], job_id="job-1", batch_no=1)
    await harness.handle(envelope(command))
    await _purge(harness.app.state.store, RETENTION_DAYS - 1)
    await harness.handle(envelope(command))  # a new event: the importer sent it again
    first, again = await harness.outbox(ImportBatchProcessed.event_type)
    assert [r["status"] for r in first.data["results"]] == ["created"]
    assert [r["contact_id"] for r in again.data["results"]] == [
        r["contact_id"] for r in first.data["results"]
    ]


async def test_a_cancellation_goes_with_its_job(harness: Harness) -> None:
    store = harness.app.state.store
    await harness.handle(envelope(_cancelled("job-9")))
    assert await _kept(store) == (0, 1, 1)
    assert await _purge(store, RETENTION_DAYS + 1) == 1
    assert await _kept(store) == (0, 0, 0)
