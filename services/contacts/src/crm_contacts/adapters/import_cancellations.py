"""Imports their owner cancelled: a batch of one of them arriving later is not applied."""

from __future__ import annotations

from crm_contacts.adapters.import_batches import note_job_activity
from crm_shared.storage import CollectionSpec, Session

IMPORT_CANCELLATIONS = "import_cancellations"
CANCELLATION_SPECS: tuple[CollectionSpec, ...] = (CollectionSpec(IMPORT_CANCELLATIONS),)


class ImportCancellations:
    """The cancelled import jobs of one tenant, by job id."""

    def __init__(self, session: Session, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def add(self, job_id: str, *, at: str) -> None:
        """Record that the job was cancelled (once)."""
        if await self.is_cancelled(job_id):
            return
        await self._session.insert(
            IMPORT_CANCELLATIONS, {"id": job_id, "tenant": self._tenant, "cancelled_at": at}
        )
        await note_job_activity(self._session, self._tenant, job_id, at=at)

    async def forget(self, job_id: str) -> None:
        """The job went quiet long ago: a batch of it can no longer arrive."""
        await self._session.delete(IMPORT_CANCELLATIONS, tenant=self._tenant, id=job_id)

    async def is_cancelled(self, job_id: str) -> bool:
        """True if the job was cancelled."""
        found = await self._session.get(IMPORT_CANCELLATIONS, tenant=self._tenant, id=job_id)
        return found is not None
