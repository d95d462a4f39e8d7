"""Every contact matching a filter, in id order, chunk by chunk: what an export reads.

The listing's pages (at most 200 contacts, one HTTP request and one pydantic model each) are
built for screens; an export of a million contacts reads them as a stream instead. The filter
is the listing's own (`search.filter_conditions`): the same contacts match, erased ones never,
soft-deleted ones only on request. Each chunk is one keyset read by id in its own read
snapshot, so a long export never holds a snapshot open (the WAL could not be checkpointed) and
a dropped stream resumes after the last id it delivered.

An export names the fields its file holds (`fields`, the export's own names, checked by the
shared rule `crm_shared.export_fields`): the stream then reads only those, as JSON the store
builds (`json_pages.find_json`; SQLite builds it in SQL), and sends those bytes as they are: no
contact is parsed or serialized in Python, and the derived search fields (~40% of a stored
contact) never leave the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, TypeVar

from crm_contacts.adapters.contact_search import ContactSearch
from crm_contacts.domain.search import sort_order
from crm_contacts.service_layer.search import filter_conditions
from crm_shared.export_fields import ALLOWED_DESCRIPTION, contact_path
from crm_shared.filters import ContactFilter
from crm_shared.problems import Unprocessable
from crm_shared.storage import Cursor, DocumentStore, Where
from crm_shared.storage.json_pages import path_tree

# The first chunk is small, so the first bytes leave at once; later ones are large, so the
# per-read overhead (a snapshot, a query plan, a thread hand-off) is paid once per 5,000.
FIRST_CHUNK = 500
CHUNK = 5000
_ID_ORDER = sort_order(None)
MAX_FIELDS = 100
Item = TypeVar("Item")


async def _prefetched(
    read: Callable[[str | None, int], Awaitable[list[Item]]],
    last_id: Callable[[Item], str],
    after: str | None,
    first: int,
    size: int,
) -> AsyncGenerator[list[Item], None]:
    """Chunks of `read` in id order after `after`, the next one read while this one is handled.

    SQLite's reads run in the adapter's thread (outside the GIL for most of it), so they overlap
    the caller's work on the chunk before.
    """
    limit = first
    reading = asyncio.ensure_future(read(after, limit))
    try:
        while True:
            items = await reading
            if len(items) < limit:
                if items:
                    yield items
                return
            limit = size
            reading = asyncio.ensure_future(read(last_id(items[-1]), limit))
            yield items
    finally:
        # A client gone mid-way: the read in flight ends before the stream does.
        reading.cancel()
        await asyncio.wait([reading])
        if not reading.cancelled():
            reading.exception()  # retrieved: a failed read after the end is no one's error


def _doc_id(doc: dict[str, Any]) -> str:
    return str(doc["id"])


def _row_id(row: tuple[str, bytes]) -> str:
    return row[0]


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
        """The matching contacts as stored, in id order after `after`, a chunk per read."""
        # aclosing: a stream closed early ends its read in flight now, not when collected.
        async with aclosing(_prefetched(self._read, _doc_id, self.after, first, size)) as docs:
            async for chunk in docs:
                yield chunk

    async def json_chunks(
        self, paths: Sequence[str], *, first: int = FIRST_CHUNK, size: int = CHUNK
    ) -> AsyncIterator[list[tuple[str, bytes]]]:
        """(id, JSON of the id and `paths`) of the matching contacts, as `chunks` reads."""

        async def read(after: str | None, limit: int) -> list[tuple[str, bytes]]:
            return await self._read_json(paths, after, limit)

        async with aclosing(_prefetched(read, _row_id, self.after, first, size)) as rows:
            async for chunk in rows:
                yield chunk

    async def _read(self, after: str | None, limit: int) -> list[dict[str, Any]]:
        position = Cursor(value=after, id=after) if after else None
        async with self.store.reader() as session:
            return await ContactSearch(session, self.tenant).page(
                self.where, _ID_ORDER, limit=limit, after=position
            )

    async def _read_json(
        self, paths: Sequence[str], after: str | None, limit: int
    ) -> list[tuple[str, bytes]]:
        async with self.store.reader() as session:
            return await ContactSearch(session, self.tenant).json_page(
                self.where, paths, limit=limit, after=after
            )


def stream_paths(fields: str) -> tuple[str, ...]:
    """The contact paths of a comma-separated list of export fields (`name,custom.plan`).

    422 naming the first field no export may list, or one named twice.
    """
    names = [name.strip() for name in fields.split(",")]
    if len(names) > MAX_FIELDS:
        raise Unprocessable(
            f"fields may name at most {MAX_FIELDS} fields", extra={"parameter": "fields"}
        )
    paths: list[str] = []
    for name in names:
        path = contact_path(name)
        if path is None:
            raise Unprocessable(
                f"fields: unknown export field '{name}'; allowed are {ALLOWED_DESCRIPTION}",
                extra={"parameter": "fields", "field": name},
            )
        paths.append(path)
    try:
        path_tree(paths)
    except ValueError:
        raise Unprocessable(
            "fields: a field is named twice", extra={"parameter": "fields"}
        ) from None
    return tuple(paths)


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
