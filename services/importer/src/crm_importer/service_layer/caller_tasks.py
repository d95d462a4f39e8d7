"""Background work that runs with the caller's key: one task per job, kept only in memory.

Exports and dry runs both go out to the contacts service with the key of the request that
started them, which is never stored; so each runs as a task of the process that accepted it,
and a restart fails what it interrupted (`recovery.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any


class CallerTasks:
    """The running tasks of one kind of job, with the bookkeeping every kind needs."""

    def __init__(self, *, on_finished: Callable[[], None] | None = None) -> None:
        self._on_finished = on_finished
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, work: Coroutine[Any, Any, None], *, name: str) -> None:
        """Run `work` in the background until it ends or `stop` cancels it."""
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._on_finished is not None:
            self._on_finished()

    @property
    def running(self) -> int:
        """How many tasks have not ended yet."""
        return len(self._tasks)

    async def wait_idle(self) -> None:
        """Wait until every task ended (for tests and a graceful stop)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def stop(self) -> None:
        """Cancel the running tasks; the next start fails their jobs as interrupted."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
