"""Text indexes of the SQLite adapter: an FTS5 trigram table over one text field.

`TextMatch` asks for documents whose field holds every word of a query as a substring. A
trigram index answers that for words of three or more characters: `ft_<collection>` is a
contentless FTS5 table (`content=''`: the text is already in the document, the index keeps only
trigram -> row postings), case-sensitive because callers fold text themselves before it is
stored and before it is queried (`crm_shared.text.search_fold`).

FTS5 keys rows by integer, so a collection with a text index (or a multi-value index, whose
entries name documents by that key: sqlite_multi.py) is a rowid table with a stable
`n INTEGER PRIMARY KEY` (VACUUM keeps it) and a unique (tenant code, id) index
(sqlite_tenants.py); the other collections stay WITHOUT ROWID. Inserts, replaces and deletes
write their text from Python in the writing transaction (sqlite_replace.py, sqlite_delete.py: a
contentless table forgets a row only when given the text it indexed, which a delete reads from
the deleted document). An existing store is
migrated when it starts: a collection table without `n` is rebuilt with it, and the index is
(re)filled whenever it is not marked filled (sqlite_filled.py).

Every word is still checked on the document (`instr`), so the index only ever narrows: words of
one or two characters, which no trigram serves, are checked that way on what the longer words
selected.

The indexed field may be one the store derives (derived.py: a contact's search text, ~70 bytes
of JSON a contact not stored): postings are then made from the function's value of a document
written, and taken away with the text a stored document holds (written by older code) else the
function's; the fill derives it in SQL, and the words are checked on a candidate through
sqlite_derived.py's `TEXT_HOLDS_SQL`: ~8-10 us a candidate computed, where `instr` on the stored
text took ~1-2 us, so the texts are remembered (a page of a common word walks the newest rows,
the same ones the last such page checked).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite
import orjson

from crm_shared.storage.derived import Derived, same_input
from crm_shared.storage.port import CollectionSpec, TextMatch, Where
from crm_shared.storage.sqlite_filled import (
    drop_with_triggers,
    filled,
    forget_filled,
    mark_filled,
    present_triggers,
)
from crm_shared.storage.sqlite_ids import stored_id
from crm_shared.storage.sqlite_keys import NO_KEYS, KeyMap
from crm_shared.storage.sqlite_reads import Fetch
from crm_shared.storage.sqlite_tenants import KEYED_TABLE, TENANT_COLUMN, tenant_type
from crm_shared.storage.sqlite_text_plan import TrigramCounts, quoted
from crm_shared.storage.sqlite_tx import immediate
from crm_shared.text import MIN_INDEXED_LENGTH

MIN_TRIGRAM_WORD = MIN_INDEXED_LENGTH
_TOKENIZER = "trigram case_sensitive 1"
# No positions: about a third of the index's size (177 -> 60 bytes per contact at 100k). Queries
# ask for every trigram of a word instead of the phrase of them (`match_expression`). No
# per-row sizes either (~10 bytes a row): they serve only ranking, which no query asks for.
_DETAIL = "detail=none, columnsize=0"


def text_table(collection: str) -> str:
    """The FTS5 table of a collection's text index."""
    return f"ft_{collection}"


def text_fields(specs: Sequence[CollectionSpec], collection: str) -> tuple[str, ...]:
    """The fields of a collection that its specs declare a text index on."""
    found = [
        index.fields[0]
        for spec in specs
        if spec.name == collection
        for index in spec.indexes
        if index.text
    ]
    return tuple(dict.fromkeys(found))


def _trigrams(word: str) -> list[str]:
    return [word[i : i + MIN_TRIGRAM_WORD] for i in range(len(word) - MIN_TRIGRAM_WORD + 1)]


def match_expression(words: Sequence[str]) -> str | None:
    """The FTS5 query finding rows holding every trigram of every word of three or more
    characters, or None.

    The index keeps no positions (detail=none), so it cannot match a word as a phrase of
    trigrams; rows holding all of them are a superset that the `instr` check narrows. Each
    trigram is a quoted string (its quotes doubled), so nothing in it is FTS5 syntax.
    """
    grams = query_trigrams(words)
    return quoted(grams) if grams else None


def query_trigrams(words: Sequence[str]) -> list[str]:
    """The distinct trigrams of the words of three or more characters, in query order."""
    return list(dict.fromkeys(g for w in words if len(w) >= MIN_TRIGRAM_WORD for g in _trigrams(w)))


