"""The row results of every import batch applied, kept so a batch sent again is answered again.

The importer sends a batch again when its results never came back (a record lost with an
in-memory broker, the command's or the results'). Event ids cannot tell: the repeat is a new
event. So a batch is known by its job and number; its repeat is not applied a second time, its
stored results are published again instead. Only each row's number, status and contact id are
kept: a reason or a warning may quote a cell (personal data), so a row failed in a batch
answered again reads "rejected by the contacts service" at the importer.

They are kept a while after the job's last batch (`import_batch_retention`): each job with kept
results or a cancellation has an entry under the reserved tenant "" with the moment of its last
batch, so one purge finds the jobs of every tenant that went quiet.
"""

from __future__ import annotations

from typing import Any

from crm_shared.clock import now_iso
from crm_shared.storage import CollectionSpec, Eq, Index, Range, Session

IMPORT_BATCHES = "import_batches"
# One entry per import job with kept results (or a cancellation), by its last batch's moment.
IMPORT_BATCH_JOBS = "import_batch_jobs"
JOBS_TENANT = ""
_KEPT = ("row_number", "status", "contact_id")
IMPORT_BATCH_SPECS: tuple[CollectionSpec, ...] = (
    CollectionSpec(IMPORT_BATCHES, (Index(("job_id",)),)),
    CollectionSpec(IMPORT_BATCH_JOBS, (Index(("last_at",)),)),
)


def _key(job_id: str, batch_no: int) -> str:
    return f"{job_id}:{batch_no}"


async def answered_results(
    session: Session, tenant: str, job_id: str, batch_no: int
) -> list[dict[str, Any]] | None:
    """The results this batch got when it was applied; None if it never was."""
    doc = await session.get(IMPORT_BATCHES, tenant=tenant, id=_key(job_id, batch_no))
    return None if doc is None else list(doc["results"])


async def record_results(
    session: Session, tenant: str, job_id: str, batch_no: int, results: list[dict[str, Any]]
) -> None:
    """Keep the results of a batch applied in this transaction."""
    doc = {
        "id": _key(job_id, batch_no),
        "tenant": tenant,
        "job_id": job_id,
        "batch_no": batch_no,
        "results": [{name: r.get(name) for name in _KEPT} for r in results],
    }
    await session.insert(IMPORT_BATCHES, doc)
    await note_job_activity(session, tenant, job_id, at=now_iso())


async def note_job_activity(session: Session, tenant: str, job_id: str, *, at: str) -> None:
    """The job's kept data (results, cancellation) is kept until a while after `at`."""
    entry = {"id": f"{tenant}:{job_id}", "tenant": JOBS_TENANT, "job_tenant": tenant}
    entry |= {"job_id": job_id, "last_at": at}
    if await session.get(IMPORT_BATCH_JOBS, tenant=JOBS_TENANT, id=entry["id"]) is None:
        await session.insert(IMPORT_BATCH_JOBS, entry)
    else:
        await session.replace(IMPORT_BATCH_JOBS, entry)


async def quiet_jobs(session: Session, *, before: str, limit: int) -> list[dict[str, Any]]:
    """Jobs of every tenant whose last batch (or cancellation) came before `before`."""
    return await session.find(
        IMPORT_BATCH_JOBS,
        tenant=JOBS_TENANT,
        where=[Range("last_at", lt=before)],
        order_by="last_at",
        limit=limit,
    )


async def forget_job(session: Session, entry: dict[str, Any]) -> int:
    """Delete a quiet job's kept batch results and its entry; how many batches went."""
    removed = await session.delete_where(
        IMPORT_BATCHES, tenant=entry["job_tenant"], where=[Eq("job_id", entry["job_id"])]
    )
    await session.delete(IMPORT_BATCH_JOBS, tenant=JOBS_TENANT, id=entry["id"])
    return removed
