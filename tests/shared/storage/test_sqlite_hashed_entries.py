"""SQLite's lookup-only indexes hold their text values hashed: look-ups still answer exactly.

A hash names candidates, not matches: every query that reads a lookup-only index's entries checks
its values again on the documents. With a one-bit hash every value collides with half the others,
so any path that trusted the entries alone would return documents that do not match.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crm_shared.storage import Contains, ContainsAny, sqlite_multi
from crm_shared.storage.sqlite import SqliteStore
from tests.shared.storage.sqlite_entry_tables import (
    SPECS,
    T,
    entries,
    filled_markers,
    fresh_entries,
    person,
    started,
    stored_documents,
)


def _emails_entry_values(path: Path) -> list[tuple[Any, str]]:
    """The emails index's entries as (value, SQL type)."""
    db = sqlite3.connect(path)
    try:
        return db.execute(
            "SELECT e.e_value, typeof(e.e_value) FROM mv_people AS e JOIN mvk_people AS k "
            "ON k.code = e.e_key WHERE k.path = 'emails'"
        ).fetchall()
    finally:
        db.close()


async def _ids(store: SqliteStore, **query: Any) -> list[str]:
    async with store.reader() as session:
        return [doc["id"] for doc in await session.find("people", tenant=T, **query)]


async def test_lookups_on_a_hashed_index_return_only_matches_when_hashes_collide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_multi, "_HASH_SHIFT", 63)  # one bit: 0 or 1 for every value
    path = tmp_path / "store.db"
    docs = [person(n) for n in range(8)]
    store = await started(path)
    try:
        async with store.transaction() as session:
            await session.insert_many("people", docs)
        held = _emails_entry_values(path)
        assert {kind for _, kind in held} == {"integer"}
        assert len({value for value, _ in held}) <= 2 < len(held)  # they collide
        one, two = docs[3]["emails"][0], docs[6]["emails"][0]
        assert await _ids(store, where=[Contains("emails", one)]) == [docs[3]["id"]]
        assert await _ids(store, where=[ContainsAny("emails", (one, two))]) == [
            docs[3]["id"],
            docs[6]["id"],
        ]
        # Led by the hashed entries, with a condition tested on other entries and on documents.
        assert await _ids(store, where=[Contains("emails", one), Contains("tags", "member")]) == [
            docs[3]["id"]
        ]
        assert await _ids(store, where=[Contains("tags", "t0"), Contains("emails", two)]) == [
            docs[6]["id"]
        ]
        assert await _ids(store, where=[Contains("emails", "nobody@example.com")]) == []
        assert await _ids(store, where=[ContainsAny("emails", (one,))], order_by="handle") == [
            docs[3]["id"]
        ]
        async with store.reader() as session:
            assert await session.count("people", tenant=T, where=[Contains("emails", one)]) == 1
        async with store.transaction() as session:
            assert await session.delete("people", tenant=T, id=docs[3]["id"])
            assert await session.replace(
                "people", {**docs[6], "emails": [one], "version": docs[6]["version"] + 1}
            )
        assert await _ids(store, where=[Contains("emails", one)]) == [docs[6]["id"]]
        assert await _ids(store, where=[Contains("emails", two)]) == []
        survivors = await stored_documents(store)
    finally:
        await store.close()
    assert entries(path) == (await fresh_entries(tmp_path / "fresh.db", survivors))[0]


def _lay_out_with_text_entries(path: Path) -> None:
    """Give a store the layout code before hashing left: the emails index's entries hold the
    text values, marked filled under their earlier name."""
    _lay_out_emails_entries(path, lambda text: text, "mv_people__emails_array_v3_n")


def _lay_out_emails_entries(path: Path, value: Callable[[str], Any], marker: str) -> None:
    """Fill the emails index's entries with `value` of each address, marked filled as `marker`
    (the layout older code wrote)."""
    db = sqlite3.connect(path)
    try:
        db.create_function("older_value", 1, value)
        code = db.execute("SELECT code FROM mvk_people WHERE path = 'emails'").fetchone()[0]
        db.execute("DELETE FROM mv_people WHERE e_key = ?", (code,))
        path_code = db.execute(
            "SELECT code FROM _doc_keys WHERE collection = 'people' AND name = 'emails'"
        ).fetchone()[0]
        db.execute(
            "INSERT INTO mv_people (e_key, e_value, e_ref) SELECT ?, older_value(e.atom), c.n "
            f"FROM c_people AS c, json_each(c.doc, '$.{path_code}') AS e",
            (code,),
        )
        db.execute(
            "UPDATE _filled_entries SET name = ? WHERE name = 'mv_people__emails_array_v3_nh32'",
            (marker,),
        )
        db.commit()
    finally:
        db.close()


async def _stored(path: Path, count: int) -> list[dict[str, Any]]:
    """A new store at `path` holding `count` people; the people."""
    docs = [person(n) for n in range(count)]
    store = await started(path)
    try:
        async with store.transaction() as session:
            await session.insert_many("people", docs)
    finally:
        await store.close()
    return docs


async def _started_together(path: Path) -> None:
    """Two stores starting on `path` at once, as processes do, then closed."""
    stores = [SqliteStore(path) for _ in range(2)]
    try:
        await asyncio.gather(*(s.start(SPECS) for s in stores))
    finally:
        for s in stores:
            await s.close()


async def _found_and_survivors(path: Path, email: str) -> tuple[list[str], list[dict[str, Any]]]:
    """The ids a look-up of `email` finds, and every stored document, once a store started."""
    store = await started(path)
    try:
        return await _ids(store, where=[Contains("emails", email)]), await stored_documents(store)
    finally:
        await store.close()


async def test_a_store_whose_lookup_entries_hold_text_is_refilled_with_hashes_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    docs = await _stored(path, 6)
    _lay_out_with_text_entries(path)
    assert {kind for _, kind in _emails_entry_values(path)} == {"text"}

    await _started_together(path)
    assert "mv_people__emails_array_v3_nh32" in filled_markers(path)
    assert "mv_people__emails_array_v3_n" not in filled_markers(path)
    found, survivors = await _found_and_survivors(path, docs[4]["emails"][0])
    assert found == [docs[4]["id"]]
    assert entries(path) == (await fresh_entries(tmp_path / "fresh.db", survivors))[0]


def _lay_out_with_wide_hashes(path: Path) -> None:
    """Give a store the layout of code that hashed lookup values to 47 bits (6 bytes each)."""
    _lay_out_emails_entries(path, _wide_hash, "mv_people__emails_array_v3_nh")


def _wide_hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest()) >> (64 - 47)


async def test_lookup_entries_are_held_in_four_bytes_and_wider_ones_are_refilled_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    docs = await _stored(path, 40)
    _lay_out_with_wide_hashes(path)
    assert max(abs(value) for value, _ in _emails_entry_values(path)) >= 2**31

    await _started_together(path)
    assert "mv_people__emails_array_v3_nh32" in filled_markers(path)
    assert "mv_people__emails_array_v3_nh" not in filled_markers(path)
    # What SQLite stores in four bytes: a signed 32-bit integer.
    assert all(-(2**31) <= value < 2**31 for value, _ in _emails_entry_values(path))
    found, survivors = await _found_and_survivors(path, docs[17]["emails"][0])
    assert found == [docs[17]["id"]]
    assert entries(path) == (await fresh_entries(tmp_path / "fresh.db", survivors))[0]
