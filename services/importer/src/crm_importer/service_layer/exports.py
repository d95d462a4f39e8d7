"""Export handlers: queue an export, write its file from the contacts API, recover at start-up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from crm_importer.adapters.contacts_client import ContactsClient, ContactsUnavailable
from crm_importer.adapters.files import DataFiles, ExportWriter
from crm_importer.adapters.repository import Exports, WorkQueue
from crm_importer.domain.commands import RequestExport
from crm_importer.domain.exports import INTERRUPTED, ExportJob, RowFormat
from crm_importer.domain.fields import validate_export_fields
from crm_importer.service_layer.caller_tasks import CallerTasks
from crm_shared.clock import now_iso
from crm_shared.ids import new_id
from crm_shared.observability.metrics import JOBS_FINISHED, JOBS_STARTED
from crm_shared.outbox import IMPORTER_SOURCE, outgoing
from crm_shared.problems import Unprocessable
from crm_shared.storage import DocumentStore

log = logging.getLogger(__name__)
INTERNAL_ERROR = "the export stopped on an internal error; run it again"
_ALL = 100_000  # queued exports read at once by the recovery (each is one caller's request)


async def request_export(
    store: DocumentStore,
    command: RequestExport,
    *,
    tenant: str,
    actor: str,
    replica: str | None = None,
) -> ExportJob:
    """Check the fields and store a queued export, owned by `replica` (the instance writing it)."""
    if command.bom and command.format != "csv":
        raise Unprocessable(
            "bom applies to CSV exports only; an .xlsx file needs none", extra={"field": "bom"}
        )
    export = ExportJob(
        id=new_id(),
        tenant=tenant,
        actor=actor,
        fields=validate_export_fields(command.fields),
        filter=command.filter,
        format=command.format,
        bom=command.bom,
        created_at=now_iso(),
    )
    async with store.transaction() as session:
        await Exports(session).add(export)
        await WorkQueue(session).add(
            kind="export", item_id=export.id, tenant=tenant, replica=replica
        )
    JOBS_STARTED.labels("export").inc()
    return export


async def _write(
    contacts: ContactsClient,
    writer: ExportWriter,
    export: ExportJob,
    *,
    authorization: str,
    page_size: int,
) -> None:
    # Rows are written as the contacts arrive: the file's first rows are on disk while the
    # contacts service is still reading the rest. The stream sends only the export's fields.
    rows = RowFormat(export.fields)
    async for received in contacts.stream(
        export.filter, authorization=authorization, page_size=page_size, fields=export.fields
    ):
        writer.write_columns([str(c.get("id", "")) for c in received], rows.columns(received))
        writer.flush()
    writer.commit()


async def _finish(
    store: DocumentStore,
    files: DataFiles,
    export_id: str,
    tenant: str,
    *,
    rows: int | None,
    error: str | None,
) -> None:
    """Record the outcome; a contact erased meanwhile that is in the file expires the export."""
    async with store.transaction() as session:
        exports = Exports(session)
        export = await exports.get(tenant=tenant, export_id=export_id)
        await WorkQueue(session).remove(export_id)
        if export is None or not export.active:
            files.delete_export(export_id)
            return
        now = now_iso()
        if rows is None:
            export.fail(error or INTERNAL_ERROR, now)
        elif files.contacts_in_export(export_id, export.pending_erasures):
            files.delete_export(export_id)
            export.expire(now)
        else:
            export.complete(rows, now)
            # Its file is kept for the retention period (crm_importer retention).
            await WorkQueue(session).add_retention(
                job_kind="export", job_id=export.id, tenant=tenant, finished_at=now
            )
            await session.add_events(
                [
                    outgoing(
                        export.completed_event(),
                        source=IMPORTER_SOURCE,
                        tenant=tenant,
                        key=export.id,
                        actor=export.actor,
                    )
                ]
            )
        await exports.save(export)
    JOBS_FINISHED.labels("export", export.status).inc()


async def run_export(
    store: DocumentStore,
    files: DataFiles,
    contacts: ContactsClient,
    *,
    tenant: str,
    export_id: str,
    authorization: str,
    page_size: int,
) -> None:
    """Write the export's file as the contacts API streams the contacts, then complete it."""
    async with store.transaction() as session:
        exports = Exports(session)
        export = await exports.get(tenant=tenant, export_id=export_id)
        if export is None or export.status != "queued":
            return
        export.status = "running"
        await exports.save(export)
    writer = files.new_export(export.id, export.fields, file_format=export.format, bom=export.bom)
    try:
        await _write(contacts, writer, export, authorization=authorization, page_size=page_size)
    except asyncio.CancelledError:
        writer.discard()  # the start-up recovery marks it interrupted
        raise
    except ContactsUnavailable as exc:
        writer.discard()
        await _finish(store, files, export_id, tenant, rows=None, error=str(exc))
        return
    except Exception as exc:
        writer.discard()
        log.error("export %s stopped on %s", export_id, type(exc).__name__)
        await _finish(store, files, export_id, tenant, rows=None, error=INTERNAL_ERROR)
        return
    await _finish(store, files, export_id, tenant, rows=writer.rows, error=None)


async def fail_interrupted_exports(
    store: DocumentStore, files: DataFiles, *, owner_gone: Callable[[str], Awaitable[bool]]
) -> int:
    """Fail the exports whose writer is gone (a crashed or stopped instance), and delete their
    partial files: they cannot resume, the caller's key went with the instance. Exports another
    live instance (or this one) is writing are left alone. Returns how many failed."""
    async with store.reader() as session:
        queued = await WorkQueue(session).owned_items("export", limit=_ALL)
    interrupted: list[tuple[str, str]] = []
    writing: set[str] = set()
    for export_id, tenant, owner in queued:
        # Recorded before exports had owners: the last process's, as before.
        if owner is None or await owner_gone(owner):
            interrupted.append((export_id, tenant))
        else:
            writing.add(export_id)
    failed = 0
    async with store.transaction() as session:
        queue = WorkQueue(session)
        exports = Exports(session)
        for export_id, tenant in interrupted:
            export = await exports.get(tenant=tenant, export_id=export_id)
            if export is not None and export.active:
                export.fail(INTERRUPTED, now_iso())
                await exports.save(export)
                failed += 1
            files.delete_export(export_id)
            await queue.remove(export_id)
    files.sweep_partial_exports(keep=writing)
    return failed


class ExportRunner:
    """One background task per running export; the caller's key lives only in that task."""

    def __init__(
        self,
        store: DocumentStore,
        files: DataFiles,
        contacts: ContactsClient,
        *,
        page_size: int,
        owner: str | None = None,
    ) -> None:
        self.owner = owner  # the instance whose tasks write the exports (crm_shared.presence)
        self._store = store
        self._files = files
        self._contacts = contacts
        self._page_size = page_size
        self._tasks = CallerTasks()

    def start(self, export: ExportJob, *, authorization: str) -> None:
        """Start writing the export in the background."""
        work = run_export(
            self._store,
            self._files,
            self._contacts,
            tenant=export.tenant,
            export_id=export.id,
            authorization=authorization,
            page_size=self._page_size,
        )
        self._tasks.start(work, name=f"export-{export.id}")

    async def wait_idle(self) -> None:
        """Wait until every running export finished (for tests and a graceful stop)."""
        await self._tasks.wait_idle()

    async def stop(self) -> None:
        """Cancel the running exports; the next start marks them interrupted."""
        await self._tasks.stop()
