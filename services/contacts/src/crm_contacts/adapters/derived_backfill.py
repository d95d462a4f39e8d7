"""Storage of the derived-fields backfill: its progress per tenant, and the contacts it walks.

One progress record per contacts tenant, under the reserved tenant "" (one loop serves every
tenant): the version it brings contacts to, the last contact id done, counts, and whether the
tenant is finished. It is written in the same transaction as the contacts of each chunk, so a
crash loses at most the chunk in flight, which the next run does again.

A tenant whose first contact current code writes never needs the walk: that first write records
it finished (`record_current_at_first_write`), so a fresh store is never walked at start-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crm_shared.storage import CollectionSpec, Cursor, Session

CONTACTS = "contacts"
DERIVED_BACKFILLS = "derived_backfills"
PROGRESS_TENANT = ""

BACKFILL_SPECS: tuple[CollectionSpec, ...] = (CollectionSpec(DERIVED_BACKFILLS),)


def fresh_progress(tenant: str, version: int) -> dict[str, Any]:
    """The progress record of a tenant the backfill has not started at this version."""
    return {
        "id": tenant,
        "tenant": PROGRESS_TENANT,
        "version": version,
        "after": None,
        "processed": 0,
        "rewritten": 0,
        "finished": False,
    }


async def read_progress(session: Session, tenant: str) -> dict[str, Any] | None:
    """The tenant's progress record, if the backfill ever ran for it."""
    return await session.get(DERIVED_BACKFILLS, tenant=PROGRESS_TENANT, id=tenant)


async def save_progress(session: Session, record: dict[str, Any], *, new: bool) -> None:
    """Insert or replace a tenant's progress record."""
    if new:
        await session.insert(DERIVED_BACKFILLS, record)
    else:
        await session.replace(DERIVED_BACKFILLS, record)


async def record_current_at_first_write(session: Session, tenant: str, version: int) -> None:
    """Record the tenant finished at `version` if it has no progress record and no contact yet.

    Called in the transaction that inserts contacts, before the insert: a tenant with no contact
    at all holds nothing older code wrote, and every later write derives the current fields, so
    walking it would read every contact to rewrite none. A tenant with contacts and no record
    holds some from older code: it is left to the walk. One primary-key read per insert
    transaction once the record exists (two until then, for a tenant waiting for its walk).
    """
    if await read_progress(session, tenant) is not None:
        return
    if await session.find(CONTACTS, tenant=tenant, limit=1):
        return
    await save_progress(session, {**fresh_progress(tenant, version), "finished": True}, new=True)


async def every_progress(session: Session) -> list[dict[str, Any]]:
    """Every tenant's progress record (what the admin endpoint shows)."""
    return await session.find(DERIVED_BACKFILLS, tenant=PROGRESS_TENANT, limit=1_000_000)


async def contacts_after(
    session: Session, tenant: str, *, after: str | None, limit: int
) -> list[dict[str, Any]]:
    """The tenant's next contacts in id order, whatever their state (deleted, merged, erased)."""
    cursor = None if after is None else Cursor(value=after, id=after)
    return await session.find(CONTACTS, tenant=tenant, limit=limit, after=cursor)


async def save_rederived(session: Session, docs: Sequence[tuple[dict[str, Any], int]]) -> int:
    """Replace contacts whose version is still the one read; how many were replaced.

    A contact written meanwhile (another version) was re-derived by that write: left alone.
    """
    saved = 0
    for doc, version in docs:
        saved += await session.replace(CONTACTS, doc, expected_version=version)
    return saved
