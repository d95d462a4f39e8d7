"""The background runner of bulk actions: snapshot the selection, then apply it chunk by chunk.

Each chunk is one transaction holding the contacts' changes, their events (outbox), their
outcomes and the job's progress, so a restart resumes at the first chunk not committed and no
contact is changed twice. A cancel is seen between chunks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Protocol

from crm_contacts.adapters.bulk import BulkJobs, BulkQueue
from crm_contacts.adapters.custom_fields import CustomFieldRepository
from crm_contacts.adapters.importer_client import ExportRefused
from crm_contacts.adapters.repository import CONTACTS
from crm_contacts.domain.bulk import ACTIVE, EXPORT_PART, Outcome, chunk_id, counted
from crm_contacts.domain.search import conditions
from crm_contacts.service_layer.bulk_apply import ContactOutcome, apply_chunk
from crm_contacts.service_layer.search import with_renamed_tags
from crm_contacts.settings import ContactsSettings
from crm_shared.clock import now_iso
from crm_shared.filters import ContactFilter
from crm_shared.ids import new_id
from crm_shared.observability.metrics import JOBS_FINISHED
from crm_shared.storage import ConcurrentWriteError, DocumentStore, Range, scan

log = logging.getLogger(__name__)


class ExportHandOff(Protocol):
    """Where a bulk `export` hands its selection (adapters/importer_client.ImporterExports)."""

    def remember(self, job_id: str, authorization: str) -> None: ...

    def forget(self, job_id: str) -> None: ...

    async def request(self, job_id: str, ids: Sequence[str], fields: Sequence[str]) -> str: ...


_CHUNKS_PER_WRITE = 50
_CONFLICT_RETRIES = 5
INTERNAL_ERROR = "the bulk action stopped on an internal error; the outcomes so far are kept"


class JobGone(Exception):
    """The job was cancelled (or removed) meanwhile."""


async def _selection_pages(store: DocumentStore, job: dict[str, Any], chunk_size: int) -> Any:
    """The selected ids in pages of `chunk_size`: explicit ids as given, or the filter's matches
    among the contacts that existed when the job was queued (ids are time-ordered)."""
    if job["ids"] is not None:
        ids = list(job["ids"])
        for start in range(0, len(ids), chunk_size):
            yield ids[start : start + chunk_size]
        return
    criteria = ContactFilter.model_validate(job["filter"])
    async with store.reader() as session:
        definitions = await CustomFieldRepository(session, job["tenant"]).all()
        matching = await with_renamed_tags(
            session, job["tenant"], criteria, conditions(criteria, definitions)
        )
    where = [*matching, Range("id", lt=job["id"])]
    page: list[str] = []
    async for doc in scan(store, CONTACTS, tenant=job["tenant"], where=where, page_size=chunk_size):
        page.append(doc["id"])
        if len(page) == chunk_size:
            yield page
            page = []
    if page:
        yield page


async def snapshot(store: DocumentStore, job: dict[str, Any], *, chunk_size: int) -> None:
    """Record the job's selection once, in chunks, then mark it running with its total."""
    tenant = job["tenant"]
    started = now_iso()
    async with store.transaction() as session:
        await BulkJobs(session, tenant).drop_chunks(job["id"])
    total = 0
    number = 0
    pending: list[dict[str, Any]] = []
    async for ids in _selection_pages(store, job, chunk_size):
        pending.append(
            {"id": chunk_id(job["id"], number), "tenant": tenant, "job_id": job["id"], "ids": ids}
        )
        number += 1
        total += len(ids)
        if len(pending) >= _CHUNKS_PER_WRITE:
            async with store.transaction() as session:
                await BulkJobs(session, tenant).add_chunks(pending)
            pending = []
    async with store.transaction() as session:
        jobs = BulkJobs(session, tenant)
        await jobs.add_chunks(pending)
        current = await jobs.get(job["id"])
        if current is None or current["status"] not in ACTIVE:
            raise JobGone(job["id"])
        version = int(current["version"])
        # The chunks hold the selection now: the ids (up to 10,000, rewritten with every chunk's
        # progress otherwise) and the filter (which may quote an email or a name) are dropped.
        current.update(
            status="running",
            total=total,
            chunks=number,
            started_at=started,
            ids=None,
            filter=None,
            selection="ids" if job["ids"] is not None else "filter",
        )
        await jobs.save(current, expected_version=version)


def _result_docs(job: dict[str, Any], outcomes: list[ContactOutcome]) -> list[dict[str, Any]]:
    return [
        {
            "id": new_id(),
            "tenant": job["tenant"],
            "job_id": job["id"],
            "job_outcome": f"{job['id']}:{o.outcome}",
            "contact_id": o.contact_id,
            "outcome": o.outcome,
            "reason": o.reason,
        }
        for o in outcomes
    ]


async def run_chunk(
    store: DocumentStore, job_id: str, tenant: str, settings: ContactsSettings
) -> bool:
    """Apply the job's next chunk in one transaction; False once the job has no chunk left."""
    async with store.transaction() as session:
        jobs = BulkJobs(session, tenant)
        job = await jobs.get(job_id)
        if job is None or job["status"] != "running":
            raise JobGone(job_id)
        position = int(job["position"])
        if position >= int(job["chunks"]):
            version = int(job["version"])
            job.update(status="completed", finished_at=now_iso())
            await jobs.save(job, expected_version=version)
            await BulkQueue(session).remove(job_id)
            return False
        chunk = await jobs.chunk(chunk_id(job_id, position))
        ids: list[str] = chunk["ids"] if chunk else []
        outcomes = await apply_chunk(
            session,
            tenant,
            action=job["action"],
            params=job["params"],
            contact_ids=ids,
            actor=job["actor"],
            settings=settings,
        )
        await jobs.add_results(_result_docs(job, outcomes))
        names: list[Outcome] = [o.outcome for o in outcomes]
        updated = counted(job, names)
        await jobs.save(updated, expected_version=int(job["version"]))
    return True


