"""SQLite's integer timestamps on disk, and older stores rewritten when they start
(sqlite_stamps.py, sqlite_stamp_layout.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from crm_shared.ids import new_id
from crm_shared.storage import CollectionSpec, Eq, Index, Range, Where
from crm_shared.storage import sqlite_stamp_layout as layout
from crm_shared.storage.derived import Derived
from crm_shared.storage.sqlite import SqliteStore
from crm_shared.storage.sqlite_keys import KeyMap, stored_keys, stored_path
from crm_shared.storage.sqlite_tenants import stored_tenant
from tests.shared.storage.conftest import STAMPED_SPEC
from tests.shared.storage.test_store_timestamps import pages

T = "tenant-a"
STAMPED = STAMPED_SPEC.name
TIMES = [
    f"2025-0{month}-1{day}T0{day}:15:00.{month * day:06d}Z" for month in (3, 1, 2) for day in (2, 1)
]
OLDER = dataclasses.replace(STAMPED_SPEC, timestamps=())


def documents() -> list[dict[str, Any]]:
    docs = [
        {"id": new_id(), "tenant": T, "at": at, "until": TIMES[-i], "kind": "k" if i % 2 else "j"}
        for i, at in enumerate(TIMES)
    ]
    odd = {"id": new_id(), "tenant": T, "at": "not yet", "until": None, "kind": "k"}
    return [*docs, odd, {"id": new_id(), "tenant": T, "until": None, "kind": "j"}]


async def started(path: Path, spec: CollectionSpec) -> SqliteStore:
    store = SqliteStore(path)
    await store.start([spec])
    return store


async def write(path: Path, spec: CollectionSpec, docs: Sequence[dict[str, Any]]) -> None:
    store = await started(path, spec)
    try:
        async with store.transaction() as session:
            await session.insert_many(STAMPED, list(docs))
    finally:
        await store.close()


QUERIES: list[tuple[list[Where], str, bool]] = [
    ([], "at", False),
    ([], "at", True),
    ([Range("at", gte=TIMES[2], lt=TIMES[0])], "id", False),
    ([Range("at", gt="")], "until", True),
    ([Eq("kind", "k"), Range("at", lte=TIMES[4])], "at", False),
    ([Eq("at", TIMES[3])], "id", False),
    ([Range("until", gte="2025-02")], "at", True),
]


async def answers(path: Path, spec: CollectionSpec) -> list[list[dict[str, Any]]]:
    """Every query's documents, page by page (two a page: cursors on every sort)."""
    store = await started(path, spec)
    found: list[list[dict[str, Any]]] = []
    try:
        for where, order_by, descending in QUERIES:
            found.append(await pages(store, order_by, descending, where, 2))
    finally:
        await store.close()
    return found


def file_keys(path: Path) -> KeyMap:
    """The collection's short keys in the file (no timestamps: the store adds those)."""
    db = sqlite3.connect(path)
    try:
        return stored_keys(db, STAMPED)
    finally:
        db.close()


def stored_types(path: Path, field: str) -> list[str]:
    db = sqlite3.connect(path)
    try:
        json_path = stored_path(db, STAMPED, field)
        rows = db.execute(f"SELECT json_type(doc, '{json_path}') FROM c_{STAMPED} ORDER BY id")
        return [str(row[0] or "absent") for row in rows]
    finally:
        db.close()


def index_names(path: Path) -> set[str]:
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql NOT NULL")
        return {str(row[0]) for row in rows}
    finally:
        db.close()


