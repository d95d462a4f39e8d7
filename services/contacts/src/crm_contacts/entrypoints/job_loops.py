"""The background loop of bulk actions, started with the app: runs queued jobs one by one."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from crm_contacts.service_layer.bulk_runner import ExportHandOff, queued_jobs, run_job
from crm_contacts.settings import ContactsSettings
from crm_shared.storage import DocumentStore

log = logging.getLogger(__name__)
# How long an idle loop waits before looking at the queue again without being woken.
_IDLE_SECONDS = 5.0


class BulkRunner:
    """Runs queued bulk jobs one after another; `wake()` after queueing one."""

    def __init__(
        self, store: DocumentStore, settings: ContactsSettings, exports: ExportHandOff
    ) -> None:
        self._store = store
        self._settings = settings
        self.exports = exports
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """A job was queued."""
        self._wake.set()

    async def run(self) -> None:
        """Until cancelled: run every queued job (unfinished ones resume at start-up), then wait."""
        while True:
            self._wake.clear()
            try:
                entries = await queued_jobs(self._store)
                for job_id, tenant in entries:
                    await run_job(self._store, job_id, tenant, self._settings, self.exports)
            except Exception as exc:
                # The store failed under us (busy, closing): the jobs stay queued and resume
                # from their last committed chunk; the loop must not die of it.
                log.warning("bulk actions paused after %s; retrying", type(exc).__name__)
                entries = []
            if not entries:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=_IDLE_SECONDS)
