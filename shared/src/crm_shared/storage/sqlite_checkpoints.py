"""Copying SQLite's write-ahead log into the database file off the commit path.

By default the commit that takes the log past 1,000 pages runs the checkpoint itself: it copies
the log into the file and syncs it while the store's one writer waits, so every write queued
behind it waits too (the tail of the timeline's write latency, and seconds when the disk is
busy). Here the writer's automatic checkpoints are off, and a PASSIVE checkpoint runs on a
connection of its own after a busy stretch (at least a second and 20 commits since the last
pass, or a second and a commit while the last pass found the log over 1,000 pages): SQLite
lets the writer go on appending to the log meanwhile, and the log is reused from
its start once a pass copied it all. A store that commits now and then leaves its log alone
until it closes, as SQLite's own threshold of 1,000 pages did.

Under writes that never pause (an import of a million rows) a pass beside the writer never
catches up: the writer appends while it copies, so the log is never wholly copied and never
reused (a pass that copied it all still leaves it growing when a commit was under way), and it
grew to 20 GB in 15 minutes of such an import. So once a pass finds more than `catch_up_frames`
frames in the log, the next one holds the store's write lock: no commit is under way and nothing
is appended while it copies, it copies everything (unless another process's reader still needs
older pages), and the next commit starts the log from its beginning again. Writes wait for that
pass, about as long as the commit that ran SQLite's own checkpoint waited, but only once per
`catch_up_frames` frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from contextlib import AbstractAsyncContextManager

import aiosqlite

log = logging.getLogger(__name__)

# The writer's connection gets this: no checkpoint inside a commit.
NO_AUTOMATIC_CHECKPOINTS = "PRAGMA wal_autocheckpoint=0"

# SQLite's own threshold: a log this long gets a pass every second while commits go on.
LONG_LOG_FRAMES = 1_000
# 16,384 frames of 4 KiB pages: a log of about 64 MB, 16 times SQLite's own threshold.
CATCH_UP_FRAMES = 16_384


class BackgroundCheckpoints:
    """A PASSIVE checkpoint after `every_commits` commits and `every_seconds`, one at a time.

    `write_lock` is the store's own: a pass that must catch up with a long log holds it.
    """

    def __init__(
        self,
        path: str,
        write_lock: AbstractAsyncContextManager[object],
        *,
        every_seconds: float = 1.0,
        every_commits: int = 20,
        catch_up_frames: int = CATCH_UP_FRAMES,
        long_log_frames: int = LONG_LOG_FRAMES,
    ) -> None:
        self._path = path
        self._write_lock = write_lock
        self._every = every_seconds
        self._every_commits = every_commits
        self._catch_up_frames = catch_up_frames
        self._long_log_frames = long_log_frames
        self._catch_up = False
        self._long_log = False
        self._conn: aiosqlite.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._last = time.monotonic()
        self._commits = 0
        self.passes = 0
        self.catch_ups = 0

    async def start(self) -> None:
        """Open the checkpoints' own connection (its reads never hold the store's locks)."""
        self._conn = await aiosqlite.connect(self._path, isolation_level=None)

    def after_commit(self) -> None:
        """Note a commit: start a pass after a busy stretch, unless one is running."""
        self._commits += 1
        if self._conn is None or (self._task is not None and not self._task.done()):
            return
        if time.monotonic() - self._last < self._every:
            return
        # 20 small commits make a busy stretch; so does one import batch of a few thousand pages.
        if self._commits < self._every_commits and not self._long_log:
            return
        self._commits = 0
        self._task = asyncio.get_running_loop().create_task(self._pass(), name="wal-checkpoint")

    async def _pass(self) -> None:
        assert self._conn is not None
        try:
            if self._catch_up:
                async with self._write_lock:
                    log_frames = await self._checkpoint()
                self.catch_ups += 1
            else:
                log_frames = await self._checkpoint()
            self.passes += 1
            # A log copied whole is still not reused if a commit was under way meanwhile.
            self._catch_up = log_frames > self._catch_up_frames
            self._long_log = log_frames > self._long_log_frames
        except sqlite3.Error as exc:  # busy with an erasure's TRUNCATE pass: the next one copies
            log.debug("WAL checkpoint skipped (%s)", type(exc).__name__)
        finally:
            self._last = time.monotonic()

    async def _checkpoint(self) -> int:
        """The frames in the log after a PASSIVE pass (since it was last started afresh).

        PASSIVE neither waits for nor blocks readers and the writer; what a reader still needs
        is copied by a later pass.
        """
        assert self._conn is not None
        async with self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)") as cursor:
            row = await cursor.fetchone()
        return 0 if row is None else int(row[1])

    async def close(self) -> None:
        """Let a running pass finish, then close the connection."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
            self._task = None
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
