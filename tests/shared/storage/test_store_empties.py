"""Declared empty fields (`CollectionSpec.empties`), run over every adapter.

A store may leave a declared field out of what it writes while it is empty (SQLite does); every
adapter reads it back as empty, and queries see it as they see an empty value.
"""

from __future__ import annotations

from typing import Any

from crm_shared.ids import new_id
from crm_shared.storage import Contains, DocumentStore, Eq, Not, Where

T = "tenant-a"
PEOPLE = "people"


def person(**fields: Any) -> dict[str, Any]:
    return {"id": new_id(), "tenant": T, "version": 1, **fields}


def full(**fields: Any) -> dict[str, Any]:
    """A person holding every declared field, empty unless given."""
    return person(**({"owner": None, "deleted_at": None, "labels": [], "links": {}} | fields))


async def insert(store: DocumentStore, *docs: dict[str, Any]) -> None:
    async with store.transaction() as session:
        await session.insert_many(PEOPLE, list(docs))


async def ids_where(store: DocumentStore, *where: Where) -> set[str]:
    async with store.reader() as session:
        return {d["id"] for d in await session.find(PEOPLE, tenant=T, where=where, limit=100)}


async def test_a_document_holding_every_declared_field_reads_back_as_written(
    store: DocumentStore,
) -> None:
    empty = full(name="Ada")
    filled = full(name="Grace", owner="u1", labels=["vip"], links={"web": "x.io"})
    await insert(store, empty, filled)
    async with store.reader() as session:
        assert await session.get(PEOPLE, tenant=T, id=empty["id"]) == empty
        assert await session.get(PEOPLE, tenant=T, id=filled["id"]) == filled
        assert await session.find(PEOPLE, tenant=T) == [empty, filled]


async def test_a_declared_field_a_document_lacks_reads_as_empty(store: DocumentStore) -> None:
    sparse = person(name="Alan")
    await insert(store, sparse)
    async with store.reader() as session:
        got = await session.get(PEOPLE, tenant=T, id=sparse["id"])
        listed = await session.find(PEOPLE, tenant=T)
        narrow = await session.find(PEOPLE, tenant=T, fields=("labels", "links", "owner", "name"))
    expected = sparse | {"owner": None, "deleted_at": None, "labels": [], "links": {}}
    assert got == expected and listed == [expected]
    assert narrow == [
        {"id": sparse["id"], "tenant": T, "labels": [], "links": {}, "owner": None, "name": "Alan"}
    ]


async def test_reads_give_fresh_empty_values(store: DocumentStore) -> None:
    a, b = person(), person()
    await insert(store, a, b)
    async with store.reader() as session:
        first, second = await session.find(PEOPLE, tenant=T)
    first["labels"].append("changed")
    assert second["labels"] == []


async def test_queries_see_an_empty_field_whether_stored_or_left_out(
    store: DocumentStore,
) -> None:
    stored_empty = full()
    absent = person()
    owned = full(owner="u1", labels=["vip"], deleted_at="2026-01-01T00:00:00Z")
    await insert(store, stored_empty, absent, owned)
    nobody = {stored_empty["id"], absent["id"]}
    assert await ids_where(store, Eq("owner", None)) == nobody
    assert await ids_where(store, Eq("deleted_at", None)) == nobody
    assert await ids_where(store, Eq("owner", "u1")) == {owned["id"]}
    assert await ids_where(store, Contains("labels", "vip")) == {owned["id"]}
    assert await ids_where(store, Not(Contains("labels", "vip"))) == nobody
    async with store.reader() as session:
        assert await session.count(PEOPLE, tenant=T, where=[Eq("owner", None)]) == 2


async def test_a_field_emptied_by_a_replace_reads_empty_and_leaves_the_indexes(
    store: DocumentStore,
) -> None:
    doc = full(owner="u1", labels=["vip"], links={"web": "x.io"})
    await insert(store, doc)
    emptied = doc | {"owner": None, "labels": [], "links": {}, "version": 2}
    async with store.transaction() as session:
        assert await session.replace(PEOPLE, emptied, expected_version=1)
    async with store.reader() as session:
        assert await session.get(PEOPLE, tenant=T, id=doc["id"]) == emptied
    assert await ids_where(store, Contains("labels", "vip")) == set()
    assert await ids_where(store, Eq("owner", "u1")) == set()
    assert await ids_where(store, Eq("owner", None)) == {doc["id"]}
