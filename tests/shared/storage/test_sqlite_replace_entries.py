"""SQLite replaces keep the side table and the text index from Python, as inserts do.

The entries a store holds after any sequence of replaces must be exactly the ones a fresh insert
of the final documents gives: compared table against table, with a second store built by insert.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from crm_shared.ids import new_id
from crm_shared.storage import (
    CollectionSpec,
    Contains,
    DuplicateKeyError,
    Empty,
    Eq,
    Index,
    TextMatch,
)
from crm_shared.storage.sqlite import SqliteStore
from crm_shared.storage.sqlite_ids import read_id

T = "acme"
SPECS = (
    CollectionSpec(
        "people",
        indexes=(
            Index(("tags",), multi_value="array"),
            # Entries naming documents by row key, not id.
            Index(("emails",), multi_value="array", lookup_only=True),
            Index(("phones",), multi_value="array"),
            Index(("custom",), multi_value="object"),
            Index(("search",), text=True),
            Index(("handle",), unique=True),
        ),
        # Declared fields are stored under short codes: every path goes through the key map.
        empties=(
            Empty("tags", "list"),
            Empty("emails", "list"),
            Empty("phones", "list"),
            Empty("custom", "map"),
            Empty("search"),
            Empty("note"),
        ),
    ),
)


def _person(n: int) -> dict[str, Any]:
    return {
        "id": new_id(),
        "tenant": T,
        "version": 1,
        "handle": f"h{n}",
        "tags": ["member", f"t{n % 3}"],
        "emails": [f"p{n}@example.com"],
        "phones": [f"+4400{n}"],
        "custom": {"plan": "pro" if n % 2 else "free", "seats": n, "labels": ["a", n]},
        "search": f"person number {n}",
        "note": None,
    }


def _changed(doc: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {**doc, **fields, "version": doc["version"] + 1}


def _entries(path: Path) -> list[tuple[Any, ...]]:
    """Side-table entries as (tenant, path, value, document id): keys and row keys resolved."""
    db = sqlite3.connect(path)
    try:
        rows = db.execute(
            "SELECT k.tenant, k.path, e.e_value, typeof(e.e_value), c.id FROM mv_people AS e "
            "JOIN mvk_people AS k ON k.code = e.e_key "
            "JOIN c_people AS c ON c.id = e.e_ref OR c.n = e.e_ref ORDER BY 1, 2, 3, 5"
        ).fetchall()
        count = db.execute("SELECT count(*) FROM mv_people").fetchone()[0]
    finally:
        db.close()
    assert count == len(rows)  # no entry names a document that is not there
    return [(*row[:-1], read_id(row[-1])) for row in rows]


def _postings(path: Path) -> list[tuple[str, str]]:
    """The text index's (trigram, document id) postings, as its vocabulary table reads them."""
    db = sqlite3.connect(path)
    try:
        db.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, ft_people, 'instance')")
        rows = db.execute(
            "SELECT v.term, c.id FROM temp.vocab AS v LEFT JOIN c_people AS c ON c.n = v.doc "
            "ORDER BY 1, 2"
        ).fetchall()
    finally:
        db.close()
    assert all(doc_id is not None for _, doc_id in rows)  # no posting of a row gone
    return [(*row[:-1], read_id(row[-1])) for row in rows]


async def _started(path: Path) -> SqliteStore:
    store = SqliteStore(path)
    await store.start(SPECS)
    return store


async def _final_documents(store: SqliteStore) -> list[dict[str, Any]]:
    async with store.reader() as session:
        return await session.find("people", tenant=T, limit=1000)