async def _finish_if_done(store: DocumentStore, job_id: str, tenant: str) -> dict[str, Any] | None:
    """The running job, or None once it completed (then marked so and taken off the queue)."""
    async with store.transaction() as session:
        jobs = BulkJobs(session, tenant)
        job = await jobs.get(job_id)
        if job is None or job["status"] != "running":
            raise JobGone(job_id)
        if int(job["position"]) < int(job["chunks"]):
            return job
        version = int(job["version"])
        job.update(status="completed", finished_at=now_iso())
        await jobs.save(job, expected_version=version)
        await BulkQueue(session).remove(job_id)
    JOBS_FINISHED.labels("bulk", "completed").inc()
    return None


async def export_part(
    store: DocumentStore, job_id: str, tenant: str, exports: ExportHandOff
) -> bool:
    """Hand the next chunks (up to 10,000 contacts) to one importer export; False when done.

    The hand-off is an HTTP call, so it happens outside the transaction that records it.
    """
    job = await _finish_if_done(store, job_id, tenant)
    if job is None:
        return False
    position, taken = int(job["position"]), 0
    ids: list[str] = []
    async with store.reader() as session:
        jobs = BulkJobs(session, tenant)
        while position + taken < int(job["chunks"]):
            chunk = await jobs.chunk(chunk_id(job_id, position + taken))
            chunk_ids = chunk["ids"] if chunk else []
            if ids and len(ids) + len(chunk_ids) > EXPORT_PART:
                break
            ids.extend(chunk_ids)
            taken += 1
    export_id = await exports.request(job_id, ids, job["params"]["fields"])
    outcomes = [ContactOutcome(i, "succeeded", f"handed to export {export_id}") for i in ids]
    async with store.transaction() as session:
        jobs = BulkJobs(session, tenant)
        current = await jobs.get(job_id)
        if current is None or current["status"] != "running":
            raise JobGone(job_id)
        await jobs.add_results(_result_docs(current, outcomes))
        updated = counted(current, [o.outcome for o in outcomes])
        updated.update(position=position + taken, export_ids=[*current["export_ids"], export_id])
        await jobs.save(updated, expected_version=int(current["version"]))
    return True


async def _run_chunk_retrying(
    store: DocumentStore, job_id: str, tenant: str, settings: ContactsSettings
) -> bool:
    """run_chunk, again after a write conflict (MongoDB: another write touched a contact); the
    chunk's transaction rolled back whole, so a retry applies it once."""
    for attempt in range(1, _CONFLICT_RETRIES + 1):
        try:
            return await run_chunk(store, job_id, tenant, settings)
        except ConcurrentWriteError:
            if attempt == _CONFLICT_RETRIES:
                raise
            await asyncio.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


async def _fail(store: DocumentStore, job_id: str, tenant: str, error: str) -> None:
    failed = False
    async with store.transaction() as session:
        jobs = BulkJobs(session, tenant)
        job = await jobs.get(job_id)
        if job is not None and job["status"] in ACTIVE:
            version = int(job["version"])
            job.update(status="failed", error=error, finished_at=now_iso())
            await jobs.save(job, expected_version=version)
            failed = True
        await BulkQueue(session).remove(job_id)
    if failed:
        JOBS_FINISHED.labels("bulk", "failed").inc()


async def run_job(
    store: DocumentStore,
    job_id: str,
    tenant: str,
    settings: ContactsSettings,
    exports: ExportHandOff,
) -> None:
    """Run a job to its end (or its cancel) from wherever it stands."""
    async with store.reader() as session:
        job = await BulkJobs(session, tenant).get(job_id)
    try:
        if job is None or job["status"] not in ACTIVE:
            raise JobGone(job_id)
        if job["status"] == "queued":
            await snapshot(store, job, chunk_size=settings.contacts_bulk_chunk_size)
        more = True
        while more:
            if job["action"] == "export":
                more = await export_part(store, job_id, tenant, exports)
            else:
                more = await _run_chunk_retrying(store, job_id, tenant, settings)
            # Between chunks: room for interactive requests (and the place a cancel is seen).
            await asyncio.sleep(settings.contacts_bulk_chunk_pause_seconds)
    except ExportRefused as exc:
        await _fail(store, job_id, tenant, str(exc))
    except JobGone:
        async with store.transaction() as session:
            await BulkQueue(session).remove(job_id)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        # The message may hold nothing personal: only the job and the error's type are logged.
        log.error("bulk action %s stopped on %s", job_id, type(exc).__name__)
        await _fail(store, job_id, tenant, INTERNAL_ERROR)
    finally:
        exports.forget(job_id)


async def queued_jobs(store: DocumentStore) -> list[tuple[str, str]]:
    """(job id, tenant) of every unfinished job of every tenant, oldest first."""
    async with store.reader() as session:
        return await BulkQueue(session).entries()
