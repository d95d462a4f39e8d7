"""MongoDB adapter of the storage port (PyMongo's async API), one database per service.

Documents are stored as given plus `_id` (= their `id`). Outbox rows are written in the same
transaction as the documents they announce, so the server must be a replica set or a mongos.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReplaceOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, CollectionInvalid, OperationFailure, PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from crm_shared.clock import now_iso
from crm_shared.ids import new_id
from crm_shared.storage import mongo_leases, mongo_text
from crm_shared.storage.derived import Derived, collection_derived, with_derived
from crm_shared.storage.json_pages import path_tree, projected_json
from crm_shared.storage.leases import Lease
from crm_shared.storage.port import (
    CollectionSpec,
    ConcurrentWriteError,
    Contains,
    ContainsAny,
    Cursor,
    DuplicateKeyError,
    Empty,
    Eq,
    In,
    Index,
    Not,
    OutgoingEvent,
    PendingEvent,
    Range,
    TextMatch,
    Tombstone,
    Where,
    check_field,
    collection_empties,
    outbox_value,
    projected,
    projection,
    with_empties,
)

Doc = dict[str, Any]

_OUTBOX = "_outbox"
_PROCESSED = "_processed"
_COLLECTION_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_DUPLICATE_KEY_CODES = frozenset({11000, 11001, 12582})
_NAMESPACE_EXISTS = 48
_NO_ID = {"_id": False}
_STANDALONE = (
    "MongoDB adapter needs a replica set for the transactional outbox; start mongod with --replSet "
    "(a single-node replica set is enough) or connect to a mongos"
)


def _field(path: str) -> str:
    return "_id" if path == "id" else check_field(path)


def _condition(cond: Where, text: frozenset[str] = frozenset()) -> Doc:
    """The query for one condition; `text` names the fields with a text (trigram) index."""
    # `$eq` rather than a bare value, so a dict value is compared, never read as an operator.
    match cond:
        case Eq(field=path, value=value):
            return {_field(path): {"$eq": value}}
        case In(field=path, values=values):
            return {_field(path): {"$in": list(values)}}
        case Contains(field=path, value=value):
            return {_field(path): {"$eq": value}}
        case ContainsAny(field=path, values=values):
            return {_field(path): {"$in": list(values)}}
        case Not(condition=inner):
            # $nor, not $not: it also matches documents that lack the field, as SQL's NOT does
            # here, and it takes any condition (an empty one matches all, so its negation none).
            return {"$nor": [_condition(inner, text)]}
        case TextMatch(field=path):
            return mongo_text.condition(_field(path), cond, indexed=path in text)
        case Range(field=path, gte=gte, lte=lte, gt=gt, lt=lt):
            ops = (("$gte", gte), ("$lte", lte), ("$gt", gt), ("$lt", lt))
            bounds = {op: bound for op, bound in ops if bound is not None}
            return {_field(path): bounds} if bounds else {}
    raise TypeError(f"unsupported condition {cond!r}")


def _filter(
    tenant: str, where: Sequence[Where], *extra: Doc, text: frozenset[str] = frozenset()
) -> Doc:
    clauses = [c for c in (_condition(cond, text) for cond in where) if c]
    clauses.extend(extra)
    query: Doc = {"tenant": tenant}
    if clauses:
        query["$and"] = clauses
    return query


def _after(order_by: str, descending: bool, after: Cursor) -> Doc:
    op = "$lt" if descending else "$gt"
    if order_by == "id":
        return {"_id": {op: after.id}}
    key = check_field(order_by)
    if after.value is None:
        # Null and missing values sort first ascending and last descending.
        if descending:
            return {key: {"$eq": None}, "_id": {"$lt": after.id}}
        return {"$or": [{key: {"$ne": None}}, {key: {"$eq": None}, "_id": {"$gt": after.id}}]}
    branches: list[Doc] = [
        {key: {op: after.value}},
        {key: {"$eq": after.value}, "_id": {op: after.id}},
    ]
    if descending:
        branches.append({key: {"$eq": None}})
    return {"$or": branches}


def _stored(doc: Doc, text: Sequence[str] = (), derived: Sequence[Derived] = ()) -> Doc:
    # Derived fields as their functions give them, whatever the writer put (derived.py).
    written = with_derived(doc, derived) if derived else doc
    stored = {**written, "_id": doc["id"], "tenant": doc["tenant"]}
    return mongo_text.with_tokens(stored, text) if text else stored


@contextmanager
def _duplicates_as_port_error() -> Iterator[None]:
    try:
        yield
    except OperationFailure as exc:
        errors = (
            (exc.details or {}).get("writeErrors", []) if isinstance(exc, BulkWriteError) else []
        )
        codes = {exc.code, *(error.get("code") for error in errors)}
        if codes & _DUPLICATE_KEY_CODES:
            raise DuplicateKeyError(str(exc)) from exc
        raise


class MongoSession:
    """Storage operations on one client session: a transaction, or a read-only session."""

    def __init__(
        self,
        db: AsyncDatabase[Doc],
        session: AsyncClientSession,
        *,
        writable: bool,
        empties: dict[str, tuple[Empty, ...]] | None = None,
        text: dict[str, tuple[str, ...]] | None = None,
        derived: dict[str, tuple[Derived, ...]] | None = None,
    ) -> None:
        self._db = db
        self._s = session
        self._writable = writable
        self._empties = empties or {}
        self._text = text or {}
        self._derived = derived or {}
        self.added_events = False

    def _text_of(self, collection: str) -> frozenset[str]:
        return frozenset(self._text.get(collection, ()))

    def _hidden(self, collection: str) -> dict[str, bool]:
        """What a full read leaves out: `_id`, text tokens, derived fields (derived.py)."""
        fields = self._text.get(collection)
        hidden = mongo_text.hidden(fields) if fields else _NO_ID
        derived = self._derived.get(collection)
        return hidden | {d.field: False for d in derived} if derived else hidden

    def _require_write(self) -> None:
        if not self._writable:
            raise RuntimeError("write attempted in a read-only session")

    def _coll(self, name: str) -> AsyncCollection[Doc]:
        if not _COLLECTION_NAME.match(name):
            raise ValueError(f"invalid collection name {name!r}")
        return self._db[name]

    async def get(self, collection: str, *, tenant: str, id: str) -> Doc | None:
        """Return the tenant's document with this id, or None."""
        doc = await self._coll(collection).find_one(
            {"_id": id, "tenant": tenant}, projection=self._hidden(collection), session=self._s
        )
        return None if doc is None else with_empties(doc, self._empties.get(collection, ()))

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
    ) -> list[Doc]:
        """Return up to `limit` matching documents sorted by `order_by` then id, after `after`."""
        if limit <= 0:
            return []
        extra = [_after(order_by, descending, after)] if after is not None else []
        direction = DESCENDING if descending else ASCENDING
        sort = [("_id", direction)]
        if order_by != "id":
            sort.insert(0, (check_field(order_by), direction))
        query = _filter(tenant, where, *extra, text=self._text_of(collection))
        chosen: dict[str, bool] = self._hidden(collection)
        if fields is not None:
            names = projection(fields)
            chosen = {"_id": False, "id": True, "tenant": True} | dict.fromkeys(names, True)
        cursor = self._coll(collection).find(query, chosen, sort=sort, limit=limit, session=self._s)
        docs: list[Doc] = await cursor.to_list()
        # Declared fields a document lacks read as empty, as in every adapter (port.Empty).
        empties = self._empties.get(collection, ())
        if fields is not None:
            return [projected(with_empties(doc, empties), fields) for doc in docs]
        return [with_empties(doc, empties) for doc in docs] if empties else docs

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
        """`json_pages.find_json`: the server sends only the paths; serialized here."""
        tree = path_tree(paths)
        if limit <= 0:
            return []
        extra = [_after("id", False, Cursor(value=after, id=after))] if after is not None else []
        query = _filter(tenant, where, *extra, text=self._text_of(collection))
        chosen = {"_id": False, "id": True} | dict.fromkeys(paths, True)
        cursor = self._coll(collection).find(
            query, chosen, sort=[("_id", ASCENDING)], limit=limit, session=self._s
        )
        empties = self._empties.get(collection, ())
        return [
            (doc["id"], projected_json(with_empties(doc, empties), tree))
            for doc in await cursor.to_list()
        ]

    async def count(self, collection: str, *, tenant: str, where: Sequence[Where] = ()) -> int:
        """Count the tenant's documents matching `where`."""
        query = _filter(tenant, where, text=self._text_of(collection))
        return await self._coll(collection).count_documents(query, session=self._s)

    async def tenants(self, collection: str) -> list[str]:
        """Every tenant with a document in the collection (off the `by_id` index)."""
        found = await self._coll(collection).distinct("tenant", session=self._s)
        return sorted(str(t) for t in found)

    async def insert(self, collection: str, doc: Doc) -> None:
        """Insert one document; DuplicateKeyError if it breaks a unique index."""
        await self.insert_many(collection, [doc])

    async def insert_many(self, collection: str, docs: Sequence[Doc]) -> None:
        """Insert documents; DuplicateKeyError if one breaks a unique index."""
        self._require_write()
        if not docs:
            return
        with _duplicates_as_port_error():
            text, derived = self._text.get(collection, ()), self._derived.get(collection, ())
            await self._coll(collection).insert_many(
                [_stored(doc, text, derived) for doc in docs], session=self._s
            )

    async def replace(
        self, collection: str, doc: Doc, *, expected_version: int | None = None
    ) -> bool:
        """Replace a document whole; False if it is missing or its version is not the expected."""
        self._require_write()
        query: Doc = {"_id": doc["id"], "tenant": doc["tenant"]}
        if expected_version is not None:
            query["version"] = {"$eq": expected_version}
        with _duplicates_as_port_error():
            stored = _stored(doc, self._text.get(collection, ()), self._derived.get(collection, ()))
            result = await self._coll(collection).replace_one(query, stored, session=self._s)
        return result.matched_count == 1

    async def replace_many(
        self, collection: str, docs: Sequence[Doc], *, expected_versions: Sequence[int]
    ) -> int:
        """Replace documents whole in one `bulk_write`, each only at its expected version; how
        many matched."""
        self._require_write()
        if not docs:
            return 0
        text, derived = self._text.get(collection, ()), self._derived.get(collection, ())
        ops = [
            ReplaceOne(
                {"_id": doc["id"], "tenant": doc["tenant"], "version": {"$eq": version}},
                _stored(doc, text, derived),
            )
            for doc, version in zip(docs, expected_versions, strict=True)
        ]
        with _duplicates_as_port_error():
            result = await self._coll(collection).bulk_write(ops, session=self._s)
        return int(result.matched_count)

    async def delete(self, collection: str, *, tenant: str, id: str) -> bool:
        """Delete one document; False if the tenant had none with this id."""
        self._require_write()
        result = await self._coll(collection).delete_one(
            {"_id": id, "tenant": tenant}, session=self._s
        )
        return result.deleted_count == 1

    async def delete_where(self, collection: str, *, tenant: str, where: Sequence[Where]) -> int:
        """Delete the tenant's documents matching `where`; return how many went."""
        self._require_write()
        query = _filter(tenant, where, text=self._text_of(collection))
        result = await self._coll(collection).delete_many(query, session=self._s)
        return result.deleted_count

    async def add_events(self, events: Sequence[OutgoingEvent | Tombstone]) -> None:
        """Queue events in the outbox, to publish once this transaction commits."""
        self._require_write()
        if not events:
            return
        rows = [
            {
                "_id": new_id(),
                "topic": event.topic,
                "key": event.key,
                "value": outbox_value(event),
                "created_at": now_iso(),
            }
            for event in events
        ]
        await self._db[_OUTBOX].insert_many(rows, session=self._s)
        self.added_events = True

    async def mark_processed(self, consumer: str, event_id: str) -> bool:
        """Record that `consumer` handled `event_id`; False if it already had (a redelivery)."""
        self._require_write()
        # An upsert, not insert-and-catch: a duplicate-key error would abort the whole transaction.
        result = await self._db[_PROCESSED].update_one(
            {"_id": f"{consumer}:{event_id}"},
            {"$setOnInsert": {"consumer": consumer, "event_id": event_id, "at": now_iso()}},
            upsert=True,
            session=self._s,
        )
        return result.upserted_id is not None

    async def mark_processed_many(self, consumer: str, event_ids: Sequence[str]) -> set[str]:
        """`mark_processed` for a batch: one find, one insert of the ids not seen before."""
        self._require_write()
        wanted = list(dict.fromkeys(event_ids))
        keys = [f"{consumer}:{event_id}" for event_id in wanted]
        cursor = self._db[_PROCESSED].find({"_id": {"$in": keys}}, {"event_id": 1}, session=self._s)
        seen = {doc["event_id"] for doc in await cursor.to_list()}
        fresh = [event_id for event_id in wanted if event_id not in seen]
        if fresh:
            at = now_iso()
            await self._db[_PROCESSED].insert_many(
                [
                    {"_id": f"{consumer}:{e}", "consumer": consumer, "event_id": e, "at": at}
                    for e in fresh
                ],
                session=self._s,
            )
        return set(fresh)


