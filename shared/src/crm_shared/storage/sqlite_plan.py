"""Query plans of the SQLite adapter: which index a page of documents is read from.

SQLite's planner has no statistics here, and without them it prefers walking the primary key (or
the index of the sort order) over a selective index. So the adapter picks the index itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crm_shared.storage.port import Contains, ContainsAny, Cursor, Eq, In, Range, Where
from crm_shared.storage.sqlite_ids import stored_id
from crm_shared.storage.sqlite_keys import NO_KEYS, KeyMap
from crm_shared.storage.sqlite_multi import Entry, EntrySet, MultiValueIndexes, key_code_sql
from crm_shared.storage.sqlite_reads import Fetch
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
    return terms, [tenant, entry.path, multi.stored(entry.path, entry.value, bind)]


def side_ids(entries: EntrySet, *, tenant: str, multi: MultiValueIndexes) -> tuple[str, list[Any]]:
    """A WHERE term keeping the documents with any of the values (read off the side table)."""
    marks = ", ".join("?" for _ in entries.values)
    term = (
        f"{multi.ref(entries.path)} IN (SELECT e_ref FROM {multi.table} "
        f"WHERE e_key = {key_code_sql(multi.collection)} AND e_value IN ({marks}))"
    )
    values = [multi.stored(entries.path, v, bind) for v in entries.values]
    return term, [tenant, entries.path, *values]


def entry_driven(
    entry: Entry, where: Sequence[Where], multi: MultiValueIndexes
) -> tuple[list[Where], list[Where]]:
    """The conditions of a page read off one value's entries: (tested on the entries, on the
    documents).

    Conditions the side table answers for documents named the same way as `entry`'s (ids or row
    keys) are tested on the entries read (`d.e_ref`): a miss costs a primary-key seek in the
    side table instead of fetching and parsing a document. A Contains or ContainsAny is decided
    there; an Eq only narrowed (its entries are a superset: an array holding the value has them
    too), so it is checked on the document as well. The Contains `entry` came from is what the
    page reads: testing it again would probe the same entry once per row.
    """
    on_entries: list[Where] = []
    on_docs: list[Where] = []
    for cond in where:
        if isinstance(cond, Contains) and multi.entry(cond) == entry:
            continue
        served = multi.entry(cond) or multi.entry_set(cond)
        same_refs = served is not None and multi.ref(served.path) == multi.ref(entry.path)
        if same_refs and isinstance(cond, (Contains, ContainsAny)):
            on_entries.append(cond)
        elif same_refs and isinstance(cond, Eq):
            on_entries.append(Contains(cond.field, cond.value))
            on_docs.append(cond)
        else:
            on_docs.append(cond)
    return on_entries, on_docs


def entry_tests(
    conds: Sequence[Where], *, tenant: str, multi: MultiValueIndexes, params: list[Any]
) -> str:
    """SQL terms testing side-table conditions on the entries a page reads (`d.e_ref`)."""
    terms = []
    for cond in conds:
        term = multi.probe(cond, params, bind, tenant, ref="d.e_ref")
        assert term is not None, f"{cond!r} is not answered by the side table"
        terms.append(term)
    return "".join(f" AND {term}" for term in terms)


@dataclass(frozen=True)
class _Candidate:
    """A source a page could be read from, with what probing it found."""

    source: str | Entry
    # Matches found, up to PROBE_LIMIT.
    count: int
    # For entries in id order: the reference of the last one counted (how far along the order
    # PROBE_LIMIT of them reach); None for the others.
    reach: Any


def _entry_probe(
    entry: Entry,
    *,
    tenant: str,
    multi: MultiValueIndexes,
    after: Cursor | None,
    descending: bool,
) -> tuple[str, list[Any]]:
    """The first PROBE_LIMIT entries of a value, after the page's cursor when they are in its
    order (id order)."""
    terms, params = side_join(entry, tenant=tenant, multi=multi)
    direction = "DESC" if descending else "ASC"
    if after is not None and multi.in_id_order(entry.path):
        terms += f" AND d.e_ref {'<' if descending else '>'} ?"
        params.append(stored_id(after.id))
    sql = (
        f"SELECT d.e_ref AS r FROM {multi.table} AS d WHERE {terms} "
        f"ORDER BY d.e_ref {direction} LIMIT {PROBE_LIMIT}"
    )
    return sql, params


async def _probe(
    fetch: Fetch, probes: Sequence[tuple[str | Entry, str, list[Any], str]]
) -> list[_Candidate]:
    """Count every candidate's matches (up to PROBE_LIMIT) in one statement: one trip."""
    arms: list[str] = []
    params: list[Any] = []
    for position, (_, sql, arm_params, reach) in enumerate(probes):
        arms.append(f"SELECT {position}, count(*), {reach}(r) FROM ({sql})")
        params.extend(arm_params)
    rows = await fetch(" UNION ALL ".join(arms), params)
    found = {int(row[0]): (int(row[1]), row[2]) for row in rows}
    return [_Candidate(p[0], *found[i]) for i, p in enumerate(probes)]


