"""The storage port (a tenant-scoped document store with an outbox) and its adapters."""

from crm_shared.storage.port import (
    CollectionSpec,
    Contains,
    Cursor,
    DocumentStore,
    DuplicateKeyError,
    Eq,
    In,
    Index,
    OutgoingEvent,
    PendingEvent,
    Range,
    Session,
    TextMatch,
    Where,
    scan,
)

__all__ = [
    "CollectionSpec",
    "Contains",
    "Cursor",
    "DocumentStore",
    "DuplicateKeyError",
    "Eq",
    "In",
    "Index",
    "OutgoingEvent",
    "PendingEvent",
    "Range",
    "Session",
    "TextMatch",
    "Where",
    "scan",
]
