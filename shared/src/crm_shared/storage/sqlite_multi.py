"""Multi-value indexes of the SQLite adapter: one entry per array element or object value.

SQLite cannot index inside a JSON array, so each collection with multi-value indexes gets a side
table `mv_<collection>` of entries `(key, value, ref)`: for an "array" index on `tags`, one entry
per element (path "tags"); for an "object" index on `custom_fields`, one per scalar value (path
"custom_fields.plan") and one per element of an array value. `key` is a small integer naming a
(tenant, path) pair in the collection's key dictionary `mvk_<collection>` (a tenant and a path in
full were ~20 bytes of every entry). `ref` names the document: its id, so the entries of one value
come in id order and a page in id order reads straight off them; or, for a lookup-only index
(`Index.lookup_only`: match keys, six entries a contact), its integer row key `n`, a fifth of the
id's bytes, whose pages in id order are sorted instead; its text values are held as a 32-bit
hash (`entry_hash`: 4 bytes, not a match key's ~15 characters), so a look-up's entries are
candidates that every query checks again on their documents (`probe`, and the page paths in
sqlite.py). Inserts, replaces and deletes write
their entries from Python inside the writing transaction (a trigger would parse each document's
JSON again in SQL: on inserts that made bulk imports three times slower, an update trigger read
the old and the new JSON of every row: sqlite_replace.py, and a delete trigger cost a delete
~8x its row's own work: sqlite_delete.py); an index declared on a collection that already holds
documents is filled from them when it is created, once (its marker: sqlite_filled.py).

An entry says "this value is at this path, alone or as an element": exactly what Contains tests
(as json_each does on the document, and MongoDB on an array or a scalar), so Contains and
ContainsAny are answered from the entries. For Eq the entries of a value are a superset of the
matches (an array holding it has them too); a page read from them still applies every condition.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from crm_shared.storage.derived import Derived, held_derived, same_input, with_derived
from crm_shared.storage.port import (
    CollectionSpec,
    Contains,
    ContainsAny,
    Eq,
    MultiValue,
    Where,
)
from crm_shared.storage.sqlite_filled import (
    drop_with_triggers,
    filled,
    mark_filled,
    present_triggers,
)
from crm_shared.storage.sqlite_keys import NO_KEYS, KeyMap
from crm_shared.storage.sqlite_tx import immediate

Scalar = (str, int, float, bool)
_SKIP = object()
# The version of the side table's layout this code writes; the earlier ones', oldest first.
# An index's entries (and the triggers older code kept them with) are named by its version.
ENTRIES_VERSION = "_v3"
# A lookup-only index's layout names its hash's width: "_nh" held 47-bit hashes.
_HASHED = "_nh32"
_VERSIONS = (
    "",
    "_v2",
    ENTRIES_VERSION,
    f"{ENTRIES_VERSION}_n",
    f"{ENTRIES_VERSION}_nh",
    f"{ENTRIES_VERSION}{_HASHED}",
)
# The SQL function filling a lookup-only index's entries from stored documents (`entry_hash`).
HASH_SQL = "crm_entry_hash"
# 32 bits, signed: SQLite stores an integer in [-2**31, 2**31) in 4 bytes (47 bits took 6: 12
# bytes a contact over six match keys). At a million contacts' two million distinct match keys
# a look-up meets another key's hash about once in 2,000: one more document checked, no more.
_HASH_SHIFT = 64 - 32
# Side-table rows as Python writes them: (key code, value, document id or row key).
SideRow = tuple[int, Any, "str | int"]


def entry_hash(text: str) -> int:
    """The value a lookup-only index's entry holds for a text value: a 32-bit hash of it.

    Deterministic across processes and versions (blake2b, not `hash`): entries outlive them.
    """
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, signed=True) >> _HASH_SHIFT


def side_table(collection: str) -> str:
    """The side table holding a collection's multi-value index entries."""
    return f"mv_{collection}"


def key_table(collection: str) -> str:
    """The dictionary of a side table's keys: one small integer per (tenant, path)."""
    return f"mvk_{collection}"


def key_code(conn: sqlite3.Connection, keys: str, pair: tuple[str, str]) -> int:
    """The code of (tenant, path) in the key dictionary `keys`, made now if no process has made
    it yet; run in the connection's thread."""
    found = conn.execute(f"SELECT code FROM {keys} WHERE tenant = ? AND path = ?", pair).fetchone()
    if found is None:
        insert = f"INSERT INTO {keys} (tenant, path) VALUES (?, ?) RETURNING code"
        found = conn.execute(insert, pair).fetchone()
    return int(found[0])