async def test_entries_after_replaces_are_those_a_fresh_insert_of_the_final_documents_gives(
    tmp_path: Path,
) -> None:
    docs = [_person(n) for n in range(12)]
    updated = await _started(tmp_path / "updated.db")
    try:
        async with updated.transaction() as session:
            await session.insert_many("people", docs)
        a, b, c, d, e, f, g, h, i, j, k, l_ = docs
        async with updated.transaction() as session:
            written = await session.replace_many(
                "people",
                [
                    _changed(a, emails=["new@example.com", a["emails"][0]]),
                    _changed(b, phones=[]),
                    _changed(c, tags=["member", "vip", "vip", True, 2.5, None, ["x"]]),
                    _changed(d, search="renamed person", note="nothing indexed"),
                    _changed(e, custom={"plan": "enterprise", "seats": [1, [2], None, "z"]}),
                    _changed(f, note="only this"),
                    _changed(g, tags="solo", custom=["not", "an", "object"], search=None),
                    _changed(h, emails=None, phones=None, tags=None, custom=None, search=""),
                    # Stale: stored at version 1, not 7: nothing of it is written.
                    {**_changed(i, tags=["stale"], search="stale text"), "version": 8},
                    # Named twice: the second replace sees what the first wrote.
                    _changed(j, tags=["between"], search="between text"),
                    _changed(_changed(j, tags=["between"]), tags=["last"], search="last text"),
                ],
                expected_versions=[1, 1, 1, 1, 1, 1, 1, 1, 7, 1, 2],
            )
            assert written == 10
            assert await session.replace("people", _changed(k, tags=["one"], search="one"))
            assert await session.replace(
                "people", _changed(l_, custom={}, search="other"), expected_version=1
            )
            assert not await session.replace(
                "people", _changed(l_, tags=["never"]), expected_version=1
            )
        async with updated.transaction() as session:  # changed back, in a later transaction
            back = {**e, "version": 3}
            assert await session.replace_many("people", [back], expected_versions=[2]) == 1
        final = await _final_documents(updated)
    finally:
        await updated.close()

    fresh = await _started(tmp_path / "fresh.db")
    try:
        async with fresh.transaction() as session:
            await session.insert_many("people", final)
    finally:
        await fresh.close()
    entries = _entries(tmp_path / "updated.db")
    assert entries == _entries(tmp_path / "fresh.db")
    assert _postings(tmp_path / "updated.db") == _postings(tmp_path / "fresh.db")
    assert (T, "tags", "last", "text", j["id"]) in entries
    assert not any(entry[2] in ("between", "stale", "never") for entry in entries)
    assert (T, "emails", "new@example.com", "text", a["id"]) in entries


async def test_queries_after_replaces_find_the_new_values_and_not_the_old(tmp_path: Path) -> None:
    docs = [_person(n) for n in range(3)]
    store = await _started(tmp_path / "store.db")
    try:
        async with store.transaction() as session:
            await session.insert_many("people", docs)
            await session.replace_many(
                "people",
                [_changed(docs[0], tags=["gold"], search="golden retriever")],
                expected_versions=[1],
            )
        async with store.reader() as session:
            gold = await session.find("people", tenant=T, where=[Contains("tags", "gold")])
            members = await session.find("people", tenant=T, where=[Contains("tags", "member")])
            golden = await session.find("people", tenant=T, where=[TextMatch("search", "golden")])
            old = await session.find("people", tenant=T, where=[TextMatch("search", "number")])
    finally:
        await store.close()
    assert [d["id"] for d in gold] == [docs[0]["id"]] == [d["id"] for d in golden]
    assert sorted(d["id"] for d in members) == sorted(d["id"] for d in docs[1:])
    assert sorted(d["id"] for d in old) == sorted(d["id"] for d in docs[1:])


async def _changes_of(store: SqliteStore, docs: list[dict[str, Any]]) -> int:
    """Rows SQLite changed (triggers' and the text index's included) replacing `docs`."""
    async with store.transaction() as session:
        conn = session._conn  # the adapter's writer: the test counts what it writes
        async with conn.execute("SELECT total_changes()") as cur:
            before = (await cur.fetchone() or (0,))[0]
        written = await session.replace_many(
            "people", docs, expected_versions=[d["version"] - 1 for d in docs]
        )
        async with conn.execute("SELECT total_changes()") as cur:
            after = (await cur.fetchone() or (0,))[0]
    assert written == len(docs)
    return int(after - before)


async def test_a_replace_changing_nothing_indexed_writes_no_entry_rows(tmp_path: Path) -> None:
    docs = [_person(n) for n in range(5)]
    store = await _started(tmp_path / "store.db")
    try:
        async with store.transaction() as session:
            await session.insert_many("people", docs)
        # The five documents' UPDATEs and nothing else.
        assert await _changes_of(store, [_changed(d, note="x") for d in docs]) == 5
        # One tag renamed: its old entry deleted and its new one inserted, the others kept.
        renamed = _changed(_changed(docs[0], note="x"), tags=["member", "renamed"])
        assert await _changes_of(store, [renamed]) == 1 + 2
    finally:
        await store.close()


