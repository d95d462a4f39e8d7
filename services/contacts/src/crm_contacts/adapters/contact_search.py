"""The contacts query behind listing and search: typed conditions, one keyset page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crm_contacts.adapters.repository import CONTACTS
from crm_contacts.domain.search import SortOrder
from crm_shared.storage import Cursor, Session, Where
from crm_shared.storage.json_pages import find_json


class ContactSearch:
    """Pages of one tenant's contacts matching typed conditions."""

    def __init__(self, session: Session, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def page(
        self, where: Sequence[Where], order: SortOrder, *, limit: int, after: Cursor | None
    ) -> list[dict[str, Any]]:
        """Up to `limit` contacts after `after` in `order` (ties broken by id)."""
        return await self._session.find(
            CONTACTS,
            tenant=self._tenant,
            where=where,
            order_by=order.field,
            descending=order.descending,
            limit=limit,
            after=after,
        )

    async def json_page(
        self, where: Sequence[Where], paths: Sequence[str], *, limit: int, after: str | None
    ) -> list[tuple[str, bytes]]:
        """Up to `limit` contacts in id order after the id `after`: (id, JSON text of the id and
        `paths`), as the store builds it (json_pages.py)."""
        return await find_json(
            self._session,
            CONTACTS,
            tenant=self._tenant,
            paths=paths,
            where=where,
            after=after,
            limit=limit,
        )
