"""The storage port kept in process memory: fast handler tests without a database file.

It passes the same contract suite as the SQLite and MongoDB adapters. Committed state is never
changed in place: a transaction copies what it writes (per collection and tenant) and its commit
swaps the copies in, so an exception inside `transaction()` discards every write, outbox event and
processed mark, and a reader keeps the snapshot it started with. Writers are serialized, as in
SQLite. Documents go through a JSON round trip on the way in and out, as in the SQLite adapter, so
callers never share dicts with the store. Not a store anyone runs: nothing survives the process.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson

from crm_shared.ids import new_id
from crm_shared.storage.derived import Derived, collection_derived, with_derived
from crm_shared.storage.json_pages import path_tree, projected_json
from crm_shared.storage.leases import Lease, LeaseRow, decide
from crm_shared.storage.memory_query import matches_all, page
from crm_shared.storage.port import (
    CollectionSpec,
    Cursor,
    DuplicateKeyError,
    Empty,
    OutgoingEvent,
    PendingEvent,
    Tombstone,
    Where,
    collection_empties,
    outbox_value,
    path_value,
    projected,
    projection,
    with_empties,
)

Tenants = dict[str, dict[str, dict[str, Any]]]  # tenant -> id -> document


def _copy(doc: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = orjson.loads(orjson.dumps(doc))
    return copied


@dataclass
class _State:
    """One committed version of everything the store holds."""

    collections: dict[str, Tenants] = field(default_factory=dict)
    outbox: dict[str, PendingEvent] = field(default_factory=dict)
    processed: set[tuple[str, str]] = field(default_factory=set)


class MemorySession:
    """Operations on one snapshot; a writable session copies what it changes before changing it."""

    def __init__(
        self,
        state: _State,
        *,
        writable: bool,
        unique: dict[str, list[tuple[str, ...]]],
        empties: dict[str, tuple[Empty, ...]] | None = None,
        derived: dict[str, tuple[Derived, ...]] | None = None,
    ) -> None:
        self._state = state
        self._writable = writable
        self._unique = unique
        self._empties = empties or {}
        self._derived = derived or {}
        self._copied: set[tuple[str, str]] = set()
        self._copied_outbox = False
        self._copied_processed = False
        self.added_events = False

    def _require_write(self) -> None:
        if not self._writable:
            raise RuntimeError("write attempted in a read-only session")

    def _docs(self, collection: str, tenant: str) -> dict[str, dict[str, Any]]:
        if collection not in self._state.collections:
            raise RuntimeError(f"unknown collection {collection!r}: declare it at start-up")
        return self._state.collections[collection].get(tenant, {})

    def _writable_docs(self, collection: str, tenant: str) -> dict[str, dict[str, Any]]:
        self._require_write()
        self._docs(collection, tenant)
        if (collection, tenant) not in self._copied:
            if not any(c == collection for c, _ in self._copied):
                self._state.collections[collection] = dict(self._state.collections[collection])
            tenants = self._state.collections[collection]
            tenants[tenant] = dict(tenants.get(tenant, {}))
            self._copied.add((collection, tenant))
        return self._state.collections[collection][tenant]

    def _check_unique(
        self, collection: str, docs: dict[str, dict[str, Any]], new: dict[str, Any]
    ) -> None:
        for fields in self._unique.get(collection, []):
            values = [path_value(new, f) for f in fields]
            if any(v is None for v in values):
                continue  # as in SQLite, a missing value never clashes
            key = orjson.dumps(values)
            for other in docs.values():
                if (
                    other["id"] != new["id"]
                    and orjson.dumps([path_value(other, f) for f in fields]) == key
                ):
                    raise DuplicateKeyError(f"{collection}: unique {', '.join(fields)}")

    def _stored(self, collection: str, doc: dict[str, Any]) -> dict[str, Any]:
        """The copy of a document the store keeps: its derived fields as derived (derived.py)."""
        derived = self._derived.get(collection)
        return _copy(with_derived(doc, derived) if derived else doc)

    def _read(self, collection: str, doc: dict[str, Any]) -> dict[str, Any]:
        """A stored document as a full read gives it: a copy, without its derived fields."""
        copied = _copy(doc)
        for d in self._derived.get(collection, ()):
            copied.pop(d.field, None)
        return with_empties(copied, self._empties.get(collection, ()))

    async def get(self, collection: str, *, tenant: str, id: str) -> dict[str, Any] | None:
        doc = self._docs(collection, tenant).get(id)
        return None if doc is None else self._read(collection, doc)

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
        if fields is not None:
            fields = projection(fields)
        found = [d for d in self._docs(collection, tenant).values() if matches_all(d, where)]
        chosen = page(found, order_by=order_by, descending=descending, limit=limit, after=after)
        # Declared fields a document lacks read as empty, as in every adapter (port.Empty).
        empties = self._empties.get(collection, ())
        if fields is not None:
            return [_copy(projected(with_empties(dict(d), empties), fields)) for d in chosen]
        return [self._read(collection, d) for d in chosen]

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
        """`json_pages.find_json`, serialized from the documents `find` gives."""
        tree = path_tree(paths)
        position = Cursor(value=after, id=after) if after is not None else None
        found = [d for d in self._docs(collection, tenant).values() if matches_all(d, where)]
        chosen = page(found, order_by="id", descending=False, limit=limit, after=position)
        # From the stored documents: the derived fields the paths name are there.
        empties = self._empties.get(collection, ())
        return [(d["id"], projected_json(with_empties(dict(d), empties), tree)) for d in chosen]

    async def count(self, collection: str, *, tenant: str, where: Sequence[Where] = ()) -> int:
        return sum(1 for d in self._docs(collection, tenant).values() if matches_all(d, where))

    async def tenants(self, collection: str) -> list[str]:
        self._docs(collection, "")  # an undeclared collection is an error here too
        return sorted(t for t, docs in self._state.collections[collection].items() if docs)

    async def insert(self, collection: str, doc: dict[str, Any]) -> None:
        await self.insert_many(collection, [doc])

    async def insert_many(self, collection: str, docs: Sequence[dict[str, Any]]) -> None:
        self._require_write()
        for doc in docs:
            target = self._writable_docs(collection, doc["tenant"])
            if doc["id"] in target:
                raise DuplicateKeyError(f"{collection}: id {doc['id']} exists")
            stored = self._stored(collection, doc)
            self._check_unique(collection, target, stored)
            target[stored["id"]] = stored

    async def replace(
        self, collection: str, doc: dict[str, Any], *, expected_version: int | None = None
    ) -> bool:
        self._require_write()
        current = self._docs(collection, doc["tenant"]).get(doc["id"])
        if current is None:
            return False
        if expected_version is not None and current.get("version") != expected_version:
            return False
        target = self._writable_docs(collection, doc["tenant"])
        stored = self._stored(collection, doc)
        self._check_unique(collection, target, stored)
        target[stored["id"]] = stored
        return True

    async def replace_many(
        self, collection: str, docs: Sequence[dict[str, Any]], *, expected_versions: Sequence[int]
    ) -> int:
        replaced = 0
        for doc, version in zip(docs, expected_versions, strict=True):
            replaced += await self.replace(collection, doc, expected_version=version)
        return replaced

    async def delete(self, collection: str, *, tenant: str, id: str) -> bool:
        self._require_write()
        if id not in self._docs(collection, tenant):
            return False
        del self._writable_docs(collection, tenant)[id]
        return True

    async def delete_where(self, collection: str, *, tenant: str, where: Sequence[Where]) -> int:
        self._require_write()
        doomed = [i for i, d in self._docs(collection, tenant).items() if matches_all(d, where)]
        if doomed:
            target = self._writable_docs(collection, tenant)
            for doc_id in doomed:
                del target[doc_id]
        return len(doomed)

    async def add_events(self, events: Sequence[OutgoingEvent | Tombstone]) -> None:
        self._require_write()
        if not events:
            return
        if not self._copied_outbox:
            self._state.outbox = dict(self._state.outbox)
            self._copied_outbox = True
        for event in events:
            outbox_id = new_id()
            key = event.key.encode() if event.key is not None else None
            value = outbox_value(event)
            self._state.outbox[outbox_id] = PendingEvent(outbox_id, event.topic, key, value)
        self.added_events = True

    async def mark_processed(self, consumer: str, event_id: str) -> bool:
        self._require_write()
        if (consumer, event_id) in self._state.processed:
            return False
        if not self._copied_processed:
            self._state.processed = set(self._state.processed)
            self._copied_processed = True
        self._state.processed.add((consumer, event_id))
        return True

    async def mark_processed_many(self, consumer: str, event_ids: Sequence[str]) -> set[str]:
        return {e for e in dict.fromkeys(event_ids) if await self.mark_processed(consumer, e)}


class MemoryStore:
    """The storage port in memory; see the module docstring for its transaction semantics."""

    def __init__(self) -> None:
        self._state = _State()
        self._unique: dict[str, list[tuple[str, ...]]] = {}
        self._empties: dict[str, tuple[Empty, ...]] = {}
        self._derived: dict[str, tuple[Derived, ...]] = {}
        self._write_lock = asyncio.Lock()
        self._started = False
        self._leases: dict[str, LeaseRow] = {}
        self.outbox_signal = asyncio.Event()

    async def start(self, specs: Sequence[CollectionSpec]) -> None:
        for spec in specs:
            self._state.collections.setdefault(spec.name, {})
            unique = self._unique.setdefault(spec.name, [])
            for index in spec.indexes:
                if index.unique and index.fields not in unique:
                    unique.append(index.fields)
        self._empties = collection_empties(specs)
        self._derived = collection_derived(specs)
        self._started = True

    async def close(self) -> None:
        self._started = False

    async def ping(self) -> None:
        if not self._started:
            raise RuntimeError("store not started")

    def _snapshot(self) -> _State:
        state = self._state
        return _State(dict(state.collections), state.outbox, state.processed)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[MemorySession]:
        if not self._started:
            raise RuntimeError("store not started")
        async with self._write_lock:
            draft = self._snapshot()
            session = MemorySession(
                draft,
                writable=True,
                unique=self._unique,
                empties=self._empties,
                derived=self._derived,
            )
            yield session  # an exception here leaves self._state untouched: a rollback
            self._state = draft
        if session.added_events:
            self.outbox_signal.set()

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[MemorySession]:
        if not self._started:
            raise RuntimeError("store not started")
        yield MemorySession(
            self._snapshot(),
            writable=False,
            unique=self._unique,
            empties=self._empties,
            derived=self._derived,
        )

    async def pending_events(self, limit: int) -> list[PendingEvent]:
        outbox = self._state.outbox
        return [outbox[i] for i in sorted(outbox)[: max(limit, 0)]]

    async def pending_count(self) -> int:
        return len(self._state.outbox)

    async def mark_events_sent(self, outbox_ids: Sequence[str]) -> None:
        if not outbox_ids:
            return
        async with self._write_lock:
            outbox = dict(self._state.outbox)
            for outbox_id in outbox_ids:
                outbox.pop(outbox_id, None)
            self._state = _State(self._state.collections, outbox, self._state.processed)

    async def acquire_lease(self, name: str, *, holder: str, ttl: float) -> Lease | None:
        # No await between the read and the write: atomic on the event loop.
        row = decide(self._leases.get(name), holder=holder, ttl=ttl)
        if row is None:
            return None
        self._leases[name] = row
        return Lease(name, row.holder, row.token, row.expires_at)

    def forget_deleted(self) -> None:
        """Nothing to do: a deleted document is gone from memory at once."""

    async def release_lease(self, name: str, *, holder: str) -> None:
        row = self._leases.get(name)
        if row is not None and row.holder == holder:
            self._leases[name] = LeaseRow(holder, row.token, 0.0)
