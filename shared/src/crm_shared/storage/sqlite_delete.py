"""Deletes in the SQLite adapter: documents removed with their index entries, from Python.

A collection with multi-value indexes or a text index (a keyed table: sqlite_text.py) had AFTER
DELETE triggers that read each deleted row's JSON in SQL (json_each per indexed field to find
its side-table entries, json_extract for the text the index forgets). Now the DELETE returns each
deleted row's key, id and JSON (RETURNING), Python derives its entries as an insert does
(`MultiValueIndexes.rows`, `TextIndex.held_text`), and they are deleted by primary key, the text by
FTS5's 'delete' with the text it indexed: in one hand-off to the connection's thread, whatever
the number of rows, inside the writer's transaction, so a crash loses both or neither.
storage_write_bench, 20,000 contacts (~11 entries each), CPU per delete: one call each 365-375
-> 283-297 µs, by 500-id list 123-132 -> 84-90 µs (a store without side table or text index:
44-60 and 17-20 µs).

What is left is mostly the side-table deletes themselves (~11 b-tree deletes a contact, ~4 µs
each) and FTS5's own writes: it writes the postings a 'delete' leaves pending when the next
write statement of the transaction begins, so each of many single deletes in one transaction
pays for a small segment (~60 µs); a list delete pays once.

No savepoint: the DELETE is one statement, and the entries' deletes after it cannot break a
constraint (an error that stops them, I/O or memory, ends the transaction).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from crm_shared.storage.sqlite_keys import KeyMap
from crm_shared.storage.sqlite_multi import MultiValueIndexes, SideRow, entry_order
from crm_shared.storage.sqlite_replace import entry_fields
from crm_shared.storage.sqlite_text import TextIndex

# (tenant, path) -> its key code in the side table's dictionary; None if it has none (then no
# entry holds it). Never makes one: a delete has nothing to add.
KeyFinder = Callable[[str, str], "int | None"]


@dataclass(frozen=True)
class Deleting:
    """What deleting documents of one keyed collection needs to know."""

    keys: KeyMap
    multi: MultiValueIndexes | None
    text: TextIndex | None
    find_code: KeyFinder
    # (stored key, name) of the fields whose values have entries: the rest of the JSON is
    # parsed but not kept.
    read_fields: tuple[tuple[str, str], ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "read_fields", entry_fields(self.keys, self.multi, self.text))


def delete_documents(
    conn: sqlite3.Connection, d: Deleting, delete: str, params: Sequence[Any], *, tenant: str
) -> int:
    """Run `delete` (a DELETE of documents of `tenant`, without RETURNING) and delete the
    deleted documents' entries; how many documents went. Runs in the connection's thread."""
    rows = conn.execute(f"{delete} RETURNING n, id, doc", params).fetchall()
    if not rows:
        return 0
    gone: set[SideRow] = set()
    texts: list[tuple[int, str]] = []
    multi, text, fields, find_code = d.multi, d.text, d.read_fields, d.find_code
    for n, raw_id, stored in rows:
        parsed = orjson.loads(stored)
        doc = {name: parsed[key] for key, name in fields if key in parsed}
        # The id as stored (a UUID's bytes: sqlite_ids.py): what entries naming it by id hold.
        doc["id"] = raw_id
        if multi is not None:
            for path, value, ref in multi.rows(multi.held(doc), n):
                code = find_code(tenant, path)
                if code is not None:
                    gone.add((code, value, ref))
        if text is not None and (old := text.held_text(doc)) is not None:
            texts.append((n, old))
    if gone and multi is not None:
        # In key order, as inserts write theirs: each b-tree page visited once.
        ordered: list[SideRow] = sorted(gone, key=entry_order)
        conn.executemany(
            f"DELETE FROM {multi.table} WHERE e_key = ? AND e_value = ? AND e_ref = ?", ordered
        )
    if texts and text is not None:
        ft = text.table
        # A contentless index forgets a row's postings only when given the text it indexed.
        conn.executemany(f"INSERT INTO {ft} ({ft}, rowid, t) VALUES ('delete', ?, ?)", texts)
    return len(rows)
