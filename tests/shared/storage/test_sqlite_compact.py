"""SQLite leaves id, tenant and declared empty fields out of the stored JSON; older rows read the
same."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson

from crm_shared.ids import new_id
from crm_shared.storage import CollectionSpec, Contains, Empty, Eq, Index
from crm_shared.storage.sqlite import SqliteStore
from crm_shared.storage.sqlite_ids import read_id, stored_id

SPECS = (
    CollectionSpec(
        "people",
        indexes=(
            Index(("owner",)),
            Index(("labels",), multi_value="array"),
            Index(("search",), text=True),
        ),
        empties=(Empty("owner"), Empty("labels", "list"), Empty("links", "map")),
    ),
)
EMPTY = {"owner": None, "labels": [], "links": {}}


def _stored_json(path: Path) -> dict[str, dict[str, Any]]:
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT id, doc FROM c_people")
        return {read_id(row[0]): orjson.loads(row[1]) for row in rows}
    finally:
        db.close()


async def test_empty_declared_fields_are_not_written(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    empty = {"id": new_id(), "tenant": "t", "name": "Ada", **EMPTY}
    filled = {"id": new_id(), "tenant": "t", "name": "Grace", "owner": "u1", "labels": ["vip"]}
    filled["links"] = {"web": "x.io"}
    store = SqliteStore(path)
    await store.start(SPECS)
    try:
        async with store.transaction() as session:
            await session.insert_many("people", [empty, filled])
        stored = _stored_json(path)
        # The id and tenant are the row's columns: not written again in its JSON.
        assert stored[empty["id"]] == {"name": "Ada"}
        # Declared fields are written under their short codes, in declared order (sqlite_keys.py).
        coded = {"name": "Grace", "0": "u1", "1": ["vip"], "2": {"web": "x.io"}}
        assert stored[filled["id"]] == coded
        async with store.reader() as session:
            assert await session.get("people", tenant="t", id=empty["id"]) == empty
            assert await session.find("people", tenant="t", where=[Eq("name", "Grace")]) == [filled]
            narrow = await session.find("people", tenant="t", fields=("id", "tenant", "name"))
        assert sorted(d["name"] for d in narrow) == ["Ada", "Grace"]
        assert {(d["id"], d["tenant"]) for d in narrow} == {(empty["id"], "t"), (filled["id"], "t")}
        emptied = filled | EMPTY
        async with store.transaction() as session:
            assert await session.replace("people", emptied)
        assert _stored_json(path)[filled["id"]] == {"name": "Grace"}
    finally:
        await store.close()


async def test_rows_written_with_their_empty_values_read_and_query_the_same(
    tmp_path: Path,
) -> None:
    """A store written before id, tenant and empties were left out: no migration, same answers."""
    path = tmp_path / "store.db"
    old = [
        {"id": new_id(), "tenant": "t", "name": "Ada", "search": "ada", **EMPTY},
        {"id": new_id(), "tenant": "t", "name": "Bob", "search": "bob", **EMPTY, "owner": "u1"},
    ]
    before = SqliteStore(path)
    await before.start(tuple(CollectionSpec(s.name, s.indexes) for s in SPECS))
    async with before.transaction() as session:
        await session.insert_many("people", old)
    await before.close()
    db = sqlite3.connect(path)
    try:  # as older code wrote them: id and tenant in the JSON too
        db.executemany(
            "UPDATE c_people SET doc = ? WHERE id = ?",
            [(orjson.dumps(doc).decode(), stored_id(doc["id"])) for doc in old],
        )
        db.commit()
    finally:
        db.close()
    assert _stored_json(path)[old[0]["id"]] == old[0]  # the empty values are in the JSON

    store = SqliteStore(path)
    await store.start(SPECS)
    try:
        async with store.reader() as session:
            assert await session.find("people", tenant="t") == old
            nobody = await session.find("people", tenant="t", where=[Eq("owner", None)])
            labelled = await session.find("people", tenant="t", where=[Contains("labels", "x")])
            narrow = await session.find("people", tenant="t", fields=("labels", "links"))
        assert [d["id"] for d in nobody] == [old[0]["id"]] and labelled == []
        assert [(d["labels"], d["links"]) for d in narrow] == [([], {}), ([], {})]
        async with store.transaction() as session:  # its next write compacts the row
            assert await session.replace("people", old[0] | {"name": "Ada L."})
        assert _stored_json(path)[old[0]["id"]] == {"name": "Ada L.", "search": "ada"}
    finally:
        await store.close()


async def test_a_read_document_lists_absent_empties_after_its_fields_in_declared_order(
    tmp_path: Path,
) -> None:
    # Documents are serialised as read (events, exports): field order must not move.
    store = SqliteStore(tmp_path / "store.db")
    await store.start(SPECS)
    person = {"id": new_id(), "tenant": "t", "name": "Ada", "labels": ["vip"]}
    try:
        async with store.transaction() as session:
            await session.insert("people", person)
        async with store.reader() as session:
            first = await session.get("people", tenant="t", id=person["id"])
            second = await session.get("people", tenant="t", id=person["id"])
    finally:
        await store.close()
    assert first is not None and second is not None
    assert list(first) == ["id", "name", "labels", "tenant", "owner", "links"]
    first["links"]["web"] = "x.io"  # each read gets its own empty map
    assert second["links"] == {}
