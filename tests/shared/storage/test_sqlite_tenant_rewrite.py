"""Stores written before tenant codes: their document tables rebuilt once at start
(sqlite_tenants.py's `tenants_as_codes`)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from crm_shared.storage import sqlite_tenants as tenants_module
from crm_shared.storage.sqlite import SqliteStore
from crm_shared.storage.sqlite_tenants import TENANT_TABLE
from tests.shared.storage.sqlite_tenant_stores import (
    ACME,
    SPECS,
    UUID_TENANT,
    answers,
    db_rows,
    started,
    write,
)

# The old layout, as stores before tenant codes created their tables.
OLD_KEYED = (
    "(n INTEGER PRIMARY KEY, tenant TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, "
    "UNIQUE (tenant, id))"
)
OLD_PLAIN = (
    "(tenant TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (tenant, id)) "
    "WITHOUT ROWID"
)


def to_old_layout(path: Path) -> None:
    """Turn a store's file into what older code wrote: tenants as names, no tenant dictionary."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        for table, layout, kept in (
            ("c_people", OLD_KEYED, "t.n, k.tenant, t.id, t.doc"),
            ("c_notes", OLD_PLAIN, "k.tenant, t.id, t.doc"),
        ):
            indexes = db.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                "AND sql IS NOT NULL",
                (table,),
            ).fetchall()
            db.execute(f"CREATE TABLE old {layout}")
            db.execute(
                f"INSERT INTO old SELECT {kept} "
                f"FROM {table} AS t JOIN {TENANT_TABLE} AS k ON k.code = t.tenant"
            )
            db.execute(f"DROP TABLE {table}")
            db.execute(f"ALTER TABLE old RENAME TO {table}")
            for (sql,) in indexes:
                db.execute(sql)
        db.execute(f"DROP TABLE {TENANT_TABLE}")
        assert db.execute("SELECT DISTINCT typeof(tenant) FROM c_people").fetchall() == [("text",)]
    finally:
        db.close()


async def written(path: Path, counts: dict[str, int]) -> dict[str, Any]:
    """Write `counts[tenant]` people of each tenant into a new store; what every read answers."""
    store = await started(path)
    try:
        for tenant, count in counts.items():
            await write(store, tenant, count)
        return {tenant: await answers(store, tenant) for tenant in sorted(counts)}
    finally:
        await store.close()


async def answered(path: Path, tenants: tuple[str, ...]) -> dict[str, Any]:
    """What every read answers for each tenant once a store has started on `path`."""
    store = await started(path)
    try:
        return {tenant: await answers(store, tenant) for tenant in sorted(tenants)}
    finally:
        await store.close()


def index_names(path: Path) -> set[str]:
    return {row[0] for row in db_rows(path, "SELECT name FROM sqlite_master WHERE type = 'index'")}


async def test_an_old_store_is_rewritten_at_start_and_answers_the_same(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    before = await written(path, {UUID_TENANT: 12, ACME: 12})
    indexes = index_names(path)
    to_old_layout(path)

    after = await answered(path, (ACME, UUID_TENANT))

    assert after == before
    for table in ("c_people", "c_notes"):
        assert db_rows(path, f"SELECT DISTINCT typeof(tenant) FROM {table}") == [("integer",)]
    assert index_names(path) == indexes
    assert not db_rows(path, "SELECT name FROM sqlite_master WHERE name LIKE '%__coded'")


class Crash(Exception):
    """Stands for the process dying in the middle of the rewrite."""


async def test_a_rewrite_killed_half_way_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.db"
    before = await written(path, {UUID_TENANT: 9, ACME: 9})
    to_old_layout(path)
    kwdefaults = tenants_module.tenants_as_codes.__kwdefaults__
    assert kwdefaults is not None
    monkeypatch.setitem(kwdefaults, "batch", 4)
    make = tenants_module.made_codes
    calls = 0

    def dies_on_the_third_batch(db: sqlite3.Connection, tenants: Any) -> dict[str, int]:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise Crash
        return make(db, tenants)

    monkeypatch.setattr(tenants_module, "made_codes", dies_on_the_third_batch)
    crashed = SqliteStore(path)
    try:
        with pytest.raises(Crash):
            await crashed.start(SPECS)
    finally:
        await crashed.close()
    # Two batches moved and committed, the third rolled back: rows in both tables.
    old = db_rows(path, "SELECT tenant FROM c_people")
    moved = db_rows(path, "SELECT tenant FROM c_people__coded")
    assert (len(old), len(moved)) == (10, 8)
    assert {type(row[0]) for row in old} == {str} and {type(row[0]) for row in moved} == {int}
    monkeypatch.setattr(tenants_module, "made_codes", make)

    after = await answered(path, (ACME, UUID_TENANT))
    assert after == before
    assert db_rows(path, "SELECT DISTINCT typeof(tenant) FROM c_people") == [("integer",)]
    assert len(db_rows(path, "SELECT n FROM c_people")) == 18


async def test_stores_starting_together_share_the_rewrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.db"
    before = (await written(path, {ACME: 9}))[ACME]
    to_old_layout(path)
    kwdefaults = tenants_module.tenants_as_codes.__kwdefaults__
    assert kwdefaults is not None
    monkeypatch.setitem(kwdefaults, "batch", 2)  # many transactions: the two take turns
    first, second = SqliteStore(path), SqliteStore(path)
    await asyncio.gather(first.start(SPECS), second.start(SPECS))
    try:
        assert await answers(first, ACME) == before
        assert await answers(second, ACME) == before
    finally:
        await first.close()
        await second.close()


async def test_a_rewrite_another_store_finished_after_a_look_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.db"
    before = (await written(path, {ACME: 5}))[ACME]
    looks = 0
    look = tenants_module.tenant_type

    async def saw_it_before_the_other_finished(conn: aiosqlite.Connection, table: str) -> Any:
        nonlocal looks
        looks += 1
        return "TEXT" if looks == 1 else await look(conn, table)

    # The look outside the write lock says "names"; under it, the table holds codes already.
    monkeypatch.setattr(tenants_module, "tenant_type", saw_it_before_the_other_finished)
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        assert await tenants_module.tenants_as_codes(conn, "c_people") == (0, frozenset())
    finally:
        await conn.close()
    monkeypatch.setattr(tenants_module, "tenant_type", look)
    assert (await answered(path, (ACME,)))[ACME] == before
