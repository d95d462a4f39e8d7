"""Start-up helpers shared by the services' composition roots."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from crm_shared.leased import LeasedWork
from crm_shared.observability.logs import configure_logging
from crm_shared.observability.store_timing import TimedStore
from crm_shared.settings import PlatformSettings
from crm_shared.storage.port import DocumentStore

__all__ = ["BackgroundTasks", "configure_logging", "open_store"]


def open_store(
    settings: PlatformSettings, *, service: str, sqlite_path: str | None = None
) -> DocumentStore:
    """The store the settings ask for (SQLite under the data dir, or MongoDB), its calls timed."""
    store: DocumentStore
    if settings.crm_store == "mongodb":
        from crm_shared.storage.mongo import MongoStore

        store = MongoStore(settings.mongodb_uri, database=f"crm_{service}")
    else:
        from crm_shared.storage.sqlite import SqliteStore

        path = sqlite_path or str(Path(settings.crm_data_dir) / f"{service}.sqlite3")
        store = SqliteStore(path)
    return TimedStore(store)


class BackgroundTasks:
    """Long-running loops (relay, consumers) started with the app and cancelled at shutdown."""

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[Any]] = []

    def start(self, name: str, coro: Coroutine[Any, Any, Any]) -> None:
        """Start a loop; if it dies unexpectedly the error is logged, not swallowed silently."""
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(_log_crash)
        self._tasks.append(task)

    def start_leased(
        self,
        name: str,
        store: DocumentStore,
        work: Callable[[], Coroutine[Any, Any, Any]],
        *,
        ttl: float,
    ) -> LeasedWork:
        """Start a loop that runs on one replica at a time: the holder of lease `name`."""
        leased = LeasedWork(store, name, work, ttl=ttl)
        self.start(name, leased.run())
        return leased

    async def stop(self, *, within: float = 10.0) -> None:
        """Cancel every loop and wait (at most `within` seconds) for their cleanup."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=within)
        for task in pending:
            logging.getLogger(__name__).warning(
                "background task %s did not stop within %.0fs", task.get_name(), within
            )


def _log_crash(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logging.getLogger(__name__).error(
            "background task %s crashed", task.get_name(), exc_info=task.exception()
        )
