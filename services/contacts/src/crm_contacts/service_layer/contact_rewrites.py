"""Rewriting one contact for a definition change (`rewritten`, used by the rewrite jobs).

Each changed contact gets a new version and its own ContactUpdated (before/after), written in the
same transaction as the change that caused it, so the change and its effects commit together.
"""

from __future__ import annotations

from typing import Any

from crm_contacts.domain.contact import (
    TAG_AND_VALUE_FIELDS,
    Changes,
    bump,
    refresh_derived,
    refresh_tags_derived,
)
from crm_shared.events import ContactUpdated, FieldChange
from crm_shared.outbox import CONTACTS_SOURCE, outgoing
from crm_shared.storage import OutgoingEvent


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
    merged = {**doc, **fields}
    if TAG_AND_VALUE_FIELDS.issuperset(fields):
        updated = bump(refresh_tags_derived(merged), now)
    else:
        updated = bump(refresh_derived(merged), now)
    event = ContactUpdated(
        contact_id=doc["id"],
        version=updated["version"],
        changes={f: FieldChange(before=b, after=a) for f, (b, a) in changes.items()},
    )
    return updated, outgoing(
        event, source=CONTACTS_SOURCE, tenant=tenant, key=doc["id"], actor=actor
    )
