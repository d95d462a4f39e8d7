"""SQLite replaces keep the side table and the text index from Python, as inserts do.

The entries a store holds after any sequence of replaces must be exactly the ones a fresh insert
of the final documents gives: compared table against table, with a second store built by insert.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crm_shared.storage import Contains, DuplicateKeyError, TextMatch
from crm_shared.storage.sqlite import SqliteStore
from crm_shared.storage.sqlite_multi import entry_hash
from tests.shared.storage.sqlite_entry_tables import (
    T,
    changed,
    entries,
    fresh_entries,
    holding,
    person,
    postings,
    started,
    stored_documents,
)


async def test_entries_after_replaces_are_those_a_fresh_insert_of_the_final_documents_gives(
    tmp_path: Path,
) -> None:
    docs = [person(n) for n in range(12)]
    async with holding(tmp_path / "updated.db", docs) as updated:
        a, b, c, d, e, f, g, h, i, j, k, l_ = docs
        async with updated.transaction() as session:
            written = await session.replace_many(
                "people",
                [
                    changed(a, emails=["new@example.com", a["emails"][0]]),
                    changed(b, phones=[]),
                    changed(c, tags=["member", "vip", "vip", True, 2.5, None, ["x"]]),
                    changed(d, search="renamed person", note="nothing indexed"),
                    changed(e, custom={"plan": "enterprise", "seats": [1, [2], None, "z"]}),
                    changed(f, note="only this"),
                    changed(g, tags="solo", custom=["not", "an", "object"], search=None),
                    changed(h, emails=None, phones=None, tags=None, custom=None, search=""),
                    # Stale: stored at version 1, not 7: nothing of it is written.
                    {**changed(i, tags=["stale"], search="stale text"), "version": 8},
                    # Named twice: the second replace sees what the first wrote.
                    changed(j, tags=["between"], search="between text"),
                    changed(changed(j, tags=["between"]), tags=["last"], search="last text"),
                ],
                expected_versions=[1, 1, 1, 1, 1, 1, 1, 1, 7, 1, 2],
            )
            assert written == 10
            assert await session.replace("people", changed(k, tags=["one"], search="one"))
            assert await session.replace(
                "people", changed(l_, custom={}, search="other"), expected_version=1
            )
            assert not await session.replace(
                "people", changed(l_, tags=["never"]), expected_version=1
            )
        async with updated.transaction() as session:  # changed back, in a later transaction
            back = {**e, "version": 3}
            assert await session.replace_many("people", [back], expected_versions=[2]) == 1
        final = await stored_documents(updated)

    held = entries(tmp_path / "updated.db")
    assert (held, postings(tmp_path / "updated.db")) == await fresh_entries(
        tmp_path / "fresh.db", final
    )
    assert (T, "tags", "last", "text", j["id"]) in held
    assert not any(entry[2] in ("between", "stale", "never") for entry in held)
    # A lookup-only index holds its text values hashed.
    assert (T, "emails", entry_hash("new@example.com"), "integer", a["id"]) in held


async def test_queries_after_replaces_find_the_new_values_and_not_the_old(tmp_path: Path) -> None:
    docs = [person(n) for n in range(3)]
    store = await started(tmp_path / "store.db")
    try:
        async with store.transaction() as session:
            await session.insert_many("people", docs)
            await session.replace_many(
                "people",
                [changed(docs[0], tags=["gold"], search="golden retriever")],
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
    docs = [person(n) for n in range(5)]
    async with holding(tmp_path / "store.db", docs) as store:
        # The five documents' UPDATEs and nothing else.
        assert await _changes_of(store, [changed(d, note="x") for d in docs]) == 5
        # One tag renamed: its old entry deleted and its new one inserted, the others kept.
        renamed = changed(changed(docs[0], note="x"), tags=["member", "renamed"])
        assert await _changes_of(store, [renamed]) == 1 + 2


async def test_a_refused_replace_leaves_no_document_or_entry_of_its_batch(tmp_path: Path) -> None:
    docs = [person(n) for n in range(2)]
    async with holding(tmp_path / "store.db", docs) as store:
        before = entries(tmp_path / "store.db"), postings(tmp_path / "store.db")
        async with store.transaction() as session:
            with pytest.raises(DuplicateKeyError):
                await session.replace_many(
                    "people",
                    [
                        changed(docs[0], tags=["first"], search="first"),
                        changed(docs[1], handle=docs[0]["handle"]),  # taken: refused
                    ],
                    expected_versions=[1, 1],
                )
            with pytest.raises(DuplicateKeyError):  # alone, without a savepoint
                await session.replace(
                    "people", changed(docs[1], handle=docs[0]["handle"], tags=["alone"])
                )
            # The transaction goes on (and commits) without any of the batch.
            stored = await session.get("people", tenant=T, id=docs[0]["id"])
        assert stored is not None and stored["tags"] == docs[0]["tags"]
        assert (entries(tmp_path / "store.db"), postings(tmp_path / "store.db")) == before
