"""SQLite keeps store-derived fields out of its stored JSON and derives them where SQL needs them.

A store written by older code holds them in its JSON, and its index entries were made from those
values: such rows read exactly as new rows do, and their entries after replaces and deletes are
exactly the ones a fresh store of the surviving documents holds.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from crm_shared.storage import (
    CollectionSpec,
    Contains,
    ContainsAny,
    Derived,
    Eq,
    Not,
    TextMatch,
    sqlite_multi,
)
from crm_shared.storage.sqlite import SqliteStore
from crm_shared.storage.sqlite_ids import read_id
from crm_shared.storage.sqlite_keys import stored_keys
from crm_shared.storage.sqlite_text import match_expression
from tests.shared.storage.derived_cards import (
    CARDS,
    CARDS_SPEC,
    EMPTIES,
    STORED_SPEC,
    as_stored_by_older_code,
    blurb,
    card,
    card_keys,
    labels_norm,
)

T = "acme"


async def _started(path: Path, spec: CollectionSpec = CARDS_SPEC) -> SqliteStore:
    store = SqliteStore(path)
    await store.start((spec,))
    return store


def _stored_docs(path: Path) -> dict[str, dict[str, Any]]:
    """The stored JSON of each card, by id, under its field names."""
    db = sqlite3.connect(path)
    try:
        keys = stored_keys(db, CARDS)
        rows = db.execute("SELECT id, doc FROM c_cards").fetchall()
    finally:
        db.close()
    return {read_id(id): keys.decode(orjson.loads(doc)) for id, doc in rows}


def _entries(path: Path) -> list[tuple[Any, ...]]:
    """Side-table entries as (path, value, card id), row keys resolved."""
    db = sqlite3.connect(path)
    try:
        rows = db.execute(
            "SELECT k.path, e.e_value, c.id FROM mv_cards AS e "
            "JOIN mvk_cards AS k ON k.code = e.e_key "
            "JOIN c_cards AS c ON c.id = e.e_ref OR c.n = e.e_ref"
        ).fetchall()
        count = db.execute("SELECT count(*) FROM mv_cards").fetchone()[0]
    finally:
        db.close()
    assert count == len(rows)  # no entry names a card that is not there
    return sorted((p, v, read_id(i)) for p, v, i in rows)


async def _ids(store: SqliteStore, *where: Any) -> list[str]:
    async with store.reader() as session:
        found = await session.find(CARDS, tenant=T, where=list(where), limit=100)
    return sorted(doc["id"] for doc in found)


def _cards() -> list[dict[str, Any]]:
    return [
        card("Ada", ["ada@example.com"], ["VIP"]),
        card("Bob", ["bob@example.com", "b@work.example"], ["vip", "Board"]),
        card("Eve", [], ["Board"]),
    ]


@pytest.fixture
async def colliding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[SqliteStore, list[dict[str, Any]]]]:
    """Eight cards stored with one-bit hashes: every hashed look-up meets other cards' values."""
    monkeypatch.setattr(sqlite_multi, "_HASH_SHIFT", 63)
    docs = [card(f"P{n}", [f"p{n}@example.com"], []) for n in range(8)]
    store = await _started(tmp_path / "s.db")
    try:
        async with store.transaction() as session:
            await session.insert_many(CARDS, docs)
        yield store, docs
    finally:
        await store.close()


