"""Declared timestamp fields (`CollectionSpec.timestamps`), run over every adapter.

SQLite stores canonical timestamps as integers (sqlite_stamps.py); MongoDB and the memory store
keep the text. Every read gives the text back and every condition, sort and cursor answers as
text order does.
"""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from crm_shared.ids import new_id
from crm_shared.storage import Cursor, DocumentStore, Eq, In, Not, Range, Where, scan
from crm_shared.storage.json_pages import find_json
from crm_shared.storage.port import path_value
from crm_shared.storage.sqlite_stamps import FIRST_MICROS, LAST_MICROS, stamp_micros, stamp_text

T = "tenant-a"
STAMPED = "stamped"
# Canonical text (`clock.iso`), one a day, and one before 1970.
T0, T1, T2, T3 = (f"2025-01-0{day}T08:30:00.{day:06d}Z" for day in range(1, 5))
OLD = "1969-07-20T20:17:40.000000Z"


def stamped(**fields: Any) -> dict[str, Any]:
    return {"id": new_id(), "tenant": T, "version": 1, "until": None, **fields}


async def insert(store: DocumentStore, *docs: dict[str, Any]) -> None:
    async with store.transaction() as session:
        await session.insert_many(STAMPED, list(docs))


async def ids_where(store: DocumentStore, *where: Where) -> set[str]:
    async with store.reader() as session:
        found = await session.find(STAMPED, tenant=T, where=where, limit=100)
        assert await session.count(STAMPED, tenant=T, where=where) == len(found)
    return {d["id"] for d in found}


async def pages(
    store: DocumentStore, order_by: str, descending: bool, where: list[Where], size: int
) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    after: Cursor | None = None
    while True:
        async with store.reader() as session:
            page = await session.find(
                STAMPED,
                tenant=T,
                where=where,
                order_by=order_by,
                descending=descending,
                limit=size,
                after=after,
            )
        seen += page
        if len(page) < size:
            return seen
        after = Cursor(value=path_value(page[-1], order_by), id=page[-1]["id"])


def in_text_order(docs: list[dict[str, Any]], field: str, descending: bool) -> list[str]:
    """Ids as every adapter orders them: missing values first (ascending), then text, then id."""
    ordered = sorted(docs, key=lambda d: (d.get(field) is not None, d.get(field) or "", d["id"]))
    return [d["id"] for d in (ordered[::-1] if descending else ordered)]


async def test_timestamps_read_back_as_written_on_every_read_path(store: DocumentStore) -> None:
    docs = [stamped(at=T1, until=T3, kind="a"), stamped(at=OLD, kind="b"), stamped(kind="c")]
    await insert(store, *docs)
    expected = [d if "at" in d else d | {"at": None} for d in docs]
    by_id = {d["id"]: d for d in docs}
    async with store.reader() as session:
        for d in docs:
            got = await session.get(STAMPED, tenant=T, id=d["id"])
            assert got is not None and {k: got.get(k) for k in d} == d
        found = await session.find(STAMPED, tenant=T)
        projected = await session.find(STAMPED, tenant=T, fields=("at", "until"))
        rows = await find_json(session, STAMPED, tenant=T, paths=["at", "until", "kind"])
    assert [{k: f.get(k) for k in by_id[f["id"]]} for f in found] == docs
    assert projected == [
        {"id": d["id"], "tenant": T, "at": d["at"], "until": d["until"]} for d in expected
    ]
    assert [orjson.loads(body) for _, body in rows] == [
        {"id": d["id"], "at": d["at"], "until": d["until"], "kind": d["kind"]} for d in expected
    ]
    streamed = [d async for d in scan(store, STAMPED, tenant=T, order_by="at", page_size=2)]
    assert [d.get("at") for d in streamed] == [None, OLD, T1]


async def test_equalities_and_ranges_on_a_timestamp_honour_each_bound(
    store: DocumentStore,
) -> None:
    docs = [stamped(at=at) for at in (OLD, T0, T1, T2, T3)]
    await insert(store, *docs, stamped())
    old, d0, d1, d2, d3 = (d["id"] for d in docs)
    assert await ids_where(store, Eq("at", T1)) == {d1}
    assert await ids_where(store, In("at", (T0, T3, "2025-01-09T00:00:00.000000Z"))) == {d0, d3}
    assert await ids_where(store, Range("at", gte=T1, lt=T3)) == {d1, d2}
    assert await ids_where(store, Range("at", gt=T1, lte=T3)) == {d2, d3}
    assert await ids_where(store, Range("at", lt=T0)) == {old}
    assert await ids_where(store, Range("at", gte=T0), Not(Eq("at", T2))) == {d0, d1, d3}
    async with store.transaction() as session:
        assert await session.delete_where(STAMPED, tenant=T, where=[Range("at", lte=T0)]) == 2
    assert await ids_where(store, Range("at", gte=OLD)) == {d1, d2, d3}


