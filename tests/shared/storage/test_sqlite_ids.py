"""SQLite stores canonical UUID ids as 16 bytes; stores written with text ids migrate."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from crm_shared.ids import new_id
from crm_shared.storage import CollectionSpec, Contains, Cursor, Empty, Eq, In, Index, TextMatch
from crm_shared.storage.sqlite import SqliteStore
from crm_shared.storage.sqlite_ids import read_id, store_ids_as_bytes, stored_id
from tests.shared.storage.sqlite_people import person, started, written

INDEXES = (
    Index(("owner",)),
    Index(("labels",), multi_value="array"),
    Index(("keys",), multi_value="array", lookup_only=True),
    Index(("search",), text=True),
    Index(("created_at",), sort_only=True),
)
SPECS = (CollectionSpec("people", indexes=INDEXES, empties=(Empty("owner"),)),)


def _person(i: int) -> dict[str, Any]:
    return {**person(i), "keys": [f"k{i}"]}


PEOPLE = [_person(i) for i in range(7)]


def test_a_canonical_uuid_is_stored_as_bytes_in_its_text_order() -> None:
    edges = [f"{x:032x}" for x in (0, 10**30, 2**128 - 1)]
    canonical = [new_id() for _ in range(50)] + [
        f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" for h in edges
    ]
    stored = [stored_id(c) for c in canonical]
    assert all(isinstance(s, bytes) and len(s) == 16 for s in stored)
    assert [read_id(s) for s in stored] == canonical
    assert sorted(stored) == [stored_id(c) for c in sorted(canonical)]


@pytest.mark.parametrize(
    "other", ["n1", "", "0190ABCD-0000-7000-8000-000000000000", "0190abcd000070008000000000000000"]
)
def test_any_other_id_is_stored_as_its_text(other: str) -> None:
    assert stored_id(other) == other
    assert read_id(other) == other


def _file_ids(path: Path) -> tuple[set[str], set[str]]:
    """The storage classes of the documents' ids and of the by-id side-table references."""
    db = sqlite3.connect(path)
    try:
        ids = {row[0] for row in db.execute("SELECT typeof(id) FROM c_people")}
        refs = {
            row[0]
            for row in db.execute(
                "SELECT typeof(e_ref) FROM mv_people JOIN mvk_people ON code = e_key "
                "WHERE path = 'labels'"
            )
        }
    finally:
        db.close()
    return ids, refs


def _as_text_ids(path: Path) -> None:
    """Turn a store into one written before ids were bytes: text ids and references."""
    db = sqlite3.connect(path)
    try:
        db.create_function("id_text", 1, read_id, deterministic=True)
        db.execute("UPDATE c_people SET id = id_text(id)")
        db.execute("UPDATE mv_people SET e_ref = id_text(e_ref) WHERE typeof(e_ref) = 'blob'")
        db.execute("DROP TABLE _id_layout")
        db.commit()
        db.execute("VACUUM")  # as compact as the old code could have it
    finally:
        db.close()
    assert _file_ids(path) == ({"text"}, {"text"})


async def _answers(store: SqliteStore) -> dict[str, Any]:
    """What the port answers for reads touching the id column, every index kind and cursors."""
    async with store.reader() as session:
        first = await session.find("people", tenant="t", limit=3)
        return {
            "all": await session.find("people", tenant="t"),
            "get": await session.get("people", tenant="t", id=PEOPLE[3]["id"]),
            "after": await session.find(
                "people", tenant="t", after=Cursor(value=first[-1]["id"], id=first[-1]["id"])
            ),
            "by id": await session.find(
                "people", tenant="t", where=[In("id", (PEOPLE[1]["id"], PEOPLE[5]["id"]))]
            ),
            "owner": await session.find("people", tenant="t", where=[Eq("owner", "u1")]),
            "label": await session.find("people", tenant="t", where=[Contains("labels", "vip")]),
            "key": await session.find("people", tenant="t", where=[Contains("keys", "k4")]),
            "text": await session.find("people", tenant="t", where=[TextMatch("search", "ada")]),
            "projected": await session.find("people", tenant="t", fields=["name"], limit=2),
            "json": await session.find_json(
                "people", tenant="t", paths=("name", "labels"), after=PEOPLE[2]["id"]
            ),
        }


