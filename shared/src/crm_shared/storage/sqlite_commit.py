"""What a transaction writes at its end, in one trip to the connection's thread.

Each statement through aiosqlite is a hand-off to the connection's thread and back; on a busy
machine each waits for both threads to be scheduled, while the store's one writer is held. A
transaction's outbox rows need nothing back (their ids are fresh), so they wait for its end, and
go with the deletes of published entries (sqlite_sent.py) and the COMMIT in one hand-off.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite

OutboxRow = tuple[str, str, str | None, bytes, str]

_INSERT_OUTBOX = (
    "INSERT INTO _outbox (outbox_id, topic, key, value, created_at) VALUES (?, ?, ?, ?, ?)"
)
# Bound parameters per DELETE: well under SQLite's limit of 32,766.
_DELETE_CHUNK = 500


def _finish(conn: sqlite3.Connection, outbox: Sequence[OutboxRow], sent: Sequence[str]) -> None:
    if outbox:
        conn.executemany(_INSERT_OUTBOX, outbox)
    for start in range(0, len(sent), _DELETE_CHUNK):
        chunk = sent[start : start + _DELETE_CHUNK]
        placeholders = ", ".join("?" for _ in chunk)
        conn.execute(f"DELETE FROM _outbox WHERE outbox_id IN ({placeholders})", chunk)
    conn.execute("COMMIT")


async def finish(
    conn: aiosqlite.Connection,
    *,
    outbox: Sequence[OutboxRow] = (),
    sent: Sequence[str] = (),
) -> None:
    """Insert `outbox` rows, delete the `sent` entries and COMMIT, in one hand-off.

    On an error nothing is committed: the caller rolls the transaction back as for any other.
    """
    # aiosqlite runs whatever it is handed in its thread: `_execute` is how its own
    # execute_fetchall and execute_insert run more than one call in a single trip.
    run: Any = conn._execute
    await run(lambda: _finish(conn._conn, outbox, sent))
