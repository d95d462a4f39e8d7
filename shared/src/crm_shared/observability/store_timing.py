"""Times every storage port call at one place: a wrapper around the store `open_store` returns."""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, cast

from crm_shared.observability import stages
from crm_shared.observability.metrics import STORE_LATENCY
from crm_shared.storage.delegating import DelegatingStore
from crm_shared.storage.leases import Lease
from crm_shared.storage.port import PendingEvent, Session

_SESSION_CALLS = frozenset(
    {
        "get",
        "find",
        "count",
        "insert",
        "insert_many",
        "replace",
        "delete",
        "delete_where",
        "add_events",
        "mark_processed",
        "mark_processed_many",
    }
)


@functools.cache
def _histogram(operation: str) -> Any:
    """The operation's child of the store latency histogram, looked up once.

    `labels()` takes a lock and builds its key on every call: twice per GET by id (its read
    snapshot and its get) for the same few operation names.
    """
    return STORE_LATENCY.labels(operation)


class _TimedSession:
    """A session whose port calls observe `crm_store_operation_duration_seconds{operation}`."""

    __slots__ = ("_inner",)

    def __init__(self, inner: Session) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)  # what is not a timed port call (below) passes through


def _timed_call(name: str) -> Callable[..., Awaitable[Any]]:
    """The session method `name`, timed: made once for the class, not per session and call."""
    histogram = _histogram(name)

    async def timed(self: _TimedSession, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await getattr(self._inner, name)(*args, **kwargs)
        finally:
            histogram.observe(time.perf_counter() - started)

    timed.__name__ = name
    return timed


for _name in _SESSION_CALLS:
    setattr(_TimedSession, _name, _timed_call(_name))


class _TimedBlock:
    """A wrapped store's read block (or transaction) whose whole span counts as `operation`.

    A class rather than an @asynccontextmanager: a GET by id opens one per request, and the
    generator's machinery cost more than the timing.
    """

    __slots__ = ("_histogram", "_inner", "_started")

    def __init__(self, inner: AbstractAsyncContextManager[Session], operation: str) -> None:
        self._inner = inner
        self._histogram = _histogram(operation)
        self._started = 0.0

    async def __aenter__(self) -> Session:
        self._started = time.perf_counter()
        try:
            session = await self._inner.__aenter__()
        except BaseException:
            self._histogram.observe(time.perf_counter() - self._started)
            raise
        return cast(Session, _TimedSession(session))

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        try:
            return await self._inner.__aexit__(*exc_info)
        finally:
            self._histogram.observe(time.perf_counter() - self._started)


class TimedStore(DelegatingStore):
    """A DocumentStore that times each call and each transaction; everything else passes through."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def _timed(self, operation: str, call: Callable[[], Awaitable[Any]]) -> Any:
        started = time.perf_counter()
        try:
            return await call()
        finally:
            _histogram(operation).observe(time.perf_counter() - started)

    async def ping(self) -> None:
        """Ping the wrapped store."""
        await self._timed("ping", self.inner.ping)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        """A transaction of the wrapped store; its whole span counts as `transaction`."""
        started = time.perf_counter()
        # A consumer poll's stages (off unless CRM_STAGE_LOG asks): waiting for the writer,
        # holding it, committed.
        stages.note("tx_wait", first=True)
        try:
            async with self.inner.transaction() as session:
                stages.note("tx_locked", first=True)
                yield cast(Session, _TimedSession(session))
            stages.note("tx_committed")
        finally:
            _histogram("transaction").observe(time.perf_counter() - started)

    def reader(self) -> AbstractAsyncContextManager[Session]:
        """A read snapshot of the wrapped store; its whole span counts as `reader`."""
        return _TimedBlock(self.inner.reader(), "reader")

    async def pending_events(self, limit: int) -> list[PendingEvent]:
        """Read pending outbox entries from the wrapped store."""
        result: list[PendingEvent] = await self._timed(
            "pending_events", lambda: self.inner.pending_events(limit)
        )
        return result

    async def mark_events_sent(self, outbox_ids: Sequence[str]) -> None:
        """Delete acknowledged outbox entries from the wrapped store."""
        await self._timed("mark_events_sent", lambda: self.inner.mark_events_sent(outbox_ids))

    async def pending_count(self) -> int:
        """Count pending outbox entries in the wrapped store."""
        count: int = await self._timed("pending_count", self.inner.pending_count)
        return count

    async def acquire_lease(self, name: str, *, holder: str, ttl: float) -> Lease | None:
        """Take or renew a lease in the wrapped store."""
        lease: Lease | None = await self._timed(
            "acquire_lease", lambda: self.inner.acquire_lease(name, holder=holder, ttl=ttl)
        )
        return lease

    async def release_lease(self, name: str, *, holder: str) -> None:
        """Let a lease go in the wrapped store."""
        await self._timed("release_lease", lambda: self.inner.release_lease(name, holder=holder))
