"""Samples a running service's SQLite store: its unpublished outbox and its re-match queue.

The import bench watches contacts with it: an outbox that backs up behind other work (once, the
duplicate re-match) delays every event of the import, its results to the importer included.
Read-only, on its own connection, so the service's writer is never waited for.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

_OUTBOX = "SELECT count(*) FROM _outbox"
_QUEUE = "SELECT count(*) FROM c_match_queue"


@dataclass
class Backlog:
    """The largest outbox backlog and re-match queue seen, and when the queue last emptied."""

    peak_outbox: int = 0
    peak_queue: int = 0
    samples: int = 0
    queue_empty_at: float | None = None
    started: float = field(default_factory=time.perf_counter)

    def line(self) -> str:
        """What the bench prints."""
        emptied = (
            f"{self.queue_empty_at - self.started:.1f} s after the start"
            if self.queue_empty_at is not None
            else "not empty at the end"
        )
        return (
            f"  contacts store: outbox backlog peak {self.peak_outbox:,} unpublished events, "
            f"re-match queue peak {self.peak_queue:,} ({emptied}; {self.samples} samples)"
        )


class BacklogWatch:
    """Samples a store file every `interval` seconds in a thread until stopped."""

    def __init__(self, path: Path, *, interval: float = 0.5) -> None:
        self._path = path
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="backlog-watch", daemon=True)
        self.backlog = Backlog()

    def __enter__(self) -> Backlog:
        self._thread.start()
        return self.backlog

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def wait_for_empty_queue(self, timeout: float) -> float | None:
        """Seconds until the re-match queue is seen empty (None: still not, after `timeout`).

        Imported contacts are matched for duplicates after their import has gone quiet, so the
        job's end is not the end of the work an import causes.
        """
        began = time.perf_counter()
        while time.perf_counter() - began < timeout:
            if self.backlog.samples and self.backlog.queue_empty_at is not None:
                return max(0.0, self.backlog.queue_empty_at - began)
            if self.backlog.samples and not self.backlog.peak_queue:
                return 0.0
            time.sleep(self._interval)
        return None

    def _run(self) -> None:
        db: sqlite3.Connection | None = None
        try:
            while not self._stop.wait(self._interval):
                if db is None:
                    if not self._path.exists():
                        continue
                    db = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, timeout=1)
                self._sample(db)
        finally:
            if db is not None:
                db.close()

    def _sample(self, db: sqlite3.Connection) -> None:
        try:
            outbox = int(db.execute(_OUTBOX).fetchone()[0])
            queue = int(db.execute(_QUEUE).fetchone()[0])
        except sqlite3.Error:
            return  # not created yet, or busy for a moment: the next sample counts
        backlog = self.backlog
        backlog.samples += 1
        backlog.peak_outbox = max(backlog.peak_outbox, outbox)
        backlog.peak_queue = max(backlog.peak_queue, queue)
        if queue == 0 and backlog.peak_queue:
            if backlog.queue_empty_at is None:
                backlog.queue_empty_at = time.perf_counter()
        else:
            backlog.queue_empty_at = None
