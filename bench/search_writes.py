"""An import-like write load for the search benchmark: another process inserting contacts.

An import reaches the contacts store as batches of new contacts (1,000 rows a batch by default,
`IMPORTER_BATCH_SIZE`), each batch one transaction through the repository. This process does the
same on the benchmark's store, with contacts drawn like the loaded ones (the same tags and custom
fields), until told to stop, so searches are timed while pages are being written, the WAL grows
and checkpoints run, as they do during an import.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from dataclasses import dataclass
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

# The importer's default rows per ImportContactsBatch (services/importer settings).
WRITE_BATCH = 1000


@dataclass
class Writes:
    """What the writer did: contacts inserted and the seconds it spent doing it."""

    contacts: int
    seconds: float

    @property
    def per_second(self) -> float:
        """Contacts inserted per second."""
        return self.contacts / self.seconds if self.seconds else 0.0


async def _write(path: Path, first: int, total: int, stop: Event, started: Event) -> Writes:
    # Imported here: the child process is spawned and imports what it uses.
    from bench.search_bench import TENANT, chunk
    from crm_contacts.adapters.repository import COLLECTION_SPECS, ContactRepository
    from crm_shared.storage.sqlite import SqliteStore

    store = SqliteStore(path)
    await store.start(COLLECTION_SPECS)
    written, began = 0, time.perf_counter()
    try:
        while not stop.is_set():
            docs, _ = chunk(first + written, WRITE_BATCH, total)
            async with store.transaction() as session:
                await ContactRepository(session, TENANT).add_many(docs)
            written += len(docs)
            started.set()
    finally:
        await store.close()
    return Writes(written, time.perf_counter() - began)


def _run(path: Path, first: int, total: int, stop: Event, started: Event, out: Any) -> None:
    out.put(asyncio.run(_write(path, first, total, stop, started)))


class ImportLikeWrites:
    """A process inserting contacts in batches into the store until `stop` is called."""

    def __init__(self, path: Path, *, first: int, total: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._started = context.Event()
        self._out: Any = context.Queue()
        self._process = context.Process(
            target=_run,
            args=(path, first, total, self._stop, self._started, self._out),
            daemon=True,
        )

    def start(self, timeout: float = 120.0) -> None:
        """Start the writer and return once its first batch has committed."""
        self._process.start()
        deadline = time.monotonic() + timeout
        while not self._started.wait(0.5):
            if not self._process.is_alive() or time.monotonic() > deadline:
                self._process.kill()
                raise RuntimeError("the writer committed no batch")

    def stop(self, timeout: float = 120.0) -> Writes:
        """Stop after the batch being written; what it wrote in all."""
        self._stop.set()
        try:
            writes: Writes = self._out.get(timeout=timeout)
        finally:
            self._process.join(timeout=10)
            if self._process.is_alive():
                self._process.kill()
        return writes
