"""SQLite layout changes at start-up: sparse (partial) indexes, retired indexes dropped."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from crm_shared.ids import new_id
from crm_shared.storage import CollectionSpec, Contains, Cursor, Eq, In, Index, Range
from crm_shared.storage.sqlite_tenants import stored_tenant
from tests.shared.storage.sqlite_people import started as _started
from tests.shared.storage.sqlite_people import written

FULL = (
    CollectionSpec("people", indexes=(Index(("left_at",)), Index(("tags",), multi_value="array"))),
)
SPARSE = (CollectionSpec("people", indexes=(Index(("left_at",), sparse=True),)),)
RETIRING = (
    CollectionSpec(
        "people",
        indexes=(Index(("left_at",), sparse=True),),
        retired=(Index(("tags",), multi_value="array"), Index(("owner",))),
    ),
)


def _person(left_at: str | None, tags: list[str] | None = None) -> dict[str, Any]:
    return {"id": new_id(), "tenant": "t", "left_at": left_at, "tags": tags or ["vip"]}


def _schema(path: Path) -> dict[str, str]:
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
        return {str(name): str(sql) for name, sql in rows}
    finally:
        db.close()


def _side_entries(path: Path, entry_path: str) -> int:
    db = sqlite3.connect(path)
    try:
        sql = "SELECT count(*) FROM mv_people JOIN mvk_people ON code = e_key WHERE path = ?"
        return int(db.execute(sql, (entry_path,)).fetchone()[0])
    finally:
        db.close()


async def test_a_sparse_index_holds_only_documents_with_a_value_and_serves_value_queries(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    left = [_person(f"2026-01-0{day}") for day in (1, 2, 3)]
    staying = [_person(None) for _ in range(5)]
    store = await _started(path, SPARSE)
    try:
        async with store.transaction() as session:
            await session.insert_many("people", [*left, *staying])
        db = sqlite3.connect(path)
        try:
            # A partial index's b-tree holds only its rows: count them straight off it.
            indexed = db.execute(
                "SELECT count(*) FROM c_people INDEXED BY people_ix_left_at "
                "WHERE tenant = ? AND json_extract(doc, '$.left_at') IS NOT NULL",
                (stored_tenant(db, "t"),),
            ).fetchone()[0]
        finally:
            db.close()
        assert indexed == 3
        assert " WHERE " in _schema(path)["people_ix_left_at"]
        async with store.reader() as session:
            by_value = await session.find(
                "people", tenant="t", where=(Eq("left_at", "2026-01-02"),)
            )
            by_values = await session.find(
                "people", tenant="t", where=(In("left_at", ("2026-01-01", "2026-01-03")),)
            )
            by_range = await session.find(
                "people", tenant="t", where=(Range("left_at", gt="2026-01-01"),)
            )
            without = await session.find("people", tenant="t", where=(Eq("left_at", None),))
        assert [d["id"] for d in by_value] == [left[1]["id"]]
        assert {d["id"] for d in by_values} == {left[0]["id"], left[2]["id"]}
        assert {d["id"] for d in by_range} == {left[1]["id"], left[2]["id"]}
        assert {d["id"] for d in without} == {d["id"] for d in staying}
    finally:
        await store.close()


async def test_an_old_full_index_becomes_sparse_once_and_stays_so(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    await written(path, FULL, [_person("2026-01-01"), _person(None)])
    assert " WHERE " not in _schema(path)["people_ix_left_at"]
    for _ in range(2):  # idempotent: a second start changes nothing
        store = await _started(path, SPARSE)
        async with store.reader() as session:
            found = await session.find("people", tenant="t", where=(Eq("left_at", "2026-01-01"),))
        await store.close()
        assert len(found) == 1
        assert " WHERE " in _schema(path)["people_ix_left_at"]


def _filled_markers(path: Path) -> set[str]:
    db = sqlite3.connect(path)
    try:
        return {str(row[0]) for row in db.execute("SELECT name FROM _filled_entries")}
    finally:
        db.close()


async def test_a_retired_multi_value_index_loses_its_entries_and_marker(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    doc = _person(None, ["vip", "beta"])
    store = await _started(path, FULL)
    async with store.transaction() as session:
        await session.insert("people", doc)
    await store.close()
    assert _side_entries(path, "tags") == 2
    assert any(name.startswith("mv_people__tags_array") for name in _filled_markers(path))
    for _ in range(2):
        store = await _started(path, RETIRING)
        async with store.transaction() as session:
            # An update must not bring entries back (no trigger left to write them).
            assert await session.replace("people", {**doc, "tags": ["gold"]})
        async with store.reader() as session:
            # Still answered, by reading the documents: the port's behaviour is unchanged.
            found = await session.find("people", tenant="t", where=(Contains("tags", "gold"),))
        await store.close()
        assert [d["id"] for d in found] == [doc["id"]]
        assert _side_entries(path, "tags") == 0
        assert not any(name.startswith("mv_people__tags_array") for name in _filled_markers(path))
        assert not any(name.startswith("mv_people__tags_array") for name in _schema(path))


async def test_a_retired_index_still_declared_by_another_spec_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    specs = (*RETIRING, CollectionSpec("people", indexes=(Index(("owner",)),)))
    store = await _started(path, specs)
    await store.close()
    assert "people_ix_owner" in _schema(path)
    store = await _started(path, RETIRING)
    await store.close()
    assert "people_ix_owner" not in _schema(path)


def _schema_version(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("PRAGMA schema_version").fetchone()[0])
    finally:
        db.close()


async def test_a_sort_only_index_loses_its_trailing_id_once_and_still_sorts(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with_id = (CollectionSpec("people", indexes=(Index(("joined",)),)),)
    sort_only = (CollectionSpec("people", indexes=(Index(("joined",), sort_only=True),)),)
    people = [
        {"id": new_id(), "tenant": "t", "joined": joined} for joined in ("b", "a", "b", "c", "a")
    ]
    await written(path, with_id, people)
    assert _schema(path)["people_ix_joined"].endswith(", id)")

    versions = []
    for _ in range(2):  # rebuilt at the first start; the second changes no schema at all
        store = await _started(path, sort_only)
        async with store.reader() as session:
            pages = []
            after = None
            while page := await session.find(
                "people", tenant="t", order_by="joined", descending=True, limit=2, after=after
            ):
                pages.extend(page)
                after = Cursor(value=page[-1]["joined"], id=page[-1]["id"])
            ranged = await session.find(
                "people", tenant="t", where=[Range("joined", gte="b")], order_by="joined"
            )
        await store.close()
        versions.append(_schema_version(path))
        expected = sorted(people, key=lambda p: (p["joined"], p["id"]), reverse=True)
        assert [p["id"] for p in pages] == [p["id"] for p in expected]
        assert [p["id"] for p in ranged] == [p["id"] for p in reversed(expected[:3])]
        assert not _schema(path)["people_ix_joined"].endswith(", id)")
    assert versions[0] == versions[1]
