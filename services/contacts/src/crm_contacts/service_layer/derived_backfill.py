"""The derived-fields backfill: contacts stored by older code brought up to the current fields.

Each tenant's contacts are walked once per `DERIVED_FIELDS_VERSION`, in id order, in small
write transactions (a chunk of contacts and the tenant's progress record together), with a
pause between chunks so the outbox relay and HTTP writes get the store's writer in between.
Only derived fields change: no version bump, no `updated_at`, no event (nothing a person sees
changed; the state topic and other products hold no derived field). A crash or a lost lease
loses at most the chunk in flight: the next run resumes after the last committed one.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from crm_contacts.adapters.derived_backfill import (
    CONTACTS,
    contacts_after,
    fresh_progress,
    read_progress,
    read_store_current,
    save_progress,
    save_rederived,
    save_store_current,
)
from crm_contacts.domain.derived_fields import DERIVED_FIELDS_VERSION, rederived
from crm_shared.observability.metrics import DERIVED_BACKFILL
from crm_shared.storage import DocumentStore

log = logging.getLogger(__name__)

# Contacts per write transaction: a few tens of milliseconds of the writer on SQLite.
CHUNK = 200
# Seconds between chunks: room for the relay's deletes and HTTP writes.
PAUSE_SECONDS = 0.05


@dataclass
class BackfillRun:
    """What one run of the backfill did (every tenant it looked at)."""

    tenants: int = 0
    processed: int = 0
    rewritten: int = 0


async def backfill_derived_fields(
    store: DocumentStore,
    *,
    version: int = DERIVED_FIELDS_VERSION,
    chunk: int = CHUNK,
    pause: float = PAUSE_SECONDS,
) -> BackfillRun:
    """Bring every tenant's contacts to `version`'s derived fields; resumes where it stopped.

    A store found empty, or whose every tenant finished, is marked current at `version`: at
    later starts a tenant without a record (only this code wrote its contacts) is recorded
    finished without reading a contact.
    """
    async with store.reader() as session:
        tenants = await session.tenants(CONTACTS)
        current = await read_store_current(session) == version
    run = BackfillRun()
    for tenant in tenants:
        run.tenants += 1
        await _backfill_tenant(
            store,
            tenant,
            version=version,
            chunk=chunk,
            pause=pause,
            run=run,
            store_current=current,
        )
    if not current:
        # No contact of an older version is left (or there was none): what code of this
        # version writes from now on is current too.
        async with store.transaction() as session:
            await save_store_current(session, version)
    return run


async def _backfill_tenant(
    store: DocumentStore,
    tenant: str,
    *,
    version: int,
    chunk: int,
    pause: float,
    run: BackfillRun,
    store_current: bool,
) -> None:
    while True:
        async with store.transaction() as session:
            stored = await read_progress(session, tenant)
            if stored is not None and stored["version"] == version and stored["finished"]:
                return
            if stored is None and store_current:
                # Its first contact came after the store was marked current: nothing to read.
                finished = {**fresh_progress(tenant, version), "finished": True}
                await save_progress(session, finished, new=True)
                log.info("derived-fields backfill v%d: tenant %s current", version, tenant)
                return
            current = stored is not None and stored["version"] == version
            # A record of an older version starts the tenant over: every contact is read again.
            record: dict[str, Any] = (
                stored if current and stored else fresh_progress(tenant, version)
            )
            if record["processed"] == 0 and record["after"] is None:
                log.info("derived-fields backfill v%d: tenant %s started", version, tenant)
            page = await contacts_after(session, tenant, after=record["after"], limit=chunk)
            changed = [(fresh, doc["version"]) for doc in page if (fresh := rederived(doc))]
            rewritten = await save_rederived(session, changed)
            record = {
                **record,
                "after": page[-1]["id"] if page else record["after"],
                "processed": record["processed"] + len(page),
                "rewritten": record["rewritten"] + rewritten,
                "finished": len(page) < chunk,
            }
            await save_progress(session, record, new=stored is None)
        DERIVED_BACKFILL.labels("rewritten").inc(rewritten)
        DERIVED_BACKFILL.labels("unchanged").inc(len(page) - rewritten)
        run.processed += len(page)
        run.rewritten += rewritten
        if record["finished"]:
            log.info(
                "derived-fields backfill v%d: tenant %s finished, %d contacts read, %d rewritten",
                version,
                tenant,
                record["processed"],
                record["rewritten"],
            )
            return
        await asyncio.sleep(pause)


async def tenant_progress(
    store: DocumentStore, tenant: str, *, version: int = DERIVED_FIELDS_VERSION
) -> dict[str, Any]:
    """The tenant's backfill at `version`: status, contacts read and rewritten so far."""
    async with store.reader() as session:
        stored = await read_progress(session, tenant)
    if stored is None or stored["version"] != version:
        return {"version": version, "status": "pending", "processed": 0, "rewritten": 0}
    return {
        "version": version,
        "status": "finished" if stored["finished"] else "running",
        "processed": stored["processed"],
        "rewritten": stored["rewritten"],
    }
