"""Paging through a tenant's contacts inside one transaction, for changes that touch many."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from crm_contacts.adapters.repository import CONTACTS
from crm_contacts.domain.text import fold
from crm_shared.storage import Contains, Cursor, Eq, Not, Session, Where

PAGE_SIZE = 500
NOT_ERASED: tuple[Where, ...] = (Eq("erased_at", None),)


def carrying(tag: str) -> tuple[Where, ...]:
    """Conditions for non-erased contacts that carry this tag (folded match)."""
    return (Contains("tags_norm", fold(tag)), *NOT_ERASED)


def holding(key: str) -> tuple[Where, ...]:
    """Conditions for non-erased contacts (live or soft-deleted) holding a value of a field."""
    return (Not(Eq(f"custom_fields.{key}", None)), *NOT_ERASED)


async def contact_pages(
    session: Session, tenant: str, *, where: Sequence[Where], page_size: int = PAGE_SIZE
) -> AsyncIterator[list[dict[str, Any]]]:
    """Pages (in id order) of the tenant's contacts matching `where`, read in `session`.

    Keyset paging by id keeps working while the caller rewrites the contacts of earlier pages.
    """
    after: Cursor | None = None
    while True:
        page = await session.find(
            CONTACTS, tenant=tenant, where=where, order_by="id", limit=page_size, after=after
        )
        if page:
            yield page
        if len(page) < page_size:
            return
        after = Cursor(value=page[-1]["id"], id=page[-1]["id"])


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
