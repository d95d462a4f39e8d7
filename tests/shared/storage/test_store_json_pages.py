"""The storage port's JSON pages (`json_pages.find_json`), run over every adapter."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from crm_shared.ids import new_id
from crm_shared.storage import DocumentStore, Eq, Session
from crm_shared.storage.json_pages import find_json, path_tree

T1 = "tenant-a"
T2 = "tenant-b"


def doc(tenant: str = T1, **fields: Any) -> dict[str, Any]:
    return {"id": new_id(), "tenant": tenant, "version": 1, **fields}


async def insert(store: DocumentStore, collection: str, *docs: dict[str, Any]) -> None:
    async with store.transaction() as session:
        await session.insert_many(collection, list(docs))


async def pages(store: DocumentStore, collection: str, **kwargs: Any) -> list[tuple[str, Any]]:
    async with store.reader() as session:
        rows = await find_json(session, collection, tenant=T1, **kwargs)
    return [(doc_id, orjson.loads(text)) for doc_id, text in rows]


async def test_json_pages_hold_the_id_and_the_paths_with_their_types_in_order(
    store: DocumentStore,
) -> None:
    ada = doc(
        name="Ada Lovelace, née Byron",
        tags=["vip", "math"],
        attrs={"plan": "pro", "seats": 12, "ratio": 0.5, "trial": False, "secret": "x"},
        rank=3,
        secret="not asked for",
    )
    await insert(store, "contacts", ada)
    found = await pages(
        store, "contacts", paths=("name", "attrs.seats", "tags", "attrs.plan", "attrs.ratio")
    )
    assert found == [
        (
            ada["id"],
            {
                "id": ada["id"],
                "name": "Ada Lovelace, née Byron",
                "attrs": {"seats": 12, "plan": "pro", "ratio": 0.5},
                "tags": ["vip", "math"],
            },
        )
    ]
    assert list(found[0][1]) == ["id", "name", "attrs", "tags"]
    assert list(found[0][1]["attrs"]) == ["seats", "plan", "ratio"]


async def test_json_pages_read_absent_fields_as_their_declared_empty_or_null(
    store: DocumentStore,
) -> None:
    # Written with every empty field left out, as a store may keep it.
    bare = doc(name="Grace")
    await insert(store, "people", bare)
    found = await pages(store, "people", paths=("name", "owner", "labels", "links", "nickname"))
    assert found[0][1] == {
        "id": bare["id"],
        "name": "Grace",
        "owner": None,
        "labels": [],
        "links": {},
        "nickname": None,
    }


async def test_json_pages_give_null_under_a_field_that_is_no_object(store: DocumentStore) -> None:
    odd = doc(attrs=None, tags="not a list")
    await insert(store, "contacts", odd)
    found = await pages(store, "contacts", paths=("attrs.plan", "tags", "missing.deep.path"))
    assert found[0][1] == {
        "id": odd["id"],
        "attrs": {"plan": None},
        "tags": "not a list",
        "missing": {"deep": {"path": None}},
    }


async def test_json_pages_keep_filters_id_order_after_and_limit(store: DocumentStore) -> None:
    people = [doc(kind="person", name=f"p{i}") for i in range(5)]
    await insert(store, "contacts", *people, doc(kind="org", name="o"))
    found = await pages(store, "contacts", paths=("name",), where=(Eq("kind", "person"),), limit=2)
    assert [d["name"] for _, d in found] == ["p0", "p1"]
    rest = await pages(
        store,
        "contacts",
        paths=("name",),
        where=(Eq("kind", "person"),),
        after=found[-1][0],
        limit=10,
    )
    assert [d["name"] for _, d in rest] == ["p2", "p3", "p4"]
    assert [doc_id for doc_id, _ in found + rest] == [p["id"] for p in people]


async def test_json_pages_read_only_the_tenants_documents(store: DocumentStore) -> None:
    mine = doc(name="mine")
    await insert(store, "contacts", mine, doc(T2, name="theirs"))
    found = await pages(store, "contacts", paths=("name", "tenant_note"))
    assert found == [(mine["id"], {"id": mine["id"], "name": "mine", "tenant_note": None})]


async def test_json_pages_match_what_find_reads(store: DocumentStore) -> None:
    docs = [doc(name=f"n{i}", tags=[str(i)], attrs={"plan": f"p{i}"}) for i in range(3)]
    await insert(store, "contacts", *docs)
    async with store.reader() as session:
        full = await session.find("contacts", tenant=T1)
    found = await pages(store, "contacts", paths=("name", "tags", "attrs.plan"))
    assert [d for _, d in found] == [
        {"id": d["id"], "name": d["name"], "tags": d["tags"], "attrs": {"plan": d["attrs"]["plan"]}}
        for d in full
    ]


async def test_json_pages_are_utf8_bytes(store: DocumentStore) -> None:
    zoe = doc(name="Zoë 東京")
    await insert(store, "contacts", zoe)
    async with store.reader() as session:
        [(zoe_id, line)] = await find_json(session, "contacts", tenant=T1, paths=("name",))
    assert zoe_id == zoe["id"]
    assert isinstance(line, bytes) and "Zoë 東京".encode() in line
    assert orjson.loads(line) == {"id": zoe["id"], "name": "Zoë 東京"}


class _Wrapper:
    """A session wrapper without find_json, as the contacts' batched session is."""

    def __init__(self, inner: Session) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "find_json":
            raise AttributeError(name)
        return getattr(self._inner, name)


async def test_a_session_without_json_pages_is_read_through_find(store: DocumentStore) -> None:
    grace = doc(name="Grace", attrs={"plan": "free"})
    await insert(store, "contacts", grace)
    async with store.reader() as session:
        rows = await find_json(
            _Wrapper(session),  # type: ignore[arg-type]
            "contacts",
            tenant=T1,
            paths=("name", "attrs.plan"),
        )
    assert [(i, orjson.loads(t)) for i, t in rows] == [
        (grace["id"], {"id": grace["id"], "name": "Grace", "attrs": {"plan": "free"}})
    ]


@pytest.mark.parametrize(
    "paths",
    [(), ("tenant",), ("name", "name"), ("attrs", "attrs.plan"), ("attrs.plan", "attrs"), ("a-b",)],
)
def test_malformed_repeated_or_overlapping_paths_are_refused(paths: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        path_tree(paths)


async def test_an_adapter_refuses_a_bad_path_before_reading(store: DocumentStore) -> None:
    async with store.reader() as session:
        with pytest.raises(ValueError):
            await find_json(session, "contacts", tenant=T1, paths=("name') --",))
