"""Multi-value indexes of the SQLite adapter: one entry per array element or object value.

SQLite cannot index inside a JSON array, so each collection with multi-value indexes gets a side
table `mv_<collection>` of entries `(tenant, path, value, id)`: for an "array" index on `tags`,
one entry per element (path "tags"); for an "object" index on `custom_fields`, one per scalar
value (path "custom_fields.plan") and one per element of an array value. Triggers on the
collection's table keep the entries in step with every insert, replace and delete, inside the
same transaction (inserts add theirs from Python, which already holds the documents as dicts:
a trigger would parse each one's JSON again, which made bulk imports three times slower); an
index declared on a collection that already holds documents is filled from them when it is
created. Its primary key orders the entries of one value by document id, so a
page in id order reads straight off it.

An entry says "this value is at this path, alone or as an element": exactly what Contains tests
(as json_each does on the document, and MongoDB on an array or a scalar), so Contains and
ContainsAny are answered from the entries. For Eq the entries of a value are a superset of the
matches (an array holding it has them too); a page read from them still applies every condition.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiosqlite

from crm_shared.storage.port import (
    CollectionSpec,
    Contains,
    ContainsAny,
    Eq,
    MultiValue,
    Where,
    check_field,
)

Scalar = (str, int, float, bool)
_SKIP = object()


def side_table(collection: str) -> str:
    """The side table holding a collection's multi-value index entries."""
    return f"mv_{collection}"


@dataclass(frozen=True)
class Entry:
    """The side-table entries of one value at one path."""

    path: str
    value: Any


@dataclass(frozen=True)
class EntrySet:
    """The side-table entries of any of several values at one path (a ContainsAny)."""

    path: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class MultiValueIndexes:
    """The multi-value indexes of one collection: indexed field -> "array" or "object"."""

    collection: str
    roots: dict[str, MultiValue]

    @property
    def table(self) -> str:
        """The side table's name."""
        return side_table(self.collection)

    def join(self, table: str) -> str:
        """FROM the side table (aliased `d`) joined to the documents' table.

        CROSS JOIN keeps the entries as the outer loop, each then fetching its document.
        """
        on = f"{table}.tenant = d.e_tenant AND {table}.id = d.e_id"
        return f"{self.table} AS d CROSS JOIN {table} ON {on}"

    def serves(self, path: str) -> bool:
        """Whether the side table holds the values at `path`."""
        if self.roots.get(path) == "array":
            return True
        root = path.rpartition(".")[0]
        return bool(root) and self.roots.get(root) == "object"

    def entry(self, cond: Where) -> Entry | None:
        """The entries holding every match of an equality condition, if the side table has them."""
        match cond:
            case Contains(field=path, value=value) | Eq(field=path, value=value) if isinstance(
                value, Scalar
            ):
                return Entry(path, value) if self.serves(path) else None
        return None

    def entry_set(self, cond: Where) -> EntrySet | None:
        """The entries holding every match of a ContainsAny, if the side table has them."""
        match cond:
            case ContainsAny(field=path, values=values) if values and all(
                isinstance(v, Scalar) for v in values
            ):
                return EntrySet(path, tuple(values)) if self.serves(path) else None
        return None

    def probe(self, cond: Where, params: list[Any], bind: Any) -> str | None:
        """An EXISTS test on the side table for Contains / ContainsAny, or None if not served."""
        match cond:
            case Contains(field=path, value=value) if isinstance(value, Scalar):
                values: tuple[Any, ...] = (value,)
            case ContainsAny(field=path, values=values) if all(
                isinstance(v, Scalar) for v in values
            ):
                pass
            case _:
                return None
        if not self.serves(path):
            return None
        if not values:
            return "0"
        params.extend([path, *(bind(v) for v in values)])
        marks = ", ".join("?" for _ in values)
        # The outer row's tenant and id: side-table columns are all prefixed, so no clash.
        return (
            f"EXISTS (SELECT 1 FROM {self.table} WHERE e_tenant = tenant AND e_path = ? "
            f"AND e_value IN ({marks}) AND e_id = id)"
        )

    def rows(self, doc: Mapping[str, Any]) -> Iterator[tuple[str, str, Any, str]]:
        """The side-table rows (tenant, path, value, id) of a document, as the SQL computes them.

        They must be exactly the ones `_entries_of` selects from the stored JSON: the triggers
        find a document's entries that way to delete them.
        """
        for root, kind in self.roots.items():
            for path, value in _entries(_read(doc, root), root, nested=kind == "object"):
                yield doc["tenant"], path, value, doc["id"]


