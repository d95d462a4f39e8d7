"""Compacting a SQLite store (`make compact`): smaller, and every document and index the same."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from crm_shared.ids import new_id
from crm_shared.storage import CollectionSpec, Contains, Index, TextMatch
from crm_shared.storage.sqlite import SqliteStore
from crm_shared.storage.sqlite_vacuum import compact_file, main, store_files
from crm_shared.text import search_fold

T = "acme"
SPECS = (
    CollectionSpec(
        "people",
        indexes=(
            Index(("name",)),
            Index(("tags",), multi_value="array"),
            Index(("attrs",), multi_value="object"),
            Index(("search",), text=True),
        ),
    ),
)
WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel")


def person(rng: random.Random, n: int) -> dict[str, Any]:
    tags = rng.sample(WORDS, 3)
    return {
        "id": new_id(),
        "tenant": T,
        "name": f"person {n}",
        "tags": tags,
        "attrs": {"plan": rng.choice(WORDS), "seats": rng.randrange(500)},
        "search": search_fold(f"Person {n} {' '.join(tags)}"),
    }


async def snapshot(path: Path) -> dict[str, Any]:
    """Every document, and what each kind of index answers, read through the store."""
    store = SqliteStore(path)
    await store.start(SPECS)
    try:
        async with store.reader() as session:
            docs = await session.find("people", tenant=T, limit=100_000)
            by_tag = {
                w: await session.count("people", tenant=T, where=[Contains("tags", w)])
                for w in WORDS
            }
            found = await session.find("people", tenant=T, where=[TextMatch("search", "person 1")])
        return {
            "docs": sorted(docs, key=lambda d: d["id"]),
            "by_tag": by_tag,
            "text": sorted(d["id"] for d in found),
        }
    finally:
        await store.close()


async def fragmented_store(path: Path) -> None:
    """A store written in many small random transactions, then half of it deleted."""
    rng = random.Random(7)
    store = SqliteStore(path)
    await store.start(SPECS)
    people = [person(rng, n) for n in range(3000)]
    rng.shuffle(people)
    for at in range(0, len(people), 25):
        async with store.transaction() as session:
            await session.insert_many("people", people[at : at + 25])
    gone = [p["id"] for p in people[::2]]
    for at in range(0, len(gone), 50):
        async with store.transaction() as session:
            for contact_id in gone[at : at + 50]:
                await session.delete("people", tenant=T, id=contact_id)
    await store.close()


async def test_compacting_shrinks_the_file_and_changes_no_document_or_answer(
    tmp_path: Path,
) -> None:
    path = tmp_path / "people.sqlite3"
    await fragmented_store(path)
    before = await snapshot(path)
    assert len(before["docs"]) == 1500 and before["text"]
    done = compact_file(path)
    assert not done.busy
    assert done.bytes_after < done.bytes_before * 0.7  # half the rows were deleted
    assert await snapshot(path) == before
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA freelist_count").fetchone()[0] == 0


async def test_a_store_being_written_is_left_alone_and_reported_busy(tmp_path: Path) -> None:
    path = tmp_path / "people.sqlite3"
    await fragmented_store(path)
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # another process mid-write
        done = compact_file(path)
        assert done.busy
        assert done.bytes_after == done.bytes_before
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert len((await snapshot(path))["docs"]) == 1500


async def test_the_command_compacts_every_store_of_a_data_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("contacts", "timeline"):
        await fragmented_store(tmp_path / f"{name}.sqlite3")
    (tmp_path / "notes.txt").write_text("not a store")
    assert store_files([tmp_path]) == [tmp_path / "contacts.sqlite3", tmp_path / "timeline.sqlite3"]
    assert main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "contacts.sqlite3: " in out and "timeline.sqlite3: " in out and " MB -> " in out


def test_the_command_names_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([str(tmp_path / "nowhere")])
    assert exit_.value.code == 2
