"""Repositories over the storage session: import jobs, import errors, exports, the work queue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from crm_importer.adapters.collections import EXPORTS, IMPORT_ERRORS, IMPORT_JOBS, WORK_QUEUE
from crm_importer.domain.exports import ExportJob, ExportStatus
from crm_importer.domain.jobs import ImportJob
from crm_shared.ids import new_id
from crm_shared.storage import Contains, Cursor, Eq, In, Range, Session

# "results": an import read to the end, awaiting the contacts service's batch results.
# "errors": a finished import whose failed rows' original cells are still to be copied.
# "retain": a finished import or export whose kept data (failed rows, a file) awaits deletion.
WorkKind = Literal["import", "dry-run", "export", "results", "errors", "retain"]
# An "errors" item shares its job's id with the job's other items, so its own id is prefixed.
_ERRORS_ITEM = "errors-"
_RETAIN_ITEM = "retain-"
# The work queue spans tenants; no API key can carry an empty tenant (parse_api_keys refuses it).
QUEUE_TENANT = ""


class ImportJobs:
    """Import jobs of any tenant, always read and written with the tenant they belong to."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def get(self, *, tenant: str, job_id: str) -> ImportJob | None:
        """The job, or None if it does not exist in this tenant."""
        doc = await self._session.get(IMPORT_JOBS, tenant=tenant, id=job_id)
        return None if doc is None else ImportJob.model_validate(doc)

    async def add(self, job: ImportJob) -> None:
        """Store a new job."""
        await self._session.insert(IMPORT_JOBS, job.model_dump(mode="json"))

    async def save(self, job: ImportJob) -> None:
        """Store the job's new state."""
        await self._session.replace(IMPORT_JOBS, job.model_dump(mode="json"))

    async def newest(self, *, tenant: str, limit: int, after: str | None) -> list[ImportJob]:
        """The tenant's imports, newest first (ids are time-ordered), after the id `after`."""
        docs = await self._session.find(
            IMPORT_JOBS,
            tenant=tenant,
            descending=True,
            limit=limit,
            after=Cursor(value=after, id=after) if after else None,
        )
        return [ImportJob.model_validate(doc) for doc in docs]

    async def of_file(self, *, tenant: str, file_sha256: str, since: str) -> list[ImportJob]:
        """The tenant's imports of a file with this SHA-256 created at or after `since`."""
        docs = await self._session.find(
            IMPORT_JOBS,
            tenant=tenant,
            where=[Eq("file_sha256", file_sha256), Range("created_at", gte=since)],
            descending=True,
            limit=20,
        )
        return [ImportJob.model_validate(doc) for doc in docs]


class ImportErrors:
    """The failed rows of import jobs, with their reasons."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def add_many(self, *, tenant: str, job_id: str, errors: Sequence[dict[str, Any]]) -> None:
        """Store failed rows: each has row_number and reason, optionally values and their hashes."""
        if errors:
            await self._session.insert_many(
                IMPORT_ERRORS,
                [{"id": new_id(), "tenant": tenant, "job_id": job_id, **e} for e in errors],
            )

    async def page(
        self, *, tenant: str, job_id: str, limit: int, after: Cursor | None
    ) -> list[dict[str, Any]]:
        """Failed rows in row order, after the cursor's position."""
        return await self._session.find(
            IMPORT_ERRORS,
            tenant=tenant,
            where=[Eq("job_id", job_id)],
            order_by="row_number",
            limit=limit,
            after=after,
        )

    async def save(self, doc: dict[str, Any]) -> None:
        """Store a row error's new state (its original cells, once copied)."""
        await self._session.replace(IMPORT_ERRORS, doc)

    async def mentioning(
        self, *, tenant: str, identifier_hashes: Sequence[str], limit: int
    ) -> list[dict[str, Any]]:
        """Failed or warned rows whose cells hold one of these identifier hashes (each once)."""
        found: dict[str, dict[str, Any]] = {}
        for digest in dict.fromkeys(identifier_hashes):
            docs = await self._session.find(
                IMPORT_ERRORS,
                tenant=tenant,
                where=[Contains("identifier_hashes", digest)],
                limit=limit,
            )
            found.update((doc["id"], doc) for doc in docs)
        return sorted(found.values(), key=lambda d: (str(d["job_id"]), int(d["row_number"])))[
            :limit
        ]

    async def delete_job(self, *, tenant: str, job_id: str) -> int:
        """Delete every stored row of one job; how many went."""
        return await self._session.delete_where(
            IMPORT_ERRORS, tenant=tenant, where=[Eq("job_id", job_id)]
        )

    async def delete_matching(self, *, tenant: str, identifier_hashes: Sequence[str]) -> int:
        """Delete failed rows whose values hold one of these identifier hashes."""
        deleted = 0
        for digest in identifier_hashes:
            deleted += await self._session.delete_where(
                IMPORT_ERRORS, tenant=tenant, where=[Contains("identifier_hashes", digest)]
            )
        return deleted


