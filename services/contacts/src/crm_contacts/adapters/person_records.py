"""Every record of a person, whatever its state: the look-ups behind erasure and access requests.

Duplicate matching sees only live contacts; a data subject's request must also reach the
soft-deleted and the merged-away ones, so these queries use the matching engine's identifier
keys (`match_keys`, kept while a contact is deleted or merged away) without its live-only filter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from crm_contacts.adapters.repository import CONTACTS, MERGES
from crm_contacts.domain.matching.profile import EMAIL_KEY, PHONE_KEY
from crm_shared.storage import ContainsAny, Eq, In, Session

_IN_CHUNK = 500
_NO_LIMIT = 10_000_000


def _chunks(values: Sequence[str]) -> Iterable[tuple[str, ...]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield tuple(values[start : start + _IN_CHUNK])


class PersonRecordFinder:
    """Contacts of one tenant in any state: live, soft-deleted, merged away or erased."""

    def __init__(self, session: Session, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def by_ids(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """The contacts with these ids."""
        found: list[dict[str, Any]] = []
        for chunk in _chunks(list(dict.fromkeys(ids))):
            found += await self._session.find(
                CONTACTS, tenant=self._tenant, where=(In("id", chunk),), limit=len(chunk)
            )
        return found

    async def by_identifiers(
        self, *, emails: Sequence[str], phones: Sequence[str]
    ) -> list[dict[str, Any]]:
        """Contacts holding one of these normalized emails or E.164 phones, primary or not."""
        keys = [EMAIL_KEY + e for e in emails] + [PHONE_KEY + p for p in phones]
        found: list[dict[str, Any]] = []
        for chunk in _chunks(list(dict.fromkeys(keys))):
            found += await self._session.find(
                CONTACTS,
                tenant=self._tenant,
                where=(ContainsAny("match_keys", chunk),),
                limit=_NO_LIMIT,
            )
        return found

    async def merge_partners(self, ids: Sequence[str]) -> set[str]:
        """Every contact in a standing merge with one of these (primary or duplicate)."""
        partners: set[str] = set()
        for chunk in _chunks(list(dict.fromkeys(ids))):
            records = await self._session.find(
                MERGES,
                tenant=self._tenant,
                where=(ContainsAny("contact_ids", chunk), Eq("status", "merged")),
                limit=_NO_LIMIT,
            )
            for record in records:
                partners.update(record.get("contact_ids") or ())
        return partners
