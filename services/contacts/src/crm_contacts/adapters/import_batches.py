"""The row results of every import batch applied, kept so a batch sent again is answered again.

The importer sends a batch again when its results never came back (a record lost with an
in-memory broker, the command's or the results'). Event ids cannot tell: the repeat is a new
event. So a batch is known by its job and number; its repeat is not applied a second time, its
stored results are published again instead. Only each row's number, status and contact id are
kept: a reason or a warning may quote a cell (personal data), so a row failed in a batch
answered again reads "rejected by the contacts service" at the importer.
"""

from __future__ import annotations

from typing import Any

from crm_shared.storage import CollectionSpec, Session

IMPORT_BATCHES = "import_batches"
_KEPT = ("row_number", "status", "contact_id")
IMPORT_BATCH_SPECS: tuple[CollectionSpec, ...] = (CollectionSpec(IMPORT_BATCHES),)


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