class Exports:
    """Export jobs."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def get(self, *, tenant: str, export_id: str) -> ExportJob | None:
        """The export, or None if it does not exist in this tenant."""
        doc = await self._session.get(EXPORTS, tenant=tenant, id=export_id)
        return None if doc is None else ExportJob.model_validate(doc)

    async def add(self, export: ExportJob) -> None:
        """Store a new export."""
        await self._session.insert(EXPORTS, export.model_dump(mode="json"))

    async def save(self, export: ExportJob) -> None:
        """Store the export's new state."""
        await self._session.replace(EXPORTS, export.model_dump(mode="json"))

    async def newest(self, *, tenant: str, limit: int, after: str | None) -> list[ExportJob]:
        """The tenant's exports, newest first (ids are time-ordered), after the id `after`."""
        docs = await self._session.find(
            EXPORTS,
            tenant=tenant,
            descending=True,
            limit=limit,
            after=Cursor(value=after, id=after) if after else None,
        )
        return [ExportJob.model_validate(doc) for doc in docs]

    async def with_status(
        self, *, tenant: str, statuses: tuple[ExportStatus, ...]
    ) -> list[ExportJob]:
        """Every export of the tenant in one of these statuses (read page by page)."""
        found: list[ExportJob] = []
        after: Cursor | None = None
        while True:
            page = await self._session.find(
                EXPORTS, tenant=tenant, where=[In("status", statuses)], limit=500, after=after
            )
            found.extend(ExportJob.model_validate(doc) for doc in page)
            if len(page) < 500:
                return found
            after = Cursor(value=page[-1]["id"], id=page[-1]["id"])


class WorkQueue:
    """Unfinished work across tenants: imports still being read, exports still being written."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def add(
        self, *, kind: WorkKind, item_id: str, tenant: str, replica: str | None = None
    ) -> None:
        """Remember unfinished work, so a restart finds it; `replica` is the instance doing it
        (crm_shared.presence), for work that lives in one instance (an export)."""
        doc = {"id": item_id, "tenant": QUEUE_TENANT, "kind": kind, "owner": tenant}
        if replica is not None:
            doc["replica"] = replica
        await self._session.insert(WORK_QUEUE, doc)

    async def remove(self, item_id: str) -> None:
        """The work is done (or given up)."""
        await self._session.delete(WORK_QUEUE, tenant=QUEUE_TENANT, id=item_id)

    async def items(self, kind: WorkKind, *, limit: int = 100) -> list[tuple[str, str]]:
        """The oldest unfinished items of a kind, as (job or export id, tenant) pairs."""
        docs = await self._session.find(
            WORK_QUEUE, tenant=QUEUE_TENANT, where=[Eq("kind", kind)], limit=limit
        )
        return [(doc["id"].removeprefix(_ERRORS_ITEM), doc["owner"]) for doc in docs]

    async def owned_items(
        self, kind: WorkKind, *, limit: int = 100
    ) -> list[tuple[str, str, str | None]]:
        """Like `items`, with the instance doing each (None: recorded before owners were)."""
        docs = await self._session.find(
            WORK_QUEUE, tenant=QUEUE_TENANT, where=[Eq("kind", kind)], limit=limit
        )
        return [(doc["id"], doc["owner"], doc.get("replica")) for doc in docs]

    async def add_errors_copy(self, *, job_id: str, tenant: str) -> None:
        """Remember that a finished job's failed rows still need their original cells."""
        if await self._session.get(WORK_QUEUE, tenant=QUEUE_TENANT, id=_ERRORS_ITEM + job_id):
            return  # already queued by whatever ended the job first
        await self._session.insert(
            WORK_QUEUE,
            {
                "id": _ERRORS_ITEM + job_id,
                "tenant": QUEUE_TENANT,
                "kind": "errors",
                "owner": tenant,
            },
        )

    async def add_retention(
        self, *, job_kind: Literal["import", "export"], job_id: str, tenant: str, finished_at: str
    ) -> None:
        """Remember that a finished job keeps data (failed rows, a file) until its retention
        period, counted from `finished_at`, runs out."""
        item_id = _RETAIN_ITEM + job_id
        if await self._session.get(WORK_QUEUE, tenant=QUEUE_TENANT, id=item_id):
            return
        await self._session.insert(
            WORK_QUEUE,
            {
                "id": item_id,
                "tenant": QUEUE_TENANT,
                "kind": "retain",
                "owner": tenant,
                "job_kind": job_kind,
                "job_id": job_id,
                "finished_at": finished_at,
            },
        )

    async def retention_due(self, *, finished_before: str, limit: int) -> list[dict[str, Any]]:
        """Jobs whose kept data is due for deletion: finished before `finished_before`."""
        return await self._session.find(
            WORK_QUEUE,
            tenant=QUEUE_TENANT,
            where=[Eq("kind", "retain"), Range("finished_at", lt=finished_before)],
            limit=limit,
        )

    async def remove_retention(self, job_id: str) -> None:
        """The job's kept data was deleted."""
        await self._session.delete(WORK_QUEUE, tenant=QUEUE_TENANT, id=_RETAIN_ITEM + job_id)

    async def remove_errors_copy(self, job_id: str) -> None:
        """The failed rows' cells were copied (or could not be)."""
        await self._session.delete(WORK_QUEUE, tenant=QUEUE_TENANT, id=_ERRORS_ITEM + job_id)