@dataclass(frozen=True)
class TextIndex:
    """The text index of one collection (one field: FTS5 tables cannot share rowids)."""

    collection: str
    field: str
    # The field's function when the store derives it (derived.py): its postings are made from
    # the function's value of a document written, and from the value a stored document holds,
    # else the function's, when they are taken away.
    derived: Derived | None = None
    # What this process has learnt of the index's trigrams (sqlite_text_plan.py).
    counts: TrigramCounts = dataclasses.field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "counts", TrigramCounts(self.table))

    @property
    def table(self) -> str:
        """The FTS5 table's name."""
        return text_table(self.collection)

    def search(self, where: Sequence[Where]) -> str | None:
        """The FTS5 query of the conditions' TextMatch on the indexed field, if it has one."""
        grams = self.trigrams(where)
        return quoted(grams) if grams else None

    def trigrams(self, where: Sequence[Where]) -> list[str]:
        """The trigrams of the conditions' TextMatch on the indexed field (none: no index use)."""
        for cond in where:
            if isinstance(cond, TextMatch) and cond.field == self.field:
                return query_trigrams(cond.words)
        return []

    @property
    def reads(self) -> tuple[str, ...]:
        """The fields a stored document's text is found from: the field, and what derives it."""
        return (self.field, *(self.derived.reads if self.derived else ()))

    def written_text(self, doc: dict[str, Any]) -> str | None:
        """The text the index holds for a document being written (None: nothing)."""
        if self.derived is not None:
            return _text_or_none(self.derived.derive(doc))
        return indexed_text(doc, self.field)

    def held_text(self, doc: dict[str, Any]) -> str | None:
        """The text the index holds for a stored document (read with `reads`)."""
        if self.derived is not None and self.field not in doc:
            return _text_or_none(self.derived.derive(doc))
        return indexed_text(doc, self.field)

    def replaced_texts(
        self, old: dict[str, Any], new: dict[str, Any]
    ) -> tuple[str | None, str | None]:
        """The texts the index holds for a stored document and for the one replacing it.

        A derived text whose inputs the replace leaves as they were (most replaces touch none:
        a tag, a consent) is not derived at all: the same on both sides, nothing to change.
        """
        d = self.derived
        if (
            d is not None
            and self.field not in old
            and all(same_input(old.get(r), new.get(r)) for r in d.reads)
        ):
            return None, None
        return self.held_text(old), self.written_text(new)

    def members(self, expression: str, params: list[Any]) -> str:
        """A WHERE term keeping the rows the FTS5 query matches (appends its parameter)."""
        params.append(expression)
        return f"n IN (SELECT rowid FROM {self.table} WHERE {self.table} MATCH ?)"

    async def insert_texts(
        self, conn: aiosqlite.Connection, first: int, docs: Sequence[dict[str, Any]]
    ) -> None:
        """Index the text of documents just inserted with row keys `first`, `first + 1`, ..."""
        texts = [
            (n, text) for n, d in enumerate(docs, start=first) if (text := self.written_text(d))
        ]
        await conn.executemany(f"INSERT INTO {self.table} (rowid, t) VALUES (?, ?)", texts)

    def among(self, rowids: Sequence[int], params: list[Any]) -> str:
        """A WHERE term keeping the rows with these keys (appends its parameter): the matches
        of a query already read (`matches_upto`), so the index is not searched again."""
        params.append(orjson.dumps(rowids).decode())
        return "n IN (SELECT value FROM json_each(?))"

    async def matches_upto(self, fetch: Fetch, expression: str, limit: int) -> list[int]:
        """The row keys (of every tenant) the query matches, no more than `limit` of them."""
        # One row of text, not a row per match: thousands of rows are thousands of tuples.
        sql = (
            f"SELECT group_concat(rowid) FROM (SELECT rowid FROM {self.table} "
            f"WHERE {self.table} MATCH ? LIMIT {int(limit)})"
        )
        rows = await fetch(sql, (expression,))
        keys: list[int] = orjson.loads(f"[{rows[0][0] or ''}]")
        return keys


def _text_of(row: str, field: str, keys: KeyMap) -> str:
    # A derived field's SQL gives the value a document holds, else the function's.
    return keys.value_sql(field, f"{row}.doc")


def _indexed(text: str) -> str:
    """The SQL test of a field value the index holds: text, not empty (as `indexed_text`)."""
    return f"typeof({text}) = 'text' AND {text} <> ''"


def indexed_text(doc: dict[str, Any], field: str) -> str | None:
    """The text of a document the index holds (None: nothing), as `_indexed` selects it."""
    return _text_or_none(doc.get(field))


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


async def _has_key_column(conn: aiosqlite.Connection, table: str) -> bool | None:
    """Whether the table has the integer key `n`; None when the table does not exist yet."""
    async with conn.execute(f"SELECT name FROM pragma_table_info('{table}')") as cur:
        columns = {row[0] for row in await cur.fetchall()}
    return None if not columns else "n" in columns


async def next_row_key(conn: aiosqlite.Connection, table: str) -> int:
    """The row key the next inserted document takes (the rest of a batch follow in order).

    The writer holds SQLite's write lock (BEGIN IMMEDIATE), so max(n) is the last key
    taken by any process sharing the file.
    """
    async with conn.execute(f"SELECT coalesce(max(n), 0) FROM {table}") as cur:
        row = await cur.fetchone()
    return (int(row[0]) if row else 0) + 1