async def test_a_refused_replace_leaves_no_document_or_entry_of_its_batch(tmp_path: Path) -> None:
    docs = [_person(n) for n in range(2)]
    store = await _started(tmp_path / "store.db")
    try:
        async with store.transaction() as session:
            await session.insert_many("people", docs)
        before = _entries(tmp_path / "store.db"), _postings(tmp_path / "store.db")
        async with store.transaction() as session:
            with pytest.raises(DuplicateKeyError):
                await session.replace_many(
                    "people",
                    [
                        _changed(docs[0], tags=["first"], search="first"),
                        _changed(docs[1], handle=docs[0]["handle"]),  # taken: refused
                    ],
                    expected_versions=[1, 1],
                )
            with pytest.raises(DuplicateKeyError):  # alone, without a savepoint
                await session.replace(
                    "people", _changed(docs[1], handle=docs[0]["handle"], tags=["alone"])
                )
            # The transaction goes on (and commits) without any of the batch.
            stored = await session.get("people", tenant=T, id=docs[0]["id"])
        assert stored is not None and stored["tags"] == docs[0]["tags"]
        assert (_entries(tmp_path / "store.db"), _postings(tmp_path / "store.db")) == before
    finally:
        await store.close()


def _add_update_triggers_as_before(path: Path) -> None:
    """Give a store the AFTER UPDATE triggers code before this change created.

    Their bodies add a marker entry and posting: left in place, the next replace would show it.
    """
    db = sqlite3.connect(path)
    try:
        db.executescript(
            "CREATE TRIGGER mv_people__tags_array_v3_upd AFTER UPDATE OF doc ON c_people "
            "BEGIN INSERT OR IGNORE INTO mv_people VALUES (999999, 'stale', NEW.id); END;"
            "CREATE TRIGGER ft_people_upd AFTER UPDATE OF doc ON c_people "
            "BEGIN INSERT INTO ft_people (rowid, t) VALUES (NEW.n, 'zzzstale'); END;"
        )
    finally:
        db.close()


def _triggers(path: Path) -> set[str]:
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
    finally:
        db.close()
    return {str(row[0]) for row in rows}


async def test_a_store_with_update_triggers_loses_them_once_at_start_and_keeps_its_entries(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    docs = [_person(n) for n in range(4)]
    store = await _started(path)
    try:
        async with store.transaction() as session:
            await session.insert_many("people", docs)
    finally:
        await store.close()
    _add_update_triggers_as_before(path)
    entries, postings = _entries(path), _postings(path)

    for _ in range(2):  # the second start finds nothing left to do
        store = await _started(path)
        await store.close()
        assert not any(name.endswith("_upd") for name in _triggers(path))
        assert "ft_people_del" in _triggers(path)
        assert (_entries(path), _postings(path)) == (entries, postings)

    store = await _started(path)
    try:
        async with store.transaction() as session:
            await session.replace_many(
                "people", [_changed(docs[0], tags=["moved"])], expected_versions=[1]
            )
        async with store.reader() as session:
            moved = await session.find("people", tenant=T, where=[Contains("tags", "moved")])
            by_email = await session.find(
                "people", tenant=T, where=[Contains("emails", docs[1]["emails"][0])]
            )
            by_plan = await session.find("people", tenant=T, where=[Eq("custom.plan", "pro")])
        async with store.transaction() as session:  # the delete trigger still forgets entries
            await session.delete("people", tenant=T, id=docs[0]["id"])
    finally:
        await store.close()
    assert [d["id"] for d in moved] == [docs[0]["id"]]
    assert [d["id"] for d in by_email] == [docs[1]["id"]]
    pro = [d["id"] for d in docs if d["custom"]["plan"] == "pro"]
    assert sorted(d["id"] for d in by_plan) == sorted(pro)
    assert not any(entry[2] in ("stale", "moved") for entry in _entries(path))
    assert not any(term == "zzz" or doc_id == docs[0]["id"] for term, doc_id in _postings(path))
