"""SQLite's log is copied into the file beside the writer, not inside the commit that fills it."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from crm_shared.ids import new_id
from crm_shared.storage import CollectionSpec
from crm_shared.storage.sqlite import SqliteStore
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
