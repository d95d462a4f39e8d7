"""Builders of the envelopes and documents the timeline tests feed in and look for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from fastapi import FastAPI

from crm_shared.envelope import EventData, EventEnvelope
from crm_shared.events import (
    ContactCreated,
    ContactUpdated,
    ErasureRequested,
    FieldChange,
)
from crm_shared.events.contacts import ContactProfile
from crm_shared.ids import new_id
from crm_shared.storage import DocumentStore, scan
from crm_timeline.adapters.repository import CONTACTS, ITEMS

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    """A moment `minutes` after T0."""
    return T0 + timedelta(minutes=minutes)


def envelope(
    data: EventData,
    *,
    tenant: str = "acme",
    source: str = "crm/contacts",
    time: datetime | None = None,
    subject: str | None = None,
) -> EventEnvelope:
    """An envelope around an event, optionally at a fixed time."""
    wrapped = EventEnvelope.wrap(
        data, source=source, tenant=tenant, subject=subject, actor="key_test"
    )
    return wrapped if time is None else wrapped.model_copy(update={"time": time})


def created(
    contact_id: str,
    *,
    version: int = 1,
    tenant: str = "acme",
    time: datetime | None = None,
    email: str | None = "ada@example.com",
) -> EventEnvelope:
    """A ContactCreated envelope for a manually created contact."""
    profile = ContactProfile(name="Ada Lovelace", email=email, phone=None, company="Analytical")
    data = ContactCreated(contact_id=contact_id, version=version, source="manual", profile=profile)
    return envelope(data, tenant=tenant, time=time or at(0), subject=contact_id)


def updated(
    contact_id: str,
    changes: dict[str, tuple[Any, Any]],
    *,
    version: int,
    time: datetime | None = None,
) -> EventEnvelope:
    """A ContactUpdated envelope with (before, after) per changed field."""
    data = ContactUpdated(
        contact_id=contact_id,
        version=version,
        changes={k: FieldChange(before=b, after=a) for k, (b, a) in changes.items()},
    )
    return envelope(data, time=time or at(version), subject=contact_id)


def erasure_requested(contact_id: str, *, erasure_id: str | None = None) -> EventEnvelope:
    """An ErasureRequested envelope from the gdpr service."""
    data = ErasureRequested(erasure_id=erasure_id or new_id(), contact_id=contact_id)
    return envelope(data, source="crm/gdpr", time=at(500), subject=contact_id)


async def seed_contact(app: FastAPI, contact_id: str | None = None, **kwargs: Any) -> str:
    """Make the timeline know a contact, as its ContactCreated event would."""
    contact_id = contact_id or new_id()
    await app.state.bus.handle(created(contact_id, **kwargs))
    return contact_id


async def all_documents(store: DocumentStore, tenant: str) -> list[dict[str, Any]]:
    """Every item and projection document the tenant has in the timeline store."""
    docs: list[dict[str, Any]] = []
    for collection in (ITEMS, CONTACTS):
        docs += [doc async for doc in scan(store, collection, tenant=tenant)]
    return docs


def dump(docs: list[dict[str, Any]]) -> str:
    """All documents as one JSON text, to look for a value anywhere in them."""
    return orjson.dumps(docs).decode()


async def pending(store: DocumentStore, topic: str) -> list[tuple[bytes | None, EventEnvelope]]:
    """The (key, envelope) pairs waiting in the outbox for a topic."""
    events = await store.pending_events(1000)
    return [(e.key, EventEnvelope.from_bytes(e.value)) for e in events if e.topic == topic]
