"""The import bench's watch on the contacts store: outbox and re-match queue peaks, read-only."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from bench.backlog import BacklogWatch


def _store(path: Path, *, outbox: int, queued: int) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE IF NOT EXISTS _outbox (outbox_id TEXT)")
    db.execute("CREATE TABLE IF NOT EXISTS c_match_queue (id TEXT)")
    db.execute("DELETE FROM _outbox")
    db.execute("DELETE FROM c_match_queue")
    db.executemany("INSERT INTO _outbox VALUES (?)", [(str(i),) for i in range(outbox)])
    db.executemany("INSERT INTO c_match_queue VALUES (?)", [(str(i),) for i in range(queued)])
    db.commit()
    db.close()


def _until(check: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not callable(check) or not check():
        assert time.monotonic() < deadline, "the watch never saw it"
        time.sleep(0.02)


def test_the_watch_keeps_the_peaks_and_when_the_queue_emptied(tmp_path: Path) -> None:
    path = tmp_path / "contacts.sqlite3"
    with BacklogWatch(path, interval=0.01) as backlog:
        _store(path, outbox=7, queued=40)
        _until(lambda: backlog.peak_queue == 40)
        _store(path, outbox=3, queued=0)
        _until(lambda: backlog.queue_empty_at is not None)

    assert (backlog.peak_outbox, backlog.peak_queue) == (7, 40)
    assert "outbox backlog peak 7" in backlog.line()
    assert "re-match queue peak 40 (" in backlog.line()
    assert "after the start" in backlog.line()


def test_a_queue_never_emptied_is_said_so(tmp_path: Path) -> None:
    path = tmp_path / "contacts.sqlite3"
    _store(path, outbox=0, queued=5)
    with BacklogWatch(path, interval=0.01) as backlog:
        _until(lambda: backlog.samples > 2)

    assert "not empty at the end" in backlog.line()


def test_the_watch_waits_for_the_queue_to_empty_and_gives_up_after_its_timeout(
    tmp_path: Path,
) -> None:
    path = tmp_path / "contacts.sqlite3"
    _store(path, outbox=0, queued=5)
    watch = BacklogWatch(path, interval=0.01)
    with watch as backlog:
        _until(lambda: backlog.peak_queue == 5)
        assert watch.wait_for_empty_queue(0.2) is None

        _store(path, outbox=0, queued=0)
        waited = watch.wait_for_empty_queue(10.0)

    assert waited is not None and 0.0 <= waited < 10.0
