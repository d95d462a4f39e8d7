"""Text search asks the FTS5 index for a query's rarest trigrams first: same results, cheaper."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

import crm_shared.storage.sqlite as sqlite_adapter
from crm_shared.ids import new_id
from crm_shared.storage import CollectionSpec, Index, TextMatch
from crm_shared.storage.sqlite import SqliteStore
from crm_shared.storage.sqlite_text_plan import TrigramCounts
from crm_shared.text import search_fold

T = "acme"
SPECS = (CollectionSpec("people", indexes=(Index(("search",), text=True),)),)


def person(i: int) -> dict[str, Any]:
    """Everyone's text holds "example.com"; numbers make some trigrams rare."""
    first = ("ada", "grace", "alan")[i % 3]
    text = f"{first} lovelace {first}.{i:04d}@example.com +1415555{i:04d}"
    return {"id": new_id(), "tenant": T, "search": search_fold(text), "i": i}


PEOPLE = [person(i) for i in range(300)]


def expected(query: str) -> list[int]:
    words = search_fold(query).split()
    return [p["i"] for p in PEOPLE if all(w in p["search"] for w in words)]


async def _found(store: SqliteStore, query: str) -> list[int]:
    async with store.reader() as session:
        docs = await session.find(
            "people", tenant=T, where=[TextMatch("search", search_fold(query))], limit=500
        )
    return [d["i"] for d in docs]


@pytest.mark.parametrize("rarest", [1, 2, 4, 100], ids=["one", "two", "four", "all"])
@pytest.mark.parametrize("lead_limit", [3, 2000], ids=["small-lead", "large-lead"])
async def test_searches_find_what_every_word_as_a_substring_finds_whichever_trigrams_lead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rarest: int, lead_limit: int
) -> None:
    monkeypatch.setattr("crm_shared.storage.sqlite_text_plan.RAREST", rarest)
    monkeypatch.setattr(sqlite_adapter, "TEXT_LEAD_LIMIT", lead_limit)
    store = SqliteStore(tmp_path / "people.db")
    await store.start(SPECS)
    try:
        async with store.transaction() as session:
            await session.insert_many("people", PEOPLE)
        for query in (
            "a.0123@exa",  # one person; most of its trigrams everyone holds
            "grace 0123",  # the rare word holds trigrams of another person's number too
            "ada 12",  # a short word: checked on the documents only
            "lovelace example",  # everyone
            "0123 grace",  # the same in the other order
            "alan 0123",  # nobody: 0123 is Ada's
            "lovelace nobody",  # nobody, though most trigrams are common
        ):
            assert await _found(store, query) == expected(query), query
    finally:
        await store.close()


async def test_the_rarest_trigrams_lead_and_counts_are_learnt_once(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "people.db")
    await store.start(SPECS)
    async with store.transaction() as session:
        await session.insert_many("people", PEOPLE)
    await store.close()
    statements: list[str] = []
    async with aiosqlite.connect(tmp_path / "people.db") as conn:

        async def fetch(sql: str, params: Sequence[Any]) -> list[Any]:
            statements.append(sql)
            return list(await conn.execute_fetchall(sql, params))

        counts = TrigramCounts("ft_people")
        grams = ["exa", "xam", "amp", "@ex", "123", "a.0", ".01", "012"]
        first, every = await counts.expressions(fetch, grams)
        # Everyone holds "example.com"; "123", "a.0", ".01" and "012" are in a few texts.
        assert set(first.split(" AND ")) == {'"123"', '"a.0"', '".01"', '"012"'}
        assert every.count(" AND ") == len(grams) - 1
        assert len(statements) == 1  # every new trigram counted in one statement
        await counts.expressions(fetch, grams)
        assert len(statements) == 1  # then known
        assert await counts.expressions(fetch, ["exa", "xam"]) == ['"exa" AND "xam"']