async def plan_source(
    fetch: Fetch,
    collection: str,
    tenant: str,
    where: Sequence[Where],
    order_by: str,
    *,
    indexes: dict[str, str],
    multi: MultiValueIndexes | None,
    descending: bool = False,
    after: Cursor | None = None,
    keys: KeyMap = NO_KEYS,
    code: int | None,
) -> str | Entry | EntrySet:
    """Where a page is read from: the table, a named index, or one value's multi-value entries.

    An equality on an indexed field names its index (`named_index`). Otherwise the candidates
    are multi-value entries (an element of an array, a value under an object) and ranges on
    indexed fields, each probed for at most PROBE_LIMIT matches, all in one statement. A
    candidate with fewer drives the page (the fewest; its rows are then sorted). When every one
    has more and the page is in id order, the entries of one value come already sorted (unless
    their index is lookup-only: they name documents by row key) and drive it: of several, the
    sparsest where the page starts, the one whose PROBE_LIMIT-th entry lies furthest along the
    order. A page read off entries tests each row against the others' entries before fetching
    its document, and one of k matches among the driver's rows needs about k / (share of the
    driver's rows the others hold) reads, fewest when the driver is the rarer side. Otherwise
    SQLite walks the primary key or the index of the sort order, filtering as it goes.
    A ContainsAny alone (no other indexed condition) reads the ids of its values' entries.
    `tenant` is the tenant's name (the side table's keys), `code` its code (the rows').
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
    if order_by == "id" and len(entries) == 1 and not ranges:
        # Uncounted: in id order a page reads off the entries; entries by row key (a lookup-only
        # index: a few holders a value) are sorted, which beats walking the tenant past them.
        return entries[0]
    reach = "min" if descending else "max"
    probes: list[tuple[str | Entry, str, list[Any], str]] = []
    for entry in dict.fromkeys(entries):
        assert multi is not None
        sql, params = _entry_probe(
            entry,
            tenant=tenant,
            multi=multi,
            after=after if order_by == "id" else None,
            descending=descending and order_by == "id",
        )
        probes.append((entry, sql, params, reach if multi.in_id_order(entry.path) else "max"))
    for cond in ranges:
        source = f"{table} INDEXED BY {indexes[cond.field]}"
        params = [code]  # the rows hold the tenant's code (sqlite_tenants.py)
        test = condition_sql(cond, params, keys=keys)
        sql = f"SELECT NULL AS r FROM {source} WHERE tenant = ? AND {test} LIMIT {PROBE_LIMIT}"
        probes.append((source, sql, params, "max"))
    counted = await _probe(fetch, probes)
    fewest = min(counted, key=lambda c: c.count)
    if fewest.count < PROBE_LIMIT:
        return fewest.source
    ordered = [
        c
        for c in counted
        if isinstance(c.source, Entry) and multi is not None and multi.in_id_order(c.source.path)
    ]
    if order_by == "id" and ordered:
        # min/max keep the first of equals: the condition the caller put first.
        pick = min if descending else max
        # As SQLite orders ids: text ones before the UUIDs stored as bytes (sqlite_ids.py).
        return pick(ordered, key=lambda c: (isinstance(c.reach, bytes), c.reach)).source
    return table