class MongoStore:
    """The storage port over one MongoDB database."""

    def __init__(self, uri: str, database: str, *, client: Any | None = None) -> None:
        """`client`, if given, is used instead of connecting to `uri` (a test double's seam)."""
        self._uri = uri
        self._database = database
        self._injected = client
        self._client: AsyncMongoClient[Doc] | None = None
        self._db: AsyncDatabase[Doc] | None = None
        self._empties: dict[str, tuple[Empty, ...]] = {}
        self._derived: dict[str, tuple[Derived, ...]] = {}
        self._text: dict[str, tuple[str, ...]] = {}
        self.outbox_signal = asyncio.Event()

    def _started(self) -> tuple[AsyncMongoClient[Doc], AsyncDatabase[Doc]]:
        if self._client is None or self._db is None:
            raise RuntimeError("store not started")
        return self._client, self._db

    async def start(self, specs: Sequence[CollectionSpec]) -> None:
        """Connect, check for a replica set, and create the collections and indexes."""
        client: AsyncMongoClient[Doc] = (
            AsyncMongoClient(self._uri) if self._injected is None else self._injected
        )
        try:
            hello = await client.admin.command("hello")
            if not hello.get("setName") and hello.get("msg") != "isdbgrid":
                raise RuntimeError(_STANDALONE)
            db = client[self._database]
            # Collections are created up front: not every server creates them inside a transaction.
            existing = set(await db.list_collection_names())
            for name in (_OUTBOX, _PROCESSED, mongo_leases.LEASES, *(spec.name for spec in specs)):
                if name not in existing:
                    await _create_collection(db, name)
            for spec in specs:
                coll = db[spec.name]
                # Names never clash with Index.name, which always starts with "ix_".
                await coll.create_index([("tenant", ASCENDING), ("_id", ASCENDING)], name="by_id")
                for index in spec.indexes:
                    if index.text:
                        await _create_text_index(coll, index)
                        continue
                    if index.multi_value == "object":
                        await coll.create_index(_wildcard_keys(index), name=index.name)
                        continue
                    # An index on an array field is multikey in MongoDB: "array" needs nothing else.
                    keys = [("tenant", ASCENDING), *((f, ASCENDING) for f in index.fields)]
                    options: Doc = {"name": index.name, "unique": index.unique}
                    if index.unique:
                        # As in SQL, where NULLs never collide: documents lacking a field are
                        # left out of the unique index instead of clashing as nulls.
                        options["partialFilterExpression"] = {
                            f: {"$exists": True} for f in index.fields
                        }
                    else:
                        # _id is every sort's tiebreak: with it, keyset pages come off the index.
                        keys.append(("_id", ASCENDING))
                    await coll.create_index(keys, **options)
                await _drop_retired(coll, spec, specs)
        except BaseException:
            await client.close()
            raise
        self._client, self._db = client, db
        self._empties = collection_empties(specs)
        self._derived = collection_derived(specs)
        self._text = mongo_text.text_fields(specs)

    async def close(self) -> None:
        """Close the client's connections."""
        if self._client is not None:
            await self._client.close()
        self._client = self._db = None

    async def ping(self) -> None:
        """Raise if the server does not answer."""
        client, _ = self._started()
        await client.admin.command("ping")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[MongoSession]:
        """Run the block in one snapshot transaction; it commits on exit, aborts on an error."""
        client, db = self._started()
        try:
            async with (
                client.start_session() as session,
                await session.start_transaction(
                    read_concern=ReadConcern("snapshot"), write_concern=WriteConcern("majority")
                ),
            ):
                store_session = MongoSession(
                    db,
                    session,
                    writable=True,
                    empties=self._empties,
                    text=self._text,
                    derived=self._derived,
                )
                yield store_session
        except PyMongoError as exc:
            # A write conflict aborts the whole transaction; callers retry the unit of work.
            if exc.has_error_label("TransientTransactionError"):
                raise ConcurrentWriteError(str(exc)) from exc
            raise
        if store_session.added_events:
            self.outbox_signal.set()

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[MongoSession]:
        """A causally consistent read-only session; writes raise RuntimeError."""
        client, db = self._started()
        async with client.start_session(causal_consistency=True) as session:
            yield MongoSession(
                db,
                session,
                writable=False,
                empties=self._empties,
                text=self._text,
                derived=self._derived,
            )

    async def pending_events(self, limit: int) -> list[PendingEvent]:
        """Return up to `limit` unsent outbox entries, oldest first."""
        _, db = self._started()
        if limit <= 0:
            return []
        # Majority reads: never publish an event that a failover could still roll back.
        outbox = db.get_collection(_OUTBOX, read_concern=ReadConcern("majority"))
        rows = await outbox.find({}, sort=[("_id", ASCENDING)], limit=limit).to_list()
        return [
            PendingEvent(
                outbox_id=row["_id"],
                topic=row["topic"],
                key=row["key"].encode() if row["key"] is not None else None,
                value=bytes(row["value"]),
            )
            for row in rows
        ]

    async def pending_count(self) -> int:
        """How many outbox entries wait to be published."""
        _, db = self._started()
        return int(await db.get_collection(_OUTBOX).count_documents({}))

    async def mark_events_sent(self, outbox_ids: Sequence[str]) -> None:
        """Delete outbox entries the broker has acknowledged."""
        if not outbox_ids:
            return
        _, db = self._started()
        await db[_OUTBOX].delete_many({"_id": {"$in": list(outbox_ids)}})

    async def acquire_lease(self, name: str, *, holder: str, ttl: float) -> Lease | None:
        """Take or renew lease `name` for `holder` (crm_shared.storage.mongo_leases)."""
        return await mongo_leases.acquire(self._started()[1], name, holder=holder, ttl=ttl)

    async def release_lease(self, name: str, *, holder: str) -> None:
        """Let lease `name` go if `holder` holds it."""
        await mongo_leases.release(self._started()[1], name, holder=holder)

    def forget_deleted(self) -> None:
        """Nothing the driver can do: WiredTiger reuses a deleted document's blocks itself; its
        journal and the deployment's backups are the operator's to age out."""


