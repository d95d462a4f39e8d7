"""SQLite deletes take a document's side-table entries and text postings with it, from Python.

After any mix of inserts, replaces and deletes, the entries and postings a store holds must be
exactly those of a fresh store holding the surviving documents (sqlite_entry_tables.py). Stores
laid out by older code kept them on deletes with AFTER DELETE triggers: started by this code,
they lose the triggers once and keep their entries, marked filled instead (sqlite_filled.py).
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from crm_shared.storage import CollectionSpec, Contains, DuplicateKeyError, Eq, In, TextMatch
from crm_shared.storage.sqlite import SqliteStore
from tests.shared.storage.sqlite_entry_tables import (
    ENTRY_NAMES,
    OLDER_ENTRY_NAMES,
    SPECS,
    T,
    changed,
    entries,
    filled_markers,
    fresh_entries,
    holding,
    person,
    postings,
    started,
    stored_documents,
    triggers,
)


async def _written(
    path: Path, docs: list[dict[str, Any]], specs: tuple[CollectionSpec, ...] = SPECS
) -> None:
    """`docs` written to a store on `path` that is closed again, as by a process that ended."""
    async with holding(path, docs, specs):
        pass


async def test_entries_after_inserts_replaces_and_deletes_are_those_of_the_survivors(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    # One id is not a UUID (h's): entries naming it by id hold its text, not 16 bytes.
    docs = [person(n, id="legacy-7" if n == 7 else None) for n in range(16)]
    a, b, c, d, e, f, g, h, i, j, k, l_, m, n_, o, last = docs
    async with holding(path, docs) as store:
        async with store.transaction() as session:
            assert await session.delete("people", tenant=T, id=a["id"])
            assert (
                await session.delete_where("people", tenant=T, where=[In("id", (b["id"], h["id"]))])
                == 2
            )
            # By a unique index (the statement names it), and by a side-table value a replace
            # of this same transaction wrote.
            assert (
                await session.delete_where("people", tenant=T, where=[Eq("handle", d["handle"])])
                == 1
            )
            assert await session.replace("people", changed(e, tags=["leaving"], search="leaving"))
            assert (
                await session.delete_where("people", tenant=T, where=[Contains("tags", "leaving")])
                == 1
            )
            # Inserted and deleted in one transaction.
            passing = person(100)
            await session.insert("people", passing)
            assert await session.delete("people", tenant=T, id=passing["id"])
            # The last row's key is taken again by the next insert: its entries are its own.
            assert await session.delete("people", tenant=T, id=last["id"])
            successor = person(101)
            await session.insert("people", successor)
        async with store.transaction() as session:
            assert await session.delete("people", tenant=T, id=c["id"])
            assert await session.replace("people", changed(f, tags=["stays"], search="stays"))

    store = await started(path)  # a new process: no key code known yet
    try:
        async with store.transaction() as session:
            assert await session.delete("people", tenant=T, id=g["id"])
            assert (
                await session.delete_where(
                    "people", tenant=T, where=[In("id", (i["id"], j["id"], k["id"]))]
                )
                == 3
            )
        survivors = await stored_documents(store)
        async with store.reader() as session:
            by_email = await session.find(
                "people", tenant=T, where=[Contains("emails", "p0@example.com")]
            )
            by_text = await session.find(
                "people", tenant=T, where=[TextMatch("search", "number 15")]
            )
            by_new = await session.find(
                "people", tenant=T, where=[TextMatch("search", "number 101")]
            )
    finally:
        await store.close()
    assert sorted(doc["id"] for doc in survivors) == sorted(
        doc["id"] for doc in (f, l_, m, n_, o, successor)
    )
    assert by_email == [] and by_text == []
    assert [doc["id"] for doc in by_new] == [successor["id"]]
    held = entries(path), postings(path)
    assert held == await fresh_entries(tmp_path / "fresh.db", survivors)
    assert held[0] and held[1]  # the survivors still have entries to compare


async def test_a_delete_of_a_missing_document_changes_no_entry(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    docs = [person(n) for n in range(3)]
    async with holding(path, docs) as store:
        before = entries(path), postings(path)
        async with store.transaction() as session:
            assert not await session.delete("people", tenant=T, id=person(9)["id"])
            # Another tenant's id is missing for this one.
            assert not await session.delete("people", tenant="other", id=docs[0]["id"])
            assert await session.delete_where("people", tenant=T, where=[Eq("handle", "none")]) == 0
            assert (
                await session.delete_where(
                    "people", tenant="other", where=[In("id", (docs[1]["id"],))]
                )
                == 0
            )
        assert len(await stored_documents(store)) == 3
    assert (entries(path), postings(path)) == before


async def test_deletes_in_a_refused_transaction_leave_documents_entries_and_postings(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    docs = [person(n) for n in range(4)]
    async with holding(path, docs) as store:
        before = entries(path), postings(path)
        # A bulk import's shape: the contacts deleted, then inserted again, one of them refused.
        with pytest.raises(DuplicateKeyError):
            async with store.transaction() as session:
                ids = (docs[0]["id"], docs[1]["id"])
                assert await session.delete_where("people", tenant=T, where=[In("id", ids)]) == 2
                assert await session.delete("people", tenant=T, id=docs[2]["id"])
                await session.insert("people", {**person(5), "handle": docs[3]["handle"]})
        after = await stored_documents(store)
    assert sorted(doc["id"] for doc in after) == sorted(doc["id"] for doc in docs)
    assert (entries(path), postings(path)) == before


async def test_deletes_before_a_refused_write_the_transaction_survives_keep_entries_exact(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    docs = [person(n) for n in range(4)]
    async with holding(path, docs) as store:
        async with store.transaction() as session:
            assert await session.delete("people", tenant=T, id=docs[0]["id"])
            with pytest.raises(DuplicateKeyError):
                await session.insert("people", {**person(5), "handle": docs[3]["handle"]})
            assert (
                await session.delete_where("people", tenant=T, where=[In("id", (docs[1]["id"],))])
                == 1
            )
        survivors = await stored_documents(store)
    assert len(survivors) == 2
    assert (entries(path), postings(path)) == await fresh_entries(tmp_path / "fresh.db", survivors)


async def test_a_refused_batch_insert_leaves_the_rows_before_it_with_their_entries(
    tmp_path: Path,
) -> None:
    # As MongoDB's ordered insert: the rows before the refused one stay until the caller rolls
    # back; a caller that goes on and commits must not keep rows without their entries.
    path = tmp_path / "store.db"
    docs = [person(n) for n in range(4)]
    async with holding(path, docs) as store:
        refused = {**person(6), "handle": docs[3]["handle"]}
        async with store.transaction() as session:
            with pytest.raises(DuplicateKeyError):
                await session.insert_many("people", [person(4), person(5), refused, person(7)])
        survivors = await stored_documents(store)
    assert len(survivors) == 6
    assert (entries(path), postings(path)) == await fresh_entries(tmp_path / "fresh.db", survivors)


def _lay_out_as_older_code(path: Path) -> None:
    """Give a store the layout older code left: no markers, a delete trigger per index (and an
    update trigger for two), and one entry and one posting that a refill would not give back.

    The triggers' bodies add a stale entry or posting: left in place, the next write shows it.
    """
    db = sqlite3.connect(path)
    try:
        db.execute("DROP TABLE _filled_entries")
        for name in OLDER_ENTRY_NAMES:
            if name.startswith("mv_"):
                body = "INSERT OR IGNORE INTO mv_people VALUES (999999, 'stale', OLD.id);"
            else:
                body = "INSERT INTO ft_people (rowid, t) VALUES (OLD.n, 'zzzstale');"
            db.execute(f"CREATE TRIGGER {name}_del AFTER DELETE ON c_people BEGIN {body} END")
        db.executescript(
            "CREATE TRIGGER mv_people__tags_array_v3_upd AFTER UPDATE OF doc ON c_people "
            "BEGIN INSERT OR IGNORE INTO mv_people VALUES (999999, 'stale', NEW.id); END;"
            "CREATE TRIGGER ft_people_upd AFTER UPDATE OF doc ON c_people "
            "BEGIN INSERT INTO ft_people (rowid, t) VALUES (NEW.n, 'zzzstale'); END;"
        )
        _sentinels(db, "INSERT INTO mv_people VALUES (?, 'sentinel', ?)", "")
        db.commit()
    finally:
        db.close()


def _sentinels(db: sqlite3.Connection, side: str, command: str) -> None:
    """Add (or take out) the sentinel entry and posting of the first document."""
    n, stored_id = db.execute("SELECT n, id FROM c_people ORDER BY n LIMIT 1").fetchone()
    code = db.execute("SELECT code FROM mvk_people WHERE tenant = ? AND path = 'tags'", (T,))
    db.execute(side, (code.fetchone()[0], stored_id))
    columns = "ft_people, rowid, t" if command else "rowid, t"
    values = f"'{command}', ?, ?" if command else "?, ?"
    db.execute(f"INSERT INTO ft_people ({columns}) VALUES ({values})", (n, "qqqsentinel"))


def _has_sentinels(path: Path) -> tuple[bool, bool]:
    db = sqlite3.connect(path)
    try:
        entry = db.execute("SELECT 1 FROM mv_people WHERE e_value = 'sentinel'").fetchone()
        posting = db.execute("SELECT 1 FROM ft_people WHERE ft_people MATCH 'qqq'").fetchone()
    finally:
        db.close()
    return entry is not None, posting is not None


def _take_out_sentinels(path: Path) -> None:
    db = sqlite3.connect(path)
    try:
        _sentinels(
            db,
            "DELETE FROM mv_people WHERE e_key = ? AND e_value = 'sentinel' AND e_ref = ?",
            "delete",
        )
        db.commit()
    finally:
        db.close()


def _schema_version(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("PRAGMA schema_version").fetchone()[0])
    finally:
        db.close()


async def _start_together(path: Path, count: int = 2) -> None:
    """Start `count` stores on one file at once, as processes starting together do."""
    stores = [SqliteStore(path) for _ in range(count)]
    try:
        await asyncio.gather(*(store.start(SPECS) for store in stores))
    finally:
        for store in stores:
            await store.close()


async def test_a_store_with_older_codes_triggers_loses_them_once_and_keeps_its_entries(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    docs = [person(n) for n in range(5)]
    await _written(path, docs)
    _lay_out_as_older_code(path)

    await _start_together(path)
    # The triggers went, the markers came, and nothing was filled again (the sentinels stay).
    assert triggers(path) == set()
    assert filled_markers(path) == set(ENTRY_NAMES)
    assert _has_sentinels(path) == (True, True)
    version = _schema_version(path)
    await _start_together(path)  # the next start finds nothing left to do
    assert _schema_version(path) == version
    assert _has_sentinels(path) == (True, True)
    _take_out_sentinels(path)

    store = await started(path)
    try:
        async with store.transaction() as session:
            assert await session.delete("people", tenant=T, id=docs[0]["id"])
            assert (
                await session.delete_where("people", tenant=T, where=[In("id", (docs[1]["id"],))])
                == 1
            )
            assert await session.replace("people", changed(docs[2], tags=["moved"]))
        survivors = await stored_documents(store)
    finally:
        await store.close()
    held = entries(path), postings(path)
    assert not any(entry[2] == "stale" for entry in held[0])
    assert not any(term == "zzz" for term, _ in held[1])
    assert held == await fresh_entries(tmp_path / "fresh.db", survivors)


async def test_indexes_declared_on_stored_documents_are_filled_once_by_stores_starting_together(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    docs = [person(n) for n in range(6)]
    await _written(path, docs, (CollectionSpec("people", empties=SPECS[0].empties),))

    await _start_together(path, count=3)
    assert filled_markers(path) == set(ENTRY_NAMES)
    assert triggers(path) == set()
    held = entries(path), postings(path)
    store = await started(path)
    try:
        survivors = await stored_documents(store)
    finally:
        await store.close()
    assert held == await fresh_entries(tmp_path / "fresh.db", survivors)
    assert len(held[0]) > len(docs)


async def test_older_codes_triggers_dropped_by_the_rewrite_to_short_keys_keep_their_entries(
    tmp_path: Path,
) -> None:
    # Written with plain field names: the next start rewrites the documents with codes first,
    # dropping the table's triggers, whose entries still hold (no value changes).
    path = tmp_path / "store.db"
    plain_names = (CollectionSpec("people", indexes=SPECS[0].indexes),)
    docs = [person(n) for n in range(4)]
    await _written(path, docs, plain_names)
    _lay_out_as_older_code(path)

    store = await started(path)
    try:
        async with store.reader() as session:
            found = await session.find("people", tenant=T, where=[Contains("tags", "member")])
    finally:
        await store.close()
    assert len(found) == len(docs)
    assert triggers(path) == set()
    assert filled_markers(path) == set(ENTRY_NAMES)
    assert _has_sentinels(path) == (True, True)  # kept, not filled again
    _take_out_sentinels(path)
    assert (entries(path), postings(path)) == await fresh_entries(tmp_path / "fresh.db", docs)
