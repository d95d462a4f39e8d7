"""Every contact matching a filter, in id order, chunk by chunk: what an export reads.

The listing's pages (at most 200 contacts, one HTTP request and one pydantic model each) are
built for screens; an export of a million contacts reads them as a stream instead. The filter
is the listing's own (`search.filter_conditions`): the same contacts match, erased ones never,
soft-deleted ones only on request. Each chunk is one keyset read by id in its own read
snapshot, so a long export never holds a snapshot open (the WAL could not be checkpointed) and
a dropped stream resumes after the last id it delivered.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from crm_contacts.adapters.contact_search import ContactSearch
from crm_contacts.domain.search import sort_order
from crm_contacts.service_layer.search import filter_conditions
from crm_shared.filters import ContactFilter
from crm_shared.storage import Cursor, DocumentStore, Where

# The first chunk is small, so the first bytes leave at once; later ones are large, so the
# per-read overhead (a snapshot, a query plan, a thread hand-off) is paid once per 5,000.
FIRST_CHUNK = 500
CHUNK = 5000
_ID_ORDER = sort_order(None)


@dataclass(frozen=True)
class ContactStream:
    """A filter already checked and translated: opening it raised any 4xx, reading it cannot."""

    store: DocumentStore
    tenant: str
    where: list[Where]
    after: str | None = None

    async def chunks(
        self, *, first: int = FIRST_CHUNK, size: int = CHUNK
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """The matching contacts as stored, in id order after `after`, a chunk per read.

        The next chunk is read while the caller handles this one: SQLite's reads run in the
        adapter's thread (outside the GIL for most of it), so they overlap the serialization.
        """
        limit = first
        reading = asyncio.ensure_future(self._read(self.after, limit))
        try:
            while True:
                docs = await reading
                if len(docs) < limit:
                    if docs:
                        yield docs
                    return
                limit = size
                reading = asyncio.ensure_future(self._read(docs[-1]["id"], limit))
                yield docs
        finally:
            # A client gone mid-way: the read in flight ends before the stream does.
            reading.cancel()
            await asyncio.wait([reading])
            if not reading.cancelled():
                reading.exception()  # retrieved: a failed read after the end is no one's error

    async def _read(self, after: str | None, limit: int) -> list[dict[str, Any]]:
        position = Cursor(value=after, id=after) if after else None
        async with self.store.reader() as session:
            return await ContactSearch(session, self.tenant).page(
                self.where, _ID_ORDER, limit=limit, after=position
            )


async def open_stream(
    store: DocumentStore,
    *,
    tenant: str,
    criteria: ContactFilter,
    after: str | None = None,
    include_deleted: bool = False,
) -> ContactStream:
    """The stream of the tenant's contacts matching `criteria` after the id `after`.

    422 naming the parameter for a filter that cannot apply, as the listing answers, before any
    contact is read (a streamed answer cannot change its status once it started).
    """
    async with store.reader() as session:
        where = await filter_conditions(session, tenant, criteria, include_deleted=include_deleted)
    return ContactStream(store=store, tenant=tenant, where=where, after=after)
