"""Stores for the tenant-code tests (sqlite_tenants.py): specs, documents, every read path."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from crm_shared.ids import new_id
from crm_shared.storage import (
    CollectionSpec,
    Contains,
    ContainsAny,
    Eq,
    In,
    Index,
    Range,
    TextMatch,
    Where,
)
from crm_shared.storage.sqlite import SqliteStore
from crm_shared.storage.sqlite_tenants import TENANT_TABLE

ACME = "acme"
# A real deployment's tenant id, and one that is long and not ASCII.
UUID_TENANT = "5f0c6a8e-3b1d-4f2a-9c7e-2d4b6a8c0e1f"
UNICODE_TENANT = "Société Générale — 東京支店 " * 8
SPECS = [
    CollectionSpec(
        "people",
        indexes=(
            Index(("email",), unique=True),
            Index(("rank",)),
            Index(("labels",), multi_value="array"),
            Index(("attrs",), multi_value="object"),
            Index(("search",), text=True),
        ),
    ),
    CollectionSpec("notes", indexes=(Index(("kind",)),)),  # WITHOUT ROWID: no text, no entries
]


def person(tenant: str, i: int) -> dict[str, Any]:
    """The same people in every tenant but for their ids: only the tenant tells them apart."""
    return {
        "id": new_id(),
        "tenant": tenant,
        "email": f"p{i}@example.com",
        "rank": i,
        "labels": ["vip"] if i % 3 == 0 else ["lead", f"l{i}"],
        "attrs": {"plan": "gold" if i % 2 else "free"},
        "search": f"person number {i} walnut",
    }


def note(tenant: str, i: int) -> dict[str, Any]:
    return {"id": new_id(), "tenant": tenant, "kind": "call" if i % 2 else "mail", "n": i}


async def started(path: Path) -> SqliteStore:
    store = SqliteStore(path)
    await store.start(SPECS)
    return store


async def write(
    store: SqliteStore, tenant: str, count: int = 12, *, first: int = 0
) -> list[dict[str, Any]]:
    people = [person(tenant, i) for i in range(first, first + count)]
    async with store.transaction() as session:
        await session.insert_many("people", people)
        await session.insert_many("notes", [note(tenant, i) for i in range(count)])
    return people


QUERIES: list[list[Where]] = [
    [],
    [Eq("email", "p3@example.com")],
    [In("rank", (1, 2, 40))],
    [Contains("labels", "vip")],
    [ContainsAny("labels", ("l4", "l5"))],
    [Eq("attrs.plan", "gold"), Contains("labels", "lead")],
    [TextMatch("search", "walnut number 7")],
    [TextMatch("search", "walnut"), Contains("labels", "vip")],
    [Range("rank", gte=4, lt=9)],
]


async def answers(store: SqliteStore, tenant: str) -> dict[str, Any]:
    """What every read path answers for the tenant."""
    got: dict[str, Any] = {}
    async with store.reader() as session:
        everyone = await session.find("people", tenant=tenant, limit=1000)
        got["ids"] = [d["id"] for d in everyone]
        got["get"] = [await session.get("people", tenant=tenant, id=d["id"]) for d in everyone]
        for i, where in enumerate(QUERIES):
            got[f"find{i}"] = await session.find("people", tenant=tenant, where=where, limit=1000)
            got[f"count{i}"] = await session.count("people", tenant=tenant, where=where)
        got["by_rank"] = await session.find(
            "people", tenant=tenant, order_by="rank", descending=True, limit=5
        )
        got["fields"] = await session.find(
            "people", tenant=tenant, where=[Contains("labels", "vip")], fields=["email"]
        )
        got["json"] = await session.find_json("people", tenant=tenant, paths=["email", "rank"])
        got["notes"] = await session.find("notes", tenant=tenant, where=[Eq("kind", "call")])
        got["notes_count"] = await session.count("notes", tenant=tenant)
        got["tenants"] = await session.tenants("people")
    return got


def db_rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def tenant_codes(path: Path) -> dict[str, int]:
    return dict(db_rows(path, f"SELECT tenant, code FROM {TENANT_TABLE}"))
