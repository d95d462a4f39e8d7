"""Handlers for campaigns: create, list, read, and a contact joining or leaving one."""

from __future__ import annotations

from typing import Any

from crm_contacts.adapters.campaigns import CampaignRepository
from crm_contacts.domain.campaigns import joined, left, new_campaign
from crm_contacts.domain.contact_policy import ContactPolicy
from crm_contacts.service_layer.handlers import apply_update
from crm_contacts.settings import ContactsSettings
from crm_shared.clock import now_iso
from crm_shared.events import CampaignCreated, CampaignMembershipChanged
from crm_shared.ids import new_id
from crm_shared.outbox import CONTACTS_SOURCE, outgoing
from crm_shared.problems import Conflict, NotFound
from crm_shared.storage import DocumentStore, DuplicateKeyError, Session


async def _taken(campaigns: CampaignRepository, doc: dict[str, Any]) -> Conflict | None:
    existing = await campaigns.named(doc["name_folded"])
    if existing is None:
        return None
    return Conflict(
        f"campaign '{existing['name']}' already exists (names are unique ignoring case and "
        "accents)",
        extra={"existing_id": existing["id"]},
    )


async def create_campaign(
    store: DocumentStore, *, tenant: str, actor: str, name: str, description: str | None
) -> dict[str, Any]:
    """Create a campaign; 409 naming the existing one when the folded name is taken."""
    doc = new_campaign(
        campaign_id=new_id(), tenant=tenant, name=name, description=description, now=now_iso()
    )
    async with store.transaction() as session:
        campaigns = CampaignRepository(session, tenant)
        if (conflict := await _taken(campaigns, doc)) is not None:
            raise conflict
        try:
            await campaigns.add(doc)
        except DuplicateKeyError as exc:
            raise Conflict(f"campaign '{doc['name']}' already exists") from exc
        event = CampaignCreated(
            campaign_id=doc["id"], version=1, name=doc["name"], description=description
        )
        await session.add_events(
            [outgoing(event, source=CONTACTS_SOURCE, tenant=tenant, key=doc["id"], actor=actor)]
        )
    return doc


async def list_campaigns(
    store: DocumentStore, *, tenant: str, after: str | None, limit: int
) -> tuple[list[dict[str, Any]], bool]:
    """A page of campaigns in creation order, and whether another page follows."""
    async with store.reader() as session:
        docs = await CampaignRepository(session, tenant).page(after=after, limit=limit + 1)
    return docs[:limit], len(docs) > limit


async def get_campaign(store: DocumentStore, campaign_id: str, *, tenant: str) -> dict[str, Any]:
    """One campaign with `member_count` (live members); 404 if not the tenant's."""
    async with store.reader() as session:
        campaigns = CampaignRepository(session, tenant)
        doc = await campaigns.get(campaign_id)
        if doc is None:
            raise NotFound(f"campaign {campaign_id} not found")
        return {**doc, "member_count": await campaigns.member_count(campaign_id)}


async def existing_campaign(session: Session, tenant: str, campaign_id: str) -> dict[str, Any]:
    """The campaign, or 404 when the tenant has none with this id."""
    doc = await CampaignRepository(session, tenant).get(campaign_id)
    if doc is None:
        raise NotFound(f"campaign {campaign_id} not found")
    return doc


async def change_membership(
    session: Session,
    tenant: str,
    contact: dict[str, Any],
    campaign_id: str,
    *,
    join: bool,
    actor: str,
    settings: ContactsSettings,
    policy: ContactPolicy | None = None,
) -> dict[str, Any]:
    """Add a live contact to the campaign or take it out: a contact update (ContactUpdated with
    `campaigns` before/after) plus a CampaignMembershipChanged; unchanged when already so."""
    current = list(contact.get("campaigns") or ())
    wanted = joined(current, campaign_id) if join else left(current, campaign_id)
    if wanted == current:
        return contact
    updated = await apply_update(
        session,
        tenant,
        contact,
        {"campaigns": wanted},
        actor=actor,
        settings=settings,
        policy=policy,
    )
    event = CampaignMembershipChanged(
        contact_id=contact["id"],
        campaign_id=campaign_id,
        change="added" if join else "removed",
        contact_version=int(updated["version"]),
    )
    await session.add_events(
        [outgoing(event, source=CONTACTS_SOURCE, tenant=tenant, key=contact["id"], actor=actor)]
    )
    return updated
