"""Storage of the derived-fields backfill: its progress per tenant, and the contacts it walks.

One progress record per contacts tenant, under the reserved tenant "" (one loop serves every
tenant): the version it brings contacts to, the last contact id done, counts, and whether the
tenant is finished. It is written in the same transaction as the contacts of each chunk, so a
crash loses at most the chunk in flight, which the next run does again.

Beside them, the store's marker (collection `derived_store`): the version every contact of the
store was current at when the backfill last found no contact to bring up (an empty store, or
every tenant finished). Code of that version writes current contacts, so a tenant without a
record under that marker holds only contacts such code wrote: it is recorded finished unread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crm_contacts.domain.derived_fields import STORE_DERIVED_FIELDS
from crm_shared.storage import CollectionSpec, Cursor, In, Session

CONTACTS = "contacts"
DERIVED_BACKFILLS = "derived_backfills"
PROGRESS_TENANT = ""
# The store's marker, in a collection of its own so that no tenant's record can be mistaken
# for it.
DERIVED_STORE = "derived_store"
STORE_MARKER = "current"

BACKFILL_SPECS: tuple[CollectionSpec, ...] = (
    CollectionSpec(DERIVED_BACKFILLS),
    CollectionSpec(DERIVED_STORE),
)


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


async def read_store_current(session: Session) -> int | None:
    """The version every contact of the store was current at when the marker was written."""
    marker = await session.get(DERIVED_STORE, tenant=PROGRESS_TENANT, id=STORE_MARKER)
    return None if marker is None else int(marker["version"])


async def save_store_current(session: Session, version: int) -> None:
    """Record that every contact of the store is current at `version`."""
    marker = {"id": STORE_MARKER, "tenant": PROGRESS_TENANT, "version": version}
    if await session.get(DERIVED_STORE, tenant=PROGRESS_TENANT, id=STORE_MARKER) is None:
        await session.insert(DERIVED_STORE, marker)
    else:
        await session.replace(DERIVED_STORE, marker)


async def every_progress(session: Session) -> list[dict[str, Any]]:
    """Every tenant's progress record (what the admin endpoint shows)."""
    return await session.find(DERIVED_BACKFILLS, tenant=PROGRESS_TENANT, limit=1_000_000)


async def contacts_after(
    session: Session, tenant: str, *, after: str | None, limit: int
) -> list[dict[str, Any]]:
    """The tenant's next contacts in id order, whatever their state (deleted, merged, erased),
    with the fields the store derives as it holds them (a contact written by older code keeps
    what that code derived until it is written: what the backfill looks for)."""
    cursor = None if after is None else Cursor(value=after, id=after)
    page = await session.find(CONTACTS, tenant=tenant, limit=limit, after=cursor)
    return await with_store_derived(session, tenant, page)


async def with_store_derived(
    session: Session, tenant: str, contacts: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """These contacts of a full read, each given the fields the store derives as it holds them.

    A full read leaves them out (crm_shared.storage.derived): one projection of them all.
    """
    if not contacts:
        return contacts
    held = await session.find(
        CONTACTS,
        tenant=tenant,
        where=[In("id", tuple(doc["id"] for doc in contacts))],
        limit=len(contacts),
        fields=STORE_DERIVED_FIELDS,
    )
    by_id = {doc["id"]: doc for doc in held}
    for doc in contacts:
        derived = by_id[doc["id"]]
        doc.update((name, derived[name]) for name in STORE_DERIVED_FIELDS)
    return contacts


async def save_rederived(session: Session, docs: Sequence[tuple[dict[str, Any], int]]) -> int:
    """Replace contacts whose version is still the one read; how many were replaced.

    A contact written meanwhile (another version) was re-derived by that write: left alone.
    """
    saved = 0
    for doc, version in docs:
        saved += await session.replace(CONTACTS, doc, expected_version=version)
    return saved
