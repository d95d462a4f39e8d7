"""An in-process double of the slice of PyMongo's async API that MongoStore uses, over mongomock.

It exists so CI runs the MongoDB adapter's own code without a server; it is no store to run.
Sessions and transactions are accepted but NOT atomic: every write lands at once and an abort
undoes nothing, so behaviour that needs a real transaction is only checked against MongoDB.
mongomock raises PyMongo's own exception classes (DuplicateKeyError, BulkWriteError,
CollectionInvalid, ...), so errors pass through unchanged. Signatures name only the arguments
MongoStore passes, so a new one fails here loudly instead of being ignored.
"""

from __future__ import annotations

from types import SimpleNamespace, TracebackType
from typing import Any

import mongomock
from pymongo.errors import OperationFailure
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

Doc = dict[str, Any]

# What a replica-set member answers, minus what MongoStore never reads.
_HELLO: Doc = {"ok": 1.0, "isWritablePrimary": True, "setName": "rs-double", "maxWireVersion": 21}


class _NoOpContext:
    """An async context manager that does nothing on entry or exit."""

    async def __aenter__(self) -> _NoOpContext:
        """Enter: nothing to set up."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Exit: nothing committed, nothing rolled back."""


class DoubleSession(_NoOpContext):
    """A client session, checked to belong to its client; its transactions are not atomic."""

    def __init__(self, client: MongoDouble) -> None:
        self.client = client

    async def start_transaction(
        self, read_concern: ReadConcern | None = None, write_concern: WriteConcern | None = None
    ) -> _NoOpContext:
        """Accept the transaction options and return a context that commits nothing."""
        return _NoOpContext()


class DoubleCursor:
    """The result of `find`, read whole with `to_list`."""

    def __init__(self, docs: list[Doc]) -> None:
        self._docs = docs

    async def to_list(self, length: int | None = None) -> list[Doc]:
        """Return the documents, at most `length` of them."""
        return self._docs if length is None else self._docs[:length]


class DoubleCollection:
    """A collection whose methods are coroutines over a mongomock collection."""

    def __init__(self, client: MongoDouble, sync: Any) -> None:
        self._client = client
        self._sync = sync

    def _check(self, session: DoubleSession | None) -> None:
        """Refuse a session that some other client started, as PyMongo does."""
        if session is not None and session.client is not self._client:
            raise ValueError("the session was started by another client")

    def find(
        self,
        filter: Doc,
        projection: Doc | None = None,
        *,
        sort: list[tuple[str, int]] | None = None,
        limit: int = 0,
        session: DoubleSession | None = None,
    ) -> DoubleCursor:
        """Run the query at once; the cursor only hands the documents over."""
        self._check(session)
        return DoubleCursor(list(self._sync.find(filter, projection, sort=sort, limit=limit)))

    async def find_one(
        self, filter: Doc, *, projection: Doc | None = None, session: DoubleSession | None = None
    ) -> Doc | None:
        """Return the first matching document, or None."""
        self._check(session)
        found: Doc | None = self._sync.find_one(filter, projection=projection)
        return found

    async def distinct(self, key: str, *, session: DoubleSession | None = None) -> list[Any]:
        self._check(session)
        found: list[Any] = self._sync.distinct(key)
        return found

    async def count_documents(self, filter: Doc, *, session: DoubleSession | None = None) -> int:
        """Count the matching documents."""
        self._check(session)
        return int(self._sync.count_documents(filter))

    async def insert_many(self, docs: list[Doc], *, session: DoubleSession | None = None) -> Any:
        """Insert documents in order; BulkWriteError on a duplicate key."""
        self._check(session)
        return self._sync.insert_many(docs)

    async def replace_one(
        self, filter: Doc, replacement: Doc, *, session: DoubleSession | None = None
    ) -> Any:
        """Replace the first matching document."""
        self._check(session)
        return self._sync.replace_one(filter, replacement)

    async def bulk_write(self, requests: list[Any], *, session: DoubleSession | None = None) -> Any:
        """Run ReplaceOne requests in order, as one result counting the documents matched."""
        self._check(session)
        matched = sum(self._sync.replace_one(r._filter, r._doc).matched_count for r in requests)
        return SimpleNamespace(matched_count=matched)

    async def update_one(
        self,
        filter: Doc,
        update: Doc,
        *,
        upsert: bool = False,
        session: DoubleSession | None = None,
    ) -> Any:
        """Update the first matching document, or insert one if `upsert`."""
        self._check(session)
        return self._sync.update_one(filter, update, upsert=upsert)

    async def delete_one(self, filter: Doc, *, session: DoubleSession | None = None) -> Any:
        """Delete the first matching document."""
        self._check(session)
        return self._sync.delete_one(filter)

    async def delete_many(self, filter: Doc, *, session: DoubleSession | None = None) -> Any:
        """Delete every matching document."""
        self._check(session)
        return self._sync.delete_many(filter)

    async def create_index(
        self,
        keys: list[tuple[str, int]],
        *,
        name: str,
        unique: bool = False,
        partialFilterExpression: Doc | None = None,
    ) -> str:
        """Create an index; mongomock enforces `unique` and honours the partial filter."""
        options: Doc = {"name": name, "unique": unique}
        if partialFilterExpression is not None:
            options["partialFilterExpression"] = partialFilterExpression
        created: str = self._sync.create_index(keys, **options)
        return created

    async def drop_index(self, name: str) -> None:
        """Drop an index by name (OperationFailure when there is none, as the server answers)."""
        try:
            self._sync.drop_index(name)
        except mongomock.OperationFailure as exc:
            raise OperationFailure(str(exc)) from exc


class DoubleDatabase:
    """A database handing out DoubleCollections."""

    def __init__(self, client: MongoDouble, sync: Any) -> None:
        self._client = client
        self._sync = sync

    def __getitem__(self, name: str) -> DoubleCollection:
        """The named collection."""
        return DoubleCollection(self._client, self._sync[name])

    def get_collection(
        self, name: str, *, read_concern: ReadConcern | None = None
    ) -> DoubleCollection:
        """The named collection; a read concern means nothing in one process."""
        return self[name]

    async def list_collection_names(self) -> list[str]:
        """Names of the existing collections."""
        names: list[str] = self._sync.list_collection_names()
        return names

    async def create_collection(self, name: str) -> DoubleCollection:
        """Create a collection; CollectionInvalid if it exists."""
        return DoubleCollection(self._client, self._sync.create_collection(name))

    async def command(self, name: str) -> Doc:
        """Answer `hello` as a replica-set primary; pass other commands to mongomock."""
        if name == "hello":
            return dict(_HELLO)
        reply: Doc = self._sync.command(name)
        return reply


class MongoDouble:
    """Stands in for `AsyncMongoClient` in tests: in-memory, one instance per store."""

    def __init__(self) -> None:
        self._sync: Any = mongomock.MongoClient()

    def __getitem__(self, name: str) -> DoubleDatabase:
        """The named database."""
        return DoubleDatabase(self, self._sync[name])

    @property
    def admin(self) -> DoubleDatabase:
        """The admin database, for commands."""
        return self["admin"]

    def start_session(self, causal_consistency: bool | None = None) -> DoubleSession:
        """A session to use as `async with`; causal consistency is trivially true here."""
        return DoubleSession(self)

    async def close(self) -> None:
        """Nothing to release: the data lives as long as this object."""
