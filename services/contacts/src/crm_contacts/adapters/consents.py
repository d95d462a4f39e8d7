"""Each contact's current consent per (purpose, channel), kept from the gdpr ledger's events.

One document per (contact, purpose, channel) holds the latest decision with its attributes; the
contact itself carries the granted pairs in `consents_granted` (indexed value by value), which is
what `consent=` filters read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crm_shared.storage import CollectionSpec, Eq, In, Index, Session

CONTACTS = "contacts"  # adapters/repository.py lists these specs, so it cannot be imported here
CONTACT_CONSENTS = "contact_consents"
CONSENT_SPECS: tuple[CollectionSpec, ...] = (
    CollectionSpec(CONTACT_CONSENTS, indexes=(Index(("contact_id",)),)),
    CollectionSpec(CONTACTS, indexes=(Index(("consents_granted",), multi_value="array"),)),
)
_CHUNK = 500  # ids per In condition (SQLite caps bound parameters per statement)
# A person decides on a handful of purposes and channels; more than this is not a person.
_MAX_PER_CONTACT = 1_000


def decision_id(contact_id: str, purpose: str, channel: str) -> str:
    """The id of a contact's document for one (purpose, channel)."""
    return f"{contact_id}:{purpose}:{channel}"


class ConsentStateRepository:
    """The current consents of one tenant's contacts."""

    def __init__(self, session: Session, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def of_contact(self, contact_id: str) -> list[dict[str, Any]]:
        """Every (purpose, channel) decision held for the contact, in id order."""
        return await self._session.find(
            CONTACT_CONSENTS,
            tenant=self._tenant,
            where=(Eq("contact_id", contact_id),),
            order_by="contact_id",
            limit=_MAX_PER_CONTACT,
        )

    async def put(self, doc: dict[str, Any], *, new: bool) -> None:
        """Store a (purpose, channel) decision, new or replacing the one held."""
        if new:
            await self._session.insert(CONTACT_CONSENTS, doc)
        else:
            await self._session.replace(CONTACT_CONSENTS, doc)

    async def forget(self, contact_id: str) -> int:
        """Drop every decision held for the contact (erasure); how many went."""
        return await self._session.delete_where(
            CONTACT_CONSENTS, tenant=self._tenant, where=(Eq("contact_id", contact_id),)
        )

    async def forget_many(self, contact_ids: Sequence[str]) -> int:
        """Drop every decision held for these contacts (purge); how many went."""
        removed = 0
        for start in range(0, len(contact_ids), _CHUNK):
            chunk = tuple(contact_ids[start : start + _CHUNK])
            removed += await self._session.delete_where(
                CONTACT_CONSENTS, tenant=self._tenant, where=(In("contact_id", chunk),)
            )
        return removed
