"""Campaign records of one tenant, and the count of their live members."""

from __future__ import annotations

from typing import Any

from crm_contacts.adapters.repository import CONTACTS
from crm_shared.storage import CollectionSpec, Contains, Cursor, Eq, Index, Session

CAMPAIGNS = "campaigns"
CAMPAIGN_SPECS: tuple[CollectionSpec, ...] = (
    CollectionSpec(CAMPAIGNS, indexes=(Index(("name_folded",), unique=True),)),
    # Memberships: every campaign id of a contact, for `campaign=` and member counts.
    CollectionSpec(CONTACTS, indexes=(Index(("campaigns",), multi_value="array"),)),
)


class CampaignRepository:
    """Campaigns of one tenant."""

    def __init__(self, session: Session, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def get(self, campaign_id: str) -> dict[str, Any] | None:
        """The campaign with this id."""
        return await self._session.get(CAMPAIGNS, tenant=self._tenant, id=campaign_id)

    async def named(self, name_folded: str) -> dict[str, Any] | None:
        """The campaign with this folded name."""
        found = await self._session.find(
            CAMPAIGNS,
            tenant=self._tenant,
            where=(Eq("name_folded", name_folded),),
            order_by="name_folded",
            limit=1,
        )
        return found[0] if found else None

    async def add(self, doc: dict[str, Any]) -> None:
        """Insert a campaign (DuplicateKeyError when its folded name is taken)."""
        await self._session.insert(CAMPAIGNS, doc)

    async def page(self, *, after: str | None, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` campaigns in creation order after the id `after`."""
        return await self._session.find(
            CAMPAIGNS,
            tenant=self._tenant,
            order_by="id",
            limit=limit,
            after=Cursor(value=after, id=after) if after else None,
        )

    async def member_count(self, campaign_id: str) -> int:
        """How many live contacts belong to the campaign."""
        return await self._session.count(
            CONTACTS,
            tenant=self._tenant,
            where=(
                Contains("campaigns", campaign_id),
                Eq("deleted_at", None),
                Eq("erased_at", None),
            ),
        )
