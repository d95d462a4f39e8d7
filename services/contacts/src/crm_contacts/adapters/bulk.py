"""Bulk jobs, their selection chunks and per-contact results; the queue of unfinished jobs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crm_shared.storage import CollectionSpec, Cursor, Eq, Index, Session

BULK_JOBS = "bulk_jobs"
BULK_CHUNKS = "bulk_chunks"
BULK_RESULTS = "bulk_results"
# Unfinished jobs of every tenant, under the reserved tenant "" (the runner's work list).
BULK_QUEUE = "bulk_queue"
QUEUE_TENANT = ""
BULK_SPECS: tuple[CollectionSpec, ...] = (
    CollectionSpec(BULK_JOBS),
    CollectionSpec(BULK_CHUNKS, indexes=(Index(("job_id",)),)),
    CollectionSpec(BULK_RESULTS, indexes=(Index(("job_id",)), Index(("job_outcome",)))),
    CollectionSpec(BULK_QUEUE),
)
_MANY = 100_000


class BulkJobs:
    """One tenant's bulk jobs, chunks and results."""

    def __init__(self, session: Session, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def get(self, job_id: str) -> dict[str, Any] | None:
        """The job with this id."""
        return await self._session.get(BULK_JOBS, tenant=self._tenant, id=job_id)

    async def add(self, job: dict[str, Any]) -> None:
        """Insert a new job."""
        await self._session.insert(BULK_JOBS, job)

    async def save(self, job: dict[str, Any], *, expected_version: int) -> bool:
        """Replace the job (version + 1) if it still has `expected_version`."""
        job["version"] = expected_version + 1
        return await self._session.replace(BULK_JOBS, job, expected_version=expected_version)

    async def page(self, *, before: str | None, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` jobs, newest first, older than the id `before`."""
        return await self._session.find(
            BULK_JOBS,
            tenant=self._tenant,
            order_by="id",
            descending=True,
            limit=limit,
            after=Cursor(value=before, id=before) if before else None,
        )

    async def add_chunks(self, chunks: Sequence[dict[str, Any]]) -> None:
        """Store selection chunks."""
        if chunks:
            await self._session.insert_many(BULK_CHUNKS, chunks)

    async def chunk(self, chunk_id: str) -> dict[str, Any] | None:
        """One selection chunk."""
        return await self._session.get(BULK_CHUNKS, tenant=self._tenant, id=chunk_id)

    async def drop_chunks(self, job_id: str) -> None:
        """Forget a job's selection (a snapshot interrupted half-way is taken again)."""
        await self._session.delete_where(
            BULK_CHUNKS, tenant=self._tenant, where=(Eq("job_id", job_id),)
        )

    async def add_results(self, results: Sequence[dict[str, Any]]) -> None:
        """Store per-contact outcomes."""
        if results:
            await self._session.insert_many(BULK_RESULTS, results)

    async def results(
        self, job_id: str, *, outcome: str | None, after: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """A page of a job's outcomes in processing order, optionally of one outcome."""
        where = (Eq("job_outcome", f"{job_id}:{outcome}"),) if outcome else (Eq("job_id", job_id),)
        return await self._session.find(
            BULK_RESULTS,
            tenant=self._tenant,
            where=where,
            order_by="id",
            limit=limit,
            after=Cursor(value=after, id=after) if after else None,
        )


class BulkQueue:
    """Jobs not finished yet, across tenants, oldest first."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def add(self, job: dict[str, Any]) -> None:
        """Queue a job."""
        await self._session.insert(
            BULK_QUEUE, {"id": job["id"], "tenant": QUEUE_TENANT, "job_tenant": job["tenant"]}
        )

    async def remove(self, job_id: str) -> None:
        """Take a finished job off the queue."""
        await self._session.delete(BULK_QUEUE, tenant=QUEUE_TENANT, id=job_id)

    async def entries(self) -> list[tuple[str, str]]:
        """(job id, tenant) of every unfinished job, oldest first."""
        docs = await self._session.find(BULK_QUEUE, tenant=QUEUE_TENANT, limit=_MANY)
        return [(doc["id"], doc["job_tenant"]) for doc in docs]
