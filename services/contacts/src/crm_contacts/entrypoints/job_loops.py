"""The background loops of queued contact jobs (bulk actions, tag rewrites), started with the app.

One runner serves both: it runs every queued job one after another, oldest first, and waits to be
woken (or a few seconds) when the queue is empty. One at a time and in order: a rename then a
delete of the same tag must apply in that order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from crm_contacts.service_layer import bulk_runner, rewrite_jobs
from crm_contacts.service_layer.bulk_runner import ExportHandOff
from crm_contacts.settings import ContactsSettings
from crm_shared.idempotent_work import after_commit
from crm_shared.storage import DocumentStore

log = logging.getLogger(__name__)
# How long an idle loop waits before looking at the queue again without being woken.
_IDLE_SECONDS = 5.0

QueuedJobs = Callable[[], Awaitable[list[tuple[str, str]]]]
RunJob = Callable[[str, str], Awaitable[None]]


class QueuedJobRunner:
    """Runs queued jobs one after another; `wake()` after queueing one."""

    def __init__(self, what: str, queued: QueuedJobs, run_job: RunJob) -> None:
        self._what = what
        self._queued = queued
        self._run_job = run_job
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """A job was queued (the loop looks once the request's transaction has committed)."""
        after_commit(self._wake.set)

    async def run(self) -> None:
        """Until cancelled: run every queued job (unfinished ones resume at start-up), then wait."""
        while True:
            self._wake.clear()
            try:
                entries = await self._queued()
                for job_id, tenant in entries:
                    await self._run_job(job_id, tenant)
            except Exception as exc:
                # The store failed under us (busy, closing): the jobs stay queued and resume
                # from their last committed step; the loop must not die of it.
                log.warning("%s paused after %s; retrying", self._what, type(exc).__name__)
                entries = []
            if not entries:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=_IDLE_SECONDS)


class BulkRunner(QueuedJobRunner):
    """Bulk actions; `exports` hands an export action's contacts to the importer."""

    def __init__(
        self, store: DocumentStore, settings: ContactsSettings, exports: ExportHandOff
    ) -> None:
        async def run_job(job_id: str, tenant: str) -> None:
            await bulk_runner.run_job(store, job_id, tenant, settings, exports)

        super().__init__("bulk actions", lambda: bulk_runner.queued_jobs(store), run_job)
        self.exports = exports


def rewrite_job_runner(store: DocumentStore, settings: ContactsSettings) -> QueuedJobRunner:
    """Tag rewrite jobs (renames, deletes), each in batches with a pause between them."""

    async def run_job(job_id: str, tenant: str) -> None:
        await rewrite_jobs.run_job(
            store,
            job_id,
            tenant,
            batch_size=settings.contacts_job_batch_size,
            pause=settings.contacts_job_pause_seconds,
            batch_seconds=settings.contacts_job_batch_seconds or None,
        )

    return QueuedJobRunner("rewrite jobs", lambda: rewrite_jobs.queued_jobs(store), run_job)
