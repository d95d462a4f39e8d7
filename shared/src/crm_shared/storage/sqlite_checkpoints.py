"""Copying SQLite's write-ahead log into the database file off the commit path.

By default the commit that takes the log past 1,000 pages runs the checkpoint itself: it copies
the log into the file and syncs it while the store's one writer waits, so every write queued
behind it waits too (the tail of the timeline's write latency, and seconds when the disk is
busy). Here the writer's automatic checkpoints are off, and a PASSIVE checkpoint runs on a
connection of its own after a busy stretch (at least a second and 20 commits since the last
pass): SQLite lets the writer go on appending to the log meanwhile, and the log is reused from
its start once a pass copied it all. A store that commits now and then leaves its log alone
until it closes, as SQLite's own threshold of 1,000 pages did.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time

import aiosqlite

log = logging.getLogger(__name__)

# The writer's connection gets this: no checkpoint inside a commit.
NO_AUTOMATIC_CHECKPOINTS = "PRAGMA wal_autocheckpoint=0"


class BackgroundCheckpoints:
    """A PASSIVE checkpoint after `every_commits` commits and `every_seconds`, one at a time."""

    def __init__(self, path: str, *, every_seconds: float = 1.0, every_commits: int = 20) -> None:
        self._path = path
        self._every = every_seconds
        self._every_commits = every_commits
        self._conn: aiosqlite.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._last = time.monotonic()
        self._commits = 0
        self.passes = 0

    async def start(self) -> None:
        """Open the checkpoints' own connection (its reads never hold the store's locks)."""
        self._conn = await aiosqlite.connect(self._path, isolation_level=None)

    def after_commit(self) -> None:
        """Note a commit: start a pass after a busy stretch, unless one is running."""
        self._commits += 1
        if self._conn is None or (self._task is not None and not self._task.done()):
            return
        if self._commits < self._every_commits or time.monotonic() - self._last < self._every:
            return
        self._commits = 0
        self._task = asyncio.get_running_loop().create_task(self._pass(), name="wal-checkpoint")

    async def _pass(self) -> None:
        assert self._conn is not None
        try:
            # PASSIVE neither waits for nor blocks readers and the writer; what a reader still
            # needs is copied by a later pass.
            await self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            self.passes += 1
        except sqlite3.Error as exc:  # busy with an erasure's TRUNCATE pass: the next one copies
            log.debug("WAL checkpoint skipped (%s)", type(exc).__name__)
        finally:
            self._last = time.monotonic()

    async def close(self) -> None:
        """Let a running pass finish, then close the connection."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
            self._task = None
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
