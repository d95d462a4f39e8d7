"""The background import worker: reads queued jobs one after the other, oldest first."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback

from crm_importer.adapters.files import DataFiles
from crm_importer.adapters.repository import WorkQueue
from crm_importer.service_layer.error_rows import copy_pending_error_cells
from crm_importer.service_layer.imports import fail_import, fail_stalled_imports
from crm_importer.service_layer.reading import ReadingOptions, process_import
from crm_importer.service_layer.resending import resend_stalled_batches
from crm_shared.clock import now_iso
from crm_shared.observability.context import WorkContext, working_on
from crm_shared.storage import DocumentStore

log = logging.getLogger(__name__)
INTERNAL_ERROR = "the import stopped on an internal error; upload the file again"


class ImportWorker:
    """Picks unfinished imports from the store, so a restart resumes them where they stopped."""

    def __init__(
        self,
        store: DocumentStore,
        files: DataFiles,
        options: ReadingOptions,
        *,
        poll_seconds: float,
        results_timeout_seconds: float = 900.0,
        resend_after_seconds: float = 60.0,
    ) -> None:
        self._store = store
        self._files = files
        self._options = options
        self._poll_seconds = poll_seconds
        self._results_timeout = results_timeout_seconds
        self._resend_after = resend_after_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """A job was queued: look now rather than at the next poll."""
        self._wake.set()

    async def run_once(self) -> int:
        """Read every job queued right now; return how many were handled."""
        async with self._store.reader() as session:
            queued = await WorkQueue(session).items("import")
        for job_id, tenant in queued:
            await self._process(tenant, job_id)
        # Unanswered batches are sent again first; a job still unanswered after that fails.
        await resend_stalled_batches(
            self._store,
            self._files,
            self._options,
            now=now_iso(),
            after_seconds=self._resend_after,
        )
        await fail_stalled_imports(
            self._store, self._files, now=now_iso(), timeout_seconds=self._results_timeout
        )
        # Jobs that ended: their failed rows' cells are copied for errors.csv, uploads deleted.
        copied = await copy_pending_error_cells(
            self._store,
            self._files,
            suppression_key=self._options.suppression_key,
            region=self._options.default_region,
        )
        return len(queued) + copied

    async def _process(self, tenant: str, job_id: str) -> None:
        with working_on(WorkContext(tenant=tenant, job_id=job_id)):  # its log lines say so
            await self._process_in_context(tenant, job_id)

    async def _process_in_context(self, tenant: str, job_id: str) -> None:
        try:
            await process_import(
                self._store, self._files, tenant=tenant, job_id=job_id, options=self._options
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Only the type and the code location: an exception's message may quote a CSV row.
            where = "".join(traceback.format_tb(exc.__traceback__, limit=-3))
            log.error("import %s stopped on %s at\n%s", job_id, type(exc).__name__, where)
            await fail_import(
                self._store, self._files, tenant=tenant, job_id=job_id, reason=INTERNAL_ERROR
            )

    async def run(self) -> None:
        """Run until cancelled; a store failure is logged and retried at the next poll."""
        while True:
            self._wake.clear()
            try:
                if await self.run_once():
                    continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("import worker cannot read its queue (%s)", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