async def _drop_retired(
    coll: AsyncCollection[Doc], spec: CollectionSpec, specs: Sequence[CollectionSpec]
) -> None:
    """Drop the spec's retired indexes that no spec of the collection declares any more."""
    declared = {i.name for s in specs if s.name == spec.name for i in s.indexes}
    for index in spec.retired:
        if index.name not in declared:
            with contextlib.suppress(OperationFailure):  # not there (any more): nothing to do
                await coll.drop_index(index.name)


async def _create_text_index(coll: AsyncCollection[Doc], index: Index) -> None:
    """The trigram index serving TextMatch (mongo_text), filled for documents stored before it.

    Earlier versions indexed the text field itself under the index's own name (no help to a
    substring query): that index is dropped and the trigram index takes a name of its own.
    """
    field = index.fields[0]
    with contextlib.suppress(OperationFailure):  # not there (any more): nothing to do
        await coll.drop_index(index.name)
    await mongo_text.backfill(coll, field)
    await coll.create_index(mongo_text.index_keys(field), name=f"{index.name}_trigrams")


def _wildcard_keys(index: Index) -> list[tuple[str, int]]:
    # A compound wildcard index (MongoDB 7.0+): every sub-field of the object, after the tenant.
    return [("tenant", ASCENDING), (f"{index.fields[0]}.$**", ASCENDING)]


async def _create_collection(db: AsyncDatabase[Doc], name: str) -> None:
    try:
        await db.create_collection(name)
    except CollectionInvalid:
        pass  # created meanwhile by another instance of the service
    except OperationFailure as exc:
        if exc.code != _NAMESPACE_EXISTS:
            raise
