"""Query plans of the SQLite adapter: which index a page of documents is read from.

SQLite's planner has no statistics here, and without them it prefers walking the primary key (or
the index of the sort order) over a selective index. So the adapter picks the index itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiosqlite

from crm_shared.storage.port import Eq, In, Range, Where
from crm_shared.storage.sqlite_multi import Entry, EntrySet, MultiValueIndexes, key_code_sql
from crm_shared.storage.sqlite_sql import bind, condition_sql, table_name

# How many index entries a plan probes a candidate condition for.
PROBE_LIMIT = 500


def named_index(collection: str, where: Sequence[Where], by_field: dict[str, str]) -> str:
    """The table, naming the index of the first equality on an indexed field if there is one.

    Without statistics SQLite prefers walking the primary key in id order over a field index,
    which turns an indexed look-up into a scan of the tenant; so the index is named. Not for
    `Eq(field, None)`: "not deleted" holds for most documents, and forcing its index would make
    every page that is not in id order sort all of them.
    """
    for cond in where:
        if isinstance(cond, Eq) and cond.value is None:
            continue
        if isinstance(cond, (Eq, In)) and cond.field in by_field:
            return f"{table_name(collection)} INDEXED BY {by_field[cond.field]}"
    return table_name(collection)


def side_join(entry: Entry, *, tenant: str, multi: MultiValueIndexes) -> tuple[str, list[Any]]:
    """The WHERE terms selecting one value's entries in the side table (aliased `d`)."""
    terms = f"d.e_key = {key_code_sql(multi.collection)} AND d.e_value = ?"
    return terms, [tenant, entry.path, bind(entry.value)]


def side_ids(entries: EntrySet, *, tenant: str, multi: MultiValueIndexes) -> tuple[str, list[Any]]:
    """A WHERE term keeping the documents with any of the values (read off the side table)."""
    marks = ", ".join("?" for _ in entries.values)
    term = (
        f"{multi.ref(entries.path)} IN (SELECT e_ref FROM {multi.table} "
        f"WHERE e_key = {key_code_sql(multi.collection)} AND e_value IN ({marks}))"
    )
    return term, [tenant, entries.path, *(bind(v) for v in entries.values)]


async def _count_upto_limit(conn: aiosqlite.Connection, sql: str, params: list[Any]) -> int:
    async with conn.execute(f"SELECT count(*) FROM ({sql} LIMIT {PROBE_LIMIT})", params) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def plan_source(
    conn: aiosqlite.Connection,
    collection: str,
    tenant: str,
    where: Sequence[Where],
    order_by: str,
    *,
    indexes: dict[str, str],
    multi: MultiValueIndexes | None,
) -> str | Entry | EntrySet:
    """Where a page is read from: the table, a named index, or one value's multi-value entries.

    An equality on an indexed field names its index (`named_index`). Otherwise the candidates
    are multi-value entries (an element of an array, a value under an object) and ranges on
    indexed fields, each probed for at most PROBE_LIMIT matches. In id order the entries of one
    value come already sorted (unless their index is lookup-only: they name documents by row
    key), so the rarest of them drives the page however many match; any other candidate drives
    only when fewer than PROBE_LIMIT match (they are then sorted), and otherwise SQLite walks
    the primary key or the index of the sort order, filtering as it goes.
    A ContainsAny alone (no other indexed condition) reads the ids of its values' entries.
    """
    table = table_name(collection)
    named = named_index(collection, where, indexes)
    if named != table:
        return named
    entries = [e for e in (multi.entry(c) for c in where) if e] if multi else []
    ranges = [c for c in where if isinstance(c, Range) and c.field in indexes]
    if not entries and not ranges:
        sets = [s for s in (multi.entry_set(c) for c in where) if s] if multi else []
        return sets[0] if sets else table
    ordered = [e for e in entries if multi and multi.in_id_order(e.path)]
    if order_by == "id" and len(entries) == 1 and not ranges:
        # Uncounted: in id order a page reads off the entries; entries by row key (a lookup-only
        # index: a few holders a value) are sorted, which beats walking the tenant past them.
        return entries[0]
    counted: list[tuple[int, int, str | Entry]] = []
    for entry in entries:
        assert multi is not None
        terms, params = side_join(entry, tenant=tenant, multi=multi)
        sql = f"SELECT 1 FROM {multi.table} AS d WHERE {terms}"
        counted.append((await _count_upto_limit(conn, sql, params), len(counted), entry))
    for cond in ranges:
        source = f"{table} INDEXED BY {indexes[cond.field]}"
        params = [tenant]
        sql = f"SELECT 1 FROM {source} WHERE tenant = ? AND {condition_sql(cond, params)}"
        counted.append((await _count_upto_limit(conn, sql, params), len(counted), source))
    count, _, best = min(counted, key=lambda c: c[:2])
    if count < PROBE_LIMIT:
        return best
    if order_by == "id" and ordered:
        return min((c for c in counted if c[2] in ordered), key=lambda c: c[:2])[2]
    return table
