"""Rewrite jobs of one tenant, and the queue of unfinished jobs of every tenant."""

from __future__ import annotations

from typing import Any

from crm_shared.storage import CollectionSpec, Cursor, Eq, Index, Session

JOBS = "jobs"
# Unfinished jobs of every tenant, under the reserved tenant "" (the runner's work list).
JOB_QUEUE = "job_queue"
QUEUE_TENANT = ""
# Every contact a job could not rewrite, one record each (the job document keeps the first few).
JOB_ERRORS = "job_errors"
JOB_SPECS: tuple[CollectionSpec, ...] = (
    CollectionSpec(JOBS),
    CollectionSpec(JOB_QUEUE),
    CollectionSpec(JOB_ERRORS, indexes=(Index(("job_id",)),)),
)
# Unfinished jobs are few (one per definition change still catching up).
_MANY = 100_000


class RewriteJobs:
    """One tenant's rewrite jobs."""

    def __init__(self, session: Session, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def get(self, job_id: str) -> dict[str, Any] | None:
        """The job with this id."""
        return await self._session.get(JOBS, tenant=self._tenant, id=job_id)

    async def add(self, job: dict[str, Any]) -> None:
        """Insert a new job."""
        await self._session.insert(JOBS, job)

    async def save(self, job: dict[str, Any], *, expected_version: int) -> bool:
        """Replace the job (version + 1) if it still has `expected_version`."""
        job["version"] = expected_version + 1
        return await self._session.replace(JOBS, job, expected_version=expected_version)

    async def page(self, *, before: str | None, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` jobs, newest first (ids are time-ordered), older than the id `before`."""
        return await self._session.find(
            JOBS,
            tenant=self._tenant,
            order_by="id",
            descending=True,
            limit=limit,
            after=Cursor(value=before, id=before) if before else None,
        )


class JobErrors:
    """The contacts one tenant's jobs could not rewrite, in the order found."""

    def __init__(self, session: Session, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def add(self, records: list[dict[str, Any]]) -> None:
        """Insert a batch's error records (domain.rewrite_jobs.error_records)."""
        if records:
            await self._session.insert_many(JOB_ERRORS, records)

    async def page(self, job_id: str, *, after: str | None, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` of the job's errors after the record id `after`, in the order found."""
        return await self._session.find(
            JOB_ERRORS,
            tenant=self._tenant,
            where=(Eq("job_id", job_id),),
            order_by="id",
            limit=limit,
            after=Cursor(value=after, id=after) if after else None,
        )


class JobQueue:
    """Jobs not finished yet, across tenants, oldest first."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def add(self, job: dict[str, Any]) -> None:
        """Queue a job."""
        await self._session.insert(
            JOB_QUEUE, {"id": job["id"], "tenant": QUEUE_TENANT, "job_tenant": job["tenant"]}
        )

    async def remove(self, job_id: str) -> None:
        """Take a finished job off the queue."""
        await self._session.delete(JOB_QUEUE, tenant=QUEUE_TENANT, id=job_id)

    async def entries(self) -> list[tuple[str, str]]:
        """(job id, tenant) of every unfinished job, oldest first."""
        docs = await self._session.find(JOB_QUEUE, tenant=QUEUE_TENANT, limit=_MANY)
        return [(doc["id"], doc["job_tenant"]) for doc in docs]

    async def of_tenant(self, tenant: str) -> list[str]:
        """Ids of the tenant's unfinished jobs, oldest first (few: one per change catching up)."""
        return [job_id for job_id, owner in await self.entries() if owner == tenant]
