"""What the contact page shows, read from three services at once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from crm_console.adapters.api import ApiError, PlatformApi

# The timeline's item types (crm_timeline.domain.model.ItemType), offered as filters.
TIMELINE_TYPES: tuple[str, ...] = (
    "note",
    "contact_changed",
    "conversation",
    "email_sent",
    "email_received",
    "appointment",
    "ticket",
    "consent_changed",
    "imported",
    "merged",
)


@dataclass
class ContactScreen:
    """A contact, its custom field definitions, a timeline page and its consents."""

    contact: dict[str, Any]
    definitions: list[dict[str, Any]]
    timeline: dict[str, Any]
    consents: list[dict[str, Any]] | None
    unavailable: list[str] = field(default_factory=list)


async def campaigns_or_none(api: PlatformApi, key: str) -> list[dict[str, Any]]:
    """The first 200 campaigns, for filters; none from an older platform without campaigns."""
    try:
        body = await api.get("contacts", "/v1/campaigns", key=key, params={"limit": 200})
    except ApiError:
        return []
    return list(body.get("items", []))


async def custom_field_definitions(api: PlatformApi, key: str) -> list[dict[str, Any]]:
    """The tenant's custom field definitions."""
    body = await api.get("contacts", "/v1/custom-fields", key=key)
    return list(body.get("items", []))


async def timeline_page(
    api: PlatformApi, key: str, contact_id: str, item_type: str | None, cursor: str | None = None
) -> dict[str, Any]:
    """One page of a contact's timeline, newest first, of one type or all."""
    params: dict[str, Any] = {"limit": 20}
    if item_type in TIMELINE_TYPES:
        params["type"] = item_type
    if cursor:
        params["cursor"] = cursor
    result: dict[str, Any] = await api.get(
        "timeline", f"/v1/contacts/{contact_id}/timeline", key=key, params=params
    )
    return result


async def contact_screen(
    api: PlatformApi, key: str, contact_id: str, item_type: str | None
) -> ContactScreen:
    """Everything the contact page shows; a timeline or gdpr outage leaves its part empty."""
    contact_call = api.send("contacts", "GET", f"/v1/contacts/{contact_id}", key=key)
    results = await asyncio.gather(
        contact_call,
        custom_field_definitions(api, key),
        timeline_page(api, key, contact_id, item_type),
        api.get("gdpr", f"/v1/contacts/{contact_id}/consents", key=key),
        return_exceptions=True,
    )
    contact_response, definitions, timeline, consents = results
    if isinstance(contact_response, BaseException):
        raise contact_response
    unavailable: list[str] = []
    if isinstance(definitions, BaseException):
        definitions, unavailable = [], [*unavailable, "custom fields"]
    if isinstance(timeline, BaseException):
        timeline, unavailable = {"items": [], "next_cursor": None}, [*unavailable, "timeline"]
    if isinstance(consents, BaseException):
        if not isinstance(consents, ApiError):
            raise consents
        consents, unavailable = None, [*unavailable, "consents"]
    else:
        consents = list(consents.get("purposes", []))
    return ContactScreen(
        contact=contact_response.json(),
        definitions=definitions,
        timeline=timeline,
        consents=consents,
        unavailable=unavailable,
    )
