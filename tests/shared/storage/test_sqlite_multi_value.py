"""SQLite's multi-value indexes: filled from existing documents when declared later."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from crm_shared.ids import new_id
from crm_shared.storage import CollectionSpec, Contains, Cursor, Eq, Index
from crm_shared.storage.sqlite import SqliteStore
from crm_shared.storage.sqlite_ids import read_id

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
        # Entries as (tenant, path, value, id): keys and row keys resolved.
        sql = (
            "SELECT k.tenant, k.path, e.e_value, c.id FROM mv_contacts AS e "
            "JOIN mvk_contacts AS k ON k.code = e.e_key "
            "JOIN c_contacts AS c ON c.id = e.e_ref OR c.n = e.e_ref "
            "ORDER BY 1, 2, 3, 4"
        )
        async with conn.execute(sql) as cur:
            return [(*row[:3], read_id(row[3])) for row in await cur.fetchall()]


async def test_entries_written_on_insert_are_the_ones_sql_derives_and_deletes(
    tmp_path: Path,
) -> None:
    # Inserts and replaces add entries from Python; backfill and the delete trigger derive them
    # from the stored JSON. Both must agree, or deleted documents would leave entries behind.
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


def _lay_out_as_stop_9(path: Path, docs: list[dict[str, object]]) -> None:
    """Give a store the side table stop 9 wrote: (tenant, path, value, id) and its triggers."""
    db = sqlite3.connect(path)
    try:
        db.execute(
            "CREATE TABLE mv_contacts (e_tenant TEXT NOT NULL, e_path TEXT NOT NULL, e_value, "
            "e_id TEXT NOT NULL, PRIMARY KEY (e_tenant, e_path, e_value, e_id)) WITHOUT ROWID"
        )
        db.executemany(
            "INSERT INTO mv_contacts VALUES (?, 'tags', ?, ?)",
            [(d["tenant"], tag, d["id"]) for d in docs for tag in d["tags"]],  # type: ignore[attr-defined]
        )
        for op in ("del", "upd"):
            db.execute(
                f"CREATE TRIGGER mv_contacts__tags_array_v2_{op} AFTER DELETE ON c_contacts "
                "BEGIN SELECT 1; END"
            )
        db.commit()
    finally:
        db.close()


async def test_a_side_table_laid_out_by_stop_9_is_migrated_once_at_start(tmp_path: Path) -> None:
    # Stop 9's entries named documents by id and paths in full; they are derived again, keyed
    # by (tenant, path) code and row key, and its triggers leave with its table.
    path = tmp_path / "store.db"
    docs = [{"id": new_id(), "tenant": "t", "tags": ["vip", "beta"]} for _ in range(3)]
    store = SqliteStore(path)
    await store.start((CollectionSpec("contacts", indexes=(Index(("attrs",)),)),))
    async with store.transaction() as session:
        await session.insert_many("contacts", docs)
    await store.close()
    _lay_out_as_stop_9(path, docs)

    for _ in range(2):  # the second start finds the new layout and changes nothing
        store = SqliteStore(path)
        await store.start(INDEXED)
        try:
            rows = await _side_rows(store)
            async with store.reader() as session:
                found = await session.find("contacts", tenant="t", where=[Contains("tags", "vip")])
        finally:
            await store.close()
        assert sorted(rows) == sorted(
            ("t", "tags", tag, d["id"]) for d in docs for tag in d["tags"]
        )
        assert sorted(d["id"] for d in found) == sorted(d["id"] for d in docs)
    db = sqlite3.connect(path)
    try:
        triggers = {
            row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        }
        columns = {row[1] for row in db.execute("PRAGMA table_info(mv_contacts)")}
        filled = {row[0] for row in db.execute("SELECT name FROM _filled_entries")}
    finally:
        db.close()
    # Every write keeps the entries from Python: no trigger, the entries marked filled.
    assert not triggers
    assert "mv_contacts__tags_array_v3" in filled
    assert columns == {"e_key", "e_value", "e_ref"}


@pytest.mark.parametrize("lookup_only", [False, True])
async def test_a_page_in_id_order_of_a_common_value_is_in_id_order(
    tmp_path: Path, lookup_only: bool
) -> None:
    # A lookup-only index's entries name documents by row key, which follows insertion, not id:
    # a page of a value held by many documents must still come in id order, and the next page
    # continue it, as it does off an index whose entries are in id order.
    tags = Index(("tags",), multi_value="array", lookup_only=lookup_only)
    store = SqliteStore(tmp_path / "store.db")
    await store.start((CollectionSpec("contacts", indexes=(tags,)),))
    ids = [new_id() for _ in range(700)]
    try:
        async with store.transaction() as session:
            # Inserted in reverse id order, so row keys run against ids.
            await session.insert_many(
                "contacts", [{"id": i, "tenant": "t", "tags": ["vip"]} for i in reversed(ids)]
            )
        seen: list[str] = []
        async with store.reader() as session:
            after = None
            while True:
                page = await session.find(
                    "contacts", tenant="t", where=[Contains("tags", "vip")], limit=300, after=after
                )
                if not page:
                    break
                seen.extend(d["id"] for d in page)
                after = Cursor(value=page[-1]["id"], id=page[-1]["id"])
    finally:
        await store.close()
    assert seen == sorted(ids)
