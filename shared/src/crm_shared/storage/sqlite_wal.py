"""Truncating SQLite's write-ahead log after an erasure, so deleted rows leave the disk.

`secure_delete` zeroes what a deletion frees in the database file, but the WAL still holds the
frames written before it (the rows as they were) until the log is reset. A TRUNCATE checkpoint
copies the log into the file and empties it. Erasures arrive one record at a time, often
thousands in a row: requests made while a pass is pending share it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

# Readers of other processes (replicas) can hold the log for a moment: try again a while.
RETRY_SECONDS = 0.5
ATTEMPTS = 40


class WalTruncation:
    """Runs `truncate` (True when the log was emptied) soon after `request()`, once per burst."""

    def __init__(
        self, truncate: Callable[[], Awaitable[bool]], *, delay_seconds: float = 0.05
    ) -> None:
        self._truncate = truncate
        self._delay = delay_seconds
        self._task: asyncio.Task[None] | None = None
        self._waiting = False

    def request(self) -> None:
        """Truncate soon; a pass not yet started covers this request too."""
        if self._task is not None and not self._task.done():
            self._waiting = True
            return
        self._waiting = True
        self._task = asyncio.get_running_loop().create_task(self._run(), name="wal-truncation")

    async def _run(self) -> None:
        while self._waiting:
            await asyncio.sleep(self._delay)
            self._waiting = False  # a request from now on needs another pass
            for _ in range(ATTEMPTS):
                try:
                    if await self._truncate():
                        break
                except Exception:
                    log.exception("the WAL could not be truncated")
                await asyncio.sleep(RETRY_SECONDS)
            else:
                log.warning(
                    "the WAL is still held by a reader: deleted rows wait for the next pass"
                )

    async def stop(self) -> None:
        """Cancel a pending pass (closing the last connection checkpoints the log anyway)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._task = None
