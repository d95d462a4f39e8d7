"""SQLite document tables hold each tenant as a small integer code (sqlite_tenants.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from crm_shared.storage import (
    In,
)
from tests.shared.storage.sqlite_tenant_stores import (
    ACME,
    QUERIES,
    UNICODE_TENANT,
    UUID_TENANT,
    answers,
    db_rows,
    note,
    started,
    tenant_codes,
    write,
)


async def test_rows_and_indexes_hold_codes_and_no_tenant_text(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = await started(path)
    try:
        await write(store, UUID_TENANT, 40)
        await write(store, ACME, 40)
    finally:
        await store.close()  # checkpoints the log into the file
    for table in ("c_people", "c_notes"):
        kinds = db_rows(path, f"SELECT DISTINCT typeof(tenant) FROM {table}")
        assert kinds == [("integer",)]
    assert set(tenant_codes(path)) == {UUID_TENANT, ACME}
    # The name's bytes are in the file only in the tenant dictionary (its row and its unique
    # index) and the side table's key dictionary (a row and an index entry per path): not in
    # the 80 document rows nor in the entries of the six indexes led by the tenant.
    paths = db_rows(path, "SELECT count(*) FROM mvk_people WHERE tenant = ?", (UUID_TENANT,))
    assert path.read_bytes().count(UUID_TENANT.encode()) == 2 + 2 * paths[0][0]


async def test_tenants_sharing_a_file_see_only_their_own_documents_on_every_read_path(
    tmp_path: Path,
) -> None:
    store = await started(tmp_path / "store.db")
    try:
        acme = await write(store, ACME)
        other = await write(store, UUID_TENANT)
        got = await answers(store, ACME)
        theirs = await answers(store, UUID_TENANT)
    finally:
        await store.close()
    assert got["ids"] == [d["id"] for d in acme]
    assert theirs["ids"] == [d["id"] for d in other]
    store = await started(tmp_path / "store.db")
    try:
        async with store.reader() as session:
            # A few ids named: read by key (sqlite_point_reads.py), the other tenant's left out.
            named = In("id", (acme[0]["id"], other[0]["id"], acme[5]["id"]))
            by_ids = await session.find("people", tenant=ACME, where=[named])
            assert await session.get("people", tenant=ACME, id=other[0]["id"]) is None
    finally:
        await store.close()
    assert by_ids == [acme[0], acme[5]]
    assert got["get"] == acme
    for i, where in enumerate(QUERIES):
        assert got[f"find{i}"], where if where else "every document"
        assert all(d["tenant"] == ACME for d in got[f"find{i}"])
        assert {d["id"] for d in got[f"find{i}"]} <= set(got["ids"])
        assert got[f"count{i}"] == len(got[f"find{i}"]) == len(theirs[f"find{i}"])
    assert [d["rank"] for d in got["by_rank"]] == [11, 10, 9, 8, 7]
    assert {d["id"] for d in got["by_rank"]} <= set(got["ids"])
    assert all(d["tenant"] == ACME and set(d) == {"id", "tenant", "email"} for d in got["fields"])
    assert [row[0] for row in got["json"]] == got["ids"]
    assert got["notes_count"] == 12 and all(d["tenant"] == ACME for d in got["notes"])
    assert got["tenants"] == sorted([ACME, UUID_TENANT])


async def test_a_long_unicode_tenant_reads_back_as_written(tmp_path: Path) -> None:
    store = await started(tmp_path / "store.db")
    try:
        written = await write(store, UNICODE_TENANT, 4)
        async with store.transaction() as session:
            changed = {**written[0], "rank": 99}
            assert await session.replace("people", changed)
            assert await session.delete("people", tenant=UNICODE_TENANT, id=written[1]["id"])
        got = await answers(store, UNICODE_TENANT)
    finally:
        await store.close()
    assert got["get"] == [changed, *written[2:]]
    assert got["tenants"] == [UNICODE_TENANT]


async def test_a_tenant_never_written_reads_empty_and_makes_no_code(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = await started(path)
    try:
        people = await write(store, ACME)
        got = await answers(store, "nobody")
        async with store.transaction() as session:
            stranger = {**people[0], "tenant": "nobody"}
            assert not await session.replace("people", stranger)
            assert await session.replace_many("people", [stranger], expected_versions=[1]) == 0
            assert not await session.delete("people", tenant="nobody", id=people[0]["id"])
            assert await session.delete_where("notes", tenant="nobody", where=[]) == 0
    finally:
        await store.close()
    assert got["ids"] == [] and got["get"] == [] and got["json"] == []
    assert all(got[f"count{i}"] == 0 and got[f"find{i}"] == [] for i in range(len(QUERIES)))
    assert tenant_codes(path) == {ACME: 1}


class Refused(Exception):
    """Stands for whatever made a transaction roll back."""


async def test_a_rolled_back_first_write_leaves_no_code_behind(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = await started(path)
    try:
        with pytest.raises(Refused):
            async with store.transaction() as session:
                await session.insert("notes", note("ghost", 1))
                raise Refused
        # The next tenant written takes the code the rolled-back write had made.
        mine = await write(store, ACME, 3)
        async with store.reader() as session:
            assert await session.find("notes", tenant="ghost") == []
            assert await session.get("people", tenant="ghost", id=mine[0]["id"]) is None
        ghost = await write(store, "ghost", 2)
        got = await answers(store, "ghost")
    finally:
        await store.close()
    assert got["get"] == ghost
    assert tenant_codes(path) == {ACME: 1, "ghost": 2}


async def test_stores_sharing_a_file_agree_on_codes_made_concurrently(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    first, second = await started(path), await started(path)
    try:
        names = [f"tenant-{i}" for i in range(6)]
        # Each store writes every tenant, the two interleaved: whichever makes a code first,
        # the other takes it.
        written = await asyncio.gather(
            *(
                write(store, name, 3, first=10 * k)
                for name in names
                for k, store in enumerate((first, second))
            )
        )
        by_tenant: dict[str, list[str]] = {}
        for people in written:
            by_tenant.setdefault(people[0]["tenant"], []).extend(p["id"] for p in people)
        for store in (first, second):
            for name in names:
                got = await answers(store, name)
                assert sorted(got["ids"]) == sorted(by_tenant[name])
                assert got["notes_count"] == 6
        # A tenant one store writes after the other started: the other reads it.
        late = await write(first, "late", 2)
        assert (await answers(second, "late"))["get"] == late
    finally:
        await first.close()
        await second.close()
    assert sorted(tenant_codes(path)) == sorted([*names, "late"])
    assert sorted(tenant_codes(path).values()) == list(range(1, 8))