async def _written(path: Path) -> dict[str, Any]:
    store = await started(path, SPECS)
    try:
        async with store.transaction() as session:
            await session.insert_many("people", PEOPLE)
        return await _answers(store)
    finally:
        await store.close()


async def test_ids_read_back_as_text_from_every_read(tmp_path: Path) -> None:
    answers = await _written(tmp_path / "store.db")
    assert _file_ids(tmp_path / "store.db") == ({"blob"}, {"blob"})
    assert answers["all"] == PEOPLE  # in id order, ids as given
    assert answers["get"] == PEOPLE[3]
    assert answers["after"] == PEOPLE[3:]
    assert answers["by id"] == [PEOPLE[1], PEOPLE[5]]
    assert answers["key"] == [PEOPLE[4]]
    assert answers["projected"] == [
        {"id": p["id"], "tenant": "t", "name": p["name"]} for p in PEOPLE[:2]
    ]
    assert [row[0] for row in answers["json"]] == [p["id"] for p in PEOPLE[3:]]
    assert all(
        f'"id":"{p["id"]}"'.encode() in row[1]
        for p, row in zip(PEOPLE[3:], answers["json"], strict=True)
    )


async def test_a_store_written_with_text_ids_is_migrated_and_answers_the_same(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    expected = await _written(path)
    _as_text_ids(path)
    for _ in range(2):  # the second start finds nothing left to do
        store = await started(path, SPECS)
        try:
            assert await _answers(store) == expected
            async with store.transaction() as session:  # the by-id entries are kept up again
                await session.replace("people", {**PEOPLE[0], "labels": ["gone"]})
                assert await session.find(
                    "people", tenant="t", where=[Contains("labels", "gone")]
                ) == [{**PEOPLE[0], "labels": ["gone"]}]
                await session.replace("people", PEOPLE[0])
        finally:
            await store.close()
        assert _file_ids(path) == ({"blob"}, {"blob"})


async def test_an_interrupted_id_migration_resumes_where_it_stopped(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    expected = await _written(path)
    _as_text_ids(path)
    conn = await aiosqlite.connect(path, isolation_level=None)
    real = conn.executemany
    calls = 0

    async def failing(sql: str, rows: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise RuntimeError("crash")
        return await real(sql, rows)

    conn.executemany = failing  # type: ignore[method-assign, assignment]
    try:
        with pytest.raises(RuntimeError):
            await store_ids_as_bytes(conn, "c_people", "people", batch=3)
    finally:
        await conn.close()
    db = sqlite3.connect(path)
    try:
        kinds = [row[0] for row in db.execute("SELECT typeof(id) FROM c_people ORDER BY n")]
    finally:
        db.close()
    assert kinds == ["blob"] * 3 + ["text"] * 4  # the first batch committed, no more

    store = await started(path, SPECS)
    try:
        assert await _answers(store) == expected
    finally:
        await store.close()
    assert _file_ids(path) == ({"blob"}, {"blob"})


async def test_ids_that_are_not_uuids_stay_text_and_sort_before_uuids(tmp_path: Path) -> None:
    store = await started(tmp_path / "store.db", SPECS)
    uuid_first = {**PEOPLE[0], "id": "00000000-0000-7000-8000-000000000000"}
    others = [{**PEOPLE[1], "id": "zz"}, {**PEOPLE[2], "id": "a"}]
    try:
        async with store.transaction() as session:
            await session.insert_many("people", [uuid_first, *others])
        async with store.reader() as session:
            found = await session.find("people", tenant="t")
            assert await session.get("people", tenant="t", id="zz") == others[0]
    finally:
        await store.close()
    assert [d["id"] for d in found] == ["a", "zz", uuid_first["id"]]


def _pages(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("PRAGMA page_count").fetchone()[0])
    finally:
        db.close()


async def test_a_migrated_store_gives_back_the_bytes_it_freed(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    many = [_person(i) for i in range(3000)]
    await written(path, SPECS, many)
    _as_text_ids(path)
    before = _pages(path)

    store = await started(path, SPECS)
    try:
        async with store.reader() as session:
            assert await session.find("people", tenant="t", limit=5000) == many
    finally:
        await store.close()
    # Without the VACUUM the file keeps its size: the old ids' bytes are free pages in it.
    assert _pages(path) < before * 0.9
