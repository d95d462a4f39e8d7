"""Repository queries against the SQLite adapter."""

from __future__ import annotations

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


async def test_email_lookup_uses_the_email_index(store: SqliteStore) -> None:
    # Ordered by id alone, SQLite would scan the whole tenant: imports would turn quadratic.
    conn = store._writer
    assert conn is not None
    sql = (
        "EXPLAIN QUERY PLAN SELECT doc FROM c_contacts WHERE tenant = ? AND "
        "json_extract(doc, '$.email_norm') IN (?, ?) AND json_extract(doc, '$.deleted_at') IS NULL "
        "ORDER BY json_extract(doc, '$.email_norm') ASC, id ASC LIMIT ?"
    )
    async with conn.execute(sql, ("acme", "a", "b", 10)) as cursor:
        plan = " ".join(str(row) for row in await cursor.fetchall())
    assert "ix_email_norm" in plan


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
