"""Reads the HTTP API answers from: one import, one export, a page of an import's failed rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm_importer.adapters.repository import Exports, ImportErrors, ImportJobs
from crm_importer.domain.exports import ExportJob
from crm_importer.domain.jobs import ImportJob
from crm_shared.problems import NotFound
from crm_shared.storage import Cursor, DocumentStore


@dataclass(frozen=True)
class ErrorPage:
    """Failed rows in row order, and the position after the last one when another page follows."""

    items: list[dict[str, Any]]
    after: Cursor | None


async def get_import(store: DocumentStore, *, tenant: str, job_id: str) -> ImportJob:
    """One import job of the tenant; 404 when it has none with this id."""
    async with store.reader() as session:
        job = await ImportJobs(session).get(tenant=tenant, job_id=job_id)
    if job is None:
        raise NotFound(f"import {job_id} not found")
    return job


async def get_export(store: DocumentStore, *, tenant: str, export_id: str) -> ExportJob:
    """One export job of the tenant; 404 when it has none with this id."""
    async with store.reader() as session:
        export = await Exports(session).get(tenant=tenant, export_id=export_id)
    if export is None:
        raise NotFound(f"export {export_id} not found")
    return export


async def list_exports(
    store: DocumentStore, *, tenant: str, limit: int, after: str | None
) -> tuple[list[ExportJob], str | None]:
    """The tenant's exports, newest first, and the id to continue after when more follow."""
    async with store.reader() as session:
        exports = await Exports(session).newest(tenant=tenant, limit=limit + 1, after=after)
    return exports[:limit], exports[limit - 1].id if len(exports) > limit else None


async def import_errors(
    store: DocumentStore, *, tenant: str, job_id: str, limit: int, after: Cursor | None
) -> ErrorPage:
    """A page of an import's failed rows after `after`; 404 for an import the tenant lacks."""
    async with store.reader() as session:
        if await ImportJobs(session).get(tenant=tenant, job_id=job_id) is None:
            raise NotFound(f"import {job_id} not found")
        # One extra row tells whether another page follows.
        docs = await ImportErrors(session).page(
            tenant=tenant, job_id=job_id, limit=limit + 1, after=after
        )
    items = docs[:limit]
    more = len(docs) > limit
    last = items[-1] if more else None
    return ErrorPage(
        items=items,
        after=Cursor(value=last["row_number"], id=last["id"]) if last is not None else None,
    )


async def rows_mentioning(
    store: DocumentStore, *, tenant: str, identifier_hashes: list[str], limit: int
) -> list[dict[str, Any]]:
    """The stored import rows (failed, or imported with warnings) that hold one of the person's
    identifiers, each with its job and its cells under the file's headers (an access request)."""
    async with store.reader() as session:
        docs = await ImportErrors(session).mentioning(
            tenant=tenant, identifier_hashes=identifier_hashes, limit=limit
        )
        jobs = ImportJobs(session)
        headers: dict[str, list[str]] = {}
        for job_id in dict.fromkeys(str(d["job_id"]) for d in docs):
            job = await jobs.get(tenant=tenant, job_id=job_id)
            headers[job_id] = job.header if job is not None else []
    return [_row_of(doc, headers[str(doc["job_id"])]) for doc in docs]


def _row_of(doc: dict[str, Any], header: list[str]) -> dict[str, Any]:
    cells: list[str] = doc.get("cells") or []
    row = {
        name or f"column {index + 1}": cell
        for index, (name, cell) in enumerate(zip(header, cells, strict=False))
    }
    if not row:
        row = dict(doc.get("values") or {})  # copied before the job ended: the mapped cells
    return {
        "job_id": doc["job_id"],
        "row_number": doc["row_number"],
        "outcome": "failed" if doc.get("reason") else "warned",
        "reason": doc.get("reason"),
        "warnings": doc.get("warnings") or [],
        "row": row,
    }
