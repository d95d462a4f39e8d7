"""An import its owner cancelled: the batches of it not yet applied are skipped.

The importer announces the cancel on its events topic (`ImportJobFinished`, `cancelled`); this
consumer reads that topic apart from the batches' topic, so the cancel is not queued behind the
batches it must stop. Every batch applied before the cancel arrived stays applied and reported.
"""

from __future__ import annotations

from crm_contacts.adapters.import_cancellations import ImportCancellations
from crm_shared.clock import now_iso
from crm_shared.events import ImportJobFinished
from crm_shared.storage import DocumentStore

CANCELLATIONS_CONSUMER = "contacts.import-cancellations"


async def record_import_end(
    store: DocumentStore, ended: ImportJobFinished, *, tenant: str, event_id: str
) -> bool:
    """Remember a cancelled import (other endings change nothing); True if recorded now."""
    if not ended.cancelled:
        return False
    async with store.transaction() as session:
        if not await session.mark_processed(CANCELLATIONS_CONSUMER, event_id):
            return False
        await ImportCancellations(session, tenant).add(ended.job_id, at=now_iso())
    return True