async def test_a_declared_timestamp_is_stored_as_an_integer_and_read_as_its_text(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    docs = documents()
    await write(path, STAMPED_SPEC, docs)
    # Documents in id order: the six timestamps, the text that is not one, the absent one (an
    # empty `until` is left out: a declared empty field).
    assert stored_types(path, "at") == ["integer"] * 6 + ["text", "absent"]
    db = sqlite3.connect(path)
    at = stored_path(db, STAMPED, "at")
    # The index's entries in its order: nulls, the integers, then text.
    in_index = db.execute(
        f"SELECT typeof(json_extract(doc, '{at}')) FROM c_{STAMPED} INDEXED BY {STAMPED}_ix_at "
        f"WHERE tenant = ? ORDER BY json_extract(doc, '{at}')",
        (stored_tenant(db, T),),
    ).fetchall()
    db.close()
    assert [row[0] for row in in_index] == ["null"] + ["integer"] * 6 + ["text"]
    store = await started(path, STAMPED_SPEC)
    try:
        async with store.reader() as session:
            got = await session.find(STAMPED, tenant=T, limit=100)
    finally:
        await store.close()
    assert [d.get("at") for d in got] == [d.get("at") for d in docs]


async def test_text_that_is_not_a_timestamp_sorts_after_every_timestamp(tmp_path: Path) -> None:
    # As SQLite orders TEXT after INTEGER; MongoDB and the memory store put "2025-01-02"
    # among the timestamps of its day (text order).
    path = tmp_path / "store.db"
    early, late = "2025-01-01T00:00:00.000000Z", "2025-12-31T00:00:00.000000Z"
    docs = [{"id": new_id(), "tenant": T, "at": at} for at in ("2025-01-02", late, early)]
    await write(path, STAMPED_SPEC, docs)
    store = await started(path, STAMPED_SPEC)
    try:
        async with store.reader() as session:
            ordered = await session.find(STAMPED, tenant=T, order_by="at")
            later = await session.find(STAMPED, tenant=T, where=[Range("at", gt=late)])
    finally:
        await store.close()
    assert [d["at"] for d in ordered] == [early, late, "2025-01-02"]
    assert [d["at"] for d in later] == ["2025-01-02"]


async def test_an_older_store_is_rewritten_when_it_starts_and_answers_the_same(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    await write(path, OLDER, documents())
    assert stored_types(path, "at") == ["text"] * 7 + ["absent"]
    before = await answers(path, OLDER)

    after = await answers(path, STAMPED_SPEC)

    assert after == before
    assert stored_types(path, "at") == ["integer"] * 6 + ["text", "absent"]
    assert stored_types(path, "until") == ["integer"] * 6 + ["absent", "absent"]
    assert {f"{STAMPED}_ix_at", f"{STAMPED}_ix_until", f"{STAMPED}_ix_kind__at"} <= index_names(
        path
    )


class Crash(Exception):
    """Stands for the process dying in the middle of the rewrite."""


async def test_a_rewrite_cut_short_resumes_where_it_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.db"
    await write(path, OLDER, documents())
    before = await answers(path, OLDER)
    rewrite = layout._with_integers
    calls = 0

    def dies_on_the_fifth(stored: str | bytes, keys: list[str]) -> str | None:
        nonlocal calls
        calls += 1
        if calls == 5:
            raise Crash
        return rewrite(stored, keys)

    monkeypatch.setattr(layout, "_with_integers", dies_on_the_fifth)
    store = await started(path, OLDER)  # the file's codes and tables, no rewrite
    await store.close()
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        keys = dataclasses.replace(file_keys(path), stamps=frozenset(STAMPED_SPEC.timestamps))
        with pytest.raises(Crash):
            await layout.stamps_as_integers(conn, f"c_{STAMPED}", STAMPED, keys, batch=2)
    finally:
        await conn.close()
    # Two batches committed, the third rolled back; the indexes on the fields are gone.
    assert stored_types(path, "at") == ["integer"] * 4 + ["text"] * 3 + ["absent"]
    assert f"{STAMPED}_ix_at" not in index_names(path)
    monkeypatch.setattr(layout, "_with_integers", rewrite)

    assert await answers(path, STAMPED_SPEC) == before
    assert stored_types(path, "at") == ["integer"] * 6 + ["text", "absent"]
    assert f"{STAMPED}_ix_at" in index_names(path)


async def test_stores_starting_together_share_the_rewrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.db"
    docs = documents()
    await write(path, OLDER, docs)
    before = await answers(path, OLDER)
    kwdefaults = layout.stamps_as_integers.__kwdefaults__
    assert kwdefaults is not None
    monkeypatch.setitem(kwdefaults, "batch", 1)  # a transaction per document: they interleave
    first, second = SqliteStore(path), SqliteStore(path)
    await asyncio.gather(first.start([STAMPED_SPEC]), second.start([STAMPED_SPEC]))
    try:
        for store in (first, second):
            async with store.reader() as session:
                got = await session.find(STAMPED, tenant=T, limit=100)
            assert [d.get("at") for d in got] == [d.get("at") for d in docs]
    finally:
        await first.close()
        await second.close()
    assert await answers(path, STAMPED_SPEC) == before
    assert stored_types(path, "until") == ["integer"] * 6 + ["absent", "absent"]


async def test_a_field_declared_later_is_rewritten_and_one_no_longer_declared_stays(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    await write(path, dataclasses.replace(STAMPED_SPEC, timestamps=("at",)), documents())
    before = await answers(path, OLDER)
    assert stored_types(path, "until") == ["text"] * 6 + ["absent", "absent"]

    assert await answers(path, STAMPED_SPEC) == before
    assert stored_types(path, "until") == ["integer"] * 6 + ["absent", "absent"]
    # Started by code that declares none: the file's integer fields are still timestamps.
    assert await answers(path, OLDER) == before


async def test_a_timestamp_with_a_multi_value_or_text_index_is_refused(tmp_path: Path) -> None:
    for index in (Index(("until",), multi_value="array"), Index(("until",), text=True)):
        store = SqliteStore(tmp_path / "store.db")
        with pytest.raises(ValueError, match="timestamp"):
            await store.start([STAMPED_SPEC, CollectionSpec(STAMPED, indexes=(index,))])
        await store.close()


def _first_char(doc: Any) -> Any:
    return str(doc.get("at") or "")[:1]


READS_AT = Derived("at_head", _first_char, reads=("at",))


@pytest.mark.parametrize("derived", [READS_AT, Derived("at", _first_char, reads=("kind",))])
def test_a_spec_whose_derived_field_reads_or_is_a_timestamp_is_refused(derived: Derived) -> None:
    # SQL would hand the function the stored integer, Python the text: they would disagree.
    with pytest.raises(ValueError, match=r"derived field .* cannot read the timestamp 'at'"):
        CollectionSpec(STAMPED, derived=(derived,), timestamps=("at",))


async def test_a_derived_field_reading_a_timestamp_of_another_spec_or_the_file_is_refused(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "store.db")
    with pytest.raises(ValueError, match="cannot read the timestamp 'at'"):
        await store.start([STAMPED_SPEC, CollectionSpec(STAMPED, derived=(READS_AT,))])
    await store.close()
    # A file whose 'at' is stored as integers, started by code that no longer declares it.
    await write(tmp_path / "old.db", STAMPED_SPEC, documents())
    store = SqliteStore(tmp_path / "old.db")
    with pytest.raises(ValueError, match="cannot read the timestamp 'at'"):
        await store.start([dataclasses.replace(OLDER, derived=(READS_AT,))])
    await store.close()
