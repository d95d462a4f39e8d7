"""A store that passes every port call to the store it wraps: the base of the store wrappers.

A wrapper (timing, the contacts' state records, a keyed request's held transaction) changes one
or two calls; the rest of the port is this pass-through, written once here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager

from crm_shared.storage.leases import Lease
from crm_shared.storage.port import CollectionSpec, DocumentStore, PendingEvent, Session


class DelegatingStore:
    """A DocumentStore whose calls all go to `inner`; subclasses override what they change."""

    def __init__(self, inner: DocumentStore) -> None:
        self.inner = inner
        # The same Event object: the relay clears and waits on what the wrapped store sets.
        self.outbox_signal: asyncio.Event = inner.outbox_signal

    async def start(self, specs: Sequence[CollectionSpec]) -> None:
        await self.inner.start(specs)

    async def close(self) -> None:
        await self.inner.close()

    async def ping(self) -> None:
        await self.inner.ping()

    def transaction(self) -> AbstractAsyncContextManager[Session]:
        return self.inner.transaction()

    def reader(self) -> AbstractAsyncContextManager[Session]:
        return self.inner.reader()

    async def pending_events(self, limit: int) -> list[PendingEvent]:
        return await self.inner.pending_events(limit)

    async def mark_events_sent(self, outbox_ids: Sequence[str]) -> None:
        await self.inner.mark_events_sent(outbox_ids)

    async def pending_count(self) -> int:
        return await self.inner.pending_count()

    async def acquire_lease(self, name: str, *, holder: str, ttl: float) -> Lease | None:
        return await self.inner.acquire_lease(name, holder=holder, ttl=ttl)

    async def release_lease(self, name: str, *, holder: str) -> None:
        await self.inner.release_lease(name, holder=holder)

    def forget_deleted(self) -> None:
        self.inner.forget_deleted()
