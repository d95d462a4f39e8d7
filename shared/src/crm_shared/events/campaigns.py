"""Campaign events, published by the contacts service on the contact events topic."""

from __future__ import annotations

from typing import Literal

from crm_shared.envelope import EventData
from crm_shared.topics import CONTACT_EVENTS


class CampaignCreated(EventData):
    """A campaign (a named list of contacts other products act on) was created."""

    event_type = "crm.contacts.campaign.created.v1"
    topic = CONTACT_EVENTS.name

    campaign_id: str
    version: int
    name: str
    description: str | None = None


class CampaignMembershipChanged(EventData):
    """A contact joined or left a campaign; keyed by the contact id.

    The contact's own ContactUpdated (version, `campaigns` before/after) is published with it.
    """

    event_type = "crm.contacts.campaign.membership-changed.v1"
    topic = CONTACT_EVENTS.name

    contact_id: str
    campaign_id: str
    change: Literal["added", "removed"]
    contact_version: int
