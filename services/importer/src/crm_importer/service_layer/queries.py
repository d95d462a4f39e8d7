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
