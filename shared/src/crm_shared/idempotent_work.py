"""A keyed request's work and its kept answer commit in one transaction.

Keeping the answer in a transaction of its own after the work left a window: a process killed
between the two left the work committed and no answer, so the retry did the work again. Instead,
once a request has claimed its `Idempotency-Key`, the store its route is given (`StoreDep`) holds
the route's write transaction open when its block ends; the idempotency middleware writes the
answer into that same transaction when the response is complete, and only then commits both.
A kill before that commit loses both (the retry redoes the work); a kill after it loses neither
(the retry replays the answer).

A route whose work spans several write transactions commits each earlier one when the next one
begins (one writer at a time); only the last carries the answer. A read after the work reads in
the held transaction (it sees what the request wrote); loops the route wakes are woken once it
commits (`after_commit`). Every other store use (leases, the outbox relay, tasks the route
starts) goes straight to the store.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import TracebackType

from crm_shared.storage import DocumentStore, Session
from crm_shared.storage.delegating import DelegatingStore
from crm_shared.storage.leases import Lease

log = logging.getLogger(__name__)

# Where the idempotency middleware puts a request's RequestWork in the ASGI scope.
SCOPE_KEY = "crm.idempotent_work"
_CURRENT: ContextVar[RequestWork | None] = ContextVar("crm_idempotent_work", default=None)


def after_commit(callback: Callable[[], object]) -> None:
    """Run `callback` once what this request wrote is committed (now, unless its work waits
    for its answer): a loop woken before the commit would find nothing to do."""
    work = _CURRENT.get()
    if work is None or not work.holding():
        callback()
        return
    work.defer(callback)


@dataclass
class _Held:
    context: AbstractAsyncContextManager[Session]
    session: Session


class RequestWork:
    """One keyed request's hold on its last write transaction (made by the middleware)."""

    def __init__(self) -> None:
        self._owner = asyncio.current_task()
        self._claimed = False
        self._held: _Held | None = None
        self._after: list[Callable[[], object]] = []
        _CURRENT.set(self)

    def claimed(self) -> None:
        """From now on the request's write transactions wait for its answer."""
        self._claimed = True

    def holds_transactions(self) -> bool:
        """Whether a transaction opened now is the request's own work (not a task it started)."""
        return self._claimed and asyncio.current_task() is self._owner

    def hold(self, context: AbstractAsyncContextManager[Session], session: Session) -> None:
        self._held = _Held(context, session)

    def holding(self) -> bool:
        """Whether this task's work is written but waits for its answer to commit."""
        return self._held is not None and asyncio.current_task() is self._owner

    @asynccontextmanager
    async def reading_held(self) -> AsyncIterator[Session]:
        """Reads after the work, in the request: its own transaction, which sees what it wrote."""
        assert self._held is not None
        yield self._held.session

    def defer(self, callback: Callable[[], object]) -> None:
        self._after.append(callback)

    def _committed(self) -> None:
        callbacks, self._after = self._after, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                log.exception("a callback after an idempotent request's commit failed")

    async def commit_held(self) -> None:
        """Commit a held transaction as it is (before another begins, or without an answer)."""
        held, self._held = self._held, None
        if held is not None:
            await held.context.__aexit__(None, None, None)
            self._committed()

    async def yield_writer(self) -> None:
        """Before the request's own task waits for the store's writer: commit what it holds."""
        if self.holds_transactions():
            await self.commit_held()

    async def roll_back_held(self) -> None:
        """The request failed: its held work never commits, so a retry may do it again."""
        held, self._held = self._held, None
        self._after = []  # what they were to start was never saved
        if held is not None:
            error = RuntimeError("the request failed before its answer was kept")
            try:
                await held.context.__aexit__(RuntimeError, error, None)
            except RuntimeError as raised:
                if raised is not error:
                    raise

    async def commit_with(self, write: Callable[[Session], Awaitable[None]]) -> bool:
        """Add `write` to the held transaction and commit both; False if none is held."""
        held, self._held = self._held, None
        if held is None:
            return False
        try:
            await write(held.session)
        except BaseException as exc:
            await held.context.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        await held.context.__aexit__(None, None, None)
        self._committed()
        return True

    def finish(self) -> None:
        """The response is settled: later transactions of this task are nobody's work."""
        self._claimed = False


class _HeldTransaction:
    """`store.transaction()` for a keyed request: ends its block without committing."""

    def __init__(self, store: DocumentStore, work: RequestWork) -> None:
        self._store = store
        self._work = work
        self._context: AbstractAsyncContextManager[Session] | None = None

    async def __aenter__(self) -> Session:
        await self._work.commit_held()  # one writer at a time: the earlier work goes first
        self._context = self._store.transaction()
        session = await self._context.__aenter__()
        self._session = session
        return session

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._context is not None
        if exc_type is None and self._work.holds_transactions():
            self._work.hold(self._context, self._session)
            return None
        return await self._context.__aexit__(exc_type, exc, tb)


class RequestScopedStore(DelegatingStore):
    """The store a keyed request's route sees: its write transactions wait for the answer."""

    def __init__(self, store: DocumentStore, work: RequestWork) -> None:
        super().__init__(store)
        self._work = work

    def transaction(self) -> AbstractAsyncContextManager[Session]:
        if not self._work.holds_transactions():
            return self.inner.transaction()
        return _HeldTransaction(self.inner, self._work)

    def reader(self) -> AbstractAsyncContextManager[Session]:
        if self._work.holding():
            return self._work.reading_held()
        return self.inner.reader()

    # Calls that write wait for the store's one writer: the request's held work commits first.
    async def mark_events_sent(self, outbox_ids: Sequence[str]) -> None:
        await self._work.yield_writer()
        await self.inner.mark_events_sent(outbox_ids)

    async def acquire_lease(self, name: str, *, holder: str, ttl: float) -> Lease | None:
        await self._work.yield_writer()
        return await self.inner.acquire_lease(name, holder=holder, ttl=ttl)

    async def release_lease(self, name: str, *, holder: str) -> None:
        await self._work.yield_writer()
        await self.inner.release_lease(name, holder=holder)
