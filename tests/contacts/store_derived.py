"""Test helpers for the contact fields the store derives (match keys, folded tags, search text).

A full read leaves them out (crm_shared.storage.derived); tests that compare whole stored
contacts with what the service wrote read them back by a projection and put them in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from crm_contacts.adapters import derived_backfill
from crm_contacts.adapters.repository import COLLECTION_SPECS, CONTACTS
from crm_contacts.domain.derived_fields import STORE_DERIVED_FIELDS
from crm_shared.storage import DocumentStore, Session
from crm_shared.storage.sqlite import SqliteStore


async def with_store_derived(
    session: Session, collection: str, tenant: str, docs: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The contacts of a full read, each with the store-derived fields a projection gives."""
    assert collection == CONTACTS
    assert all(name not in doc for doc in docs for name in STORE_DERIVED_FIELDS)
    return await derived_backfill.with_store_derived(session, tenant, [dict(d) for d in docs])


# The contacts' collections as older code declared them: the store kept in the document every
# derived field the code wrote, match keys and folded tags too.
OLDER_SPECS = tuple(dataclasses.replace(spec, derived=()) for spec in COLLECTION_SPECS)


async def as_older_code(
    store: DocumentStore, path: Path, write: Callable[[DocumentStore], Awaitable[None]]
) -> None:
    """Run `write` on `store` as older code would have: the derived values it writes are kept.

    SQLite: `store` (on `path`) is closed, the writes go through a store of OLDER_SPECS on the
    same file, and `store` starts again. The memory store keeps its state across starts.
    """
    if isinstance(store, SqliteStore):
        await store.close()
        older = SqliteStore(path)
        await older.start(OLDER_SPECS)
        try:
            await write(older)
        finally:
            await older.close()
    else:
        await store.start(OLDER_SPECS)
        await write(store)
    await store.start(COLLECTION_SPECS)
