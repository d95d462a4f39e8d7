"""The small `people` collection the SQLite layout and migration tests write, and its set-up."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from crm_shared.ids import new_id
from crm_shared.storage import CollectionSpec
from crm_shared.storage.sqlite import SqliteStore


def person(i: int) -> dict[str, Any]:
    """Person `i`: owners alternate, every third one is a vip, odd ones match the text `ada`."""
    return {
        "id": new_id(),
        "tenant": "t",
        "name": f"Person {i}",
        "owner": f"u{i % 2}",
        "labels": ["vip"] if i % 3 == 0 else ["lead", f"n{i}"],
        "search": f"person {i} ada" if i % 2 else f"person {i} grace",
        "created_at": f"2025-01-{10 + i:02d}",
        "version": 1,
    }


async def started(path: Path, specs: Sequence[CollectionSpec]) -> SqliteStore:
    """A store on `path`, started with `specs` (its layout steps and migrations run)."""
    store = SqliteStore(path)
    await store.start(specs)
    return store


async def written(
    path: Path, specs: Sequence[CollectionSpec], people: Sequence[dict[str, Any]]
) -> None:
    """Start a store on `path` with `specs`, insert `people` into `people`, and close it."""
    store = await started(path, specs)
    try:
        async with store.transaction() as session:
            await session.insert_many("people", people)
    finally:
        await store.close()
