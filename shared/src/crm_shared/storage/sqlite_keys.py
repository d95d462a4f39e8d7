"""Short keys in the SQLite adapter's stored JSON: one small code per declared field name.

A contact's top-level field names ("custom_fields", "created_at", "search_text"...) were ~150 of
the ~600 bytes of its stored JSON, written again in every row. A collection that declares its
fields (`CollectionSpec.empties`) has them stored under short codes instead ("0", "1", ... in
`_doc_keys`, per collection, append-only: a code never changes meaning; ~100 bytes less a
contact), and reads give the names back. Every SQL path into a document goes through
`KeyMap.path`, so queries, indexes and triggers read the coded fields; nested keys (a custom
field's own key) stay as they are.

Codes are digit strings, which no field name a query can name is (`check_field`); a stored
top-level key that is not coded and starts with a digit or "~" is written with a "~" in front,
so any document reads back exactly as it was written.

A store written before (or before a field was declared) has documents under the plain names: the
store rewrites them when it starts (`recode_documents`), in bounded batches, each its own
transaction with its resume position, before it builds its indexes (their definitions and the
triggers change with the paths, so they are dropped first and built again after; the entries of
the side table and the text index stay, since no value changes).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiosqlite
import orjson

from crm_shared.storage.port import check_field
from crm_shared.storage.sqlite_tx import immediate

KEY_TABLE = "_doc_keys"
LAYOUT_TABLE = "_doc_layout"
# Documents rewritten per transaction by the start-up migration: a few MB of WAL at a time.
RECODE_BATCH = 5000
_ESCAPE = "~"


@dataclass(frozen=True)
class KeyMap:
    """A collection's field codes: name -> code (empty: names are stored as they are)."""

    codes: Mapping[str, str] = field(default_factory=dict)
    # Derived fields, not in the stored JSON (derived.py): name -> the SQL giving the field's
    # JSON text for the stored document `{doc}` (sqlite_derived.py).
    derived: Mapping[str, str] = field(default_factory=dict)
    # The fields holding timestamps stored as integers (sqlite_stamps.py): conditions on them
    # bind integers, reads turn them back into text.
    stamps: frozenset[str] = frozenset()
    # Derived text fields: name -> the SQL test of a text search's words on `{doc}`
    # (sqlite_derived.py's `text_check_sql`).
    text_checks: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_names", {code: name for name, code in self.codes.items()})
        # names -> `stored_fields`: every replace and delete asks for the same few (~10 us each).
        object.__setattr__(self, "_fields", {})

    def path(self, field_path: str) -> str:
        """The JSON path of a checked dotted field in the stored document ('$.<code>.rest')."""
        head, dot, rest = check_field(field_path).partition(".")
        return f"$.{self.codes.get(head, head)}{dot}{rest}"

    def value_sql(self, field_path: str, doc: str = "doc") -> str:
        """The SQL value of a checked dotted field of the document column `doc`, as
        json_extract gives it (a derived field's too)."""
        derived = self.derived.get(field_path)
        if derived is not None:
            return f"json_extract({derived.format(doc=doc)}, '$')"
        return f"json_extract({doc}, '{self.path(field_path)}')"

    def text_check_sql(self, field_path: str, doc: str = "doc") -> str | None:
        """The SQL test of a text search's words (one `?`) on a derived text field, if it is one."""
        check = self.text_checks.get(field_path)
        return None if check is None else check.format(doc=doc)

    def each_sql(self, field_path: str, doc: str = "doc") -> str:
        """The arguments of a json_each over a checked dotted field of the document `doc`."""
        derived = self.derived.get(field_path)
        if derived is not None:
            return derived.format(doc=doc)
        return f"{doc}, '{self.path(field_path)}'"

    def json_sql(self, name: str, doc: str = "doc") -> str:
        """The SQL JSON value (NULL if absent) of a checked dotted field of the document `doc`."""
        derived = self.derived.get(name)
        if derived is not None:
            return f"json({derived.format(doc=doc)})"
        return f"{doc} -> '{self.path(name)}'"

    def stored_key(self, name: str) -> str:
        """The key a top-level field is stored under."""
        code = self.codes.get(name)
        if code is not None or not self.codes:
            return code or name
        return _ESCAPE + name if name[:1].isdigit() or name[:1] == _ESCAPE else name

    def stored_fields(self, names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
        """(stored key, name) of the distinct top-level fields of these dotted names."""
        cache: dict[tuple[str, ...], tuple[tuple[str, str], ...]] = self._fields  # type: ignore[attr-defined]
        found = cache.get(names)
        if found is None:
            heads = dict.fromkeys(name.partition(".")[0] for name in names)
            found = cache[names] = tuple((self.stored_key(name), name) for name in heads)
        return found

    def encode(self, items: Iterable[tuple[str, Any]]) -> dict[str, Any]:
        """A document's fields under their stored keys."""
        codes = self.codes
        if not codes:
            return dict(items)
        return {(codes[k] if k in codes else self.stored_key(k)): v for k, v in items}

    def decode(self, stored: dict[str, Any]) -> dict[str, Any]:
        """A stored document's fields under their names (plain names written before pass)."""
        names: dict[str, str] = self._names  # type: ignore[attr-defined]
        if not names:
            return stored
        return {
            (names[k] if k in names else k[1:] if k[:1] == _ESCAPE else k): v
            for k, v in stored.items()
        }


NO_KEYS = KeyMap()


async def create_key_tables(conn: aiosqlite.Connection) -> None:
    """The code dictionary and each collection's migration state (idempotent)."""
    await conn.execute(
        f"CREATE TABLE IF NOT EXISTS {KEY_TABLE} (collection TEXT NOT NULL, name TEXT NOT NULL, "
        "code TEXT NOT NULL, PRIMARY KEY (collection, name)) WITHOUT ROWID"
    )
    # coded: how many codes every document is written with; target: how many the rewrite under
    # way writes (0: none); after_*: its position (the last document rewritten).
    await conn.execute(
        f"CREATE TABLE IF NOT EXISTS {LAYOUT_TABLE} (collection TEXT PRIMARY KEY, "
        "coded INTEGER NOT NULL, target INTEGER NOT NULL, after_tenant TEXT, after_id TEXT) "
        "WITHOUT ROWID"
    )


async def load_key_map(conn: aiosqlite.Connection, collection: str, names: Iterable[str]) -> KeyMap:
    """The collection's codes, new declared names given the next ones first.

    The file's codes are kept whatever `names` holds: its documents are written with them.
    """
    wanted = list(dict.fromkeys(names))
    known = await _codes(conn, collection)
    if all(name in known for name in wanted):
        return KeyMap(known)  # nothing to add: no write transaction
    async with immediate(conn):
        known = await _codes(conn, collection)  # again, under the write lock
        for name in wanted:
            if name not in known:
                known[name] = str(len(known))
                await conn.execute(
                    f"INSERT INTO {KEY_TABLE} (collection, name, code) VALUES (?, ?, ?)",
                    (collection, name, known[name]),
                )
    return KeyMap(known)


async def _codes(conn: aiosqlite.Connection, collection: str) -> dict[str, str]:
    async with conn.execute(
        f"SELECT name, code FROM {KEY_TABLE} WHERE collection = ? ORDER BY CAST(code AS INTEGER)",
        (collection,),
    ) as cur:
        return {str(row[0]): str(row[1]) for row in await cur.fetchall()}


async def recode_documents(
    conn: aiosqlite.Connection,
    table: str,
    collection: str,
    keys: KeyMap,
    *,
    batch: int = RECODE_BATCH,
) -> frozenset[str]:
    """Rewrite the documents stored with fewer codes than `keys` has; return the triggers it
    dropped.

    Resumable: each batch commits with its position, and a store started again goes on from
    there (a pass begun with fewer codes finishes with them, and another pass follows). Every
    batch reads the position under the write lock, so processes starting together share the
    work instead of rewriting a document twice. Indexes and triggers on the table read fields by
    their old paths: they are dropped with the first batch, and the store builds them again (and
    refills the side table and the text index) once the documents are rewritten. A rewrite
    changes no value, so the entries of the triggers dropped here still hold: the store creates
    those triggers again without refilling their entries (a million contacts' ten million).
    """
    dropped: frozenset[str] | None = None
    while True:
        async with immediate(conn):
            coded, target, after = await _layout(conn, collection)
            if coded >= len(keys.codes):
                return dropped or frozenset()
            if dropped is None:
                dropped = await drop_derived(conn, table)
            target = target or len(keys.codes)
            rows = await rows_after(conn, table, after, batch)
            # Codes never change meaning: the documents use the first `coded` of them.
            written, goal = _first_codes(keys, coded), _first_codes(keys, target)
            await conn.executemany(
                f"UPDATE {table} SET doc = ? WHERE tenant = ? AND id = ?",
                [(_recoded(doc, written, goal), tenant, id) for tenant, id, doc in rows],
            )
            if len(rows) < batch:  # the pass is over
                coded, target, after = target, 0, None
            else:
                # The id as stored: text, or a UUID's bytes (sqlite_ids.py).
                after = (str(rows[-1][0]), rows[-1][1])
            await conn.execute(
                f"INSERT OR REPLACE INTO {LAYOUT_TABLE} (collection, coded, target, "
                "after_tenant, after_id) VALUES (?, ?, ?, ?, ?)",
                (collection, coded, target, *(after or (None, None))),
            )


async def rows_after(
    conn: aiosqlite.Connection,
    table: str,
    after: tuple[Any, Any] | None,
    batch: int,
    *,
    columns: str = "tenant, id, doc",
) -> list[Any]:
    """A collection table's next `batch` rows (`columns`) in key order after `after`: the
    batches of a resumable rewrite of every stored document (this one, sqlite_stamp_layout.py,
    sqlite_tenants.py).

    A position saved in a TEXT column holds a tenant's code as text: bound against the
    INTEGER tenant column (sqlite_tenants.py), SQLite's affinity compares it as the integer.
    """
    position = "WHERE (tenant, id) > (?, ?) " if after is not None else ""
    async with conn.execute(
        f"SELECT {columns} FROM {table} {position}ORDER BY tenant, id LIMIT ?",
        (*(after or ()), batch),
    ) as cur:
        return list(await cur.fetchall())


def _first_codes(keys: KeyMap, count: int) -> KeyMap:
    return KeyMap({name: code for name, code in keys.codes.items() if int(code) < count})


def _recoded(stored: str | bytes, written: KeyMap, keys: KeyMap) -> str:
    return orjson.dumps(keys.encode(written.decode(orjson.loads(stored)).items())).decode()


async def _layout(
    conn: aiosqlite.Connection, collection: str
) -> tuple[int, int, tuple[str, Any] | None]:
    """(codes every document uses, codes of the pass under way or 0, its position)."""
    async with conn.execute(
        f"SELECT coded, target, after_tenant, after_id FROM {LAYOUT_TABLE} WHERE collection = ?",
        (collection,),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return 0, 0, None
    position = None if row[2] is None else (str(row[2]), row[3])
    return int(row[0]), int(row[1]), position


async def drop_derived(conn: aiosqlite.Connection, table: str) -> frozenset[str]:
    """Drop the table's triggers and declared indexes (the store creates them again); return
    the triggers' names."""
    async with conn.execute(
        "SELECT type, name FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
        "AND type IN ('trigger', 'index')",
        (table,),
    ) as cur:
        derived = [(str(row[0]), str(row[1])) for row in await cur.fetchall()]
    for kind, name in derived:
        await conn.execute(f"DROP {kind.upper()} IF EXISTS {name}")
    return frozenset(name for kind, name in derived if kind == "trigger")


def stored_keys(db: sqlite3.Connection, collection: str) -> KeyMap:
    """A started store's codes of a collection, for code reading its file by hand (benchmarks,
    tools): `path` gives the JSON paths of SQL written by hand, `decode` a document's names."""
    rows = db.execute(
        f"SELECT name, code FROM {KEY_TABLE} WHERE collection = ?", (collection,)
    ).fetchall()
    return KeyMap({str(name): str(code) for name, code in rows})


def stored_path(db: sqlite3.Connection, collection: str, field_path: str) -> str:
    """The JSON path of a field in a started store's documents ('$.<code>...' when coded)."""
    return stored_keys(db, collection).path(field_path)
