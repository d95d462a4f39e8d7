"""The SQLite outbox's layout: an event's row fits in its page, and an older store's unpublished
entries move into the new layout at start, in order, under their ids."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from crm_shared.envelope import EventEnvelope
from crm_shared.events import ContactDeleted
from crm_shared.storage import OutgoingEvent
from crm_shared.storage.sqlite import SqliteStore

# An envelope of ~1 KB, as a contact's created event or state record is.
_TENANT = "t" * 700


def _event(n: int) -> OutgoingEvent:
    data = ContactDeleted(contact_id=f"c-{n}", version=1)
    envelope = EventEnvelope.wrap(data, source="crm/test", tenant=_TENANT, subject=f"c-{n}")
    return OutgoingEvent(topic=data.topic, key=f"c-{n}", envelope=envelope)


def _query(path: Path, sql: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


async def test_a_1_kb_event_takes_a_part_of_a_page_not_an_overflow_page_of_its_own(
    tmp_path: Path,
) -> None:
    path = tmp_path / "svc.sqlite3"
    store = SqliteStore(path)
    await store.start([])
    try:
        async with store.transaction() as session:
            await session.add_events([_event(n) for n in range(400)])
        pending = await store.pending_events(1000)
    finally:
        await store.close()
    assert len(pending) == 400
    assert all(900 < len(p.value) < 1300 for p in pending)
    [(pages,)] = _query(path, "SELECT count(*) FROM dbstat WHERE name = '_outbox'")
    # The WITHOUT ROWID table took a leaf cell and an overflow page per row: over 400 pages.
    assert isinstance(pages, int) and pages < 200


async def test_an_older_outbox_moves_into_the_new_layout_keeping_every_entry(
    tmp_path: Path,
) -> None:
    path = tmp_path / "svc.sqlite3"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE _outbox (outbox_id TEXT PRIMARY KEY, topic TEXT NOT NULL, key TEXT, "
        "value BLOB NOT NULL, created_at TEXT NOT NULL) WITHOUT ROWID"
    )
    topic = "crm.contacts.events.v1"
    old = [(f"id-{n:03d}", topic, f"c-{n}", b"x" * n, "2026-01-01") for n in range(50)]
    db.executemany("INSERT INTO _outbox VALUES (?, ?, ?, ?, ?)", reversed(old))
    db.commit()
    db.close()

    for _ in range(2):  # a second start changes nothing
        store = SqliteStore(path)
        await store.start([])
        try:
            pending = await store.pending_events(100)
        finally:
            await store.close()
        assert [(p.outbox_id, p.topic, p.key, p.value) for p in pending] == [
            (outbox_id, topic, key.encode(), value) for outbox_id, topic, key, value, _ in old
        ]
        [(sql,)] = _query(path, "SELECT sql FROM sqlite_master WHERE name = '_outbox'")
        assert "WITHOUT ROWID" not in str(sql).upper()
        assert _query(path, "SELECT name FROM sqlite_master WHERE name GLOB '_outbox__*'") == []


async def test_a_pending_read_leaves_the_published_out_and_returns_the_next_in_order(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "svc.sqlite3")
    await store.start([])
    try:
        events = [_event(n) for n in range(30)]
        async with store.transaction() as session:
            await session.add_events(events)
        first = await store.pending_events(12)
        assert [p.key for p in first] == [f"c-{n}".encode() for n in range(12)]
        # Published, not yet deleted (no write came): the next reads pass over them.
        await store.mark_events_sent([p.outbox_id for p in first[:10]])
        second = await store.pending_events(12)
        assert [p.key for p in second] == [f"c-{n}".encode() for n in range(10, 22)]
        assert [p.value for p in second[:2]] == [p.value for p in first[10:]]
        await store.mark_events_sent([p.outbox_id for p in second])
        third = await store.pending_events(100)
        assert [p.key for p in third] == [f"c-{n}".encode() for n in range(22, 30)]
        await store.mark_events_sent([p.outbox_id for p in third])
        assert await store.pending_events(100) == []
    finally:
        await store.close()
