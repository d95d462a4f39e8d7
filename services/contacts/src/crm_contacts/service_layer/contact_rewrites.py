"""Rewriting contacts: one contact at a time (`rewritten`, used by the rewrite jobs), or many
inside one transaction (`rewrite_contacts`, for a new definition typing untyped values).

Each changed contact gets a new version and its own ContactUpdated (before/after), written in the
same transaction as the change that caused it, so the change and its effects commit together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from crm_contacts.adapters.contact_pages import contact_pages
from crm_contacts.adapters.repository import ContactRepository
from crm_contacts.domain.contact import Changes, bump, refresh_derived
from crm_shared.clock import now_iso
from crm_shared.events import ContactUpdated, FieldChange
from crm_shared.outbox import CONTACTS_SOURCE, outgoing
from crm_shared.problems import Conflict
from crm_shared.storage import OutgoingEvent, Session, Where


class Blocked(Exception):
    """This contact's data stops the change (counted; nothing is written once one blocks)."""


# Returns the fields to set on the contact (only the changed ones), or None for no change.
Transform = Callable[[dict[str, Any]], dict[str, Any] | None]


@dataclass
class RewriteResult:
    """How many contacts changed, and how many blocked the change."""

    changed: int = 0
    blocked: int = 0


def _changes(doc: dict[str, Any], fields: dict[str, Any]) -> Changes:
    return {
        name: (doc.get(name), value) for name, value in fields.items() if doc.get(name) != value
    }


def rewritten(
    doc: dict[str, Any], fields: dict[str, Any], *, now: str, tenant: str, actor: str | None
) -> tuple[dict[str, Any], OutgoingEvent] | None:
    """`doc` with `fields` set (new version) and its ContactUpdated, or None if nothing changes."""
    changes = _changes(doc, fields)
    if not changes:
        return None
    updated = bump(refresh_derived({**doc, **fields}), now)
    event = ContactUpdated(
        contact_id=doc["id"],
        version=updated["version"],
        changes={f: FieldChange(before=b, after=a) for f, (b, a) in changes.items()},
    )
    return updated, outgoing(
        event, source=CONTACTS_SOURCE, tenant=tenant, key=doc["id"], actor=actor
    )


async def rewrite_contacts(
    session: Session,
    tenant: str,
    *,
    where: Sequence[Where],
    transform: Transform,
    actor: str | None,
) -> RewriteResult:
    """Apply `transform` to every contact matching `where`, page by page, in this transaction.

    Once a contact blocks, the rest are only counted: the caller raises and the transaction
    rolls back, so nothing is half-applied.
    """
    result = RewriteResult()
    contacts = ContactRepository(session, tenant)
    now = now_iso()
    async for page in contact_pages(session, tenant, where=where):
        events: list[OutgoingEvent] = []
        for doc in page:
            try:
                fields = transform(doc) or {}
            except Blocked:
                result.blocked += 1
                continue
            change = (
                None
                if result.blocked
                else rewritten(doc, fields, now=now, tenant=tenant, actor=actor)
            )
            if change is None:
                continue
            updated, event = change
            if not await contacts.save(updated, expected_version=int(doc["version"])):
                raise Conflict(f"contact {doc['id']} changed meanwhile; retry")
            events.append(event)
            result.changed += 1
        if events:
            await session.add_events(events)
    return result
