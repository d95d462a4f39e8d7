"""A SQLite collection with every kind of derived entry, and readers of those entries.

The entries a store holds after any sequence of writes must be exactly the ones a fresh insert of
the surviving documents gives: `fresh_entries` builds that second store, and `entries` and
`postings` read both stores' tables with keys and row keys resolved to document ids.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from crm_shared.ids import new_id
from crm_shared.storage import CollectionSpec, Empty, Index
from crm_shared.storage.sqlite import SqliteStore
from crm_shared.storage.sqlite_ids import read_id

T = "acme"
SPECS = (
    CollectionSpec(
        "people",
        indexes=(
            Index(("tags",), multi_value="array"),
            # Entries naming documents by row key, not id.
            Index(("emails",), multi_value="array", lookup_only=True),
            Index(("phones",), multi_value="array"),
            Index(("custom",), multi_value="object"),
            Index(("search",), text=True),
            Index(("handle",), unique=True),
        ),
        # Declared fields are stored under short codes: every path goes through the key map.
        empties=(
            Empty("tags", "list"),
            Empty("emails", "list"),
            Empty("phones", "list"),
            Empty("custom", "map"),
            Empty("search"),
            Empty("note"),
        ),
    ),
)
# The names of the entries of SPECS' indexes, as their markers say.
ENTRY_NAMES = (
    "mv_people__tags_array_v3",
    "mv_people__emails_array_v3_nh32",
    "mv_people__phones_array_v3",
    "mv_people__custom_object_v3",
    "ft_people",
)
# As older code's triggers named them: its lookup-only entries held text, not hashes ("_n").
OLDER_ENTRY_NAMES = tuple(name.replace("_nh32", "_n") for name in ENTRY_NAMES)


def person(n: int, *, id: str | None = None) -> dict[str, Any]:
    """A document with entries in every index."""
    return {
        "id": id or new_id(),
        "tenant": T,
        "version": 1,
        "handle": f"h{n}",
        "tags": ["member", f"t{n % 3}"],
        "emails": [f"p{n}@example.com"],
        "phones": [f"+4400{n}"],
        "custom": {"plan": "pro" if n % 2 else "free", "seats": n, "labels": ["a", n]},
        "search": f"person number {n}",
        "note": None,
    }


def changed(doc: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """The document with these fields and its next version."""
    return {**doc, **fields, "version": doc["version"] + 1}


def entries(path: Path) -> list[tuple[Any, ...]]:
    """Side-table entries as (tenant, path, value, document id): keys and row keys resolved."""
    db = sqlite3.connect(path)
    try:
        rows = db.execute(
            "SELECT k.tenant, k.path, e.e_value, typeof(e.e_value), c.id FROM mv_people AS e "
            "JOIN mvk_people AS k ON k.code = e.e_key "
            "JOIN c_people AS c ON c.id = e.e_ref OR c.n = e.e_ref ORDER BY 1, 2, 3, 5"
        ).fetchall()
        count = db.execute("SELECT count(*) FROM mv_people").fetchone()[0]
    finally:
        db.close()
    assert count == len(rows)  # no entry names a document that is not there
    return [(*row[:-1], read_id(row[-1])) for row in rows]


def postings(path: Path) -> list[tuple[str, str]]:
    """The text index's (trigram, document id) postings, as its vocabulary table reads them."""
    db = sqlite3.connect(path)
    try:
        db.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, ft_people, 'instance')")
        rows = db.execute(
            "SELECT v.term, c.id FROM temp.vocab AS v LEFT JOIN c_people AS c ON c.n = v.doc "
            "ORDER BY 1, 2"
        ).fetchall()
    finally:
        db.close()
    assert all(doc_id is not None for _, doc_id in rows)  # no posting of a row gone
    return [(*row[:-1], read_id(row[-1])) for row in rows]


def triggers(path: Path) -> set[str]:
    """The store's triggers."""
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
    finally:
        db.close()
    return {str(row[0]) for row in rows}


def filled_markers(path: Path) -> set[str]:
    """The entries the store marks filled (sqlite_filled.py)."""
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT name FROM _filled_entries").fetchall()
    finally:
        db.close()
    return {str(row[0]) for row in rows}


async def started(path: Path, specs: tuple[CollectionSpec, ...] = SPECS) -> SqliteStore:
    """A store of `specs` on `path`, started."""
    store = SqliteStore(path)
    await store.start(specs)
    return store


@asynccontextmanager
async def holding(
    path: Path, docs: list[dict[str, Any]], specs: tuple[CollectionSpec, ...] = SPECS
) -> AsyncIterator[SqliteStore]:
    """A store of `specs` started on `path` with `docs` inserted in one transaction; closed on
    the way out."""
    store = await started(path, specs)
    try:
        if docs:
            async with store.transaction() as session:
                await session.insert_many("people", docs)
        yield store
    finally:
        await store.close()


async def stored_documents(store: SqliteStore) -> list[dict[str, Any]]:
    """Every document of the collection."""
    async with store.reader() as session:
        return await session.find("people", tenant=T, limit=1000)


async def fresh_entries(
    path: Path, docs: list[dict[str, Any]]
) -> tuple[list[tuple[Any, ...]], list[tuple[str, str]]]:
    """The entries and postings of a new store at `path` holding `docs`, inserted."""
    async with holding(path, docs):
        pass
    return entries(path), postings(path)
