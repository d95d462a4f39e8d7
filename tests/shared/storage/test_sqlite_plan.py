"""SQLite's page planning: which value's entries a page is read from, and that it changes nothing.

With every candidate over the probe limit, a page in id order is read off the entries of the value
that is sparsest where the page starts (the rarer side), each row tested against the others'
entries before its document is read. Whatever it picks, pages hold what a plain filter selects.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from crm_shared.ids import new_id
from crm_shared.storage import CollectionSpec, Contains, Cursor, Eq, Index, Where
from crm_shared.storage.sqlite import SqliteStore
from crm_shared.storage.sqlite_multi import Entry, MultiValueIndexes
from crm_shared.storage.sqlite_plan import plan_source
from crm_shared.storage.sqlite_tenants import TENANT_CODE_SQL

T = "t"
SPECS = (
    CollectionSpec(
        "contacts",
        indexes=(Index(("tags",), multi_value="array"), Index(("attrs",), multi_value="object")),
    ),
)
MULTI = MultiValueIndexes("contacts", {"tags": "array", "attrs": "object"})


def _people(count: int) -> list[dict[str, Any]]:
    """Every one tagged "common" on the free plan; every 7th tagged "rare", every 5th on "pro".

    Every 4th holds the plans as a list (its entries hold "pro", yet `attrs.plan = "pro"` does
    not hold), every 9th is deleted: an Eq is only narrowed by the entries.
    """
    docs = []
    for i in range(count):
        tags = ["common"] + (["rare"] if i % 7 == 3 else [])
        plan: Any = "pro" if i % 5 == 1 else "free"
        if i % 4 == 2:
            plan = [plan, "pro"]
        docs.append(
            {
                "id": new_id(),
                "tenant": T,
                "tags": tags,
                "attrs": {"plan": plan},
                "deleted": i % 9 == 0,
            }
        )
    return docs


def _expected(docs: list[dict[str, Any]], tag: str, plan: str) -> list[str]:
    return [
        d["id"]
        for d in docs
        if tag in d["tags"] and d["attrs"]["plan"] == plan and not d["deleted"]
    ]


async def _stored(tmp_path: Path, docs: list[dict[str, Any]]) -> SqliteStore:
    store = SqliteStore(tmp_path / "store.db")
    await store.start(SPECS)
    async with store.transaction() as session:
        await session.insert_many("contacts", docs)
        # Another tenant's documents share the side table, never a page.
        other = [{**d, "id": new_id(), "tenant": "other"} for d in docs[:20]]
        await session.insert_many("contacts", other)
    return store


async def _pages(
    store: SqliteStore, where: list[Where], *, descending: bool, size: int
) -> list[str]:
    seen: list[str] = []
    after: Cursor | None = None
    for _ in range(200):
        async with store.reader() as session:
            page = await session.find(
                "contacts", tenant=T, where=where, descending=descending, limit=size, after=after
            )
        seen.extend(d["id"] for d in page)
        if len(page) < size:
            return seen
        after = Cursor(value=page[-1]["id"], id=page[-1]["id"])
    raise AssertionError("paging did not end")


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
@pytest.mark.parametrize("probe_limit", [2, 2000], ids=["every-value-over-the-probe", "counted"])
@pytest.mark.parametrize(
    ("tag", "plan"),
    [("rare", "free"), ("common", "pro"), ("rare", "pro"), ("common", "free")],
    ids=["rare-tag-common-field", "common-tag-rare-field", "both-rare", "both-common"],
)
async def test_tag_and_field_pages_hold_what_a_plain_filter_selects(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tag: str,
    plan: str,
    probe_limit: int,
    descending: bool,
) -> None:
    monkeypatch.setattr("crm_shared.storage.sqlite_plan.PROBE_LIMIT", probe_limit)
    docs = _people(120)
    store = await _stored(tmp_path, docs)
    try:
        # In both orders: which condition comes first must not change what a page holds.
        for where in (
            [Contains("tags", tag), Eq("attrs.plan", plan), Eq("deleted", False)],
            [Eq("attrs.plan", plan), Eq("deleted", False), Contains("tags", tag)],
        ):
            seen = await _pages(store, where, descending=descending, size=4)
            expected = _expected(docs, tag, plan)
            assert expected, "the scenario must match something"
            assert seen == (expected[::-1] if descending else expected)
    finally:
        await store.close()


async def _plan(
    store_path: Path, where: list[Where], *, after: str | None = None, descending: bool = False
) -> object:
    async with aiosqlite.connect(store_path) as conn:

        async def fetch(sql: str, params: Sequence[Any]) -> list[Any]:
            return list(await conn.execute_fetchall(sql, params))

        (code,) = (await fetch(TENANT_CODE_SQL, (T,)))[0]
        return await plan_source(
            fetch,
            "contacts",
            T,
            where,
            "id",
            indexes={},
            multi=MULTI,
            descending=descending,
            after=Cursor(value=after, id=after) if after is not None else None,
            code=code,
        )


async def test_a_page_in_id_order_reads_the_rarer_value_whichever_condition_comes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("crm_shared.storage.sqlite_plan.PROBE_LIMIT", 3)
    store = await _stored(tmp_path, _people(120))
    await store.close()
    path = tmp_path / "store.db"

    rare_tag = [Contains("tags", "rare"), Eq("attrs.plan", "free")]
    rare_plan = [Contains("tags", "common"), Eq("attrs.plan", "pro")]

    for where in (rare_tag, rare_tag[::-1]):
        assert await _plan(path, where) == Entry("tags", "rare")
        assert await _plan(path, where, descending=True) == Entry("tags", "rare")
    for where in (rare_plan, rare_plan[::-1]):
        assert await _plan(path, where) == Entry("attrs.plan", "pro")


async def test_the_rarer_value_is_judged_where_the_page_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("crm_shared.storage.sqlite_plan.PROBE_LIMIT", 3)
    # "early" is on the first 30 and every 10th after; "steady" on every 3rd throughout.
    docs = [
        {
            "id": new_id(),
            "tenant": T,
            "tags": (["early"] if i < 30 or i % 10 == 0 else [])
            + (["steady"] if i % 3 == 0 else []),
        }
        for i in range(90)
    ]
    store = await _stored(tmp_path, docs)
    try:
        where = [Contains("tags", "early"), Contains("tags", "steady")]
        path = tmp_path / "store.db"
        assert await _plan(path, where) == Entry("tags", "steady")
        assert await _plan(path, where, after=docs[40]["id"]) == Entry("tags", "early")
        seen = await _pages(store, where, descending=False, size=2)
        wanted = [d["id"] for d in docs if {"early", "steady"} <= set(d["tags"])]
        assert seen == wanted
    finally:
        await store.close()