def key_code_sql(collection: str) -> str:
    """A scalar subquery giving the key of (tenant, path) (two parameters); NULL if it has none.

    Uncorrelated, so SQLite evaluates it once and seeks the side table with its value; a key
    never made has no entries, and `e_key = NULL` matches none.
    """
    return f"(SELECT code FROM {key_table(collection)} WHERE tenant = ? AND path = ?)"


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
class _Root:
    """One indexed field, split once so a document's entries are read without re-parsing it."""

    root: str
    parts: tuple[str, ...]
    nested: bool
    by_row_key: bool


def _seekable(ref: str) -> str:
    """A document reference compared with `e_ref` so that its primary key is searched.

    `e_ref` has no type affinity (it holds ids and row keys); compared with the INTEGER column
    `n` it would be given numeric affinity, which its index cannot serve: the unary + drops
    the column's affinity. Text ids compare as they are.
    """
    return f"+{ref}" if ref.rpartition(".")[2] == "n" else ref


def ref_column(by_row_key: bool) -> str:
    """The documents' column an index's entries name them by: `n` or `id`."""
    return "n" if by_row_key else "id"


@dataclass(frozen=True)
class MultiValueIndexes:
    """The multi-value indexes of one collection: indexed field -> "array" or "object"."""

    collection: str
    roots: dict[str, MultiValue]
    # The lookup-only roots: their entries name documents by row key and hold text values
    # hashed (see the module's doc).
    by_row_key: frozenset[str] = frozenset()
    # The stored documents' short keys: a hashed look-up is checked again on the document.
    doc_keys: KeyMap = NO_KEYS
    # Indexed fields the store derives (derived.py): a written document's entries are made from
    # the function's value, a stored one's from the value it holds, else the function's.
    derived: tuple[Derived, ...] = ()
    # The fields the derived indexed fields are computed from.
    derived_reads: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _split: tuple[_Root, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        split = tuple(
            _Root(root, tuple(root.split(".")), kind == "object", root in self.by_row_key)
            for root, kind in self.roots.items()
        )
        object.__setattr__(self, "_split", split)
        reads = tuple(name for d in self.derived for name in d.reads)
        object.__setattr__(self, "derived_reads", reads)

    def written(self, doc: dict[str, Any]) -> dict[str, Any]:
        """A document being written, its derived indexed fields as their functions give them."""
        return with_derived(doc, self.derived) if self.derived else doc

    def held(self, doc: dict[str, Any]) -> dict[str, Any]:
        """A stored document (changed in place), holding its derived indexed fields."""
        return held_derived(doc, self.derived) if self.derived else doc

    def replaced(
        self, old: dict[str, Any], new: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A stored document and the one replacing it, holding their derived indexed fields.

        A derived field whose inputs the replace leaves as they were (most replaces touch one
        or two fields) keeps its entries: it is not derived, on either side, and both hold the
        same marker, so `changed_rows` skips it.
        """
        if not self.derived:
            return old, new
        new = dict(new)
        for d in self.derived:
            if d.field not in old and all(same_input(old.get(r), new.get(r)) for r in d.reads):
                old[d.field] = new[d.field] = None  # unchanged: no entries to diff
                continue
            if d.field not in old:
                old[d.field] = d.derive(old)
            new[d.field] = d.derive(new)
        return old, new

    @property
    def table(self) -> str:
        """The side table's name."""
        return side_table(self.collection)

    @property
    def keys(self) -> str:
        """The key dictionary's name."""
        return key_table(self.collection)

    def join(self, table: str, path: str) -> str:
        """FROM the side table (aliased `d`) joined to the documents' table, for entries at `path`.

        CROSS JOIN keeps the entries as the outer loop, each then fetching its document (by id
        with the page's `tenant = ?`, or by row key).
        """
        return f"{self.table} AS d CROSS JOIN {table} ON {table}.{self.ref(path)} = d.e_ref"

    def root_of(self, path: str) -> str | None:
        """The indexed field holding the values at `path`, if the side table has them."""
        if self.roots.get(path) == "array":
            return path
        root = path.rpartition(".")[0]
        return root if root and self.roots.get(root) == "object" else None

    def serves(self, path: str) -> bool:
        """Whether the side table holds the values at `path`."""
        return self.root_of(path) is not None

    def in_id_order(self, path: str) -> bool:
        """Whether the entries of one value at `path` come in document id order."""
        return self.root_of(path) not in self.by_row_key

    def ref(self, path: str) -> str:
        """The documents' column the entries at `path` name them by."""
        return ref_column(not self.in_id_order(path))

    def hashed(self, path: str) -> bool:
        """Whether the entries at `path` hold text values hashed (candidates, not matches)."""
        root = self.root_of(path)
        return root is not None and root in self.by_row_key

    def stored(self, path: str, value: Any, bind: Callable[[Any], Any]) -> Any:
        """A value as the entries at `path` hold it (`bind`: as SQL compares it otherwise)."""
        if isinstance(value, str) and self.hashed(path):
            return entry_hash(value)
        return bind(value)

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

    def probe(
        self, cond: Where, params: list[Any], bind: Any, tenant: str, *, ref: str | None = None
    ) -> str | None:
        """An EXISTS test on the side table for Contains / ContainsAny, or None if not served.

        `ref` names the outer row's reference column when it is not the document's own (a
        page read off other entries tests them on `d.e_ref`, before it fetches any document).
        """
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
        hashed = self.hashed(path)
        params.extend([tenant, path, *(self.stored(path, v, bind) for v in values)])
        marks = ", ".join("?" for _ in values)
        # The outer row's id or key: side-table columns are all prefixed, so no clash.
        test = (
            f"EXISTS (SELECT 1 FROM {self.table} WHERE e_key = {key_code_sql(self.collection)} "
            f"AND e_value IN ({marks}) AND e_ref = {ref or _seekable(self.ref(path))})"
        )
        if not hashed:
            return test
        # A hash's entries are candidates: the values are checked on the document too.
        params.extend(bind(v) for v in values)
        return (
            f"({test} AND EXISTS (SELECT 1 FROM json_each({self.doc_keys.each_sql(path)}) AS je "
            f"WHERE je.value IN ({marks})))"
        )

    def rows(self, doc: Mapping[str, Any], n: int) -> Iterator[tuple[str, Any, str | int]]:
        """The (path, value, ref) entries of a document stored with row key `n`, as SQL has them.

        They must be exactly the ones `_entries_of` selects from the stored JSON (which fills
        an index): a delete finds a document's entries by running this on its stored JSON
        (sqlite_delete.py). One pass over the indexed fields, split once per collection.
        """
        for spec in self._split:
            value = doc.get(spec.root) if len(spec.parts) == 1 else _read(doc, spec.parts)
            if value is not None:
                ref: str | int = n if spec.by_row_key else doc["id"]
                for path, atom in _entries(value, spec.root, nested=spec.nested):
                    yield path, _held(atom, hashed=spec.by_row_key), ref

    def changed_rows(
        self, old: Mapping[str, Any], new: Mapping[str, Any], n: int
    ) -> tuple[set[tuple[str, Any, str | int]], set[tuple[str, Any, str | int]]]:
        """The entries of `old` and of `new` (stored with row key `n`) under the indexed fields
        whose values differ: a replace's unchanged fields, most of them, are not walked."""
        held: set[tuple[str, Any, str | int]] = set()
        wanted: set[tuple[str, Any, str | int]] = set()
        for spec in self._split:
            one = len(spec.parts) == 1
            before = old.get(spec.root) if one else _read(old, spec.parts)
            after = new.get(spec.root) if one else _read(new, spec.parts)
            if before == after:
                continue
            for doc, value, into in ((old, before, held), (new, after, wanted)):
                if value is not None:
                    ref: str | int = n if spec.by_row_key else doc["id"]
                    into.update(
                        (p, _held(a, hashed=spec.by_row_key), ref)
                        for p, a in _entries(value, spec.root, nested=spec.nested)
                    )
        return held, wanted


def _held(atom: Any, *, hashed: bool) -> Any:
    """An entry's value as the side table holds it: text hashed for a lookup-only index."""
    return entry_hash(atom) if hashed and type(atom) is str else atom


def _read(doc: Mapping[str, Any], parts: Sequence[str]) -> Any:
    value: Any = doc
    for part in parts:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _atom(value: Any) -> Any:
    """What json_each's `atom` is for a JSON value stored from `value` (_SKIP for none)."""
    kind = type(value)
    if kind is str or kind is int:
        return value
    if kind is bool:
        return int(value)
    if kind is float:
        return value if math.isfinite(value) else _SKIP  # orjson writes NaN and inf as null
    # Subclasses (str and int enums) take the slower way; bool cannot be subclassed.
    if isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _SKIP
    return _SKIP  # null, arrays and objects have no atom


def _entries(value: Any, root: str, *, nested: bool) -> Iterator[tuple[str, Any]]:
    if isinstance(value, list):
        for item in value:
            if (atom := _atom(item)) is not _SKIP:
                yield root, atom
    elif isinstance(value, Mapping):
        for key, child in value.items():
            if (atom := _atom(child)) is not _SKIP:
                yield f"{root}.{key}", atom
            elif nested and isinstance(child, list):
                path = f"{root}.{key}"
                for item in child:
                    if (atom := _atom(item)) is not _SKIP:
                        yield path, atom
    elif (atom := _atom(value)) is not _SKIP:
        yield root, atom


def entry_order(row: SideRow) -> tuple[int, bool, Any, bool, Any]:
    """The side table's key order of a row (SQLite orders numbers before text)."""
    value, ref = row[1], row[2]
    return (row[0], isinstance(value, str), value, isinstance(ref, str), ref)


def entries_base(collection: str, root: str, kind: MultiValue) -> str:
    """The common start of the names of one multi-value index's entries (their markers and
    the triggers older code kept them with)."""
    return f"{side_table(collection)}__{root.replace('.', '_')}_{kind}"


def entries_names(base: str) -> tuple[str, ...]:
    """The names an index's entries had in every layout, this code's among them."""
    return tuple(f"{base}{version}" for version in _VERSIONS)


def trigger_names(names: Sequence[str]) -> list[str]:
    """The triggers older code kept entries of these names with."""
    return [f"{name}_{op}" for name in names for op in ("del", "upd")]


def multi_value_indexes(spec: CollectionSpec) -> dict[str, MultiValue]:
    """The spec's multi-value indexes, by field."""
    return {i.fields[0]: i.multi_value for i in spec.indexes if i.multi_value is not None}


def lookup_only_roots(spec: CollectionSpec) -> frozenset[str]:
    """The spec's lookup-only multi-value indexes, by field (entries name documents by key)."""
    return frozenset(i.fields[0] for i in spec.indexes if i.multi_value and i.lookup_only)


def _entries_of(
    row: str, root: str, kind: MultiValue, ref: str, *, keys: KeyMap, source: str = ""
) -> str:
    """SELECT of the entries (t: tenant, p: path, v: value, i: id or row key) of row `row`.

    `row` is NEW or OLD in a trigger; `source` names the table `row` comes from otherwise.
    """
    at = keys.each_sql(root, doc=f"{row}.doc")
    top = (
        f"SELECT {row}.tenant AS t, CASE WHEN typeof(c.key) = 'text' THEN '{root}.' || c.key "
        f"ELSE '{root}' END AS p, {_held_sql('c.atom', ref)} AS v, {row}.{ref} AS i "
        f"FROM {source}json_each({at}) AS c WHERE c.atom IS NOT NULL"
    )
    if kind == "array":
        return top
    nested = (
        f"SELECT {row}.tenant, '{root}.' || c.key, {_held_sql('e.atom', ref)}, {row}.{ref} "
        f"FROM {source}json_each({at}) AS c, json_each(c.value) AS e "
        "WHERE c.type = 'array' AND typeof(c.key) = 'text' AND e.atom IS NOT NULL"
    )
    return f"{top} UNION ALL {nested}"


def _held_sql(atom: str, ref: str) -> str:
    """`_held` in SQL: entries naming documents by row key (lookup-only) hold text hashed."""
    if ref != "n":
        return atom
    return f"CASE WHEN typeof({atom}) = 'text' THEN {HASH_SQL}({atom}) ELSE {atom} END"


def _add_entries_sql(mv: str, mvk: str, entries: str, *, ordered: bool = False) -> list[str]:
    """Statements adding the entries a SELECT yields: their keys first, then the entries."""
    order = " ORDER BY 1, 2, 3" if ordered else ""
    return [
        f"INSERT OR IGNORE INTO {mvk} (tenant, path) SELECT DISTINCT t, p FROM ({entries})",
        f"INSERT OR IGNORE INTO {mv} (e_key, e_value, e_ref) SELECT * FROM (SELECT k.code, e.v, "
        f"e.i FROM ({entries}) AS e JOIN {mvk} AS k ON k.tenant = e.t AND k.path = e.p){order}",
    ]


def delete_root_entries_sql(collection: str, root: str) -> tuple[str, tuple[Any, ...]]:
    """DELETE of every entry under one indexed field: at the root itself or at `root.<key>`."""
    sql = (
        f"DELETE FROM {side_table(collection)} WHERE e_key IN (SELECT code FROM "
        f"{key_table(collection)} WHERE path = ? OR substr(path, 1, ?) = ?)"
    )
    return sql, (root, len(root) + 1, root + ".")


async def _columns(conn: aiosqlite.Connection, table: str) -> set[str]:
    async with conn.execute(f"SELECT name FROM pragma_table_info('{table}')") as cur:
        return {str(row[0]) for row in await cur.fetchall()}


async def drop_old_layout(conn: aiosqlite.Connection, collection: str) -> None:
    """Drop a side table laid out by stop 9 or earlier (tenant, path, value, id), its triggers
    and its markers.

    Its entries held each tenant and path in full; they are derived again from the documents.
    """
    mv = side_table(collection)
    columns = await _columns(conn, mv)
    if not columns or "e_ref" in columns:
        return
    async with conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND substr(name, 1, ?) = ?",
        (len(mv) + 2, f"{mv}__"),
    ) as cur:
        triggers = [str(row[0]) for row in await cur.fetchall()]
    await drop_with_triggers(conn, mv, triggers, collection=collection, markers=f"{mv}__")


async def create_multi_value_indexes(
    conn: aiosqlite.Connection,
    spec: CollectionSpec,
    table: str,
    keys: KeyMap = NO_KEYS,
    *,
    kept: frozenset[str] = frozenset(),
    derived: Sequence[Derived] = (),
) -> MultiValueIndexes | None:
    """Create the side table and key dictionary of the spec's multi-value indexes, and fill them.

    Idempotent. An index not marked filled in this layout (new, or its table was rebuilt with
    new row keys, or laid out by older code) has its entries emptied and derived again from the
    stored documents; unless older code's delete trigger of this layout kept them until now
    (dropped here, once), or the documents' rewrite to short keys dropped that trigger (`kept`,
    sqlite_keys.py), which changed no value: their entries still hold.
    """
    roots = multi_value_indexes(spec)
    if not roots:
        return None
    by_row_key = lookup_only_roots(spec)
    await conn.create_function(HASH_SQL, 1, entry_hash, deterministic=True)
    mv, mvk = side_table(spec.name), key_table(spec.name)
    await drop_old_layout(conn, spec.name)
    await conn.execute(
        f"CREATE TABLE IF NOT EXISTS {mv} (e_key INTEGER NOT NULL, e_value, "
        "e_ref NOT NULL, PRIMARY KEY (e_key, e_value, e_ref)) WITHOUT ROWID"
    )
    await conn.execute(
        f"CREATE TABLE IF NOT EXISTS {mvk} (code INTEGER PRIMARY KEY, tenant TEXT NOT NULL, "
        "path TEXT NOT NULL, UNIQUE (tenant, path))"
    )
    derived_by_field = {d.field: d for d in derived}
    for root, kind in roots.items():
        ref = ref_column(root in by_row_key)
        base = entries_base(spec.name, root, kind)
        # The reference column is in the name: a root turned lookup-only is filled again, and so
        # are the ones filled before their text values were hashed ("_n") or hashed wider
        # ("_nh"); so is the generation of a derived field's function: entries of another one
        # are made again.
        layout = f"{base}{ENTRIES_VERSION}{_HASHED if ref == 'n' else ''}"
        names = entries_names(base)
        name = layout
        if (fn := derived_by_field.get(root)) is not None:
            name = f"{layout}{fn.entries_suffix}"
            names = (*names, *(f"{layout}{s}" for s in fn.older_suffixes()))
        triggers = trigger_names(names)
        if await filled(conn, spec.name, [name]) and not await present_triggers(conn, triggers):
            continue
        async with immediate(conn):  # checked again under the write lock: processes take turns
            present = await present_triggers(conn, triggers)
            for trigger in present:
                await conn.execute(f"DROP TRIGGER {trigger}")
            if await filled(conn, spec.name, [name]):
                continue
            await mark_filled(conn, spec.name, name, replacing=names)
            if f"{name}_del" in present or f"{name}_del" in kept:
                continue  # kept by older code's trigger until now
            await conn.execute(*delete_root_entries_sql(spec.name, root))
            # Sorted first: appending in key order is much faster than inserting all over.
            entries = _entries_of("src", root, kind, ref, keys=keys, source=f"{table} AS src, ")
            for sql in _add_entries_sql(mv, mvk, entries, ordered=True):
                await conn.execute(sql)
    indexed = tuple(d for d in derived if d.field in roots)
    return MultiValueIndexes(spec.name, roots, by_row_key, keys, indexed)
