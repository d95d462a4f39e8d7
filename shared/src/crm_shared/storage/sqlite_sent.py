"""Outbox entries the broker acknowledged, deleted by the store's next write rather than their own.

Deleting a published batch took SQLite's one writer for a transaction of its own between the
consumer's transactions, and a consumer's poll waited behind it (the tail of the timeline's
write latency). Instead the relay hands the ids over here: the next transaction deletes them
with one statement before its COMMIT, and only when no write comes along within `delay` does a
transaction of their own delete them (an idle store, or a shutdown).

The outbox's guarantees hold: an entry is handed over only after the broker acknowledged it, and
the store's `pending_events` leaves out what was handed over, so it is not published again. A
crash before the deleting commit leaves those rows in the file; the next start publishes them
again (at least once, as a crash between the acknowledgement and any delete always could), and
consumers drop the repeat by its event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable

log = logging.getLogger(__name__)


class SentEntries:
    """Acknowledged outbox ids waiting for a write to delete them."""

    def __init__(self, delete_alone: Callable[[], Awaitable[None]], *, delay: float) -> None:
        self._ids: dict[str, None] = {}  # insertion-ordered: deleted in the order sent
        self._delete_alone = delete_alone
        self._delay = delay
        self._timer: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, outbox_ids: Iterable[str]) -> None:
        """Hand over acknowledged ids; a lone delete follows unless a write takes them first."""
        self._ids.update(dict.fromkeys(outbox_ids))
        if self._ids and (self._timer is None or self._timer.done()):
            self._timer = asyncio.get_running_loop().create_task(
                self._delete_later(), name="outbox-sent-deletes"
            )

    def snapshot(self) -> frozenset[str]:
        """The ids handed over so far; a read that starts after this call must leave them out.

        Taken before the read: an id deleted by a commit that lands while the read runs may
        still be in the read's snapshot of the table, and must not be published again.
        """
        return frozenset(self._ids)

    def taken(self) -> list[str]:
        """Every handed-over id, for a transaction to delete before its COMMIT.

        The caller forgets them (`forget`) once its transaction committed.
        """
        return list(self._ids)

    def forget(self, deleted: Iterable[str]) -> None:
        """Drop ids whose deletion committed."""
        for outbox_id in deleted:
            self._ids.pop(outbox_id, None)

    async def _delete_later(self) -> None:
        # Only ids that waited a whole `delay` call for a lone delete: under a steady stream of
        # writes each one deletes what the relay handed over meanwhile.
        while self._ids:
            waiting = set(self._ids)
            await asyncio.sleep(self._delay)
            if not waiting.isdisjoint(self._ids):
                try:
                    await self._delete_alone()
                except Exception as exc:  # the store is closing or busy: the next write deletes
                    log.debug("lone delete of sent outbox entries failed (%s)", type(exc).__name__)
                    return

    async def stop(self) -> None:
        """Cancel a pending lone delete (the store deletes what is left as it closes)."""
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._timer
            self._timer = None
