"""The storage port's projection (`find(..., fields=...)`), run over every adapter."""

from __future__ import annotations

from typing import Any

import pytest

from crm_shared.ids import new_id
from crm_shared.storage import DocumentStore, Eq, scan

T1 = "tenant-a"
T2 = "tenant-b"


def doc(tenant: str = T1, **fields: Any) -> dict[str, Any]:
    return {"id": new_id(), "tenant": tenant, "version": 1, **fields}


async def insert(store: DocumentStore, *docs: dict[str, Any]) -> None:
    async with store.transaction() as session:
        await session.insert_many("contacts", list(docs))


async def test_projection_returns_id_tenant_and_the_fields_with_their_types(
    store: DocumentStore,
) -> None:
    ada = doc(
        name="Ada",
        tags=["vip", "math"],
        address={"city": "London"},
        score=3.5,
        active=True,
        secret="not asked for",
    )
    await insert(store, ada)
    async with store.reader() as session:
        found = await session.find(
            "contacts", tenant=T1, fields=("name", "tags", "address", "score", "active")
        )
    assert found == [
        {
            "id": ada["id"],
            "tenant": T1,
            "name": "Ada",
            "tags": ["vip", "math"],
            "address": {"city": "London"},
            "score": 3.5,
            "active": True,
        }
    ]


async def test_projection_gives_none_for_missing_or_null_fields(store: DocumentStore) -> None:
    grace = doc(nickname=None)
    await insert(store, grace)
    async with store.reader() as session:
        found = await session.find("contacts", tenant=T1, fields=("nickname", "email"))
    assert found == [{"id": grace["id"], "tenant": T1, "nickname": None, "email": None}]


async def test_projection_keeps_filters_order_paging_and_tenants(store: DocumentStore) -> None:
    people = [doc(kind="person", rank=r, name=f"p{r}") for r in (3, 1, 2)]
    await insert(store, *people, doc(kind="org", rank=0, name="o"), doc(T2, kind="person", rank=9))
    async with store.reader() as session:
        found = await session.find(
            "contacts",
            tenant=T1,
            where=(Eq("kind", "person"),),
            order_by="rank",
            limit=2,
            fields=("name",),
        )
    assert [d["name"] for d in found] == ["p1", "p2"]
    streamed = [
        d async for d in scan(store, "contacts", tenant=T1, page_size=2, fields=("name", "rank"))
    ]
    assert sorted(d["rank"] for d in streamed) == [0, 1, 2, 3]
    assert all(set(d) == {"id", "tenant", "name", "rank"} for d in streamed)


@pytest.mark.parametrize("field", ["address.city", "name'); DROP TABLE c_contacts; --", "$where"])
async def test_projection_refuses_paths_and_odd_field_names(
    store: DocumentStore, field: str
) -> None:
    async with store.reader() as session:
        with pytest.raises(ValueError):
            await session.find("contacts", tenant=T1, fields=(field,))
