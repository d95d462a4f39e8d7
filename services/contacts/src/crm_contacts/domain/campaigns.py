"""Campaigns: named lists of contacts other products act on (mailings, sequences, events).

A contact's memberships are the campaign ids in its `campaigns` list; names are unique per tenant
ignoring case and accents.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crm_contacts.domain.errors import FieldProblem, InvalidFields
from crm_contacts.domain.text import fold

NAME_MAX = 100
DESCRIPTION_MAX = 1000


def campaign_name(name: str) -> str:
    """The name with runs of spaces collapsed; 422 unless it has 1-100 characters."""
    cleaned = " ".join(name.split())
    if not 1 <= len(cleaned) <= NAME_MAX:
        raise InvalidFields([FieldProblem("name", f"must be 1-{NAME_MAX} characters")])
    return cleaned


def new_campaign(
    *, campaign_id: str, tenant: str, name: str, description: str | None, now: str
) -> dict[str, Any]:
    """A version-1 campaign record."""
    cleaned = campaign_name(name)
    return {
        "id": campaign_id,
        "tenant": tenant,
        "version": 1,
        "name": cleaned,
        "name_folded": fold(cleaned),
        "description": description,
        "created_at": now,
        "updated_at": now,
    }


def joined(campaigns: Sequence[str], campaign_id: str) -> list[str]:
    """The memberships with `campaign_id` added (kept once, at the end)."""
    return list(campaigns) if campaign_id in campaigns else [*campaigns, campaign_id]


def left(campaigns: Sequence[str], campaign_id: str) -> list[str]:
    """The memberships without `campaign_id`."""
    return [c for c in campaigns if c != campaign_id]
