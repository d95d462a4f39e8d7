"""SQLite's log is copied into the file beside the writer, not inside the commit that fills it."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from crm_shared.ids import new_id
from crm_shared.storage import CollectionSpec
from crm_shared.storage.sqlite import SqliteStore
from crm_shared.storage.sqlite_checkpoints import BackgroundCheckpoints
from tests.polling import eventually

SPECS = (CollectionSpec("people"),)


async def _commit_people(store: SqliteStore, count: int) -> None:
    for _ in range(count):
        async with store.transaction() as session:
            await session.insert("people", {"id": new_id(), "tenant": "t", "name": "x" * 2000})


def _rows_in_file(path: Path) -> int:
    """The rows the database file holds by itself, without its log (read from a copy)."""
    copy = path.with_name("copy.sqlite3")
    copy.write_bytes(path.read_bytes())
    with sqlite3.connect(copy) as db:
        try:
            return int(db.execute("SELECT count(*) FROM c_people").fetchone()[0])
        except sqlite3.DatabaseError:
            return 0


async def test_a_commit_never_checkpoints_and_a_busy_stretch_is_copied_in_the_background(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.sqlite3"
    store = SqliteStore(path)
    await store.start(SPECS)
    try:
        await _commit_people(store, 5)
        await asyncio.sleep(1.1)
        assert _rows_in_file(path) == 0  # a few commits stay in the log

        await _commit_people(store, 15)
        # The 20th commit, a second after the store opened, started a pass: it copied them all.
        await eventually(lambda: _rows_in_file(path), lambda n: n == 20, what="rows in file")
        await _commit_people(store, 5)
        await asyncio.sleep(0.2)
        assert _rows_in_file(path) == 20  # the next pass waits for the next busy stretch
    finally:
        await store.close()


async def _frames_in_log(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])


async def test_a_long_log_is_copied_under_the_write_lock_and_reused_from_its_start(
    tmp_path: Path,
) -> None:
    # Under writes that never pause, a pass beside a commit under way never lets SQLite reuse
    # the log: an import of a million rows grew it to 20 GB. A long log's next pass waits for
    # the commit under way and holds the lock while it copies.
    path = tmp_path / "store.sqlite3"
    store = SqliteStore(path)
    passes = BackgroundCheckpoints(
        str(path),
        store._write_lock,
        every_commits=10**9,
        catch_up_frames=100,
    )
    store._checkpoints = passes
    await store.start(SPECS)
    try:
        await _commit_people(store, 100)
        await passes._pass()
        assert passes.catch_ups == 0  # it found a long log: the next pass catches up

        commit_under_way = asyncio.Event()
        commit_may_end = asyncio.Event()

        async def a_commit_under_way() -> None:
            async with store.transaction() as session:
                await session.insert("people", {"id": new_id(), "tenant": "t", "name": "y"})
                commit_under_way.set()
                await commit_may_end.wait()

        writer = asyncio.create_task(a_commit_under_way())
        await commit_under_way.wait()
        catch_up = asyncio.create_task(passes._pass())
        await asyncio.sleep(0.2)
        assert not catch_up.done()  # it waits for the commit under way
        commit_may_end.set()
        await writer
        await catch_up
        assert passes.catch_ups == 1
        assert _rows_in_file(path) == 101  # the commit it waited for was copied too

        await _commit_people(store, 1)
        assert await _frames_in_log(path) < 10  # the next commit started the log afresh
    finally:
        await store.close()


async def test_while_the_log_is_long_one_commit_a_second_later_starts_a_pass(
    tmp_path: Path,
) -> None:
    # An import batch writes thousands of pages in one commit: waiting for 20 of them let the
    # log grow by a hundred thousand frames between passes.
    path = tmp_path / "store.sqlite3"
    store = SqliteStore(path)
    passes = BackgroundCheckpoints(
        str(path), store._write_lock, every_seconds=0.3, every_commits=10**9, long_log_frames=50
    )
    store._checkpoints = passes
    await store.start(SPECS)
    try:
        await asyncio.sleep(0.3)
        await _commit_people(store, 40)
        assert passes.passes == 0  # a short log and few commits: no pass

        await passes._pass()
        await asyncio.sleep(0.3)
        await _commit_people(store, 1)
        await eventually(lambda: passes.passes, lambda n: n == 2, what="passes")
    finally:
        await store.close()
