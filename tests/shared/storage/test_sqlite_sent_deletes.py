"""Published outbox entries leave with the next write, not with a transaction of their own."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from crm_shared.envelope import EventEnvelope
from crm_shared.events import ContactDeleted
from crm_shared.ids import new_id
from crm_shared.storage import CollectionSpec, OutgoingEvent
from crm_shared.storage import sqlite as sqlite_store
from crm_shared.storage.sqlite import SqliteStore
from tests.polling import eventually

SPECS = (CollectionSpec("notes"),)


def _event(contact_id: str) -> OutgoingEvent:
    data = ContactDeleted(contact_id=contact_id, version=1)
    envelope = EventEnvelope.wrap(data, source="crm/test", tenant="acme", subject=contact_id)
    return OutgoingEvent(topic=data.topic, key=contact_id, envelope=envelope)


def _outbox_rows(path: Path) -> int:
    """The outbox rows another connection sees committed (what a restarted process would read)."""
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT count(*) FROM _outbox").fetchone()[0])


async def _write_note(store: SqliteStore) -> None:
    async with store.transaction() as session:
        await session.insert("notes", {"id": new_id(), "tenant": "t"})


@pytest.fixture
def slow_lone_deletes(monkeypatch: pytest.MonkeyPatch) -> None:
    """No lone delete within a test: only a write (or closing) removes published entries."""
    monkeypatch.setattr(sqlite_store, "SENT_DELETE_DELAY_SECONDS", 3600.0)


async def _store_with_published(path: Path, count: int) -> tuple[SqliteStore, list[str]]:
    store = SqliteStore(path)
    await store.start(SPECS)
    async with store.transaction() as session:
        await session.add_events([_event(f"c-{i}") for i in range(count)])
        # Tenant "t" has its code (sqlite_tenants.py): its later writes make none.
        await session.insert("notes", {"id": new_id(), "tenant": "t"})
    pending = await store.pending_events(100)
    await store.mark_events_sent([p.outbox_id for p in pending[: count - 1]])
    return store, [p.outbox_id for p in pending]


@pytest.mark.usefixtures("slow_lone_deletes")
async def test_a_published_entry_is_not_pending_and_leaves_with_the_next_write(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.sqlite3"
    store, ids = await _store_with_published(path, 3)
    try:
        assert [p.outbox_id for p in await store.pending_events(100)] == ids[2:]
        assert await store.pending_count() == 1
        assert _outbox_rows(path) == 3, "marking sent wrote nothing by itself"

        await _write_note(store)

        assert _outbox_rows(path) == 1
        assert [p.outbox_id for p in await store.pending_events(100)] == ids[2:]
    finally:
        await store.close()


@pytest.mark.usefixtures("slow_lone_deletes")
async def test_a_write_that_fails_leaves_the_published_entries_to_the_next_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.sqlite3"
    store, ids = await _store_with_published(path, 3)
    try:
        with pytest.raises(RuntimeError):
            async with store.transaction() as session:
                await session.insert("notes", {"id": new_id(), "tenant": "t"})
                raise RuntimeError("the handler failed")
        assert _outbox_rows(path) == 3
        assert [p.outbox_id for p in await store.pending_events(100)] == ids[2:]

        await _write_note(store)

        assert _outbox_rows(path) == 1
    finally:
        await store.close()


async def test_with_no_write_the_published_entries_are_deleted_alone_soon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "SENT_DELETE_DELAY_SECONDS", 0.2)
    path = tmp_path / "store.sqlite3"
    store, ids = await _store_with_published(path, 3)
    try:
        await eventually(lambda: _outbox_rows(path), lambda n: n == 1, within=5, what="one row")
        assert [p.outbox_id for p in await store.pending_events(100)] == ids[2:]
    finally:
        await store.close()


@pytest.mark.usefixtures("slow_lone_deletes")
async def test_closing_deletes_what_was_published(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    store, ids = await _store_with_published(path, 3)
    await store.close()

    assert _outbox_rows(path) == 1
    reopened = SqliteStore(path)
    await reopened.start(SPECS)
    try:
        assert [p.outbox_id for p in await reopened.pending_events(100)] == ids[2:]
    finally:
        await reopened.close()


@pytest.mark.usefixtures("slow_lone_deletes")
async def test_a_batch_limit_counts_only_entries_not_yet_published(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    store, ids = await _store_with_published(path, 5)
    try:
        assert _outbox_rows(path) == 5
        # The four published rows come first in the table; they must not use up the limit.
        assert [p.outbox_id for p in await store.pending_events(1)] == ids[4:]
    finally:
        await store.close()


@pytest.mark.usefixtures("slow_lone_deletes")
async def test_outbox_rows_and_published_deletes_go_with_the_commit_in_one_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.sqlite3"
    store, _ = await _store_with_published(path, 3)
    trips: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(fn, "__name__", "call"))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    try:
        async with store.transaction() as session:
            await session.insert("notes", {"id": new_id(), "tenant": "t"})
            await session.add_events([_event("c-new")])
        # BEGIN, the insert, then the outbox row, the deletes and COMMIT together.
        assert len(trips) == 3
        monkeypatch.setattr(aiosqlite.Connection, "_execute", original)
        assert _outbox_rows(path) == 2  # the one left pending and the new one
        assert len(await store.pending_events(10)) == 2
    finally:
        monkeypatch.setattr(aiosqlite.Connection, "_execute", original)
        await store.close()
