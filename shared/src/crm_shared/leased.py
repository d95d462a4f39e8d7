"""Work that runs on one replica at a time: the holder of a store lease runs it, others wait.

N replicas of a service share one store. Each starts the same loops (outbox relay, purges, job
runners), but a loop wrapped in `LeasedWork` runs only in the replica holding its lease; the
others retry the lease every third of its time to live and take over once a crashed or stuck
holder's lease expired. The holder renews every third of the time to live and cancels its work
the moment a renewal fails or shows another token (someone else held the lease meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from crm_shared.ids import new_id
from crm_shared.storage import DocumentStore, Lease

log = logging.getLogger(__name__)
T = TypeVar("T")

_REPLICA_ID = f"{socket.gethostname()}-{os.getpid()}-{new_id()[-6:]}"


def replica_id() -> str:
    """This process's name as a lease holder: host (the pod's name on Kubernetes), pid, suffix."""
    return _REPLICA_ID


class LeasedWork:
    """Runs `work()` only while this replica holds lease `name`; see the module docstring."""

    def __init__(
        self,
        store: DocumentStore,
        name: str,
        work: Callable[[], Coroutine[Any, Any, Any]],
        *,
        ttl: float = 10.0,
        holder: str | None = None,
    ) -> None:
        self._store = store
        self.name = name
        self._work = work
        self._ttl = ttl
        self.holder = holder or replica_id()
        self._confirmed_at: float | None = None  # monotonic time of the last acquire or renewal
        self.token: int | None = None

    def held(self) -> bool:
        """True while the last acquire or renewal is recent enough that no one else can hold it.

        A margin of a fifth of the time to live covers the time the store write itself took.
        """
        confirmed = self._confirmed_at
        return confirmed is not None and time.monotonic() < confirmed + self._ttl * 0.8

    async def _try(self) -> Lease | None:
        asked_at = time.monotonic()
        try:
            lease = await self._store.acquire_lease(self.name, holder=self.holder, ttl=self._ttl)
        except Exception as exc:
            log.warning("lease %s: the store did not answer (%s)", self.name, type(exc).__name__)
            return None
        if lease is not None:
            self._confirmed_at = asked_at
        return lease

    async def run(self) -> None:
        """Run until cancelled: wait for the lease, run the work while it holds, repeat."""
        try:
            while True:
                lease = await self._try()
                if lease is None:
                    await asyncio.sleep(self._ttl / 3)
                    continue
                self.token = lease.token
                log.info("lease %s taken (token %d)", self.name, lease.token)
                await self._run_while_held(lease)
        finally:
            self._confirmed_at = None
            with contextlib.suppress(Exception):
                await asyncio.shield(self._store.release_lease(self.name, holder=self.holder))

    async def _run_while_held(self, lease: Lease) -> None:
        task = asyncio.create_task(self._work(), name=f"{self.name} (leased)")
        try:
            while True:
                done, _ = await asyncio.wait([task], timeout=self._ttl / 3)
                if done:
                    if not task.cancelled() and task.exception() is not None:
                        log.error("%s stopped", self.name, exc_info=task.exception())
                    await asyncio.sleep(self._ttl / 3)  # then run it again, if still ours
                    return
                renewed = await self._try()
                if renewed is None or renewed.token != lease.token:
                    self._confirmed_at = None
                    log.warning("lease %s lost: stopping its work on this replica", self.name)
                    return
        finally:
            task.cancel()
            await asyncio.wait([task], timeout=10.0)


class LeaseLost(Exception):
    """Another holder took the lease (this one's renewals failed for a time to live)."""


async def run_holding(
    store: DocumentStore, name: str, *, holder: str, ttl: float, work: Coroutine[Any, Any, T]
) -> T:
    """Run `work` once while renewing lease `name`, which `holder` has just taken; release it
    after. If a renewal finds the lease lost, the work is cancelled and LeaseLost raised: for a
    one-off job (a tenant's full scan) where `LeasedWork`'s run-again-forever does not fit."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait([task], timeout=ttl / 3)
            if done:
                return task.result()
            try:
                renewed = await store.acquire_lease(name, holder=holder, ttl=ttl)
            except Exception as exc:  # the store did not answer: the next beat tries again
                log.warning("lease %s: the store did not answer (%s)", name, type(exc).__name__)
                continue
            if renewed is None:
                raise LeaseLost(name)
    finally:
        if not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=10.0)
        with contextlib.suppress(Exception):
            await asyncio.shield(store.release_lease(name, holder=holder))
