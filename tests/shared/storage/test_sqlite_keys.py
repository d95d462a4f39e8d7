"""SQLite stores declared fields under short codes; stores written with plain names migrate."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite
import orjson
import pytest

from crm_shared.ids import new_id
from crm_shared.storage import CollectionSpec, Contains, Empty, Eq, Index, Range, TextMatch
from crm_shared.storage.sqlite import SqliteStore
from crm_shared.storage.sqlite_ids import read_id
from crm_shared.storage.sqlite_keys import (
    KeyMap,
    create_key_tables,
    load_key_map,
    recode_documents,
)
from tests.shared.storage.sqlite_people import person, started, written

INDEXES = (
    Index(("owner",)),
    Index(("labels",), multi_value="array"),
    Index(("search",), text=True),
    Index(("created_at",), sort_only=True),
)
EMPTIES = (Empty("owner"), Empty("labels", "list"), Empty("search"), Empty("created_at"))
SPECS = (CollectionSpec("people", indexes=INDEXES, empties=EMPTIES),)
# As code before short keys wrote the same collection: no declared fields, no code tables.
PLAIN_SPECS = (CollectionSpec("people", indexes=INDEXES),)


PEOPLE = [person(i) for i in range(7)]


def _stored(path: Path) -> dict[str, dict[str, Any]]:
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT id, doc FROM c_people")
        return {read_id(row[0]): orjson.loads(row[1]) for row in rows}
    finally:
        db.close()


def _side_entries(path: Path) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT * FROM mv_people ORDER BY 1, 2, 3").fetchall()
    finally:
        db.close()


async def _write_plain_store(path: Path) -> None:
    """A store as the code before short keys left it: plain names, no key tables."""
    await written(path, PLAIN_SPECS, PEOPLE)
    db = sqlite3.connect(path)
    try:
        db.execute("DROP TABLE _doc_keys")
        db.execute("DROP TABLE _doc_layout")
        db.commit()
    finally:
        db.close()
    assert _stored(path)[PEOPLE[0]["id"]]["owner"] == "u0"


async def _answers(store: SqliteStore) -> dict[str, Any]:
    """What the port answers for a set of reads touching every index kind."""
    async with store.reader() as session:
        return {
            "all": await session.find("people", tenant="t"),
            "get": await session.get("people", tenant="t", id=PEOPLE[3]["id"]),
            "owner": [
                d["id"] for d in await session.find("people", tenant="t", where=[Eq("owner", "u1")])
            ],
            "label": [
                d["id"]
                for d in await session.find("people", tenant="t", where=[Contains("labels", "vip")])
            ],
            "text": [
                d["id"]
                for d in await session.find(
                    "people", tenant="t", where=[TextMatch("search", "ada")]
                )
            ],
            "sorted": [
                d["id"]
                for d in await session.find(
                    "people", tenant="t", order_by="created_at", descending=True, limit=3
                )
            ],
            "range": await session.count(
                "people", tenant="t", where=[Range("created_at", gte="2025-01-12")]
            ),
            "json": await session.find_json(
                "people", tenant="t", paths=("name", "owner", "labels"), limit=3
            ),
        }


async def test_declared_fields_are_stored_under_codes_and_read_back_by_name(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    store = await started(path, SPECS)
    odd: dict[str, Any] = {
        "id": new_id(),
        "tenant": "t",
        "owner": "u9",
        "7up": 1,
        "~x": 2,
        "name": "Odd",
    }
    try:
        async with store.transaction() as session:
            await session.insert_many("people", [*PEOPLE, odd])
        stored = _stored(path)[odd["id"]]
        # Coded in declared order; undeclared keys as they are, escaped when they look coded.
        assert stored == {"0": "u9", "~7up": 1, "~~x": 2, "name": "Odd"}
        async with store.reader() as session:
            assert await session.get("people", tenant="t", id=odd["id"]) == odd | {
                "labels": [],
                "search": None,
                "created_at": None,
            }
            found = await session.find("people", tenant="t", where=[Eq("owner", "u9")])
        assert [d["id"] for d in found] == [odd["id"]]
        answers = await _answers(store)
        assert answers["owner"] == [p["id"] for p in PEOPLE if p["owner"] == "u1"]
        assert answers["label"] == [PEOPLE[0]["id"], PEOPLE[3]["id"], PEOPLE[6]["id"]]
        assert answers["text"] == [p["id"] for p in PEOPLE if "ada" in p["search"]]
        assert answers["range"] == 5
    finally:
        await store.close()


async def test_a_store_written_with_plain_names_is_migrated_and_answers_the_same(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    await _write_plain_store(path)
    before = await started(path, PLAIN_SPECS)
    try:
        expected = await _answers(before)
    finally:
        await before.close()

    entries = _side_entries(path)
    store = await started(path, SPECS)
    try:
        assert await _answers(store) == expected
        assert _side_entries(path) == entries  # kept as they were, not derived again
        async with store.transaction() as session:  # the indexes and triggers follow writes
            moved = PEOPLE[3] | {"owner": "u7", "labels": ["x"], "search": "zed"}
            assert await session.replace("people", moved, expected_version=1)
        async with store.reader() as session:
            by_owner = await session.find("people", tenant="t", where=[Eq("owner", "u7")])
            by_label = await session.find("people", tenant="t", where=[Contains("labels", "x")])
            by_text = await session.find("people", tenant="t", where=[TextMatch("search", "zed")])
            old_label = await session.find("people", tenant="t", where=[Contains("labels", "vip")])
        assert [d["id"] for d in by_owner + by_label + by_text] == [moved["id"]] * 3
        assert moved["id"] not in [d["id"] for d in old_label]
    finally:
        await store.close()
    assert _stored(path)[PEOPLE[0]["id"]]["0"] == "u0"  # rewritten under its code
    db = sqlite3.connect(path)
    try:
        plan = db.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM c_people WHERE tenant = 't' "
            "AND json_extract(doc, '$.0') = 'u1' ORDER BY id"
        ).fetchall()
    finally:
        db.close()
    assert "people_ix_owner" in str(plan)  # the index was rebuilt on the coded path


async def test_an_interrupted_migration_resumes_where_it_stopped(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    await _write_plain_store(path)
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        await create_key_tables(conn)
        keys = await load_key_map(conn, "people", (e.field for e in EMPTIES))
        await _recode_until_failure(conn, keys, batches=1)
    finally:
        await conn.close()
    stored = _stored(path)
    ordered = sorted(PEOPLE, key=lambda p: p["id"])
    assert [("0" in stored[p["id"]]) for p in ordered] == [True, True] + [False] * 5

    store = await started(path, SPECS)
    try:
        async with store.reader() as session:
            assert await session.find("people", tenant="t") == sorted(PEOPLE, key=lambda p: p["id"])
            vip = await session.find("people", tenant="t", where=[Contains("labels", "vip")])
        assert len(vip) == 3
    finally:
        await store.close()
    assert all("0" in doc and "owner" not in doc for doc in _stored(path).values())


async def _recode_until_failure(conn: aiosqlite.Connection, keys: KeyMap, *, batches: int) -> None:
    """Rewrite two documents a batch, the process failing in the batch after `batches`."""
    real = conn.executemany
    calls = 0

    async def failing(sql: str, rows: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > batches:
            raise RuntimeError("crash")
        return await real(sql, rows)

    conn.executemany = failing  # type: ignore[method-assign, assignment]
    with pytest.raises(RuntimeError):
        await recode_documents(conn, "c_people", "people", keys, batch=2)


async def test_a_field_declared_later_is_migrated_to_its_code(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    await written(path, (CollectionSpec("people", indexes=INDEXES, empties=EMPTIES[:1]),), PEOPLE)
    assert set(_stored(path)[PEOPLE[0]["id"]]) >= {"0", "labels", "search"}

    store = await started(path, SPECS)
    try:
        async with store.reader() as session:
            vip = await session.find("people", tenant="t", where=[Contains("labels", "vip")])
            assert await session.find("people", tenant="t") == sorted(PEOPLE, key=lambda p: p["id"])
        assert len(vip) == 3
    finally:
        await store.close()
    assert set(_stored(path)[PEOPLE[0]["id"]]) == {"0", "1", "2", "3", "name", "version"}


async def test_processes_migrating_together_rewrite_each_document_once(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    await _write_plain_store(path)
    first = await aiosqlite.connect(path, isolation_level=None)
    second = await aiosqlite.connect(path, isolation_level=None)
    try:
        await create_key_tables(first)
        keys = await load_key_map(first, "people", (e.field for e in EMPTIES))
        await asyncio.gather(
            recode_documents(first, "c_people", "people", keys, batch=2),
            recode_documents(second, "c_people", "people", keys, batch=2),
        )
    finally:
        await first.close()
        await second.close()
    # A document rewritten twice would hold its codes escaped ("~0").
    assert {frozenset(doc) for doc in _stored(path).values()} == {
        frozenset({"name", "version", "0", "1", "2", "3"})
    }


async def test_a_migration_resumed_with_more_declared_fields_ends_with_all_of_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    await _write_plain_store(path)
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        await create_key_tables(conn)
        fewer = await load_key_map(conn, "people", [EMPTIES[0].field])
        await _recode_until_failure(conn, fewer, batches=2)
    finally:
        await conn.close()

    store = await started(path, SPECS)
    try:
        async with store.reader() as session:
            assert await session.find("people", tenant="t") == sorted(PEOPLE, key=lambda p: p["id"])
            owned = await session.find("people", tenant="t", where=[Eq("owner", "u1")])
        assert [d["id"] for d in owned] == [p["id"] for p in PEOPLE if p["owner"] == "u1"]
    finally:
        await store.close()
    assert {frozenset(doc) for doc in _stored(path).values()} == {
        frozenset({"name", "version", "0", "1", "2", "3"})
    }


async def test_a_process_started_without_the_declared_fields_still_reads_their_codes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    await written(path, SPECS, PEOPLE)
    bare = await started(path, PLAIN_SPECS)
    try:
        async with bare.reader() as session:
            assert await session.get("people", tenant="t", id=PEOPLE[1]["id"]) == PEOPLE[1]
            owned = await session.find("people", tenant="t", where=[Eq("owner", "u1")])
        assert [d["id"] for d in owned] == [p["id"] for p in PEOPLE if p["owner"] == "u1"]
    finally:
        await bare.close()
