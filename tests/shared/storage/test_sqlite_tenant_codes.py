"""SQLite document tables hold each tenant as a small integer code (sqlite_tenants.py)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from crm_shared.ids import new_id
from crm_shared.storage import (
    CollectionSpec,
    Contains,
    ContainsAny,
    Eq,
    In,
    Index,
    Range,
    TextMatch,
    Where,
)
from crm_shared.storage import sqlite_tenants as tenants_module
from crm_shared.storage.sqlite import SqliteStore
from crm_shared.storage.sqlite_tenants import TENANT_TABLE

ACME = "acme"
# A real deployment's tenant id, and one that is long and not ASCII.
UUID_TENANT = "5f0c6a8e-3b1d-4f2a-9c7e-2d4b6a8c0e1f"
UNICODE_TENANT = "Société Générale — 東京支店 " * 8
SPECS = [
    CollectionSpec(
        "people",
        indexes=(
            Index(("email",), unique=True),
            Index(("rank",)),
            Index(("labels",), multi_value="array"),
            Index(("attrs",), multi_value="object"),
            Index(("search",), text=True),
        ),
    ),
    CollectionSpec("notes", indexes=(Index(("kind",)),)),  # WITHOUT ROWID: no text, no entries
]
# The old layout, as stores before tenant codes created their tables.
OLD_KEYED = (
    "(n INTEGER PRIMARY KEY, tenant TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, "
    "UNIQUE (tenant, id))"
)
OLD_PLAIN = (
    "(tenant TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (tenant, id)) "
    "WITHOUT ROWID"
)


def person(tenant: str, i: int) -> dict[str, Any]:
    """The same people in every tenant but for their ids: only the tenant tells them apart."""
    return {
        "id": new_id(),
        "tenant": tenant,
        "email": f"p{i}@example.com",
        "rank": i,
        "labels": ["vip"] if i % 3 == 0 else ["lead", f"l{i}"],
        "attrs": {"plan": "gold" if i % 2 else "free"},
        "search": f"person number {i} walnut",
    }


def note(tenant: str, i: int) -> dict[str, Any]:
    return {"id": new_id(), "tenant": tenant, "kind": "call" if i % 2 else "mail", "n": i}


async def started(path: Path) -> SqliteStore:
    store = SqliteStore(path)
    await store.start(SPECS)
    return store


async def write(
    store: SqliteStore, tenant: str, count: int = 12, *, first: int = 0
) -> list[dict[str, Any]]:
    people = [person(tenant, i) for i in range(first, first + count)]
    async with store.transaction() as session:
        await session.insert_many("people", people)
        await session.insert_many("notes", [note(tenant, i) for i in range(count)])
    return people


QUERIES: list[list[Where]] = [
    [],
    [Eq("email", "p3@example.com")],
    [In("rank", (1, 2, 40))],
    [Contains("labels", "vip")],
    [ContainsAny("labels", ("l4", "l5"))],
    [Eq("attrs.plan", "gold"), Contains("labels", "lead")],
    [TextMatch("search", "walnut number 7")],
    [TextMatch("search", "walnut"), Contains("labels", "vip")],
    [Range("rank", gte=4, lt=9)],
]


async def answers(store: SqliteStore, tenant: str) -> dict[str, Any]:
    """What every read path answers for the tenant."""
    got: dict[str, Any] = {}
    async with store.reader() as session:
        everyone = await session.find("people", tenant=tenant, limit=1000)
        got["ids"] = [d["id"] for d in everyone]
        got["get"] = [await session.get("people", tenant=tenant, id=d["id"]) for d in everyone]
        for i, where in enumerate(QUERIES):
            got[f"find{i}"] = await session.find("people", tenant=tenant, where=where, limit=1000)
            got[f"count{i}"] = await session.count("people", tenant=tenant, where=where)
        got["by_rank"] = await session.find(
            "people", tenant=tenant, order_by="rank", descending=True, limit=5
        )
        got["fields"] = await session.find(
            "people", tenant=tenant, where=[Contains("labels", "vip")], fields=["email"]
        )
        got["json"] = await session.find_json("people", tenant=tenant, paths=["email", "rank"])
        got["notes"] = await session.find("notes", tenant=tenant, where=[Eq("kind", "call")])
        got["notes_count"] = await session.count("notes", tenant=tenant)
        got["tenants"] = await session.tenants("people")
    return got


def db_rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def tenant_codes(path: Path) -> dict[str, int]:
    return dict(db_rows(path, f"SELECT tenant, code FROM {TENANT_TABLE}"))


async def test_rows_and_indexes_hold_codes_and_no_tenant_text(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = await started(path)
    try:
        await write(store, UUID_TENANT, 40)
        await write(store, ACME, 40)
    finally:
        await store.close()  # checkpoints the log into the file
    for table in ("c_people", "c_notes"):
        kinds = db_rows(path, f"SELECT DISTINCT typeof(tenant) FROM {table}")
        assert kinds == [("integer",)]
    assert set(tenant_codes(path)) == {UUID_TENANT, ACME}
    # The name's bytes are in the file only in the tenant dictionary (its row and its unique
    # index) and the side table's key dictionary (a row and an index entry per path): not in
    # the 80 document rows nor in the entries of the six indexes led by the tenant.
    paths = db_rows(path, "SELECT count(*) FROM mvk_people WHERE tenant = ?", (UUID_TENANT,))
    assert path.read_bytes().count(UUID_TENANT.encode()) == 2 + 2 * paths[0][0]


async def test_tenants_sharing_a_file_see_only_their_own_documents_on_every_read_path(
    tmp_path: Path,
) -> None:
    store = await started(tmp_path / "store.db")
    try:
        acme = await write(store, ACME)
        other = await write(store, UUID_TENANT)
        got = await answers(store, ACME)
        theirs = await answers(store, UUID_TENANT)
    finally:
        await store.close()
    assert got["ids"] == [d["id"] for d in acme]
    assert theirs["ids"] == [d["id"] for d in other]
    store = await started(tmp_path / "store.db")
    try:
        async with store.reader() as session:
            # A few ids named: read by key (sqlite_point_reads.py), the other tenant's left out.
            named = In("id", (acme[0]["id"], other[0]["id"], acme[5]["id"]))
            by_ids = await session.find("people", tenant=ACME, where=[named])
            assert await session.get("people", tenant=ACME, id=other[0]["id"]) is None
    finally:
        await store.close()
    assert by_ids == [acme[0], acme[5]]
    assert got["get"] == acme
    for i, where in enumerate(QUERIES):
        assert got[f"find{i}"], where if where else "every document"
        assert all(d["tenant"] == ACME for d in got[f"find{i}"])
        assert {d["id"] for d in got[f"find{i}"]} <= set(got["ids"])
        assert got[f"count{i}"] == len(got[f"find{i}"]) == len(theirs[f"find{i}"])
    assert [d["rank"] for d in got["by_rank"]] == [11, 10, 9, 8, 7]
    assert {d["id"] for d in got["by_rank"]} <= set(got["ids"])
    assert all(d["tenant"] == ACME and set(d) == {"id", "tenant", "email"} for d in got["fields"])
    assert [row[0] for row in got["json"]] == got["ids"]
    assert got["notes_count"] == 12 and all(d["tenant"] == ACME for d in got["notes"])
    assert got["tenants"] == sorted([ACME, UUID_TENANT])


async def test_a_long_unicode_tenant_reads_back_as_written(tmp_path: Path) -> None:
    store = await started(tmp_path / "store.db")
    try:
        written = await write(store, UNICODE_TENANT, 4)
        async with store.transaction() as session:
            changed = {**written[0], "rank": 99}
            assert await session.replace("people", changed)
            assert await session.delete("people", tenant=UNICODE_TENANT, id=written[1]["id"])
        got = await answers(store, UNICODE_TENANT)
    finally:
        await store.close()
    assert got["get"] == [changed, *written[2:]]
    assert got["tenants"] == [UNICODE_TENANT]


async def test_a_tenant_never_written_reads_empty_and_makes_no_code(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = await started(path)
    try:
        people = await write(store, ACME)
        got = await answers(store, "nobody")
        async with store.transaction() as session:
            stranger = {**people[0], "tenant": "nobody"}
            assert not await session.replace("people", stranger)
            assert await session.replace_many("people", [stranger], expected_versions=[1]) == 0
            assert not await session.delete("people", tenant="nobody", id=people[0]["id"])
            assert await session.delete_where("notes", tenant="nobody", where=[]) == 0
    finally:
        await store.close()
    assert got["ids"] == [] and got["get"] == [] and got["json"] == []
    assert all(got[f"count{i}"] == 0 and got[f"find{i}"] == [] for i in range(len(QUERIES)))
    assert tenant_codes(path) == {ACME: 1}


class Refused(Exception):
    """Stands for whatever made a transaction roll back."""


async def test_a_rolled_back_first_write_leaves_no_code_behind(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = await started(path)
    try:
        with pytest.raises(Refused):
            async with store.transaction() as session:
                await session.insert("notes", note("ghost", 1))
                raise Refused
        # The next tenant written takes the code the rolled-back write had made.
        mine = await write(store, ACME, 3)
        async with store.reader() as session:
            assert await session.find("notes", tenant="ghost") == []
            assert await session.get("people", tenant="ghost", id=mine[0]["id"]) is None
        ghost = await write(store, "ghost", 2)
        got = await answers(store, "ghost")
    finally:
        await store.close()
    assert got["get"] == ghost
    assert tenant_codes(path) == {ACME: 1, "ghost": 2}


async def test_stores_sharing_a_file_agree_on_codes_made_concurrently(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    first, second = await started(path), await started(path)
    try:
        names = [f"tenant-{i}" for i in range(6)]
        # Each store writes every tenant, the two interleaved: whichever makes a code first,
        # the other takes it.
        written = await asyncio.gather(
            *(
                write(store, name, 3, first=10 * k)
                for name in names
                for k, store in enumerate((first, second))
            )
        )
        by_tenant: dict[str, list[str]] = {}
        for people in written:
            by_tenant.setdefault(people[0]["tenant"], []).extend(p["id"] for p in people)
        for store in (first, second):
            for name in names:
                got = await answers(store, name)
                assert sorted(got["ids"]) == sorted(by_tenant[name])
                assert got["notes_count"] == 6
        # A tenant one store writes after the other started: the other reads it.
        late = await write(first, "late", 2)
        assert (await answers(second, "late"))["get"] == late
    finally:
        await first.close()
        await second.close()
    assert sorted(tenant_codes(path)) == sorted([*names, "late"])
    assert sorted(tenant_codes(path).values()) == list(range(1, 8))


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


def index_names(path: Path) -> set[str]:
    return {row[0] for row in db_rows(path, "SELECT name FROM sqlite_master WHERE type = 'index'")}


async def test_an_old_store_is_rewritten_at_start_and_answers_the_same(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = await started(path)
    try:
        await write(store, UUID_TENANT)
        await write(store, ACME)
        before = {t: await answers(store, t) for t in (ACME, UUID_TENANT)}
    finally:
        await store.close()
    indexes = index_names(path)
    to_old_layout(path)

    store = await started(path)
    try:
        after = {t: await answers(store, t) for t in (ACME, UUID_TENANT)}
    finally:
        await store.close()

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
    store = await started(path)
    try:
        await write(store, UUID_TENANT, 9)
        await write(store, ACME, 9)
        before = {t: await answers(store, t) for t in (ACME, UUID_TENANT)}
    finally:
        await store.close()
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

    store = await started(path)
    try:
        after = {t: await answers(store, t) for t in (ACME, UUID_TENANT)}
    finally:
        await store.close()
    assert after == before
    assert db_rows(path, "SELECT DISTINCT typeof(tenant) FROM c_people") == [("integer",)]
    assert len(db_rows(path, "SELECT n FROM c_people")) == 18


async def test_stores_starting_together_share_the_rewrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.db"
    store = await started(path)
    try:
        await write(store, ACME, 9)
        before = await answers(store, ACME)
    finally:
        await store.close()
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
    store = await started(path)
    try:
        await write(store, ACME, 5)
        before = await answers(store, ACME)
    finally:
        await store.close()
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
    store = await started(path)
    try:
        assert await answers(store, ACME) == before
    finally:
        await store.close()
