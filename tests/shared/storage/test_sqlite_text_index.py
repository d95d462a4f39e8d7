"""The SQLite adapter's FTS5 trigram index: it is used, kept in step, and built for old stores."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

import crm_shared.storage.sqlite as sqlite_adapter
from crm_shared.ids import new_id
from crm_shared.storage import CollectionSpec, Cursor, Index, TextMatch
from crm_shared.storage.sqlite import SqliteStore
from crm_shared.storage.sqlite_text import match_expression
from crm_shared.text import search_fold
from tests.polling import eventually

T = "acme"
OLD_SPECS = (CollectionSpec("people", indexes=(Index(("name",)),)),)
SPECS = (
    CollectionSpec("people", indexes=(Index(("name",)),)),
    CollectionSpec("people", indexes=(Index(("search",), text=True),)),
)


def person(text: str, **fields: Any) -> dict[str, Any]:
    return {"id": new_id(), "tenant": T, "search": search_fold(text), **fields}


def postings(path: Path, word: str) -> list[int]:
    """The rows the FTS5 table itself lists for a word (no check on the documents)."""
    with sqlite3.connect(path) as db:
        sql = "SELECT rowid FROM ft_people WHERE ft_people MATCH ?"
        return [row[0] for row in db.execute(sql, (match_expression([word]),))]


async def names(store: SqliteStore, query: str, **options: Any) -> list[str]:
    async with store.reader() as session:
        docs = await session.find(
            "people", tenant=T, where=[TextMatch("search", search_fold(query))], **options
        )
    return [d["name"] for d in docs]


async def test_a_store_made_before_the_text_index_is_migrated_once_at_start(
    tmp_path: Path,
) -> None:
    path = tmp_path / "people.db"
    old = SqliteStore(path)
    await old.start(OLD_SPECS)
    async with old.transaction() as session:
        await session.insert_many("people", [person("Søren Kierkegaard", name="soren")])
    await old.close()
    for _ in range(2):  # the second start finds everything in place and changes nothing
        store = SqliteStore(path)
        await store.start(SPECS)
        assert await names(store, "kierkegaard soren") == ["soren"]
        await store.close()
    assert len(postings(path, "kierkegaard")) == 1
    with sqlite3.connect(path) as db:
        ddl = db.execute("SELECT sql FROM sqlite_master WHERE name = 'c_people'").fetchone()[0]
    assert "n INTEGER PRIMARY KEY" in ddl and "WITHOUT ROWID" not in ddl


async def test_erased_text_leaves_the_index_and_new_text_enters_it(tmp_path: Path) -> None:
    path = tmp_path / "people.db"
    store = SqliteStore(path)
    await store.start(SPECS)
    ole = person("Ole Ødegaard", name="ole")
    async with store.transaction() as session:
        await session.insert("people", ole)
    assert len(postings(path, "odegaard")) == 1
    async with store.transaction() as session:
        await session.replace("people", {**ole, "search": ""})
    assert postings(path, "odegaard") == []
    async with store.transaction() as session:
        await session.replace("people", {**ole, "search": "ole hansen"})
        await session.delete_where("people", tenant=T, where=[TextMatch("search", "nobody")])
    assert len(postings(path, "hansen")) == 1
    async with store.transaction() as session:
        await session.delete("people", tenant=T, id=ole["id"])
    assert postings(path, "hansen") == []
    await store.close()


@pytest.mark.parametrize("lead_limit", [1, 2000], ids=["walks-the-order", "reads-the-index"])
async def test_common_and_rare_searches_page_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lead_limit: int
) -> None:
    """Whether the index leads (rare words) or each row is checked in order (common ones)."""
    monkeypatch.setattr(sqlite_adapter, "TEXT_LEAD_LIMIT", lead_limit)
    store = SqliteStore(tmp_path / "people.db")
    await store.start(SPECS)
    docs = [person(f"Ada Lovelace {i:03d}", name=f"ada{i:03d}") for i in range(30)]
    docs += [person(f"Grace Hopper {i:03d}", name=f"grace{i:03d}") for i in range(30)]
    async with store.transaction() as session:
        await session.insert_many("people", docs)
    first = await names(store, "lovelace ad", limit=10)
    assert first == [f"ada{i:03d}" for i in range(10)]
    after = Cursor(value=docs[9]["id"], id=docs[9]["id"])
    assert await names(store, "lovelace", limit=5, after=after) == [
        f"ada{i:03d}" for i in range(10, 15)
    ]
    by_name = await names(store, "hopper 02", order_by="name", descending=True, limit=3)
    assert by_name == ["grace029", "grace028", "grace027"]
    await store.close()


async def test_forgetting_deleted_rows_takes_an_erased_texts_trigrams_off_the_disk(
    tmp_path: Path,
) -> None:
    path = tmp_path / "people.db"
    store = SqliteStore(path)
    await store.start(SPECS)
    ole = person("Ole Ødegaard", name="ole")
    async with store.transaction() as session:
        await session.insert_many("people", [ole, person("Ada Lovelace", name="ada")])
        await session.replace("people", {**ole, "search": ""})

    def blocks_holding(trigram: str) -> int:
        with sqlite3.connect(path) as db:
            sql = "SELECT count(*) FROM ft_people_data WHERE instr(block, ?) > 0"
            return int(db.execute(sql, (trigram.encode(),)).fetchone()[0])

    assert blocks_holding("gaa") > 0  # deleted from the index, yet still in its segments
    store.forget_deleted()
    await eventually(lambda: blocks_holding("gaa"), lambda n: n == 0, what="trigrams forgotten")
    assert await names(store, "lovelace") == ["ada"]
    await store.close()


async def test_an_index_made_with_positions_is_rebuilt_without_them_once(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = SqliteStore(path)
    await store.start(SPECS)
    async with store.transaction() as session:
        await session.insert_many(
            "people", [person("Ødegaard", name="Ø"), person("Smith", name="S")]
        )
    await store.close()
    # As stores made before stop 9 had it: an index with positions, filled, with its triggers.
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE ft_people")
        db.execute(
            "CREATE VIRTUAL TABLE ft_people USING fts5(t, content='', "
            "tokenize='trigram case_sensitive 1')"
        )
        db.execute(
            "INSERT INTO ft_people (rowid, t) SELECT n, json_extract(doc, '$.search') FROM c_people"
        )
    for _ in range(2):  # the second start finds nothing to do
        store = SqliteStore(path)
        await store.start(SPECS)
        try:
            assert await names(store, "odegaard") == ["Ø"]
            async with store.transaction() as session:
                await session.insert("people", person("Smithers", name="S2"))
            assert sorted(await names(store, "smith")) == ["S", "S2"]
            async with store.transaction() as session:
                await session.delete_where(
                    "people", tenant=T, where=[TextMatch("search", "smithers")]
                )
        finally:
            await store.close()
        with sqlite3.connect(path) as db:
            sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'ft_people'").fetchone()[0]
        assert "detail=none, columnsize=0" in sql
        assert postings(path, "smithers") == []
