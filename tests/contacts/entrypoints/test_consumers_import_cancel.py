"""A cancelled import: batches the contacts service had not applied yet are skipped."""

from __future__ import annotations

from crm_shared.events import ImportBatchProcessed, ImportJobFinished
from tests.conftest import VIEWER_KEY, auth
from tests.contacts.helpers import Harness, envelope, import_batch


def _cancelled(job_id: str, *, cancelled: bool = True) -> ImportJobFinished:
    return ImportJobFinished(
        job_id=job_id,
        status="failed" if cancelled else "completed",
        cancelled=cancelled,
        total_rows=4,
        created=1,
        updated=0,
        skipped=0,
        failed=0,
    )


async def test_batches_after_the_cancel_are_reported_not_applied_and_write_nothing(
    harness: Harness,
) -> None:
    await harness.handle(envelope(import_batch([{"name": "Ada"}], job_id="job-c", batch_no=1)))
    await harness.handle(envelope(_cancelled("job-c")))
    later = import_batch([{"name": "Grace"}, {"name": "Alan"}], job_id="job-c", batch_no=2)
    await harness.handle(envelope(later))

    first, second = await harness.outbox(ImportBatchProcessed.event_type)
    assert (first.data["cancelled"], [r["status"] for r in first.data["results"]]) == (
        False,
        ["created"],
    )
    assert second.data["cancelled"] is True
    assert [(r["row_number"], r["status"]) for r in second.data["results"]] == [
        (1, "failed"),
        (2, "failed"),
    ]
    listed = await harness.client.get("/v1/contacts", headers=auth(VIEWER_KEY))
    assert [c["name"] for c in listed.json()["items"]] == ["Ada"]


async def test_a_completed_import_or_another_jobs_cancel_stops_nothing(harness: Harness) -> None:
    await harness.handle(envelope(_cancelled("job-done", cancelled=False)))
    await harness.handle(envelope(_cancelled("job-other")))
    await harness.handle(envelope(import_batch([{"name": "Ada"}], job_id="job-done")))
    [processed] = await harness.outbox(ImportBatchProcessed.event_type)
    assert processed.data["cancelled"] is False
    assert processed.data["results"][0]["status"] == "created"


async def test_a_cancel_of_another_tenant_does_not_stop_this_tenants_job(harness: Harness) -> None:
    await harness.handle(envelope(_cancelled("job-x"), tenant="globex"))
    await harness.handle(envelope(import_batch([{"name": "Ada"}], job_id="job-x")))
    [processed] = await harness.outbox(ImportBatchProcessed.event_type)
    assert processed.data["cancelled"] is False
