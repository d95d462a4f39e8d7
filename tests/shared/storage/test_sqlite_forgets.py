"""SQLite forgets what was deleted: neither the file nor its WAL keeps it after an erasure."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from crm_shared.envelope import EventEnvelope
from crm_shared.events import ContactDeleted
from crm_shared.ids import new_id
from crm_shared.storage import CollectionSpec, OutgoingEvent, sqlite
from crm_shared.storage.sqlite import SqliteStore
from tests.polling import eventually

SPECS = (CollectionSpec("people"),)
SECRET = b"Xylophia-Quenby-secret-value"


def _files_holding(path: Path) -> list[str]:
    return sorted(
        f.name
        for f in path.parent.iterdir()
        if f.name.startswith(path.name) and SECRET in f.read_bytes()
    )


async def test_a_deleted_document_leaves_the_file_and_the_wal_once_forgotten(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.sqlite3"
    store = SqliteStore(path)
    await store.start(SPECS)
    try:
        doc = {"id": new_id(), "tenant": "t", "name": SECRET.decode()}
        async with store.transaction() as session:
            await session.insert("people", doc)
            await session.insert("people", {"id": new_id(), "tenant": "t", "name": "kept"})
        async with store.transaction() as session:
            assert await session.delete("people", tenant="t", id=doc["id"])
        # Deleted, yet the log still holds the row as it was written.
        assert _files_holding(path) == ["store.sqlite3-wal"]

        store.forget_deleted()
        store.forget_deleted()  # a burst of requests shares one pass
        await eventually(lambda: _files_holding(path), lambda held: held == [], what="no copy")
        async with store.reader() as session:
            assert [d["name"] for d in await session.find("people", tenant="t")] == ["kept"]
    finally:
        await store.close()


async def test_a_reader_holding_the_log_delays_the_truncation_until_it_ends(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.sqlite3"
    store = SqliteStore(path)
    await store.start(SPECS)
    try:
        doc = {"id": new_id(), "tenant": "t", "name": SECRET.decode()}
        async with store.transaction() as session:
            await session.insert("people", doc)
        async with store.reader() as snapshot:
            await snapshot.get("people", tenant="t", id=doc["id"])  # the snapshot is open
            async with store.transaction() as session:
                await session.delete("people", tenant="t", id=doc["id"])
            store.forget_deleted()
            await asyncio.sleep(0.5)  # time for a pass and its wait for readers
            assert _files_holding(path) != []
        await eventually(lambda: _files_holding(path), lambda held: held == [], what="no copy")
    finally:
        await store.close()


async def test_published_outbox_entries_waiting_for_their_delete_leave_before_the_truncation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The relay's acknowledged entries are deleted by the next write (sqlite_sent.py); an
    # erasure's truncation must not run before that delete, or the file keeps their values.
    # No lone delete comes in time here: the truncation itself must delete them.
    monkeypatch.setattr(sqlite, "SENT_DELETE_DELAY_SECONDS", 600.0)
    path = tmp_path / "store.sqlite3"
    store = SqliteStore(path)
    await store.start(SPECS)
    try:
        data = ContactDeleted(contact_id="c-1", version=1)
        envelope = EventEnvelope.wrap(data, source="crm/test", tenant="t", subject=SECRET.decode())
        async with store.transaction() as session:
            await session.add_events(
                [OutgoingEvent(topic=data.topic, key="c-1", envelope=envelope)]
            )
        pending = await store.pending_events(10)
        await store.mark_events_sent([e.outbox_id for e in pending])
        store.forget_deleted()
        await eventually(lambda: _files_holding(path), lambda held: held == [], what="no copy")
        assert await store.pending_events(10) == []
    finally:
        await store.close()
