"""The background loop of rewrite jobs, started with the app: runs queued jobs in order."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from crm_contacts.service_layer.rewrite_jobs import queued_jobs, run_job
from crm_contacts.settings import ContactsSettings
from crm_shared.storage import DocumentStore

log = logging.getLogger(__name__)
# How long an idle loop waits before looking at the queue again without being woken.
_IDLE_SECONDS = 5.0


class JobRunner:
    """Runs queued rewrite jobs one after another, oldest first; `wake()` after queueing one.

    One at a time and in order: a rename then a delete of the same tag must apply in that order.
    """

    def __init__(self, store: DocumentStore, settings: ContactsSettings) -> None:
        self._store = store
        self._settings = settings
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
                    await run_job(
                        self._store,
                        job_id,
                        tenant,
                        batch_size=self._settings.contacts_job_batch_size,
                        pause=self._settings.contacts_job_pause_seconds,
                    )
            except Exception as exc:
                # The store failed under us (busy, closing): the jobs stay queued and resume
                # from their last committed batch; the loop must not die of it.
                log.warning("rewrite jobs paused after %s; retrying", type(exc).__name__)
                entries = []
            if not entries:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=_IDLE_SECONDS)
