"""Which instances of a service are alive: each renews a presence lease of its own in the store.

Work a replica owns in flight (an export it writes, an upload it receives) is recorded with the
owner's presence id. Whoever cleans up after crashes (a replica starting) touches only work whose
owner is gone: its presence lease expired (a crash: nobody renewed it for a time to live) or was
released (a clean stop). Work of live replicas, the others' as well as its own, is left alone.

An instance's id is unique per process and per start (two apps in one test process differ), and
safe in a file name.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re

from crm_shared.leased import replica_id
from crm_shared.storage import DocumentStore

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_STARTS = itertools.count(1)


def _instance_id() -> str:
    # replica_id(): host (the pod's name), pid, a random suffix; plus which start in this process.
    return _UNSAFE.sub("_", f"{replica_id()}-{next(_STARTS)}")[-80:]


class Presence:
    """This instance's presence lease `<service>-presence:<id>`, renewed every third of `ttl`."""

    def __init__(self, store: DocumentStore, *, service: str, ttl: float) -> None:
        self._store = store
        self._service = service
        self._ttl = ttl
        self.id = _instance_id()

    def _lease(self, instance: str) -> str:
        return f"{self._service}-presence:{instance}"

    async def announce(self) -> None:
        """Take this instance's lease (before it owns anything): it is alive from now on."""
        await self._store.acquire_lease(self._lease(self.id), holder=self.id, ttl=self._ttl)

    async def run(self) -> None:
        """Renew the lease until cancelled, then release it (a clean stop is gone at once)."""
        try:
            while True:
                await asyncio.sleep(self._ttl / 3)
                try:
                    await self.announce()
                except Exception as exc:  # the store is down: the next beat tries again
                    log.warning("presence: the store did not answer (%s)", type(exc).__name__)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(
                    self._store.release_lease(self._lease(self.id), holder=self.id)
                )

    async def is_gone(self, owner: str) -> bool:
        """True when instance `owner` no longer renews its presence (crashed or stopped).

        Asked by trying to take the owner's lease: that succeeds only once it expired or was
        released (or never existed), and is let go at once.
        """
        if owner == self.id:
            return False
        probe = f"probe-{self.id}"
        lease = await self._store.acquire_lease(self._lease(owner), holder=probe, ttl=self._ttl)
        if lease is None:
            return False
        await self._store.release_lease(self._lease(owner), holder=probe)
        return True