async def insert_keyed(
    conn: aiosqlite.Connection,
    table: str,
    docs: Sequence[dict[str, Any]],
    first: int,
    *,
    codes: Mapping[str, int],
    encode: Callable[[dict[str, Any]], str] = lambda doc: orjson.dumps(doc).decode(),
) -> None:
    """Insert documents with the row keys `first`, `first + 1`, ... (`next_row_key`), their
    tenants as their `codes` (sqlite_tenants.py)."""
    await conn.executemany(
        f"INSERT INTO {table} (n, tenant, id, doc) VALUES (?, ?, ?, ?)",
        [
            (n, codes[d["tenant"]], stored_id(d["id"]), encode(d))
            for n, d in enumerate(docs, start=first)
        ],
    )


async def create_keyed_table(conn: aiosqlite.Connection, table: str, collection: str) -> None:
    """Create the table with an integer key, or rebuild an existing one without it (idempotent).

    The rebuild drops the old table's indexes and triggers, and forgets that the collection's
    entries were filled (they name rows by the old keys); the store creates and fills them again
    afterwards, as for a new store.
    """
    has_key = await _has_key_column(conn, table)
    if has_key is None:
        await conn.execute(f"CREATE TABLE IF NOT EXISTS {table} {KEYED_TABLE}")
        return
    if has_key:
        return
    # Tenants as the table holds them: names in one written before tenant codes, rewritten
    # after (sqlite_tenants.py), where an INTEGER column would turn a name like "42" into 42.
    layout = KEYED_TABLE
    if await tenant_type(conn, table) == "TEXT":
        layout = KEYED_TABLE.replace(TENANT_COLUMN, "tenant TEXT NOT NULL")
    async with immediate(conn):
        await conn.execute(f"CREATE TABLE {table}__keyed {layout}")
        await conn.execute(
            f"INSERT INTO {table}__keyed (tenant, id, doc) "
            f"SELECT tenant, id, doc FROM {table} ORDER BY tenant, id"
        )
        await conn.execute(f"DROP TABLE {table}")
        await conn.execute(f"ALTER TABLE {table}__keyed RENAME TO {table}")
        await forget_filled(conn, collection, prefix="")


def _triggers(ft: str) -> list[str]:
    """The triggers older code kept the index with."""
    return [f"{ft}_del", f"{ft}_upd"]


async def _drop_if_positional(conn: aiosqlite.Connection, index: TextIndex) -> bool:
    """Drop an index made before it dropped positions, its triggers and its marker (it is then
    rebuilt); whether it was."""
    ft = index.table
    async with conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (ft,)
    ) as cur:
        row = await cur.fetchone()
    if row is None or _DETAIL in str(row[0]):
        return False
    await drop_with_triggers(conn, ft, _triggers(ft), collection=index.collection, markers=ft)
    return True


async def create_text_index(
    conn: aiosqlite.Connection,
    table: str,
    index: TextIndex,
    keys: KeyMap = NO_KEYS,
    *,
    kept: frozenset[str] = frozenset(),
) -> None:
    """Create the FTS5 table, filling it from the stored documents (idempotent).

    The fill runs whenever the index is not marked filled (a new index, or a table just rebuilt
    with new row keys), after emptying the index, so it never holds postings of rows that moved;
    but not when older code's delete trigger kept it until now (dropped here, once), or the
    documents' rewrite to short keys dropped that trigger (`kept`, sqlite_keys.py), which
    changed no text and no row key.
    """
    ft, collection = index.table, index.collection
    rebuilt = await _drop_if_positional(conn, index)
    await conn.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {ft} USING fts5(t, content='', "
        f"tokenize='{_TOKENIZER}', {_DETAIL})"
    )
    triggers = _triggers(ft)
    # A derived text's function generation is in the marker's name: another one fills again.
    marker = ft
    older: tuple[str, ...] = ()
    if index.derived is not None:
        marker = f"{ft}{index.derived.entries_suffix}"
        older = tuple(f"{ft}{s}" for s in index.derived.older_suffixes())
    if await filled(conn, collection, [marker]) and not await present_triggers(conn, triggers):
        return
    async with immediate(conn):  # checked again under the write lock: processes take turns
        present = await present_triggers(conn, triggers)
        for trigger in present:
            await conn.execute(f"DROP TRIGGER {trigger}")
        if await filled(conn, collection, [marker]):
            return
        await mark_filled(conn, collection, marker, replacing=older)
        if (f"{ft}_del" in present or f"{ft}_del" in kept) and not rebuilt:
            return  # kept by older code's trigger until now
        text = _text_of(table, index.field, keys)
        await conn.execute(f"INSERT INTO {ft} ({ft}) VALUES ('delete-all')")
        await conn.execute(
            f"INSERT INTO {ft} (rowid, t) SELECT n, {text} FROM {table} WHERE {_indexed(text)}"
        )
