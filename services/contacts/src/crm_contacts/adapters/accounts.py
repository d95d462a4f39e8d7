"""Accounts (companies) of one tenant, and the live contacts linked to an account."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from crm_contacts.adapters.repository import ACCOUNTS, CONTACTS
from crm_contacts.domain.text import fold
from crm_shared.storage import Cursor, Eq, In, Session, TextMatch, Where

# Values per In query: a default 1,000-row import batch looks its accounts up in one query per
# field, well below SQLite's cap on bound parameters per statement (32,766).
_IN_CHUNK = 1000
_LIVE: tuple[Where, ...] = (Eq("deleted_at", None), Eq("erased_at", None))
# Folded names are unique; a domain usually is too, but concurrent writers may repeat one.
_NO_LIMIT = 10_000_000


def _chunks(values: Sequence[str]) -> Iterable[tuple[str, ...]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield tuple(values[start : start + _IN_CHUNK])


class AccountRepository:
    """Accounts of one tenant."""

    def __init__(self, session: Session, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def get(self, account_id: str) -> dict[str, Any] | None:
        """The account with this id in this tenant."""
        return await self._session.get(ACCOUNTS, tenant=self._tenant, id=account_id)

    async def with_name(self, name_folded: str) -> dict[str, Any] | None:
        """The account whose folded name is this one (folded names are unique)."""
        found = await self._session.find(
            ACCOUNTS,
            tenant=self._tenant,
            where=(Eq("name_folded", name_folded),),
            order_by="name_folded",
            limit=1,
        )
        return found[0] if found else None

    async def matching(
        self, names_folded: Sequence[str], domains: Sequence[str]
    ) -> list[dict[str, Any]]:
        """Accounts with any of these folded names or domains: one query per field per 1,000."""
        found: dict[str, dict[str, Any]] = {}
        for field, values in (("name_folded", names_folded), ("domain", domains)):
            for chunk in _chunks(values):
                docs = await self._session.find(
                    ACCOUNTS,
                    tenant=self._tenant,
                    where=(In(field, chunk),),
                    order_by=field,
                    limit=_NO_LIMIT,
                )
                found.update((doc["id"], doc) for doc in docs)
        return sorted(found.values(), key=lambda doc: str(doc["id"]))

    async def add_many(self, docs: Sequence[dict[str, Any]]) -> None:
        """Insert new accounts in one statement batch."""
        if docs:
            await self._session.insert_many(ACCOUNTS, docs)

    async def save(self, doc: dict[str, Any], *, expected_version: int) -> bool:
        """Replace an account if it still has `expected_version`."""
        return await self._session.replace(ACCOUNTS, doc, expected_version=expected_version)

    async def remove(self, account_id: str) -> bool:
        """Delete the account for good; False if it was not there."""
        return await self._session.delete(ACCOUNTS, tenant=self._tenant, id=account_id)

    async def page(
        self, *, text: str | None, limit: int, after: Cursor | None
    ) -> list[dict[str, Any]]:
        """Accounts in folded-name order after `after`, whose folded name contains `text`."""
        where: list[Where] = [TextMatch("name_folded", text)] if text else []
        return await self._session.find(
            ACCOUNTS,
            tenant=self._tenant,
            where=where,
            order_by="name_folded",
            limit=limit,
            after=after,
        )


class AccountContacts:
    """The live contacts of one tenant linked to an account."""

    def __init__(self, session: Session, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def count(self, account_id: str) -> int:
        """How many live contacts are linked to the account."""
        return await self._session.count(
            CONTACTS, tenant=self._tenant, where=(Eq("account_id", account_id), *_LIVE)
        )

    async def any_with_company(self, account_id: str, name_folded: str) -> bool:
        """Whether a linked contact (live or soft-deleted) has a company folding to this name."""
        after: Cursor | None = None
        while True:
            page = await self._session.find(
                CONTACTS,
                tenant=self._tenant,
                where=(Eq("account_id", account_id),),
                limit=_IN_CHUNK,
                after=after,
            )
            if any(fold(doc.get("company") or "") == name_folded for doc in page):
                return True
            if len(page) < _IN_CHUNK:
                return False
            after = Cursor(value=page[-1]["id"], id=page[-1]["id"])

    async def any_linked(self, account_id: str) -> bool:
        """Whether any contact, live or soft-deleted (restorable), is linked to the account."""
        found = await self._session.find(
            CONTACTS, tenant=self._tenant, where=(Eq("account_id", account_id),), limit=1
        )
        return bool(found)

    async def page(
        self, account_id: str, *, limit: int, after_id: str | None
    ) -> list[dict[str, Any]]:
        """Linked live contacts in id (creation) order after `after_id`."""
        return await self._session.find(
            CONTACTS,
            tenant=self._tenant,
            # account_id first: SQLite picks the index of the first indexed equality.
            where=(Eq("account_id", account_id), *_LIVE),
            limit=limit,
            after=Cursor(value=after_id, id=after_id) if after_id else None,
        )