async def test_the_stored_json_holds_no_derived_field(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = await _started(path)
    try:
        async with store.transaction() as session:
            await session.insert_many(CARDS, _cards())
    finally:
        await store.close()
    for doc in _stored_docs(path).values():
        assert "keys" not in doc and "labels_norm" not in doc
        assert doc["name"] in ("Ada", "Bob", "Eve")


async def test_rows_stored_with_their_derived_values_read_and_answer_as_new_rows(
    tmp_path: Path,
) -> None:
    old_path, new_path = tmp_path / "old.db", tmp_path / "new.db"
    docs = _cards()
    older = await _started(old_path, STORED_SPEC)  # as code that stored the fields wrote it
    try:
        async with older.transaction() as session:
            await session.insert_many(CARDS, [as_stored_by_older_code(d) for d in docs])
    finally:
        await older.close()
    assert all("keys" in doc for doc in _stored_docs(old_path).values())
    old, new = await _started(old_path), await _started(new_path)
    try:
        async with new.transaction() as session:
            await session.insert_many(CARDS, docs)
        for store in (old, new):
            async with store.reader() as session:
                full = await session.find(CARDS, tenant=T)
                projected = await session.find(CARDS, tenant=T, fields=["keys", "labels_norm"])
            assert all("keys" not in doc and "labels_norm" not in doc for doc in full)
            assert [d["keys"] for d in projected] == [
                as_stored_by_older_code(d)["keys"] for d in docs
            ]
        for where in (
            (Contains("keys", "e:b@work.example"),),
            (ContainsAny("keys", ("n:ada", "n:eve")),),
            (Contains("labels_norm", "vip"),),
            (Not(Contains("labels_norm", "board")),),
        ):
            assert await _ids(old, *where) == await _ids(new, *where)
        assert await _ids(old, Contains("labels_norm", "vip")) == sorted(
            [docs[0]["id"], docs[1]["id"]]
        )
        # Replaces and deletes find the old rows' entries from their stored values.
        ada, bob, eve = docs
        async with old.transaction() as session:
            assert await session.replace(
                CARDS, {**ada, "emails": ["ada@new.example"], "version": 2}, expected_version=1
            )
            assert await session.replace(CARDS, {**bob, "labels": [], "version": 2})
            assert await session.delete(CARDS, tenant=T, id=eve["id"])
        assert await _ids(old, Contains("keys", "e:ada@new.example")) == [ada["id"]]
        assert await _ids(old, Contains("keys", "e:ada@example.com")) == []
        assert await _ids(old, Contains("labels_norm", "vip")) == [ada["id"]]
        stored = _stored_docs(old_path)
        assert "keys" not in stored[ada["id"]] and "labels_norm" not in stored[bob["id"]]
    finally:
        await old.close()
        await new.close()
    fresh_path = tmp_path / "fresh.db"
    fresh = await _started(fresh_path)
    try:
        async with fresh.transaction() as session:
            await session.insert_many(
                CARDS,
                [
                    {**ada, "emails": ["ada@new.example"], "version": 2},
                    {**bob, "labels": [], "version": 2},
                ],
            )
    finally:
        await fresh.close()
    assert _entries(old_path) == _entries(fresh_path)


async def test_a_hashed_look_up_is_checked_against_the_derived_value(
    colliding: tuple[SqliteStore, list[dict[str, Any]]],
) -> None:
    store, docs = colliding
    assert await _ids(store, Contains("keys", "e:p3@example.com")) == [docs[3]["id"]]
    assert await _ids(store, ContainsAny("keys", ("n:p1", "n:p6"))) == sorted(
        [docs[1]["id"], docs[6]["id"]]
    )


async def test_a_caller_that_checks_candidates_itself_gets_the_hashed_look_ups_unchecked(
    colliding: tuple[SqliteStore, list[dict[str, Any]]],
) -> None:
    store, docs = colliding
    # Unchecked, every card with a key whose hash is n:p1's is a candidate; checked (the
    # default), only the holder.
    hashed = sqlite_multi.entry_hash("n:p1")
    sharing = sorted(
        d["id"] for d in docs if hashed in {sqlite_multi.entry_hash(k) for k in card_keys(d)}
    )
    assert len(sharing) > 1
    assert await _ids(store, ContainsAny("keys", ("n:p1",))) == [docs[1]["id"]]
    unchecked = ContainsAny("keys", ("n:p1",), candidates=True)
    assert await _ids(store, unchecked) == sharing
    async with store.reader() as session:
        names = await session.find(CARDS, tenant=T, where=[unchecked], fields=("name",))
    assert all(set(doc) == {"id", "tenant", "name"} for doc in names)


async def test_an_index_declared_on_stored_documents_is_filled_with_their_derived_values(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.db"
    docs = _cards()
    unindexed = CollectionSpec(CARDS, empties=EMPTIES, derived=CARDS_SPEC.derived)
    store = await _started(path, unindexed)
    try:
        async with store.transaction() as session:
            await session.insert_many(CARDS, docs)
    finally:
        await store.close()
    store = await _started(path)
    try:
        assert _postings(path, "b@work") == [docs[1]["id"]]  # filled from the function in SQL
        assert await _ids(store, TextMatch("blurb", "b@work")) == [docs[1]["id"]]
        assert await _ids(store, Contains("keys", "e:b@work.example")) == [docs[1]["id"]]
        assert await _ids(store, Contains("labels_norm", "board")) == sorted(
            [docs[1]["id"], docs[2]["id"]]
        )
    finally:
        await store.close()
    fresh_path = tmp_path / "fresh.db"
    fresh = await _started(fresh_path)
    try:
        async with fresh.transaction() as session:
            await session.insert_many(CARDS, docs)
    finally:
        await fresh.close()
    assert _entries(path) == _entries(fresh_path)


def test_an_ordinary_index_on_a_derived_field_is_refused() -> None:
    from crm_shared.storage import Index
    from crm_shared.storage.sqlite_derived import check_derived_indexes

    spec = CollectionSpec(CARDS, indexes=(Index(("keys",)),), derived=CARDS_SPEC.derived)
    with pytest.raises(ValueError, match="multi-value"):
        check_derived_indexes((spec,), {CARDS: CARDS_SPEC.derived})


async def test_a_row_holding_an_older_functions_values_keeps_them_until_written(
    tmp_path: Path,
) -> None:
    path, fresh_path = tmp_path / "s.db", tmp_path / "fresh.db"
    ada, bob, _ = _cards()
    # What an older version of the function gave: a key the current one does not make.
    legacy = {**as_stored_by_older_code(ada), "keys": ["e:legacy@old.example"]}
    older = await _started(path, STORED_SPEC)
    try:
        async with older.transaction() as session:
            await session.insert_many(CARDS, [legacy, as_stored_by_older_code(bob)])
    finally:
        await older.close()
    store = await _started(path)
    try:
        # Its entries were made from its stored value, and the look-up checks that value.
        assert await _ids(store, Contains("keys", "e:legacy@old.example")) == [ada["id"]]
        async with store.reader() as session:
            [projected] = await session.find(
                CARDS, tenant=T, where=[Eq("name", "Ada")], fields=["keys"]
            )
        assert projected["keys"] == ["e:legacy@old.example"]
        async with store.transaction() as session:
            assert await session.replace(CARDS, {**ada, "version": 2})
            assert await session.delete(CARDS, tenant=T, id=bob["id"])
        assert await _ids(store, Contains("keys", "e:legacy@old.example")) == []
        assert await _ids(store, Contains("keys", "e:ada@example.com")) == [ada["id"]]
    finally:
        await store.close()
    fresh = await _started(fresh_path)
    try:
        async with fresh.transaction() as session:
            await session.insert(CARDS, {**ada, "version": 2})
    finally:
        await fresh.close()
    assert _entries(path) == _entries(fresh_path)


async def test_a_short_page_of_a_hashed_look_up_reads_on_past_candidates_that_do_not_match(
    colliding: tuple[SqliteStore, list[dict[str, Any]]],
) -> None:
    store, docs = colliding
    async with store.reader() as session:
        for doc in docs:
            where = [Contains("keys", f"n:{doc['name'].lower()}")]
            [full] = await session.find(CARDS, tenant=T, where=where, limit=1)
            [named] = await session.find(CARDS, tenant=T, where=where, limit=1, fields=["name"])
            [keyed] = await session.find(CARDS, tenant=T, where=where, limit=1, fields=["keys"])
            assert full["id"] == named["id"] == keyed["id"] == doc["id"]
            assert "keys" not in full and "labels_norm" not in full
            assert set(named) == {"id", "tenant", "name"}
            assert keyed["keys"] == [
                f"e:p{docs.index(doc)}@example.com",
                f"n:p{docs.index(doc)}",
            ]


def _postings(path: Path, text: str) -> list[str]:
    """The ids of the cards whose text-index postings hold every trigram of `text`."""
    db = sqlite3.connect(path)
    try:
        rows = db.execute(
            "SELECT c.id FROM ft_cards AS f JOIN c_cards AS c ON c.n = f.rowid "
            "WHERE ft_cards MATCH ?",
            [match_expression([text])],
        ).fetchall()
    finally:
        db.close()
    return sorted(read_id(row[0]) for row in rows)


async def test_a_derived_text_is_never_stored_and_its_postings_come_from_the_function(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.db"
    docs = _cards()
    store = await _started(path)
    try:
        async with store.transaction() as session:
            await session.insert_many(CARDS, docs)
    finally:
        await store.close()
    assert all("blurb" not in doc for doc in _stored_docs(path).values())
    assert _postings(path, "bob@example") == [docs[1]["id"]]
    assert _postings(path, "caller") == []  # what the writer put in the document
    ada, bob, _ = docs
    store = await _started(path)
    try:
        async with store.transaction() as session:
            moved = {**bob, "emails": ["bob@new.example"], "version": 2}
            assert await session.replace(CARDS, moved, expected_version=1)
            assert await session.delete(CARDS, tenant=T, id=ada["id"])
    finally:
        await store.close()
    # The old postings went, found from the function's text of the row as it was.
    assert _postings(path, "bob@example") == [] and _postings(path, "ada@example") == []
    assert _postings(path, "bob@new") == [bob["id"]]


async def test_rows_stored_with_their_text_are_searched_and_unindexed_by_that_text(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    ada, bob, eve = docs = _cards()
    older = await _started(path, STORED_SPEC)
    try:
        async with older.transaction() as session:
            await session.insert_many(CARDS, [as_stored_by_older_code(d) for d in docs])
    finally:
        await older.close()
    assert _postings(path, "older") == sorted(d["id"] for d in docs)
    store = await _started(path)
    try:
        # The stored text is what the index and the re-check read, not the function's.
        assert await _ids(store, TextMatch("blurb", "older")) == sorted(d["id"] for d in docs)
        assert await _ids(store, TextMatch("blurb", "bob older")) == [bob["id"]]
        async with store.transaction() as session:
            assert await session.replace(
                CARDS, {**ada, "emails": ["ada@new.example"], "version": 2}, expected_version=1
            )
            # Inputs unchanged: the stored text is rewritten out, its postings made again.
            assert await session.replace(CARDS, {**bob, "labels": [], "version": 2})
            assert await session.delete(CARDS, tenant=T, id=eve["id"])
        assert _postings(path, "older") == []  # every old row's postings went with its text
        assert _postings(path, "eve") == []
        assert await _ids(store, TextMatch("blurb", "older")) == []
        assert await _ids(store, TextMatch("blurb", "ada@new")) == [ada["id"]]
        assert await _ids(store, TextMatch("blurb", "bob@example")) == [bob["id"]]
        assert _postings(path, "ada@new") == [ada["id"]]
        assert _postings(path, "ada@example") == []
    finally:
        await store.close()
    assert all("blurb" not in doc for doc in _stored_docs(path).values())


def _next_generation(version: int) -> CollectionSpec:
    """The cards with every derived function changed, declared as generation `version`."""
    reads = ("name", "emails", "gone_at")
    return dataclasses.replace(
        CARDS_SPEC,
        derived=(
            Derived("keys", lambda d: [f"x{k}" for k in card_keys(d)], reads, version),
            Derived(
                "labels_norm", lambda d: [f"x{v}" for v in labels_norm(d)], ("labels",), version
            ),
            Derived("blurb", lambda d: f"{blurb(d)} xgen", reads, version),
        ),
    )


async def test_a_new_generation_of_the_functions_makes_every_entry_again_at_start(
    tmp_path: Path,
) -> None:
    path, fresh_path = tmp_path / "s.db", tmp_path / "fresh.db"
    cards = _cards()
    store = await _started(path)
    async with store.transaction() as session:
        await session.insert_many(CARDS, cards)
    await store.close()
    changed = _next_generation(1)
    store = await _started(path, changed)
    try:  # before anything is written: the entries and postings are the new functions'
        assert await _ids(store, Contains("keys", "xe:ada@example.com")) == [cards[0]["id"]]
        assert await _ids(store, Contains("keys", "e:ada@example.com")) == []
        assert _postings(path, "xgen") == sorted(c["id"] for c in cards if blurb(c))
        async with store.transaction() as session:  # then the new functions take them away
            assert await session.replace(CARDS, {**cards[0], "version": 2})
            assert await session.delete(CARDS, tenant=T, id=cards[1]["id"])
    finally:
        await store.close()
    fresh = await _started(fresh_path, changed)
    try:
        async with fresh.transaction() as session:
            await session.insert_many(CARDS, [{**cards[0], "version": 2}, *cards[2:]])
    finally:
        await fresh.close()
    assert _entries(path) == _entries(fresh_path)
    assert _postings(path, "xgen") == _postings(fresh_path, "xgen")
    for gone in ("ada", "bob"):  # no posting of the old function's text is left
        assert all(i in _postings(fresh_path, gone) for i in _postings(path, gone))
