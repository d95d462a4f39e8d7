"""The compacted state topic: each contact as it is after a change, or a tombstone once it is gone.

Every transaction of the contacts service that adds a contact lifecycle event (API, import batch,
bulk action, merge, erasure, purge) also adds, in the same transaction and so through the same
outbox, the current state of each contact those events name, read back just before the commit:
the profile of a live or soft-deleted contact, a tombstone (null value) for one erased, purged or
merged away. Hooking the unit of work keeps that true for write paths added later too, without
each handler having to remember it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, cast

from crm_contacts.adapters.repository import CONTACTS
from crm_contacts.domain.contact import profile_snapshot
from crm_shared.events import (
    ContactAnonymized,
    ContactCreated,
    ContactDeleted,
    ContactPurged,
    ContactRestored,
    ContactsMerged,
    ContactState,
    ContactUpdated,
    MergeUndone,
)
from crm_shared.outbox import CONTACTS_SOURCE, outgoing
from crm_shared.storage import (
    In,
    OutgoingEvent,
    Session,
    Tombstone,
)
from crm_shared.storage.delegating import DelegatingStore
from crm_shared.topics import CONTACT_STATE

# The events that change a contact (its profile, its lifecycle), so its state is published.
CHANGES_A_CONTACT = frozenset(
    model.event_type
    for model in (
        ContactCreated,
        ContactUpdated,
        ContactDeleted,
        ContactRestored,
        ContactAnonymized,
        ContactPurged,
        ContactsMerged,
        MergeUndone,
    )
)
_STATE_TYPE = ContactState.event_type
_CHUNK = 500


def contacts_changed(
    events: Sequence[OutgoingEvent | Tombstone],
    changed: dict[tuple[str, str], str] | None = None,
) -> dict[tuple[str, str], str]:
    """(tenant, contact id) -> the actor of the last event changing it, in the events' order,
    added to `changed`.

    A contact whose state record is among the events after its last change is taken out: the
    writer published the state it wrote (an import batch, from the documents it holds), so it
    is not read back.
    """
    changed = {} if changed is None else changed
    for event in events:
        if isinstance(event, Tombstone):
            continue
        kind, data = event.envelope.type, event.envelope.data
        if kind == _STATE_TYPE:
            changed.pop((event.envelope.tenant, str(data["contact_id"])), None)
            continue
        if kind not in CHANGES_A_CONTACT:
            continue
        tenant, actor = event.envelope.tenant, event.envelope.actor or ""
        for contact_id in [data["contact_id"], *data.get("duplicate_ids", ())]:
            changed[(tenant, str(contact_id))] = actor
    return changed


def state_data(doc: dict[str, Any], *, contact_id: str, profile: dict[str, Any]) -> dict[str, Any]:
    """A live or soft-deleted contact's state record payload as JSON (ContactState's fields in
    order), with its `profile_snapshot`: what the import path writes without a model."""
    return {
        "contact_id": contact_id,
        "version": int(doc["version"]),
        "profile": profile,
        "created_at": doc.get("created_at"),
        "updated_at": doc.get("updated_at"),
        "deleted_at": doc.get("deleted_at"),
    }


def current_state(doc: dict[str, Any], *, contact_id: str) -> ContactState | None:
    """A contact's state record payload; None once it is gone for good (a tombstone)."""
    if doc.get("erased_at") or doc.get("merged_into"):
        return None
    profile = profile_snapshot(doc)
    return ContactState.model_validate(state_data(doc, contact_id=contact_id, profile=profile))


def state_of(doc: dict[str, Any] | None, *, contact_id: str, tenant: str, actor: str) -> Any:
    """The state record of a contact: its profile, or a tombstone once it is gone for good."""
    state = None if doc is None else current_state(doc, contact_id=contact_id)
    if state is None:
        return Tombstone(CONTACT_STATE.name, contact_id)
    return outgoing(
        state, source=CONTACTS_SOURCE, tenant=tenant, key=contact_id, actor=actor or None
    )


async def state_records(
    session: Session, changed: dict[tuple[str, str], str]
) -> list[OutgoingEvent | Tombstone]:
    """The state of every changed contact as the transaction leaves it."""
    by_tenant: dict[str, list[str]] = {}
    for tenant, contact_id in changed:
        by_tenant.setdefault(tenant, []).append(contact_id)
    records: list[OutgoingEvent | Tombstone] = []
    for tenant, ids in by_tenant.items():
        docs: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            found = await session.find(
                CONTACTS, tenant=tenant, where=[In("id", tuple(chunk))], limit=len(chunk)
            )
            docs.update((doc["id"], doc) for doc in found)
        records += [
            state_of(docs.get(i), contact_id=i, tenant=tenant, actor=changed[(tenant, i)])
            for i in ids
        ]
    return records


class _StateSession:
    """A session that notes which contacts its events change."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self.changed: dict[tuple[str, str], str] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    async def add_events(self, events: Sequence[OutgoingEvent | Tombstone]) -> None:
        await self._session.add_events(events)
        contacts_changed(events, self.changed)


class ContactStateStore(DelegatingStore):
    """The contacts store: each transaction publishes the state of the contacts it changed."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        """A transaction that adds the changed contacts' states just before it commits."""
        async with self.inner.transaction() as session:
            noting = _StateSession(session)
            yield cast(Session, noting)
            if noting.changed:
                await session.add_events(await state_records(session, noting.changed))
