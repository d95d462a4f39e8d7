"""SQLite's multi-value indexes: filled from existing documents when declared later."""

from __future__ import annotations

from pathlib import Path

from crm_shared.ids import new_id
from crm_shared.storage import CollectionSpec, Contains, Eq, Index
from crm_shared.storage.sqlite import SqliteStore

PLAIN = (CollectionSpec("contacts"),)
INDEXED = (
    CollectionSpec(
        "contacts",
        indexes=(Index(("tags",), multi_value="array"), Index(("attrs",), multi_value="object")),
    ),
)


async def test_a_multi_value_index_added_later_covers_documents_written_before(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    old = {"id": new_id(), "tenant": "t", "tags": ["vip"], "attrs": {"plan": "pro"}}
    store = SqliteStore(path)
    await store.start(PLAIN)
    async with store.transaction() as session:
        await session.insert("contacts", old)
    await store.close()

    for _ in range(2):  # the second start finds everything in place and creates nothing
        store = SqliteStore(path)
        await store.start(INDEXED)
        await store.close()
    store = SqliteStore(path)
    await store.start(INDEXED)
    try:
        async with store.reader() as session:
            found = await session.find("contacts", tenant="t", where=[Contains("tags", "vip")])
            by_plan = await session.find("contacts", tenant="t", where=[Eq("attrs.plan", "pro")])
    finally:
        await store.close()
    assert [d["id"] for d in found] == [old["id"]]
    assert [d["id"] for d in by_plan] == [old["id"]]


TRICKY = [
    {"tags": ["a", "a", True, 1, 2.5, None, ["x"], {"k": "v"}, "ü"], "attrs": {"n": 1e16}},
    {"tags": "solo", "attrs": {"b": False, "f": float("nan"), "l": [1, [2], None, "z"], "o": {}}},
    {"tags": {"k": "v"}, "attrs": ["not", "an", "object"]},
    {"tags": None, "attrs": None},
    {},
]


async def _side_rows(store: SqliteStore) -> list[tuple[object, ...]]:
    async with store.reader() as session:
        conn = session._conn  # the adapter's own connection: this test checks its side table
        async with conn.execute("SELECT * FROM mv_contacts ORDER BY 1, 2, 3, 4") as cur:
            return [tuple(row) for row in await cur.fetchall()]


async def test_entries_written_on_insert_are_the_ones_sql_derives_and_deletes(
    tmp_path: Path,
) -> None:
    # Inserts add entries from Python; backfill and the delete/update triggers derive them from
    # the stored JSON. Both must agree, or deleted documents would leave entries behind.
    docs = [{"id": new_id(), "tenant": "t", **fields} for fields in TRICKY]
    inserted = SqliteStore(tmp_path / "inserted.db")
    await inserted.start(INDEXED)
    backfilled = SqliteStore(tmp_path / "backfilled.db")
    await backfilled.start(PLAIN)
    try:
        for store in (inserted, backfilled):
            async with store.transaction() as session:
                await session.insert_many("contacts", docs)
        await backfilled.close()
        backfilled = SqliteStore(tmp_path / "backfilled.db")
        await backfilled.start(INDEXED)

        from_python = await _side_rows(inserted)
        assert from_python == await _side_rows(backfilled)
        assert ("t", "tags", "solo", docs[1]["id"]) in from_python
        async with inserted.transaction() as session:
            await session.replace("contacts", {**docs[0], "tags": ["b"], "attrs": {}})
            await session.delete_where("contacts", tenant="t", where=[Eq("id", docs[1]["id"])])
            await session.delete_where("contacts", tenant="t", where=[Eq("id", docs[2]["id"])])
        assert await _side_rows(inserted) == [("t", "tags", "b", docs[0]["id"])]
    finally:
        await inserted.close()
        await backfilled.close()
