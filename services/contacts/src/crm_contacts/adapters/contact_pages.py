"""The contacts a rewrite job looks at, and its next batch of them after its cursor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crm_contacts.adapters.repository import CONTACTS
from crm_contacts.domain.text import fold
from crm_shared.storage import Contains, Cursor, Eq, Not, Session, Where

NOT_ERASED: tuple[Where, ...] = (Eq("erased_at", None),)


def carrying(tag: str) -> tuple[Where, ...]:
    """Conditions for non-erased contacts that carry this tag (folded match)."""
    return (Contains("tags_norm", fold(tag)), *NOT_ERASED)


def holding(key: str) -> tuple[Where, ...]:
    """Conditions for non-erased contacts (live or soft-deleted) holding a value of a field."""
    return (Not(Eq(f"custom_fields.{key}", None)), *NOT_ERASED)


async def contacts_after(
    session: Session, tenant: str, *, where: Sequence[Where], after: str | None, limit: int
) -> list[dict[str, Any]]:
    """The next `limit` contacts matching `where` with an id above `after`, in id order: one
    bounded batch of a rewrite job, read inside the transaction that rewrites it."""
    return await session.find(
        CONTACTS,
        tenant=tenant,
        where=where,
        order_by="id",
        limit=limit,
        after=Cursor(value=after, id=after) if after is not None else None,
    )
