"""Repository queries against the SQLite adapter."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from crm_contacts.adapters.repository import (
    COLLECTION_SPECS,
    ContactRepository,
    SuppressionRepository,
)
from crm_contacts.domain.contact import new_contact, soft_deleted
from crm_shared.ids import new_id
from crm_shared.storage import CollectionSpec
from crm_shared.storage.sqlite import SqliteStore

NOW = "2026-01-01T00:00:00.000000Z"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    sqlite = SqliteStore(tmp_path / "contacts.sqlite3")
    await sqlite.start(COLLECTION_SPECS)
    yield sqlite
    await sqlite.close()


def _contact(email: str, name: str = "P") -> dict[str, Any]:
    return new_contact(
        contact_id=new_id(),
        tenant="acme",
        profile={"name": name, "email": email},
        source="manual",
        now=NOW,
    )


async def test_live_by_emails_returns_the_oldest_live_contact_per_email(store: SqliteStore) -> None:
    oldest, newer, deleted = (
        _contact("a@x.io", "old"),
        _contact("a@x.io", "new"),
        _contact("b@x.io"),
    )
    async with store.transaction() as session:
        await ContactRepository(session, "acme").add_many(
            [oldest, newer, soft_deleted(deleted, NOW)]
        )
    async with store.reader() as session:
        found = await ContactRepository(session, "acme").live_by_emails(["a@x.io", "b@x.io"])
    assert list(found) == ["a@x.io"]
    assert found["a@x.io"]["id"] == oldest["id"]


async def test_live_by_emails_handles_more_emails_than_one_query_binds(store: SqliteStore) -> None:
    docs = [_contact(f"p{n}@x.io") for n in range(1200)]
    async with store.transaction() as session:
        await ContactRepository(session, "acme").add_many(docs)
    async with store.reader() as session:
        found = await ContactRepository(session, "acme").live_by_emails([d["email"] for d in docs])
    assert len(found) == 1200


async def test_email_lookups_read_the_match_keys_index_not_the_tenant(store: SqliteStore) -> None:
    # Ordered by id alone over the whole tenant, imports would turn quadratic: the look-up must
    # read the emails' match-key entries (the side table), never walk the contacts table.
    async with store.transaction() as session:
        # The tenant has its code (sqlite_tenants.py): the reads below are its pages, not a look
        # for a tenant the store has never seen.
        await ContactRepository(session, "acme").add_many([_contact("c@x.io")])
    conn = store._reader
    assert conn is not None
    statements: list[str] = []
    await conn.set_trace_callback(statements.append)
    try:
        async with store.reader() as session:
            repo = ContactRepository(session, "acme")
            await repo.live_by_emails(["a@x.io", "b@x.io"])
            await repo.live_with_email("a@x.io")
    finally:
        await conn.set_trace_callback(None)
    finds = [s for s in statements if s.startswith("SELECT id, doc FROM")]
    assert len(finds) == 2
    for sql in finds:
        async with conn.execute(f"EXPLAIN QUERY PLAN {sql}") as cursor:
            steps = [tuple(row) for row in await cursor.fetchall()]
        plan = " ".join(str(step) for step in steps)
        # The side table, searched by name or as `d`, the entries a page is read off.
        reads_side_table = "mv_contacts" in plan or (
            "FROM mv_contacts AS d" in sql and "SEARCH d USING PRIMARY KEY" in plan
        )
        assert reads_side_table and "SCAN c_contacts" not in plan, plan
        # Contacts are read by key, never by walking the tenant's (tenant, id) index; a
        # contact's own entry is checked by one primary-key seek, not a walk of the value's.
        assert "(tenant=?)'" not in plan, plan
        # Per contact read, a correlated subquery may only be that seek, or the check of the
        # email's key among the contact's own (match keys are held hashed: sqlite_multi.py).
        correlated = {step[0] for step in steps if "CORRELATED" in step[3]}
        for step in steps:
            if step[1] in correlated:
                assert "(e_key=? AND e_value=? AND e_ref=?)" in step[3] or step[3].startswith(
                    "SCAN je VIRTUAL TABLE"
                ), plan


async def test_a_secondary_email_is_not_taken_for_a_primary_one(store: SqliteStore) -> None:
    # The match keys hold every email: the primary-email look-ups must still check the primary.
    holder = new_contact(
        contact_id=new_id(),
        tenant="acme",
        profile={"name": "H", "email": "main@x.io", "emails": ["a@x.io"]},
        source="manual",
        now=NOW,
    )
    async with store.transaction() as session:
        await ContactRepository(session, "acme").add(holder)
    async with store.reader() as session:
        repo = ContactRepository(session, "acme")
        assert await repo.live_with_email("a@x.io") is None
        assert await repo.live_by_emails(["a@x.io"]) == {}
        found = await repo.live_with_email("main@x.io")
    assert found is not None and found["id"] == holder["id"]


async def test_save_many_refuses_when_a_contact_is_no_longer_live(store: SqliteStore) -> None:
    doc = _contact("a@x.io")
    async with store.transaction() as session:
        await ContactRepository(session, "acme").add(soft_deleted(doc, NOW))
    async with store.transaction() as session:
        assert await ContactRepository(session, "acme").save_many([doc]) is False


async def test_suppressions_are_added_once_per_tenant(store: SqliteStore) -> None:
    async with store.transaction() as session:
        repo = SuppressionRepository(session, "acme")
        assert await repo.add(["h1", "h2", "h1"], now=NOW, reason="erasure:e1") == 2
        assert await repo.add(["h2", "h3"], now=NOW, reason="erasure:e2") == 1
    async with store.reader() as session:
        assert await SuppressionRepository(session, "acme").suppressed(["h1", "h3", "h9"]) == {
            "h1",
            "h3",
        }
        assert await SuppressionRepository(session, "globex").suppressed(["h1"]) == set()


def _entries_at(db: sqlite3.Connection, path: str) -> int:
    """How many side-table entries the contacts have at `path` (keys resolved)."""
    sql = "SELECT count(*) FROM mv_contacts JOIN mvk_contacts ON code = e_key WHERE path = ?"
    return int(db.execute(sql, (path,)).fetchone()[0])


def _stop8_specs() -> tuple[CollectionSpec, ...]:
    """The contacts specs as stop 8 declared them: full indexes, `emails_norm`, `email_norm`."""
    older: list[CollectionSpec] = []
    for spec in COLLECTION_SPECS:
        indexes = tuple(dataclasses.replace(index, sparse=False) for index in spec.indexes)
        older.append(dataclasses.replace(spec, indexes=(*indexes, *spec.retired), retired=()))
    return tuple(older)


async def test_a_store_laid_out_by_stop_8_is_migrated_once_and_answers_the_same(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    old = SqliteStore(path)
    await old.start(_stop8_specs())
    # As stop 8's code stored it, with the derived fields retired since.
    doc = {**_contact("a@x.io"), "email_norm": "a@x.io", "emails_norm": ["a@x.io"]}
    async with old.transaction() as session:
        await ContactRepository(session, "acme").add(doc)
    await old.close()
    with sqlite3.connect(path) as db:
        assert _entries_at(db, "emails_norm") == 1
    for _ in range(2):  # a second start finds nothing left to change
        store = SqliteStore(path)
        await store.start(COLLECTION_SPECS)
        try:
            async with store.reader() as session:
                found = await ContactRepository(session, "acme").live_with_email("a@x.io")
        finally:
            await store.close()
        assert found is not None and found["id"] == doc["id"]
        with sqlite3.connect(path) as db:
            entries = _entries_at(db, "emails_norm")
            indexes = {
                name: sql
                for name, sql in db.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
                )
            }
        assert entries == 0
        assert "contacts_ix_email_norm" not in indexes and "contacts_ix_phone" not in indexes
        assert " WHERE " in indexes["contacts_ix_deleted_at"]
        assert " WHERE " in indexes["contacts_ix_account_id"]


async def test_a_second_start_of_a_contacts_store_changes_no_schema(tmp_path: Path) -> None:
    # Every index, trigger and table is compared with what the specs ask for: nothing defined
    # the same may be dropped and rebuilt (at a million contacts that is minutes at each start).
    path = tmp_path / "store.sqlite3"
    versions = []
    for _ in range(3):
        store = SqliteStore(path)
        await store.start(COLLECTION_SPECS)
        await store.close()
        with sqlite3.connect(path) as db:
            versions.append(int(db.execute("PRAGMA schema_version").fetchone()[0]))
    assert versions[0] == versions[1] == versions[2]