def _read(doc: Mapping[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _atom(value: Any) -> Any:
    """What json_each's `atom` is for a JSON value stored from `value` (_SKIP for none)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _SKIP  # orjson writes NaN and inf as null
    return _SKIP  # null, arrays and objects have no atom


def _entries(value: Any, root: str, *, nested: bool) -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, child in value.items():
            if (atom := _atom(child)) is not _SKIP:
                yield f"{root}.{key}", atom
            elif nested and isinstance(child, list):
                for item in child:
                    if (atom := _atom(item)) is not _SKIP:
                        yield f"{root}.{key}", atom
    elif isinstance(value, list):
        for item in value:
            if (atom := _atom(item)) is not _SKIP:
                yield root, atom
    elif (atom := _atom(value)) is not _SKIP:
        yield root, atom


def trigger_base(collection: str, root: str, kind: MultiValue) -> str:
    """The common start of the names of the triggers keeping one multi-value index."""
    return f"{side_table(collection)}__{root.replace('.', '_')}_{kind}"


def multi_value_indexes(spec: CollectionSpec) -> dict[str, MultiValue]:
    """The spec's multi-value indexes, by field."""
    return {i.fields[0]: i.multi_value for i in spec.indexes if i.multi_value is not None}


def _entries_of(row: str, root: str, kind: MultiValue, *, source: str = "") -> str:
    """SELECT of the entries (tenant, path, value, id) of row `row` (NEW or OLD).

    `source` names the table `row` comes from when it is not a trigger's own row.
    """
    check_field(root)
    top = (
        f"SELECT {row}.tenant AS t, CASE WHEN typeof(c.key) = 'text' THEN '{root}.' || c.key "
        f"ELSE '{root}' END AS p, c.atom AS v, {row}.id AS i "
        f"FROM {source}json_each({row}.doc, '$.{root}') AS c WHERE c.atom IS NOT NULL"
    )
    if kind == "array":
        return top
    nested = (
        f"SELECT {row}.tenant, '{root}.' || c.key, e.atom, {row}.id "
        f"FROM {source}json_each({row}.doc, '$.{root}') AS c, json_each(c.value) AS e "
        "WHERE c.type = 'array' AND typeof(c.key) = 'text' AND e.atom IS NOT NULL"
    )
    return f"{top} UNION ALL {nested}"


def _old_entries_sql(mv: str, root: str, kind: MultiValue) -> str:
    """DELETE of the old document's entries, by primary-key look-ups (no index by document).

    Scalar INs on each key column let SQLite seek the primary key; a row-value IN on
    (path, value) would not, and scanned the tenant's entries under the path. Paths and values
    are crossed, a superset of the document's own pairs: it deletes only entries of this
    document, and an update's trigger then adds back every entry of the new one.
    """
    each = f"json_each(OLD.doc, '$.{root}')"
    paths = (
        f"SELECT CASE WHEN typeof(key) = 'text' THEN '{root}.' || key ELSE '{root}' END FROM {each}"
    )
    values = f"SELECT atom FROM {each} WHERE atom IS NOT NULL"
    if kind == "object":
        values += (
            f" UNION ALL SELECT e.atom FROM {each} AS c, json_each(c.value) AS e "
            "WHERE c.type = 'array' AND e.atom IS NOT NULL"
        )
    return (
        f"DELETE FROM {mv} WHERE e_tenant = OLD.tenant AND e_path IN ({paths}) "
        f"AND e_value IN ({values}) AND e_id = OLD.id;"
    )


def _trigger_sql(table: str, mv: str, name: str, root: str, kind: MultiValue) -> list[str]:
    check_field(root)
    insert = (
        f"INSERT OR IGNORE INTO {mv} (e_tenant, e_path, e_value, e_id) "
        f"{_entries_of('NEW', root, kind)};"
    )
    delete = _old_entries_sql(mv, root, kind)
    changed = f"json_extract(OLD.doc, '$.{root}') IS NOT json_extract(NEW.doc, '$.{root}')"
    return [
        f"CREATE TRIGGER {name}_del AFTER DELETE ON {table} BEGIN {delete} END",
        f"CREATE TRIGGER {name}_upd AFTER UPDATE OF doc ON {table} WHEN {changed} "
        f"BEGIN {delete} {insert} END",
    ]


async def create_multi_value_indexes(
    conn: aiosqlite.Connection, spec: CollectionSpec, table: str
) -> MultiValueIndexes | None:
    """Create the side table and triggers of the spec's multi-value indexes (idempotent)."""
    roots = multi_value_indexes(spec)
    if not roots:
        return None
    mv = side_table(spec.name)
    await conn.execute(
        f"CREATE TABLE IF NOT EXISTS {mv} (e_tenant TEXT NOT NULL, e_path TEXT NOT NULL, "
        "e_value, e_id TEXT NOT NULL, PRIMARY KEY (e_tenant, e_path, e_value, e_id)) WITHOUT ROWID"
    )
    # Stores made before the triggers found a document's entries by primary key kept a second
    # index by (tenant, id) for them, as large as the side table itself: dropped.
    await conn.execute(f"DROP INDEX IF EXISTS {mv}_by_doc")
    for root, kind in roots.items():
        name = trigger_base(spec.name, root, kind)
        if await _has_trigger(conn, f"{name}_v2_del"):
            continue
        # Triggers of the previous version: their entries are right, only the delete changed.
        filled = await _has_trigger(conn, f"{name}_del")
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for old in (f"{name}_del", f"{name}_upd"):
                await conn.execute(f"DROP TRIGGER IF EXISTS {old}")
            for sql in _trigger_sql(table, mv, f"{name}_v2", root, kind):
                await conn.execute(sql)
            # Documents written before the index existed get their entries now, sorted first:
            # appending in key order is much faster than inserting all over the table.
            if not filled:
                await conn.execute(
                    f"INSERT OR IGNORE INTO {mv} (e_tenant, e_path, e_value, e_id) SELECT * FROM ("
                    + _entries_of("src", root, kind, source=f"{table} AS src, ")
                    + ") ORDER BY 1, 2, 3, 4"
                )
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")
    return MultiValueIndexes(spec.name, roots)


async def _has_trigger(conn: aiosqlite.Connection, name: str) -> bool:
    async with conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?", (name,)
    ) as cur:
        return await cur.fetchone() is not None
