"""The storage port every service uses: tenant-scoped JSON documents, typed filters, an outbox.

Documents are plain dicts with at least `id` (a time-ordered id) and `tenant`. Queries are built
only from the typed conditions below, never from user-supplied query documents.

Id order is text order for ids of one kind. A collection mixing canonical UUIDs with other ids
gets, on SQLite, the other ids first and then the UUIDs (it stores UUIDs as bytes:
sqlite_ids.py); MongoDB and the memory store keep plain text order there.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, cast

from crm_shared.envelope import EventEnvelope, WrittenEnvelope
from crm_shared.storage.derived import Derived
from crm_shared.storage.leases import Lease

_FIELD_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")


def check_field(path: str) -> str:
    """Reject a field path that is not plain dotted identifiers (keeps paths out of injection)."""
    if not _FIELD_PATH.match(path):
        raise ValueError(f"invalid field path {path!r}")
    return path


class DuplicateKeyError(Exception):
    """A write broke a unique index."""


class ConcurrentWriteError(Exception):
    """Another transaction changed the same data first; the whole unit of work may be retried."""


MultiValue = Literal["array", "object"]


@dataclass(frozen=True)
class Index:
    """A secondary index on `(tenant, *fields)`, declared in code and created at start-up.

    `multi_value` indexes one field's values one by one instead of the field as a whole:
    "array" each element of an array field (for Contains / ContainsAny); "object" each value
    under an object field, and each element of its array values (for conditions on its
    sub-fields `field.<key>`, whatever the keys are). SQLite keeps these in a side table that
    its writes maintain in the writing transaction; MongoDB uses a multikey index for "array" and a
    wildcard index (`field.$**`) for "object".
    """

    fields: tuple[str, ...]
    unique: bool = False
    multi_value: MultiValue | None = None
    # A substring index on one text field for TextMatch (SQLite: an FTS5 trigram table).
    text: bool = False
    # For a field empty (null or absent) in most documents: SQLite indexes only the documents
    # that hold a value (a partial index), so the index serves equalities and ranges on values
    # but never `Eq(field, None)`, which the adapter reads without an index anyway. MongoDB and
    # the memory store index every document, as before.
    sparse: bool = False
    # For an index that serves sorts and ranges, never a page in id order of one value: SQLite
    # leaves out the trailing id that lets an equality's matches come in id order (a 36-character
    # id is half of each entry; ties of the sort value are then ordered by a small sort). MongoDB
    # and the memory store ignore it.
    sort_only: bool = False
    # For a multi-value index that serves look-ups of a few documents by value (match keys),
    # never pages in id order of a common value: SQLite names the documents in its entries by
    # their integer row key, not their 36-character id (a page in id order of one value is then
    # sorted). MongoDB and the memory store ignore it.
    lookup_only: bool = False

    def __post_init__(self) -> None:
        for path in self.fields:
            check_field(path)
        if self.multi_value is not None and (len(self.fields) != 1 or self.unique):
            raise ValueError("a multi-value index covers exactly one field and is not unique")
        if self.text and (len(self.fields) != 1 or self.unique or self.multi_value):
            raise ValueError("a text index covers exactly one field and is nothing else")
        if self.lookup_only and self.multi_value is None:
            raise ValueError("only a multi-value index is lookup-only")
        if self.sparse and (len(self.fields) != 1 or self.unique or self.multi_value or self.text):
            raise ValueError("a sparse index covers exactly one field and is nothing else")

    @property
    def name(self) -> str:
        """A stable index name derived from its fields."""
        return (
            "ix_"
            + "__".join(f.replace(".", "_") for f in self.fields)
            + ("_u" if self.unique else "")
            + (f"_mv{self.multi_value[0]}" if self.multi_value else "")
            + ("_text" if self.text else "")
        )


EmptyShape = Literal["one", "list", "map"]
_EMPTY_BY_SHAPE: dict[str, Any] = {"one": None, "list": [], "map": {}}


@dataclass(frozen=True)
class Empty:
    """A top-level field every document of a collection has, and its shape's empty value.

    `shape` "one" is empty when null, "list" when [], "map" when {}. An adapter may leave a
    field out of storage while it holds its empty value (SQLite does: most of a contact's
    fields are empty, and their names were a third of its stored bytes); every adapter reads
    a declared field that a document lacks as empty, so what a read returns does not depend on
    the adapter, and a document holding every declared field reads back exactly as written.
    Queries see an absent field as they see an empty one, with one exception: Eq on a list or
    map field compared with an empty one (never used for these fields).
    """

    field: str
    shape: EmptyShape = "one"

    def __post_init__(self) -> None:
        if "." in check_field(self.field) or self.field in ("id", "tenant"):
            raise ValueError(f"{self.field!r}: only a top-level field other than id and tenant")

    @property
    def value(self) -> Any:
        """A fresh empty value (a new list or dict each time: callers may change it)."""
        empty = _EMPTY_BY_SHAPE[self.shape]
        return type(empty)() if empty is not None else None


@dataclass(frozen=True)
class CollectionSpec:
    """A collection, its indexes, and the fields its documents hold even when empty."""

    name: str
    indexes: tuple[Index, ...] = ()
    empties: tuple[Empty, ...] = ()
    # Indexes an earlier version declared and no query needs any more: a store that still has
    # them drops them when it starts (they would otherwise be kept up to date for nothing).
    retired: tuple[Index, ...] = ()
    # Fields the store computes from the others for its indexes, returned only where a
    # projection names them (derived.py).
    derived: tuple[Derived, ...] = ()
    # Top-level fields holding canonical UTC text (`clock.iso`) or null: SQLite stores them as
    # integers (sqlite_stamps.py); every adapter reads and compares them as the text.
    timestamps: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not re.match(r"^[a-z][a-z0-9_]*$", self.name):
            raise ValueError(f"invalid collection name {self.name!r}")
        for d in self.derived:
            for name in (d.field, *d.reads):
                if "." in check_field(name) or name in ("id", "tenant"):
                    raise ValueError(f"{name!r}: only a top-level field other than id and tenant")
            if d.field in d.reads:
                raise ValueError(f"{d.field!r} cannot be derived from itself")
        for name in self.timestamps:
            if "." in check_field(name) or name in ("id", "tenant"):
                raise ValueError(f"{name!r}: only a top-level field other than id and tenant")
        refuse_derived_stamps(self.name, self.derived, self.timestamps)


def refuse_derived_stamps(
    collection: str, derived: Sequence[Derived], timestamps: Sequence[str]
) -> None:
    """Refuse a derived field that reads (or is) a declared timestamp.

    SQLite derives a field in Python from the document as written (text) but in its index SQL
    from the stored JSON, where a timestamp is an integer (sqlite_stamps.py): the two would
    disagree, and the index would answer wrongly."""
    stamps = set(timestamps)
    for d in derived:
        read = sorted(stamps.intersection((d.field, *d.reads)))
        if read:
            raise ValueError(
                f"{collection}: derived field {d.field!r} cannot read the timestamp {read[0]!r}"
            )


def collection_empties(specs: Sequence[CollectionSpec]) -> dict[str, tuple[Empty, ...]]:
    """Per collection, the declared empties of all its specs (the first declaration of a field).

    A derived field has none: a full read leaves it out (derived.py)."""
    derived = {(spec.name, d.field) for spec in specs for d in spec.derived}
    found: dict[str, dict[str, Empty]] = {}
    for spec in specs:
        fields = found.setdefault(spec.name, {})
        for empty in spec.empties:
            if (spec.name, empty.field) not in derived:
                fields.setdefault(empty.field, empty)
    return {name: tuple(fields.values()) for name, fields in found.items() if fields}


def collection_timestamps(specs: Sequence[CollectionSpec]) -> dict[str, tuple[str, ...]]:
    """Per collection, the timestamp fields all its specs declare."""
    found: dict[str, dict[str, None]] = {}
    for spec in specs:
        found.setdefault(spec.name, {}).update(dict.fromkeys(spec.timestamps))
    return {name: tuple(fields) for name, fields in found.items() if fields}


def with_empties(doc: dict[str, Any], empties: Sequence[Empty]) -> dict[str, Any]:
    """The document (changed in place) holding every declared field, absent ones as empty."""
    for empty in empties:
        if empty.field not in doc:
            doc[empty.field] = empty.value
    return doc


@dataclass(frozen=True)
class Eq:
    """`field` equals `value` (None matches a missing or null field)."""

    field: str
    value: Any


@dataclass(frozen=True)
class In:
    """`field` equals one of `values`."""

    field: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Contains:
    """The array `field` contains `value`."""

    field: str
    value: Any


@dataclass(frozen=True)
class ContainsAny:
    """The array `field` contains at least one of `values` (none when `values` is empty).

    `candidates`: the caller checks each document it gets against `values` itself, so a store
    whose index holds the values hashed (a lookup-only index on SQLite: 32 bits, a false
    candidate about once in 2,000 look-ups at a million contacts) may return its index's
    candidates unchecked instead of deriving or reading each one's values to check them. Stores
    that answer exactly anyway ignore it.
    """

    field: str
    values: tuple[Any, ...]
    candidates: bool = False


@dataclass(frozen=True)
class TextMatch:
    """Every word of `text` occurs in the string `field`, in any order, as a literal substring.

    Case-sensitive: callers store and query text folded alike (`crm_shared.text.search_fold`).
    A field with a text index (`Index(..., text=True)`) is searched through it for words of at
    least three characters; shorter words are checked on the documents the index selected.
    """

    field: str
    text: str

    @property
    def words(self) -> tuple[str, ...]:
        """The distinct words, longest (most selective) first."""
        return tuple(sorted(dict.fromkeys(self.text.split()), key=len, reverse=True))


def text_holds(stored: Any, cond: TextMatch) -> bool:
    """Whether a stored value satisfies a TextMatch (the meaning every adapter shares)."""
    return isinstance(stored, str) and all(word in stored for word in cond.words)


@dataclass(frozen=True)
class Range:
    """`field` lies within the given bounds (any bound may be omitted)."""

    field: str
    gte: Any = None
    lte: Any = None
    gt: Any = None
    lt: Any = None


@dataclass(frozen=True)
class Not:
    """The negation of `condition`: a document missing the field matches `Not(Eq(field, x))`."""

    condition: Where


Where = Eq | In | Contains | ContainsAny | TextMatch | Range | Not


@dataclass(frozen=True)
class Cursor:
    """Keyset position: the sort value and id of the last document already returned."""

    value: Any
    id: str


@dataclass(frozen=True)
class OutgoingEvent:
    """An event to publish once the transaction that recorded it has committed."""

    topic: str
    key: str | None
    # A writer of many events of one kind may build their JSON directly (`outgoing_written`).
    envelope: EventEnvelope | WrittenEnvelope


@dataclass(frozen=True)
class Tombstone:
    """A record with a null value for `key`: on a compacted topic, Kafka then forgets the key."""

    topic: str
    key: str


# How the outbox stores a tombstone: no envelope is ever empty, so an empty value is the marker.
TOMBSTONE_VALUE = b""


def outbox_value(event: OutgoingEvent | Tombstone) -> bytes:
    """The bytes an outbox keeps for an event: its envelope, or the tombstone marker."""
    return TOMBSTONE_VALUE if isinstance(event, Tombstone) else event.envelope.to_bytes()


@dataclass(frozen=True)
class PendingEvent:
    """An outbox entry not yet acknowledged by the broker."""

    outbox_id: str
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)


class Session(Protocol):
    """Operations inside one transaction (or one read-only snapshot)."""

    async def get(self, collection: str, *, tenant: str, id: str) -> dict[str, Any] | None: ...

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
        """Up to `limit` matching documents, sorted by `order_by` then id, after `after`.

        With `fields`, each document holds only `id`, `tenant` and those top-level fields (None
        where the document has none): a projection for scans that read a few fields of many.
        """
        ...

    async def count(self, collection: str, *, tenant: str, where: Sequence[Where] = ()) -> int: ...

    async def tenants(self, collection: str) -> list[str]:
        """Every tenant holding a document in the collection, in order (for cross-tenant upkeep).

        Reads every document's tenant or a whole index: for background work, never a request.
        """
        ...

    async def insert(self, collection: str, doc: dict[str, Any]) -> None: ...

    async def insert_many(self, collection: str, docs: Sequence[dict[str, Any]]) -> None: ...

    async def replace(
        self, collection: str, doc: dict[str, Any], *, expected_version: int | None = None
    ) -> bool: ...

    async def replace_many(
        self, collection: str, docs: Sequence[dict[str, Any]], *, expected_versions: Sequence[int]
    ) -> int:
        """`replace` with an expected version for each document, in one statement batch; how
        many were replaced (fewer than `docs` when some went missing or changed meanwhile: the
        caller then rolls back and starts over from a fresh read). For a rewrite of many
        documents, where one statement per document would cost a round trip each.
        """
        ...

    async def delete(self, collection: str, *, tenant: str, id: str) -> bool: ...

    async def delete_where(
        self, collection: str, *, tenant: str, where: Sequence[Where]
    ) -> int: ...

    async def add_events(self, events: Sequence[OutgoingEvent | Tombstone]) -> None: ...

    async def mark_processed(self, consumer: str, event_id: str) -> bool:
        """Record that `consumer` handled `event_id`; False if it already had (a redelivery)."""
        ...


class DocumentStore(Protocol):
    """A service's database: transactions, read snapshots and the outbox relay's queue."""

    outbox_signal: asyncio.Event

    async def start(self, specs: Sequence[CollectionSpec]) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None: ...

    def transaction(self) -> AbstractAsyncContextManager[Session]: ...

    def reader(self) -> AbstractAsyncContextManager[Session]: ...

    async def pending_events(self, limit: int) -> list[PendingEvent]: ...

    async def mark_events_sent(self, outbox_ids: Sequence[str]) -> None: ...

    async def pending_count(self) -> int:
        """How many outbox entries wait to be published (for the backlog metric)."""
        ...

    async def acquire_lease(self, name: str, *, holder: str, ttl: float) -> Lease | None:
        """Take or renew lease `name` for `holder` for `ttl` seconds; None while another holds it.

        Atomic across every process sharing the store (see crm_shared.storage.leases).
        """
        ...

    async def release_lease(self, name: str, *, holder: str) -> None:
        """Let lease `name` go at once if `holder` holds it (its token is kept)."""
        ...

    def forget_deleted(self) -> None:
        """Soon make what was deleted unreadable in the store's own files too (after an erasure).

        Returns at once; the work happens in the background, several calls sharing one pass.
        """
        ...


async def mark_processed_many(
    session: Session, consumer: str, event_ids: Sequence[str]
) -> set[str]:
    """`mark_processed` for a batch: the ids handled for the first time (a repeat counts once).

    The SQLite, MongoDB and memory sessions do it in one or two statements; a session wrapper
    without `mark_processed_many` (kept out of the Session protocol, so wrappers need not grow
    it) is marked one id at a time.
    """
    batched = getattr(session, "mark_processed_many", None)
    if batched is not None:
        return cast(set[str], await batched(consumer, event_ids))
    return {e for e in dict.fromkeys(event_ids) if await session.mark_processed(consumer, e)}


def projection(fields: Sequence[str]) -> tuple[str, ...]:
    """The fields of a projection, each checked to be a plain top-level field name."""
    for name in fields:
        if "." in check_field(name):
            raise ValueError(f"a projection takes top-level field names, not {name!r}")
    return tuple(fields)


def projected(doc: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """A document reduced to its id, tenant and these top-level fields (None when absent)."""
    out = {"id": doc.get("id"), "tenant": doc.get("tenant")}
    for name in projection(fields):
        out[name] = doc.get(name)
    return out


def path_value(doc: Mapping[str, Any], path: str) -> Any:
    """Read a dotted path from a document (a cursor's sort value, a text field's value)."""
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


async def scan(
    store: DocumentStore,
    collection: str,
    *,
    tenant: str,
    where: Sequence[Where] = (),
    order_by: str = "id",
    page_size: int = 1000,
    fields: Sequence[str] | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Stream every matching document page by page, so memory stays flat however many match."""
    after: Cursor | None = None
    while True:
        async with store.reader() as session:
            page = await session.find(
                collection,
                tenant=tenant,
                where=where,
                order_by=order_by,
                limit=page_size,
                after=after,
                fields=fields,
            )
        for doc in page:
            yield doc
        if len(page) < page_size:
            return
        last = page[-1]
        after = Cursor(value=path_value(last, order_by), id=last["id"])
