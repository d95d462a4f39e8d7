"""SQLite adapter of the storage port: the embedded default, one file per service.

One writer connection serialized by an asyncio lock (SQLite allows one writer at a time) and two
read connections, which WAL mode lets read while a write is in progress: the reader, whose
queries run on its thread, and the loop reader, for reads by key on the loop's own thread
(sqlite_point_reads.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import orjson

from crm_shared.clock import now_iso
from crm_shared.ids import new_id
from crm_shared.storage.derived import Derived, collection_derived
from crm_shared.storage.json_pages import path_tree
from crm_shared.storage.leases import Lease, decide
from crm_shared.storage.port import (
    CollectionSpec,
    Contains,
    ContainsAny,
    Cursor,
    DuplicateKeyError,
    In,
    OutgoingEvent,
    PendingEvent,
    Tombstone,
    Where,
    collection_empties,
    collection_timestamps,
    outbox_value,
    refuse_derived_stamps,
)
from crm_shared.storage.sqlite_checkpoints import NO_AUTOMATIC_CHECKPOINTS, BackgroundCheckpoints
from crm_shared.storage.sqlite_commit import OutboxRow, finish
from crm_shared.storage.sqlite_compact import DocumentCodec
from crm_shared.storage.sqlite_delete import Deleting, KeyFinder, delete_documents
from crm_shared.storage.sqlite_derived import (
    DerivedFunction,
    check_derived_indexes,
    derived_sql,
    holds_every,
    text_check_sql,
)
from crm_shared.storage.sqlite_filled import create_filled_table
from crm_shared.storage.sqlite_ids import (
    read_id,
    store_ids_as_bytes,
    stored_id,
    vacuum_if_alone,
)
from crm_shared.storage.sqlite_json import json_column, with_id
from crm_shared.storage.sqlite_keys import (
    KeyMap,
    create_key_tables,
    load_key_map,
    recode_documents,
)
from crm_shared.storage.sqlite_layout import drop_retired_indexes, replace_changed_index
from crm_shared.storage.sqlite_leases import read_lease, write_lease
from crm_shared.storage.sqlite_multi import (
    Entry,
    EntrySet,
    MultiValueIndexes,
    SideRow,
    create_multi_value_indexes,
    entry_order,
    key_code,
    multi_value_indexes,
)
from crm_shared.storage.sqlite_outbox import create_outbox, read_pending
from crm_shared.storage.sqlite_plan import (
    entry_driven,
    entry_tests,
    named_index,
    plan_source,
    side_ids,
    side_join,
)
from crm_shared.storage.sqlite_point_reads import LoopReader, ReadBlock, open_loop_reader
from crm_shared.storage.sqlite_reads import fetch_all
from crm_shared.storage.sqlite_replace import Coder, Replacing, replace_documents
from crm_shared.storage.sqlite_sent import SentEntries
from crm_shared.storage.sqlite_sql import bound as _bound
from crm_shared.storage.sqlite_sql import condition_sql
from crm_shared.storage.sqlite_sql import field_expr as _expr
from crm_shared.storage.sqlite_sql import table_name as _table
from crm_shared.storage.sqlite_sql import where_sql as _where_clause
from crm_shared.storage.sqlite_stamp_layout import (
    create_stamp_table,
    stamps_as_integers,
    stored_stamps,
)
from crm_shared.storage.sqlite_tenants import (
    PLAIN_TABLE,
    TENANT_CODE_SQL,
    TENANT_TABLE,
    create_tenant_table,
    load_tenant_codes,
    make_codes,
    named_rows,
    tenants_as_codes,
)
from crm_shared.storage.sqlite_text import (
    TextIndex,
    create_keyed_table,
    create_text_index,
    insert_keyed,
    next_row_key,
    text_fields,
)
from crm_shared.storage.sqlite_tx import end_transaction, immediate
from crm_shared.storage.sqlite_wal import WalTruncation

BUSY_TIMEOUT_MS = 10000
# How long published outbox entries wait for a write to delete them before one of their own does.
SENT_DELETE_DELAY_SECONDS = 0.5
# A checkpoint waits this long for other processes' readers, holding our write lock meanwhile.
CHECKPOINT_BUSY_TIMEOUT_MS = 200
# Page size and auto_vacuum stay SQLite's defaults (4 KB, none), measured on the search bench's
# 30,000 contacts (44.5 MB as loaded): VACUUMed with 4 KB pages 43.3 MB, 8 KB 43.0 MB, 16 KB
# 42.5 MB (-1% and -2%), while every page a write dirties goes to the WAL whole (a contact's
# write touches ~10-15 pages); auto_vacuum=incremental adds its pointer-map pages (43.4 MB).
# Measured again with 610-byte contacts written through the adapter (storage_write_bench, 20,000):
# 16 KB pages made the store larger, 1,557 bytes a contact against 1,526 (WAL included).
_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    # Erased personal data must not survive in free pages of the file.
    "PRAGMA secure_delete=ON",
)


# A store's side-table keys by collection, then (tenant, path): only committed ones, which
# never change (sqlite_multi.py); a transaction's new keys join them when it commits.
KeyCodes = dict[str, dict[tuple[str, str], int]]
# A store's tenant codes by tenant (sqlite_tenants.py): committed ones only, as for KeyCodes.
TenantCodes = dict[str, int]


_fetch = fetch_all


class SqliteSession:
    """Storage operations on one connection, inside the transaction the store opened."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        *,
        writable: bool,
        indexes: dict[str, dict[str, str]] | None = None,
        multi: dict[str, MultiValueIndexes] | None = None,
        text: dict[str, TextIndex] | None = None,
        codecs: dict[str, DocumentCodec] | None = None,
        keyed: frozenset[str] = frozenset(),
        key_codes: KeyCodes | None = None,
        tenant_codes: TenantCodes | None = None,
        read: ReadBlock | None = None,
    ) -> None:
        self._conn = conn
        # A reader's queries go through its read block's transaction (begun by the first).
        self._read = read
        self._keyed = keyed
        self._key_codes: KeyCodes = {} if key_codes is None else key_codes
        # Keys this transaction made: known to the store only once it commits.
        self.new_key_codes: KeyCodes = {}
        self._tenant_codes: TenantCodes = {} if tenant_codes is None else tenant_codes
        # Tenant codes this transaction made: known to the store only once it commits.
        self.new_tenant_codes: TenantCodes = {}
        self._writable = writable
        self._indexes = indexes or {}
        self._multi = multi or {}
        self._text = text or {}
        self._codecs = codecs or {}
        self.added_events = False
        self.outbox_rows: list[OutboxRow] = []

    def _codec(self, collection: str) -> DocumentCodec:
        return self._codecs.get(collection, _PLAIN)

    def _keys(self, collection: str) -> KeyMap:
        return self._codec(collection).keys

    def _source(self, collection: str, where: Sequence[Where]) -> str:
        return named_index(collection, where, self._indexes.get(collection, {}))

    async def _rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """Every row of a read, in one trip to the connection's thread."""
        if self._read is not None:
            return await self._read.fetch(sql, params)
        return await _fetch(self._conn, sql, params)

    async def _point_rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """The rows of a read by key (a few seeks): a read block may run it on the loop's thread."""
        if self._read is not None:
            return await self._read.fetch_point(sql, params)
        return await _fetch(self._conn, sql, params)

    def _require_write(self) -> None:
        if not self._writable:
            raise RuntimeError("write attempted in a read-only session")

    async def _tenant_code(self, tenant: str) -> int | None:
        """The code the tenant's rows hold (sqlite_tenants.py); None if it has none, so no
        document. Never makes one."""
        code = self._tenant_codes.get(tenant)
        if code is None:
            code = self.new_tenant_codes.get(tenant)
        if code is None:
            # Made by another process sharing the file since this one loaded its codes? A code
            # read here is a committed one (this transaction's own are in new_tenant_codes).
            rows = await self._point_rows(TENANT_CODE_SQL, (tenant,))
            if rows:
                code = self._tenant_codes[tenant] = int(rows[0][0])
        return code

    async def _written_codes(self, docs: Sequence[dict[str, Any]]) -> dict[str, int]:
        """The codes of the documents' tenants, made in this transaction for those without one."""
        codes: dict[str, int] = {}
        missing: list[str] = []
        for tenant in {doc["tenant"] for doc in docs}:
            code = self._tenant_codes.get(tenant)
            if code is None:
                code = self.new_tenant_codes.get(tenant)
            if code is None:
                missing.append(tenant)
            else:
                codes[tenant] = code
        if missing:
            made = await make_codes(self._conn, missing)
            self.new_tenant_codes.update(made)
            codes.update(made)
        return codes

    async def get(self, collection: str, *, tenant: str, id: str) -> dict[str, Any] | None:
        code = await self._tenant_code(tenant)
        if code is None:
            return None
        sql = f"SELECT doc FROM {_table(collection)} WHERE tenant = ? AND id = ?"
        rows = await self._point_rows(sql, (code, stored_id(id)))
        return self._codec(collection).decode(rows[0][0], tenant=tenant, id=id) if rows else None

    async def find(
        self,
        collection: str,
        *,
        tenant: str,
        where: Sequence[Where] = (),
        order_by: str = "id",
        descending: bool = False,
        limit: int = 100,
        after: Cursor | None = None,
        fields: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        # No code: the tenant has no document, and `tenant = NULL` matches none (the query is
        # still built, so a bad condition or field is refused as for any tenant).
        code = await self._tenant_code(tenant)
        codec = self._codec(collection)
        # Derived fields a hashed look-up's candidates are checked on: read with each row and
        # checked here, not by SQL's function on every candidate (sqlite_derived.py).
        checked = codec.checked_fields(where)
        also = tuple(name for name in checked if fields is not None and name not in fields)
        columns = codec.columns(None if fields is None else (*fields, *also))
        sql, params, checks = await self._page_sql(
            collection, tenant, code, where, order_by, descending, after, columns, in_python=checked
        )
        read = self._point_rows if _few_ids(where) else self._rows
        while True:
            rows = await read(sql, [*params, limit])
            if fields is not None:
                # The projection is complete in SQL but for the derived fields it names, and the
                # tenant's name (the rows hold its code).
                docs = [orjson.loads(row[0]) for row in rows]
                for doc in docs:
                    doc["tenant"] = tenant
                docs = codec.finish(docs, (*fields, *also))
            else:
                docs = [
                    codec.decode(row[1], tenant=tenant, id=read_id(row[0]), held=bool(checks))
                    for row in rows
                ]
            if not checks:
                return docs
            found = [doc for doc in docs if holds_every(doc, checks)]
            if len(found) == len(docs) or len(rows) < limit:
                return [codec.without(doc, fields, checked) for doc in found]
            # A hash matched another value (once in ~70 million): read a longer page.
            limit += len(docs) - len(found)

    async def find_json(
        self,
        collection: str,
        *,
        tenant: str,
        paths: Sequence[str],
        where: Sequence[Where] = (),
        after: str | None = None,
        limit: int = 100,
    ) -> list[tuple[str, bytes]]:
        """`json_pages.find_json`: the answer's text built in SQL (sqlite_json.py)."""
        code = await self._tenant_code(tenant)  # None: no document, as in `find`
        column = "id, " + json_column(path_tree(paths), self._codec(collection))
        position = Cursor(value=after, id=after) if after is not None else None
        sql, params, _ = await self._page_sql(
            collection, tenant, code, where, "id", False, position, column
        )
        rows = await self._rows(sql, [*params, limit])
        return [with_id(stored, body) for stored, body in rows]

    async def _page_sql(
        self,
        collection: str,
        tenant: str,
        code: int | None,
        where: Sequence[Where],
        order_by: str,
        descending: bool,
        after: Cursor | None,
        columns: str,
        *,
        in_python: frozenset[str] = frozenset(),
    ) -> tuple[str, list[Any], list[Where]]:
        """A page's SELECT of `columns` and its parameters, but for the trailing LIMIT's; and
        the checks on the hashed entries' candidates left to the caller (on fields of
        `in_python`). The rows hold the tenant's `code`, the side table's keys its name."""
        codec = self._codec(collection)
        source = await plan_source(
            self._rows,
            collection,
            tenant,
            where,
            order_by,
            indexes=self._indexes.get(collection, {}),
            multi=self._multi.get(collection),
            descending=descending,
            after=after,
            keys=codec.keys,
            code=code,
        )
        on_entries: list[Where] = []
        # What the entries leading the page hold as hashes (sqlite_multi.py): checked on the
        # documents, never probed again per row.
        rechecked: list[Where] = []
        if isinstance(source, EntrySet):
            # The side table already selects the ContainsAny: probing it again per row is slow.
            multi = self._multi[collection]
            rechecked = [c for c in where if multi.entry_set(c) == source]
            where = [c for c in where if multi.entry_set(c) != source]
        elif isinstance(source, Entry):
            multi = self._multi[collection]
            rechecked = [c for c in where if isinstance(c, Contains) and multi.entry(c) == source]
            on_entries, where = entry_driven(source, where, multi)
        if not (isinstance(source, (Entry, EntrySet)) and multi.hashed(source.path)):
            rechecked = []
        # A caller that checks the candidates itself is given them unchecked (port.ContainsAny).
        rechecked = [c for c in rechecked if not (isinstance(c, ContainsAny) and c.candidates)]
        params: list[Any] = []
        clause = _where_clause(
            tenant, where, params, self._multi.get(collection), codec.keys, code=code
        )
        left = [c for c in rechecked if getattr(c, "field", None) in in_python]
        for cond in rechecked:
            if cond not in left:
                clause += " AND " + condition_sql(cond, params, keys=codec.keys)
        if source == _table(collection) and (text := self._text.get(collection)):
            lead_params: list[Any] = []
            source, lead = await self._text_source(text, where, source, lead_params)
            if lead:
                clause = f"{lead} AND {clause}"
                params = [*lead_params, *params]
        key = _expr(order_by, codec.keys)
        direction = "DESC" if descending else "ASC"
        op = "<" if descending else ">"
        if after is not None:
            if order_by == "id":
                clause += f" AND id {op} ?"
                params.append(stored_id(after.id))
            elif after.value is None:
                # NULLs (missing fields) sort first ascending and last descending.
                if descending:
                    clause += f" AND {key} IS NULL AND id < ?"
                else:
                    clause += f" AND ({key} IS NOT NULL OR id > ?)"
                params.append(stored_id(after.id))
            else:
                nulls_after = f" OR {key} IS NULL" if descending else ""
                clause += f" AND ({key} {op} ? OR ({key} = ? AND id {op} ?){nulls_after})"
                value = _bound(order_by, after.value, codec.keys)
                params.extend([value, value, stored_id(after.id)])
        order = f"id {direction}" if order_by == "id" else f"{key} {direction}, id {direction}"
        if isinstance(source, EntrySet):
            multi = self._multi[collection]
            lead, lead_params = side_ids(source, tenant=tenant, multi=multi)
            clause = f"{lead} AND {clause}"
            params = [*lead_params, *params]
            # Row keys: read by key (NOT INDEXED), or SQLite walks the tenant's (tenant, id) key.
            by_key = not multi.in_id_order(source.path)
            source = f"{_table(collection)}{' NOT INDEXED' if by_key else ''}"
        elif isinstance(source, Entry):
            multi = self._multi[collection]
            lead, lead_params = side_join(source, tenant=tenant, multi=multi)
            lead += entry_tests(on_entries, tenant=tenant, multi=multi, params=lead_params)
            if order_by == "id" and multi.in_id_order(source.path):
                # The entries of one value are in id order: the page reads straight off them.
                order = f"d.e_ref {direction}"
                if after is not None:
                    lead += f" AND d.e_ref {op} ?"
                    lead_params.append(stored_id(after.id))
            clause = f"{lead} AND {clause}"
            params = [*lead_params, *params]
            source = multi.join(_table(collection), source.path)
        sql = f"SELECT {columns} FROM {source} WHERE {clause} ORDER BY {order} LIMIT ?"
        return sql, params, left

    async def _text_source(
        self, text: TextIndex, where: Sequence[Where], table: str, params: list[Any]
    ) -> tuple[str, str]:
        """The source and clause of a page when a text search may lead it.

        A query whose trigrams select fewer than TEXT_LEAD_LIMIT rows reads them by key, the keys
        the text index gave (searched once per try: the search is most of such a page's time),
        and sorts them; the index is asked for the rarest trigrams first (sqlite_text_plan.py).
        A commoner one walks the sort order, checking each row's text, which finds a page of
        frequent words after a few rows.
        """
        grams = text.trigrams(where)
        if not grams:
            return table, ""
        for expression in await text.counts.expressions(self._rows, grams):
            rowids = await text.matches_upto(self._rows, expression, TEXT_LEAD_LIMIT)
            if len(rowids) < TEXT_LEAD_LIMIT:
                # NOT INDEXED: the rows come by key from the text index's matches.
                return f"{table} NOT INDEXED", text.among(rowids, params)
        return table, ""

    async def count(self, collection: str, *, tenant: str, where: Sequence[Where] = ()) -> int:
        code = await self._tenant_code(tenant)  # None: no document, as in `find`
        params: list[Any] = []
        if (text := self._text.get(collection)) and (expression := text.search(where)):
            lead = text.members(expression, params) + " AND "
        else:
            lead = ""
        clause = lead + _where_clause(
            tenant, where, params, self._multi.get(collection), self._keys(collection), code=code
        )
        rows = await self._rows(
            f"SELECT COUNT(*) FROM {self._source(collection, where)} WHERE {clause}", params
        )
        return int(rows[0][0]) if rows else 0

    async def tenants(self, collection: str) -> list[str]:
        # Off the (tenant, id) key: one seek per tenant, not one step per document; the rows
        # hold codes, named by the tenant dictionary and sorted by name.
        table = _table(collection)
        sql = (
            f"WITH RECURSIVE t(tenant) AS (SELECT min(tenant) FROM {table} UNION ALL "
            f"SELECT (SELECT min(tenant) FROM {table} WHERE tenant > t.tenant) FROM t "
            f"WHERE t.tenant IS NOT NULL) SELECT k.tenant FROM t JOIN {TENANT_TABLE} AS k "
            "ON k.code = t.tenant"
        )
        return sorted(str(row[0]) for row in await self._rows(sql, ()))

    async def insert(self, collection: str, doc: dict[str, Any]) -> None:
        await self.insert_many(collection, [doc])

    async def insert_many(self, collection: str, docs: Sequence[dict[str, Any]]) -> None:
        self._require_write()
        table = _table(collection)
        encode = self._codec(collection).encode
        keyed = collection in self._keyed
        codes = await self._written_codes(docs)
        first = await next_row_key(self._conn, table) if keyed else 0
        try:
            if keyed:
                await insert_keyed(self._conn, table, docs, first, codes=codes, encode=encode)
            else:
                rows = [(codes[d["tenant"]], stored_id(d["id"]), encode(d)) for d in docs]
                await self._conn.executemany(
                    f"INSERT INTO {table} (tenant, id, doc) VALUES (?, ?, ?)", rows
                )
        except sqlite3.IntegrityError as exc:
            if keyed:
                # As MongoDB's ordered insert, the documents before the refused one stay (until
                # the caller rolls back): they get their entries, so no row is ever without them.
                written = await self._rows_from(table, first)
                await self._insert_entries(collection, first, docs[:written])
            raise DuplicateKeyError(str(exc)) from exc
        await self._insert_entries(collection, first, docs)

    async def _rows_from(self, table: str, first: int) -> int:
        """How many rows hold row keys from `first` on: those one `insert_keyed` call wrote."""
        sql = f"SELECT count(*) FROM {table} WHERE n >= ?"
        async with self._conn.execute(sql, (first,)) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def _insert_entries(
        self, collection: str, first: int, docs: Sequence[dict[str, Any]]
    ) -> None:
        """The text postings and side-table entries of documents inserted from row key `first`."""
        if not docs:
            return
        if (text := self._text.get(collection)) is not None:
            await text.insert_texts(self._conn, first, docs)
        if (multi := self._multi.get(collection)) is not None:
            side = await self._side_rows(multi, first, docs)
            await self._conn.executemany(
                f"INSERT OR IGNORE INTO {multi.table} (e_key, e_value, e_ref) VALUES (?, ?, ?)",
                # In key order: each b-tree page is then visited once per batch, not per row.
                sorted(side, key=entry_order),
            )

    async def _side_rows(
        self, multi: MultiValueIndexes, first: int, docs: Sequence[dict[str, Any]]
    ) -> list[SideRow]:
        """The side-table rows of documents inserted with row keys from `first` on."""
        known = self._key_codes.get(multi.collection, {})
        made = self.new_key_codes.setdefault(multi.collection, {})
        side: list[SideRow] = []
        # Inline, not through `_coder`'s closure: ~1 us a contact less on bulk inserts.
        for n, doc in enumerate(docs, start=first):
            tenant = doc["tenant"]
            # Entries naming the document by id hold it as stored (sqlite_ids.py): made once.
            by_id = stored_id(doc["id"])
            for path, value, ref in multi.rows(multi.written(doc), n):
                pair = (tenant, path)
                code = known.get(pair) or made.get(pair)
                if code is None:
                    code = made[pair] = await self._key_code(multi, pair)
                side.append((code, value, ref if type(ref) is int else by_id))
        return side

    async def _key_code(self, multi: MultiValueIndexes, pair: tuple[str, str]) -> int:
        """The key of (tenant, path), made now if no process has made it yet."""
        run: Any = self._conn._execute
        code: int = await run(key_code, self._conn._conn, multi.keys, pair)
        return code

    async def replace(
        self, collection: str, doc: dict[str, Any], *, expected_version: int | None = None
    ) -> bool:
        self._require_write()
        return await self._replace(collection, [doc], [expected_version]) == 1

    async def replace_many(
        self, collection: str, docs: Sequence[dict[str, Any]], *, expected_versions: Sequence[int]
    ) -> int:
        self._require_write()
        return await self._replace(collection, docs, expected_versions)

    async def _replace(
        self, collection: str, docs: Sequence[dict[str, Any]], versions: Sequence[int | None]
    ) -> int:
        """Replace documents stored at their expected versions (None: any); how many were."""
        if len(docs) != len(versions):
            raise ValueError("one expected version per document")
        if not docs:
            return 0
        if collection in self._keyed:
            return await self._replace_keyed(collection, docs, versions)
        table, keys = _table(collection), self._keys(collection)
        encode = self._codec(collection).encode
        sql = f"UPDATE {table} SET doc = ? WHERE tenant = ? AND id = ?"
        checked = f"{sql} AND {_expr('version', keys)} = ?"
        # A tenant without a code binds NULL: it has no document, and `tenant = NULL` matches none.
        codes = {t: await self._tenant_code(t) for t in {d["tenant"] for d in docs}}
        written = 0
        try:
            if all(v is not None for v in versions):
                pairs = zip(docs, versions, strict=True)
                rows = [(encode(d), codes[d["tenant"]], stored_id(d["id"]), v) for d, v in pairs]
                written = (await self._conn.executemany(checked, rows)).rowcount
            else:
                for doc, version in zip(docs, versions, strict=True):
                    params = [encode(doc), codes[doc["tenant"]], stored_id(doc["id"])]
                    if version is None:
                        cur = await self._conn.execute(sql, params)
                    else:
                        cur = await self._conn.execute(checked, [*params, version])
                    written += cur.rowcount
        except sqlite3.IntegrityError as exc:
            raise DuplicateKeyError(str(exc)) from exc
        return written

    async def _replace_keyed(
        self, collection: str, docs: Sequence[dict[str, Any]], versions: Sequence[int | None]
    ) -> int:
        """Replace in a keyed table, its index entries written from Python (sqlite_replace.py)."""
        multi = self._multi.get(collection)
        replacing = Replacing(
            _table(collection),
            self._keys(collection),
            self._codec(collection).encode,
            multi,
            self._text.get(collection),
            self._coder(multi),
            {t: await self._tenant_code(t) for t in {d["tenant"] for d in docs}},
        )
        # Read, plan and write in one hand-off (aiosqlite's `_execute`, as sqlite_commit.py).
        run: Any = self._conn._execute
        try:
            written: int = await run(replace_documents, self._conn._conn, replacing, docs, versions)
        except sqlite3.IntegrityError as exc:
            raise DuplicateKeyError(str(exc)) from exc
        return written

    def _coder(self, multi: MultiValueIndexes | None) -> Coder:
        """Key codes of (tenant, path) for code running in the connection's thread."""
        if multi is None:
            return _no_code
        known = self._key_codes.get(multi.collection, {})
        made = self.new_key_codes.setdefault(multi.collection, {})
        conn = self._conn._conn

        def code(tenant: str, path: str) -> int:
            pair = (tenant, path)
            found = known.get(pair) or made.get(pair)
            if found is None:
                found = made[pair] = key_code(conn, multi.keys, pair)
            return found

        return code

    async def delete(self, collection: str, *, tenant: str, id: str) -> bool:
        self._require_write()
        code = await self._tenant_code(tenant)
        if code is None:
            return False
        sql = f"DELETE FROM {_table(collection)} WHERE tenant = ? AND id = ?"
        return await self._delete(collection, tenant, sql, (code, stored_id(id))) == 1

    async def delete_where(self, collection: str, *, tenant: str, where: Sequence[Where]) -> int:
        self._require_write()
        code = await self._tenant_code(tenant)  # None: no document, as in `find`
        params: list[Any] = []
        clause = _where_clause(tenant, where, params, keys=self._keys(collection), code=code)
        # The index is named as `find` names it: without it SQLite walks the tenant's whole
        # table for each delete (an erasure of 5,000 contacts beside one contact's 10,000
        # timeline items read 50 million rows).
        source = self._source(collection, where)
        return await self._delete(
            collection, tenant, f"DELETE FROM {source} WHERE {clause}", params
        )

    async def _delete(self, collection: str, tenant: str, sql: str, params: Sequence[Any]) -> int:
        """Run a DELETE of the tenant's documents; how many went.

        In a keyed table, their index entries go too, in the same hand-off (sqlite_delete.py).
        """
        if collection not in self._keyed:
            return int((await self._conn.execute(sql, params)).rowcount)
        multi = self._multi.get(collection)
        deleting = Deleting(
            self._keys(collection), multi, self._text.get(collection), self._finder(multi)
        )
        run: Any = self._conn._execute
        deleted: int = await run(
            delete_documents, self._conn._conn, deleting, sql, params, tenant=tenant
        )
        return deleted

    def _finder(self, multi: MultiValueIndexes | None) -> KeyFinder:
        """Key codes of (tenant, path) for code running in the connection's thread; None for
        a pair that has none (never made here: a delete adds no entry)."""
        if multi is None:
            return _no_key
        known = self._key_codes.get(multi.collection, {})
        made = self.new_key_codes.setdefault(multi.collection, {})
        conn = self._conn._conn
        sql = f"SELECT code FROM {multi.keys} WHERE tenant = ? AND path = ?"

        def find(tenant: str, path: str) -> int | None:
            pair = (tenant, path)
            found = known.get(pair) or made.get(pair)
            if found is None:
                row = conn.execute(sql, pair).fetchone()
                if row is None:
                    return None
                found = made[pair] = int(row[0])
            return found

        return find

    async def add_events(self, events: Sequence[OutgoingEvent | Tombstone]) -> None:
        self._require_write()
        if not events:
            return
        at = now_iso()
        # Written with the COMMIT, in the same trip to the connection's thread (sqlite_commit.py).
        self.outbox_rows.extend((new_id(), e.topic, e.key, outbox_value(e), at) for e in events)
        self.added_events = True

    async def mark_processed(self, consumer: str, event_id: str) -> bool:
        self._require_write()
        cur = await self._conn.execute(
            "INSERT OR IGNORE INTO _processed (consumer, event_id, at) VALUES (?, ?, ?)",
            (consumer, event_id, now_iso()),
        )
        return cur.rowcount == 1

    async def mark_processed_many(self, consumer: str, event_ids: Sequence[str]) -> set[str]:
        self._require_write()
        wanted = list(dict.fromkeys(event_ids))
        fresh: set[str] = set()
        at = now_iso()
        # One statement per chunk (under SQLite's bound-parameter limit): the insert answers
        # which ids were new, so a batch's marks cost one trip to the connection's thread.
        for start in range(0, len(wanted), _PROCESSED_CHUNK):
            chunk = wanted[start : start + _PROCESSED_CHUNK]
            rows = await _fetch(
                self._conn,
                "INSERT OR IGNORE INTO _processed (consumer, event_id, at) VALUES "
                + ", ".join("(?, ?, ?)" for _ in chunk)
                + " RETURNING event_id",
                [value for event_id in chunk for value in (consumer, event_id, at)],
            )
            fresh.update(row[0] for row in rows)
        return fresh


_PLAIN = DocumentCodec()
# A page of at most this many ids named by `In` is read by key, as `get` is (a seek per id).
POINT_READ_IDS = 8


def _few_ids(where: Sequence[Where]) -> bool:
    """Whether a page's conditions are one `In` on id of a few ids: seeks, never a scan."""
    if len(where) != 1:
        return False
    cond = where[0]
    return isinstance(cond, In) and cond.field == "id" and len(cond.values) <= POINT_READ_IDS


def _no_code(tenant: str, path: str) -> int:
    raise AssertionError(f"no side table to code {path!r} in")


def _no_key(tenant: str, path: str) -> int | None:
    raise AssertionError(f"no side table to find {path!r} in")


# Three bound parameters per id: well under SQLite's limit of 32,766.
_PROCESSED_CHUNK = 500
# Text searches matching fewer rows than this read them off the text index (see _text_source).
TEXT_LEAD_LIMIT = 2000


class SqliteStore:
    """The storage port over one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self._path = str(path)
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._loop_reader: LoopReader | None = None
        self._indexes: dict[str, dict[str, str]] = {}
        self._multi: dict[str, MultiValueIndexes] = {}
        self._text: dict[str, TextIndex] = {}
        self._codecs: dict[str, DocumentCodec] = {}
        self._derived = DerivedFunction({})
        self._keyed: frozenset[str] = frozenset()
        self._key_codes: KeyCodes = {}
        self._tenant_codes: TenantCodes = {}
        self._write_lock = asyncio.Lock()
        self._read_lock = asyncio.Lock()
        self.outbox_signal = asyncio.Event()
        # A second's wait: 5,000 erasures in a row share a handful of passes, not 5,000 fsyncs.
        self._wal_truncation = WalTruncation(self._truncate_wal, delay_seconds=1.0)
        # Checkpoints run beside the writer, not inside the commit that fills the log.
        self._checkpoints = BackgroundCheckpoints(self._path, self._write_lock)
        # Published entries are deleted by the next write, not by a transaction of their own.
        self._sent = SentEntries(self._delete_sent_alone, delay=SENT_DELETE_DELAY_SECONDS)

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self._path, isolation_level=None)
        for pragma in _PRAGMAS:
            await conn.execute(pragma)
        await self._derived.register(conn)
        return conn

    async def start(self, specs: Sequence[CollectionSpec]) -> None:
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        all_derived = collection_derived(specs)
        check_derived_indexes(specs, all_derived)
        self._derived = DerivedFunction(all_derived)
        self._writer = await self._connect()
        w = self._writer
        if self._path != ":memory:":
            await w.execute(NO_AUTOMATIC_CHECKPOINTS)
            await self._checkpoints.start()
        await create_outbox(w)
        await w.execute(
            "CREATE TABLE IF NOT EXISTS _leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, "
            "token INTEGER NOT NULL, expires_at REAL NOT NULL) WITHOUT ROWID"
        )
        await w.execute(
            "CREATE TABLE IF NOT EXISTS _processed (consumer TEXT NOT NULL, "
            "event_id TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (consumer, event_id)) "
            "WITHOUT ROWID"
        )
        # FTS5 and the multi-value side tables key rows by integer (sqlite_text.py).
        self._keyed = frozenset(
            s.name for s in specs if text_fields(specs, s.name) or multi_value_indexes(s)
        )
        # The stored JSON leaves empty declared fields out and writes declared names as short
        # codes: every process opening the file must start it with the same specs, as it must
        # for the indexes.
        await create_key_tables(w)
        await create_filled_table(w)
        await create_stamp_table(w)
        await create_tenant_table(w)
        declared = collection_empties(specs)
        timestamps = collection_timestamps(specs)
        for spec in specs:
            for index in spec.indexes:
                # Their entries are made from the document's text on writes but from the
                # stored JSON (integers) on deletes: they would never match.
                if (index.multi_value or index.text) and index.fields[0] in timestamps.get(
                    spec.name, ()
                ):
                    raise ValueError(f"{spec.name}: a timestamp cannot have a {index.name} index")
        for name in dict.fromkeys(spec.name for spec in specs):
            empties = declared.get(name, ())
            # A collection's codes are the file's: started without its declared fields, a
            # process still reads and queries the coded documents. So are its integer
            # timestamps (sqlite_stamps.py).
            keys = await load_key_map(w, name, (e.field for e in empties))
            stamps = frozenset(timestamps.get(name, ())) | await stored_stamps(w, name)
            derived: tuple[Derived, ...] = all_derived.get(name, ())
            # Across the collection's specs, and the file's integer fields too.
            refuse_derived_stamps(name, derived, tuple(stamps))
            keys = dataclasses.replace(keys, stamps=stamps)
            if derived:
                keys = dataclasses.replace(
                    keys,
                    derived=derived_sql(name, derived, keys),
                    text_checks={
                        d.field: text_check_sql(name, d, keys)
                        for d in derived
                        if d.field in text_fields(specs, name)
                    },
                )
            if empties or keys.codes or keys.stamps or derived:
                self._codecs[name] = DocumentCodec(empties, keys, derived)
        # Older code's delete triggers, dropped for a rewrite to short keys: their entries hold.
        kept: frozenset[str] = frozenset()
        rewritten = 0
        for spec in specs:
            table = _table(spec.name)
            if spec.name in self._keyed:
                await create_keyed_table(w, table, spec.name)
            else:
                await w.execute(f"CREATE TABLE IF NOT EXISTS {table} {PLAIN_TABLE}")
            keys = self._codecs.get(spec.name, _PLAIN).keys
            # Before the indexes: documents written with plain names are rewritten first.
            kept |= await recode_documents(w, table, spec.name, keys)
            rewritten += await store_ids_as_bytes(w, table, spec.name)
            # Before the indexes too: no field may hold timestamps as both text and integers.
            rewritten += await stamps_as_integers(w, table, spec.name, keys)
            # Last: the rewrites above resume from positions holding tenants as the table did.
            moved, dropped = await tenants_as_codes(w, table)
            rewritten += moved
            kept |= dropped  # the rewrite changed no value and no row key: entries still hold
            for index in spec.indexes:
                if index.multi_value is not None or index.text:
                    continue  # kept in the side table or the text index below
                unique = "UNIQUE " if index.unique else ""
                cols = ", ".join(_expr(f, keys) for f in index.fields)
                # A trailing id lets equality look-ups return rows already in id order.
                tail = "" if index.unique or index.sort_only else ", id"
                name = f"{spec.name}_{index.name}"
                partial = f" WHERE {cols} IS NOT NULL" if index.sparse else ""
                create = (
                    f"CREATE {unique}INDEX IF NOT EXISTS {name} ON {table} (tenant, {cols}{tail})"
                    + partial
                )
                await replace_changed_index(w, name, create=create)
                await w.execute(create)
                self._indexes.setdefault(spec.name, {}).setdefault(index.fields[0], name)
            derived = all_derived.get(spec.name, ())
            # Filled from the rows with their tenants' names: the side table's keys hold names.
            multi = await create_multi_value_indexes(
                w, spec, named_rows(table), keys, kept=kept, derived=derived
            )
            if multi is not None:
                known = self._multi.get(spec.name)
                roots = {**known.roots, **multi.roots} if known else multi.roots
                by_row_key = known.by_row_key | multi.by_row_key if known else multi.by_row_key
                indexed = tuple(d for d in derived if d.field in roots)
                self._multi[spec.name] = MultiValueIndexes(
                    spec.name, roots, by_row_key, keys, indexed
                )
        await drop_retired_indexes(w, specs)
        for name in dict.fromkeys(spec.name for spec in specs):
            fields = text_fields(specs, name)
            if len(fields) > 1:
                raise ValueError(f"{name}: one text index per collection, not {fields}")
            if fields:
                derived_text = {d.field: d for d in all_derived.get(name, ())}.get(fields[0])
                self._text[name] = TextIndex(name, fields[0], derived_text)
                keys = self._codecs.get(name, _PLAIN).keys
                await create_text_index(w, _table(name), self._text[name], keys, kept=kept)
        if rewritten and self._path != ":memory:":
            # Once, after a store written with text ids or timestamps was rewritten: their
            # bytes freed.
            await vacuum_if_alone(self._path)
        self._tenant_codes.update(await load_tenant_codes(w))
        self._reader = await self._connect()
        if self._path != ":memory:":  # another connection to ":memory:" is another database
            self._loop_reader = await open_loop_reader(self._path, _PRAGMAS)
            await self._derived.register(self._loop_reader.conn)

    async def close(self) -> None:
        await self._sent.stop()
        if self._writer is not None and len(self._sent):
            await self._delete_sent_alone()
        await self._wal_truncation.stop()
        await self._checkpoints.close()
        loop_reader = self._loop_reader.conn if self._loop_reader is not None else None
        for conn in (loop_reader, self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = self._loop_reader = None

    async def ping(self) -> None:
        async with self._read_lock:
            assert self._reader is not None
            async with self._reader.execute("SELECT 1") as cur:
                await cur.fetchone()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteSession]:
        if self._writer is None:
            raise RuntimeError("store not started")
        async with self._write_lock:
            session = SqliteSession(
                self._writer,
                writable=True,
                indexes=self._indexes,
                multi=self._multi,
                text=self._text,
                codecs=self._codecs,
                keyed=self._keyed,
                key_codes=self._key_codes,
                tenant_codes=self._tenant_codes,
            )
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
                yield session
                # What the relay published meanwhile leaves with this commit (sqlite_sent.py).
                deleted = self._sent.taken()
                await finish(self._writer, outbox=session.outbox_rows, sent=deleted)
            except BaseException:
                await end_transaction(self._writer, "ROLLBACK")
                raise
            self._sent.forget(deleted)
            for collection, made in session.new_key_codes.items():
                self._key_codes.setdefault(collection, {}).update(made)
            self._tenant_codes.update(session.new_tenant_codes)
        self._checkpoints.after_commit()
        if session.added_events:
            self.outbox_signal.set()

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[SqliteSession]:
        if self._reader is None:
            raise RuntimeError("store not started")
        # A read transaction spans every query of the block (a snapshot), on the connection its
        # first query takes: a read by key the loop reader, else the reader (sqlite_point_reads.py).
        block = ReadBlock(self._reader, self._read_lock, self._loop_reader)
        try:
            yield SqliteSession(
                self._reader,
                writable=False,
                indexes=self._indexes,
                multi=self._multi,
                text=self._text,
                codecs=self._codecs,
                tenant_codes=self._tenant_codes,
                read=block,
            )
        finally:
            block.end()

    async def pending_events(self, limit: int) -> list[PendingEvent]:
        # Published entries whose delete has not committed yet are still rows: skip them.
        sent = self._sent.snapshot()
        async with self._read_lock:
            assert self._reader is not None
            rows = await read_pending(self._reader, limit, sent)
        return [
            PendingEvent(
                outbox_id=row[0],
                topic=row[1],
                key=row[2].encode() if row[2] is not None else None,
                value=bytes(row[3]),
            )
            for row in rows
        ]

    async def pending_count(self) -> int:
        sent = len(self._sent)
        async with self._read_lock:
            assert self._reader is not None
            async with self._reader.execute("SELECT COUNT(*) FROM _outbox") as cur:
                row = await cur.fetchone()
        return max(0, int(row[0]) - sent) if row else 0

    async def mark_events_sent(self, outbox_ids: Sequence[str]) -> None:
        # Deleted by the next write's transaction, or alone if none comes (sqlite_sent.py).
        self._sent.add(outbox_ids)

    async def _delete_sent_alone(self) -> None:
        if self._writer is None:
            return
        async with self._write_lock:
            deleted = self._sent.taken()
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
                await finish(self._writer, sent=deleted)
            except BaseException:
                await end_transaction(self._writer, "ROLLBACK")
                raise
            self._sent.forget(deleted)
        self._checkpoints.after_commit()

    def forget_deleted(self) -> None:
        """Truncate the WAL soon: it still holds deleted rows as they were (sqlite_wal.py)."""
        self._wal_truncation.request()

    async def _truncate_wal(self) -> bool:
        if self._writer is None:
            return True
        if len(self._sent):
            # Published outbox entries still waiting for a write to delete them hold events as
            # they were: deleted first, or the truncation leaves them in the file.
            await self._delete_sent_alone()
        # A text index forgets a deleted row's trigrams only when its segments are merged: until
        # then they are on disk, and an erased name could be pieced together from them.
        for text in self._text.values():
            async with self._write_lock, immediate(self._writer):
                optimize = f"INSERT INTO {text.table} ({text.table}) VALUES ('optimize')"
                await self._writer.execute(optimize)
        async with self._write_lock:
            await self._writer.execute(f"PRAGMA busy_timeout={CHECKPOINT_BUSY_TIMEOUT_MS}")
            try:
                async with self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cur:
                    row = await cur.fetchone()
            finally:
                await self._writer.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # (busy, log frames, checkpointed frames): busy 0 means the log was emptied.
        return row is None or int(row[0]) == 0

    async def acquire_lease(self, name: str, *, holder: str, ttl: float) -> Lease | None:
        assert self._writer is not None
        # BEGIN IMMEDIATE takes SQLite's write lock: other processes on the file wait.
        async with self._write_lock, immediate(self._writer):
            row = await read_lease(self._writer, name)
            taken = decide(row, holder=holder, ttl=ttl)
            if taken is not None:
                await write_lease(self._writer, name, taken)
        return None if taken is None else Lease(name, holder, taken.token, taken.expires_at)

    async def release_lease(self, name: str, *, holder: str) -> None:
        assert self._writer is not None
        async with self._write_lock:
            await self._writer.execute(
                "UPDATE _leases SET expires_at = 0 WHERE name = ? AND holder = ?", (name, holder)
            )
