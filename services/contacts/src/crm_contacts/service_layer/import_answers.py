"""What an import batch is answered without being applied: sent again, or its import cancelled."""

from __future__ import annotations

import logging
from typing import Any

from crm_contacts.adapters.import_batches import answered_results
from crm_contacts.service_layer.import_events import batch_summary
from crm_shared.actors import import_actor
from crm_shared.events import ImportBatchProcessed, ImportContactsBatch
from crm_shared.outbox import CONTACTS_SOURCE, outgoing
from crm_shared.storage import OutgoingEvent, Session

log = logging.getLogger(__name__)

NOT_APPLIED_CANCELLED = "not applied: the import was cancelled before this row's batch"


async def answer_cancelled(
    session: Session, batch: ImportContactsBatch, *, tenant: str
) -> list[dict[str, Any]]:
    """Report every row of a cancelled job's batch as not applied."""
    results = [
        {
            "row_number": row.row_number,
            "status": "failed",
            "contact_id": None,
            "error": NOT_APPLIED_CANCELLED,
        }
        for row in batch.rows
    ]
    processed = ImportBatchProcessed(
        job_id=batch.job_id, batch_no=batch.batch_no, results=results, cancelled=True
    )
    await session.add_events(
        [
            outgoing(
                processed,
                source=CONTACTS_SOURCE,
                tenant=tenant,
                key=batch.job_id,
                actor=import_actor(batch.job_id),
            )
        ]
    )
    log.info("import %s batch %d skipped: the import was cancelled", batch.job_id, batch.batch_no)
    return results


def processed_event(
    batch: ImportContactsBatch, results: list[dict[str, Any]], *, tenant: str
) -> OutgoingEvent:
    """The batch's ImportBatchProcessed with these row results."""
    return batch_summary(
        ImportBatchProcessed,
        job_id=batch.job_id,
        batch_no=batch.batch_no,
        entries=results,
        tenant=tenant,
        actor=import_actor(batch.job_id),
    )


async def answer_again(session: Session, batch: ImportContactsBatch, *, tenant: str) -> bool:
    """True if this batch was applied before (the importer sent it again): its results are
    published again, and nothing is applied twice."""
    results = await answered_results(session, tenant, batch.job_id, batch.batch_no)
    if results is None:
        return False
    log.info(
        "import %s batch %d was sent again: its results are sent again",
        batch.job_id,
        batch.batch_no,
    )
    await session.add_events([processed_event(batch, results, tenant=tenant)])
    return True
