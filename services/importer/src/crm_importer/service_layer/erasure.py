"""Erasure: delete export files and failed import rows that hold the person, then send a receipt."""

from __future__ import annotations

from crm_importer.adapters.files import DataFiles
from crm_importer.adapters.repository import Exports, ImportErrors
from crm_shared.clock import now_iso
from crm_shared.events import ErasureReceipt, ErasureRequested
from crm_shared.idempotency_records import forget_subject
from crm_shared.outbox import IMPORTER_SOURCE, outgoing
from crm_shared.storage import DocumentStore

ERASURE_CONSUMER = "importer.erasure"


async def erase_contact(
    store: DocumentStore,
    files: DataFiles,
    request: ErasureRequested,
    *,
    event_id: str,
    tenant: str,
    actor: str | None,
) -> None:
    """Remove what the importer holds about the person and record the receipt, in one transaction.

    Files are deleted before the commit: if the commit fails the event is handled again, and a
    completed export whose file is already gone is expired then. Deleting after the commit could
    leave personal data behind after a crash.
    """
    contact_id = request.contact_id
    removed_exports = 0
    async with store.transaction() as session:
        if not await session.mark_processed(ERASURE_CONSUMER, event_id):
            return
        await forget_subject(session, tenant=tenant, contact_id=contact_id)  # kept answers
        exports = Exports(session)
        for export in await exports.with_status(
            tenant=tenant, statuses=("queued", "running", "completed")
        ):
            if export.active:
                # Still being written: checked against its id list when it finishes.
                if contact_id not in export.pending_erasures:
                    export.pending_erasures.append(contact_id)
                    await exports.save(export)
                continue
            if files.export_contains(export.id, contact_id) or not files.export_exists(export.id):
                files.delete_export(export.id)
                export.expire(now_iso())
                await exports.save(export)
                removed_exports += 1
        removed_rows = await ImportErrors(session).delete_matching(
            tenant=tenant, identifier_hashes=request.identifier_hashes
        )
        receipt = ErasureReceipt(
            erasure_id=request.erasure_id,
            contact_id=contact_id,
            service="importer",
            status="completed",
            detail=f"deleted {removed_exports} export file(s), {removed_rows} failed import row(s)",
        )
        await session.add_events(
            [outgoing(receipt, source=IMPORTER_SOURCE, tenant=tenant, key=contact_id, actor=actor)]
        )
    store.forget_deleted()  # the store's log still holds the deleted rows as they were
