"""Replaces in the SQLite adapter: documents rewritten with their index entries kept from Python.

A collection with multi-value indexes or a text index (a keyed table: sqlite_text.py) had AFTER
UPDATE triggers that read the old and the new JSON of every updated row (json_extract and
json_each over both documents, once per indexed field): ~175 of the ~192 µs an update cost in
SQLite's thread (import-apply bench, 20,000 contacts). Inserts already wrote their entries from
Python, which holds the documents as dicts. Replaces now do too, in one hand-off to the
connection's thread (a single replace is one HTTP PATCH: a second hand-off cost it ~60 µs): the
rows' current documents are read in one query, the version checks are decided on them, and the
documents and only the entries that changed (the old document's entries diffed against the new
one's) are written, inside the writer's transaction, so a crash loses both or neither. Deletes
do the same without a new document to diff against (sqlite_delete.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from crm_shared.storage.sqlite_ids import read_id, stored_id
from crm_shared.storage.sqlite_keys import KeyMap
from crm_shared.storage.sqlite_multi import MultiValueIndexes, SideRow, entry_order
from crm_shared.storage.sqlite_text import TextIndex

# (tenant, path, value, document id or row key): an entry before its (tenant, path) is coded.
PlainEntry = tuple[str, str, Any, "str | int"]
# A document as stored now: its row key and its fields under their names.
Held = tuple[int, dict[str, Any]]
# Ids bound in one read of the documents a batch replaces: under SQLite's 32,766 parameters.
_NAMED_CHUNK = 5000


# (tenant, path) -> its key code in the side table's dictionary, made if missing.
Coder = Callable[[str, str], int]


@dataclass(frozen=True)
class Replacing:
    """What replacing documents of one keyed collection needs to know."""

    table: str
    keys: KeyMap
    encode: Callable[[dict[str, Any]], str]
    multi: MultiValueIndexes | None
    text: TextIndex | None
    code: Coder
    # The documents' tenants' codes (sqlite_tenants.py): a tenant without one has no document.
    tenant_codes: Mapping[str, int | None]
    # (stored key, name) of the fields a replace reads of the document it replaces: the
    # version it checks and the indexed fields, not the rest of the contact.
    read_fields: tuple[tuple[str, str], ...] = field(init=False)

    def __post_init__(self) -> None:
        fields = entry_fields(self.keys, self.multi, self.text, also=("version",))
        object.__setattr__(self, "read_fields", fields)


def entry_fields(
    keys: KeyMap,
    multi: MultiValueIndexes | None,
    text: TextIndex | None,
    *,
    also: Sequence[str] = (),
) -> tuple[tuple[str, str], ...]:
    """(stored key, name) of the top-level fields holding a collection's index entries' values,
    after those of `also`: what a write reads of a stored document to find its entries."""
    names = (
        *also,
        *(multi.roots if multi else ()),
        *(multi.derived_reads if multi else ()),  # what its derived indexed fields read
        *(text.reads if text else ()),  # its field, and what derives it
    )
    return keys.stored_fields(names)


def replace_documents(
    conn: sqlite3.Connection,
    r: Replacing,
    docs: Sequence[dict[str, Any]],
    versions: Sequence[int | None],
) -> int:
    """Replace documents stored at their expected versions (None: any); how many were.

    Runs in the connection's thread: read, plan and write in one hand-off.
    """
    by_tenant: dict[str, list[str]] = {}
    for doc in docs:
        by_tenant.setdefault(doc["tenant"], []).append(doc["id"])
    held: dict[tuple[str, str], Held] = {}
    for tenant, ids in by_tenant.items():
        tenant_code = r.tenant_codes.get(tenant)
        if tenant_code is None:
            continue  # no document of the tenant: nothing to replace
        for start in range(0, len(ids), _NAMED_CHUNK):
            named = ids[start : start + _NAMED_CHUNK]
            rows = conn.execute(*_current_sql(r.table, tenant_code, named)).fetchall()
            held.update(held_documents(rows, tenant, r.read_fields))
    plan = plan_replaces(docs, versions, held, encode=r.encode, multi=r.multi, text=r.text)
    if not plan.docs:
        return 0
    code = r.code
    return write(
        conn,
        ReplaceWrite(
            r.table,
            plan.docs,
            side_table=r.multi.table if r.multi else None,
            gone=[(code(t, p), v, stored_id(ref)) for t, p, v, ref in plan.gone],
            added=[(code(t, p), v, stored_id(ref)) for t, p, v, ref in plan.added],
            text_table=r.text.table if r.text else None,
            texts_gone=plan.texts_gone,
            texts_added=plan.texts_added,
        ),
    )


def _current_sql(table: str, tenant: int, ids: list[str]) -> tuple[str, tuple[Any, ...]]:
    """SELECT of the row key, id and stored JSON of one tenant's (by code) documents `ids`.

    Bound one by one, as stored (sqlite_ids.py): a UUID's bytes, which a JSON list cannot hold.
    """
    head = f"SELECT n, id, doc FROM {table} WHERE tenant = ? AND id"
    if len(ids) == 1:
        return f"{head} = ?", (tenant, stored_id(ids[0]))
    marks = ", ".join("?" for _ in ids)
    return f"{head} IN ({marks})", (tenant, *(stored_id(id) for id in ids))


def held_documents(
    rows: Sequence[tuple[int, str | bytes, str | bytes]],
    tenant: str,
    fields: Sequence[tuple[str, str]],
) -> dict[tuple[str, str], Held]:
    """The stored documents' `fields` ((stored key, name) pairs), by (tenant, id), by name.

    Declared empty fields stay absent: they have no entries and no text, as in the stored JSON.
    """
    held: dict[tuple[str, str], Held] = {}
    for n, raw_id, stored in rows:
        id = read_id(raw_id)
        parsed = orjson.loads(stored)
        doc = {name: parsed[key] for key, name in fields if key in parsed}
        doc["id"] = id
        doc["tenant"] = tenant
        held[(tenant, id)] = (n, doc)
    return held


@dataclass
class ReplacePlan:
    """What a batch of replaces writes: the documents that pass, and their changed entries."""

    # (stored JSON, row key) in the callers' order.
    docs: list[tuple[str, int]] = field(default_factory=list)
    gone: list[PlainEntry] = field(default_factory=list)
    added: list[PlainEntry] = field(default_factory=list)
    # (row key, text) of texts leaving and entering the text index.
    texts_gone: list[tuple[int, str]] = field(default_factory=list)
    texts_added: list[tuple[int, str]] = field(default_factory=list)


def plan_replaces(
    docs: Sequence[dict[str, Any]],
    versions: Sequence[int | None],
    held: dict[tuple[str, str], Held],
    *,
    encode: Callable[[dict[str, Any]], str],
    multi: MultiValueIndexes | None,
    text: TextIndex | None,
) -> ReplacePlan:
    """The writes of replacing `docs`, each only if stored at its expected version (None: any).

    As the UPDATEs they stand for would, in order: a document named twice is checked the second
    time against what the first replace wrote. Each row's entries are diffed once, between what
    it held before the batch and what it holds after, so an entry a replace adds and a later one
    takes away is never written.
    """
    plan = ReplacePlan()
    before: dict[int, dict[str, Any]] = {}
    after: dict[int, dict[str, Any]] = {}
    for doc, version in zip(docs, versions, strict=True):
        key = (doc["tenant"], doc["id"])
        found = held.get(key)
        if found is None:
            continue
        n, stored = found
        # As SQL's `json_extract(doc, version) = ?`: a missing version matches nothing.
        if version is not None and stored.get("version") != version:
            continue
        before.setdefault(n, stored)
        after[n] = doc
        held[key] = (n, doc)
        plan.docs.append((encode(doc), n))
    for n, new in after.items():
        old = before[n]
        if multi is not None:
            _diff_entries(plan, multi, old, new, n)
        if text is not None:
            old_text, new_text = text.replaced_texts(old, new)
            if old_text != new_text:
                if old_text is not None:
                    plan.texts_gone.append((n, old_text))
                if new_text is not None:
                    plan.texts_added.append((n, new_text))
    return plan


def _diff_entries(
    plan: ReplacePlan, multi: MultiValueIndexes, old: dict[str, Any], new: dict[str, Any], n: int
) -> None:
    held, wanted = multi.changed_rows(*multi.replaced(old, new), n)
    if held == wanted:
        return
    tenant = new["tenant"]
    plan.gone.extend((tenant, path, value, ref) for path, value, ref in held - wanted)
    plan.added.extend((tenant, path, value, ref) for path, value, ref in wanted - held)


@dataclass(frozen=True)
class ReplaceWrite:
    """A plan's statements, its entries coded: run in the connection's thread by `write`."""

    table: str
    docs: list[tuple[str, int]]
    side_table: str | None = None
    gone: list[SideRow] = field(default_factory=list)
    added: list[SideRow] = field(default_factory=list)
    text_table: str | None = None
    texts_gone: list[tuple[int, str]] = field(default_factory=list)
    texts_added: list[tuple[int, str]] = field(default_factory=list)


def write(conn: sqlite3.Connection, w: ReplaceWrite) -> int:
    """Write the documents, then their changed entries; the documents written.

    All or nothing (a savepoint): a unique index refusing one document undoes the batch's
    earlier ones too, so the transaction never holds a document without its entries; the
    IntegrityError goes on to the caller. One document needs none: a refused UPDATE wrote
    nothing, and the entries' writes after it cannot break a constraint.
    """
    if len(w.docs) == 1:
        return _write(conn, w)
    conn.execute("SAVEPOINT replace_many")
    try:
        written = _write(conn, w)
    except BaseException:
        conn.execute("ROLLBACK TO replace_many")
        conn.execute("RELEASE replace_many")
        raise
    conn.execute("RELEASE replace_many")
    return written


def _write(conn: sqlite3.Connection, w: ReplaceWrite) -> int:
    written = conn.executemany(f"UPDATE {w.table} SET doc = ? WHERE n = ?", w.docs).rowcount
    if w.side_table is not None:
        if w.gone:
            conn.executemany(
                f"DELETE FROM {w.side_table} WHERE e_key = ? AND e_value = ? AND e_ref = ?",
                w.gone,
            )
        if w.added:
            # In key order, as inserts write theirs: each b-tree page visited once.
            added: list[SideRow] = sorted(w.added, key=entry_order)
            conn.executemany(
                f"INSERT OR IGNORE INTO {w.side_table} (e_key, e_value, e_ref) VALUES (?, ?, ?)",
                added,
            )
    if w.text_table is not None:
        ft = w.text_table
        if w.texts_gone:
            # A contentless index forgets a row's postings only when given the text it indexed.
            conn.executemany(
                f"INSERT INTO {ft} ({ft}, rowid, t) VALUES ('delete', ?, ?)", w.texts_gone
            )
        if w.texts_added:
            conn.executemany(f"INSERT INTO {ft} (rowid, t) VALUES (?, ?)", w.texts_added)
    return int(written)