async def test_a_bound_that_is_not_a_timestamp_compares_as_text_does(
    store: DocumentStore,
) -> None:
    docs = [stamped(at=at) for at in (T0, T1, T2)]
    await insert(store, *docs, stamped())
    d0, d1, d2 = (d["id"] for d in docs)
    # Any timestamp is greater than "": the "has a value" range callers use.
    assert await ids_where(store, Range("at", gt="")) == {d0, d1, d2}
    assert await ids_where(store, Range("at", lt="")) == set()
    # A date alone sorts before every timestamp of that day.
    assert await ids_where(store, Range("at", gte="2025-01-02")) == {d1, d2}
    assert await ids_where(store, Range("at", lt="2025-01-02")) == {d0}
    assert await ids_where(store, Range("at", gt="2025-01-02T08:30:00")) == {d1, d2}
    assert await ids_where(store, Range("at", lte="2025-01-03T08:30:00.000002")) == {d0, d1}


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
async def test_sorted_keyset_pages_follow_the_timestamps(
    store: DocumentStore, descending: bool
) -> None:
    ats = [T2, T0, OLD, None, T3, T0, T1, None, T2, "unknown", T1]
    docs = [stamped(at=at, kind="k") for at in ats]
    other = stamped(at=T1, kind="other")
    await insert(store, *docs, other)
    # Through the index on `at` alone, and through a two-field one (kind, at).
    for where, expected in (([], [*docs, other]), ([Eq("kind", "k")], docs)):
        seen = await pages(store, "at", descending, list(where), size=3)
        assert [d["id"] for d in seen] == in_text_order(expected, "at", descending)


async def test_a_value_that_is_not_a_timestamp_reads_back_unchanged_and_is_found(
    store: DocumentStore,
) -> None:
    odd: list[Any] = ["unknown", "2025-01-02", "", 1735689600000000, 2.5, True, [T1], {"~": 1}]
    docs = [stamped(at=value) for value in odd]
    await insert(store, *docs, stamped(at=T1))
    async with store.reader() as session:
        for d in docs:
            got = await session.get(STAMPED, tenant=T, id=d["id"])
            assert got is not None and got["at"] == d["at"] and type(got["at"]) is type(d["at"])
    for d in docs[:4]:
        assert await ids_where(store, Eq("at", d["at"])) == {d["id"]}
    # Letters sort after digits: after every timestamp, whatever the adapter.
    assert docs[0]["id"] in await ids_where(store, Range("at", gt=T3))
    assert docs[0]["id"] not in await ids_where(store, Range("at", lte=T3))


async def test_a_replaced_timestamp_moves_in_its_index(store: DocumentStore) -> None:
    first = stamped(at=T0, until=T1)
    await insert(store, first)
    async with store.transaction() as session:
        assert await session.replace(STAMPED, first | {"at": T3, "until": None, "version": 2})
    assert await ids_where(store, Range("at", lt=T3)) == set()
    assert await ids_where(store, Eq("at", T3)) == {first["id"]}
    assert await ids_where(store, Range("until", gt="")) == set()
    async with store.reader() as session:
        got = await session.get(STAMPED, tenant=T, id=first["id"])
    assert got is not None and (got["at"], got["until"]) == (T3, None)


async def test_projections_and_json_pages_give_every_stored_value_as_written(
    store: DocumentStore,
) -> None:
    # SQLite selects the stored JSON and makes the text in Python (sqlite_json.py): every kind
    # of stored value, wherever the timestamps fall among the paths, must come back as written.
    rng = random.Random(11)
    leap = stamp_micros("2024-02-29T23:59:59.999999Z")
    edges = [FIRST_MICROS, LAST_MICROS, -1, 0, 1, leap if leap is not None else 0]
    instants = [stamp_text(m) for m in edges] + [
        stamp_text(rng.randint(FIRST_MICROS, LAST_MICROS)) for _ in range(300)
    ]
    odd: list[Any] = ["soon", "", '{"x"', "null", 5, -7, 2.5, True, [1], {"a": None}, {"~": 1}]
    values = [*instants, *odd, None]
    docs = [stamped(at=v, until=values[-1 - i], kind=str(i)) for i, v in enumerate(values)]
    await insert(store, *docs)
    want = {d["id"]: d for d in docs}
    async with store.reader() as session:
        projected = await session.find(
            STAMPED, tenant=T, fields=("until", "kind", "at"), limit=len(docs)
        )
        for paths in (["kind", "at", "until"], ["at", "kind", "until", "attrs.plan"], ["until"]):
            rows = await find_json(session, STAMPED, tenant=T, paths=paths, limit=len(docs))
            assert len(rows) == len(docs)
            for doc_id, body in rows:
                got = orjson.loads(body)
                assert list(got) == ["id", *dict.fromkeys(p.split(".")[0] for p in paths)]
                for name in ("at", "until", "kind"):
                    if name in got:
                        assert got[name] == want[doc_id][name], (paths, name)
                if "attrs" in got:
                    assert got["attrs"] == {"plan": None}
    assert len(projected) == len(docs)
    for got in projected:
        d = want[got["id"]]
        assert (got["at"], got["until"], got["kind"]) == (d["at"], d["until"], d["kind"])
        assert type(got["at"]) is type(d["at"])
