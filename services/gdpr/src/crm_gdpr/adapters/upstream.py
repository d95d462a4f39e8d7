"""HTTP clients of the contacts and timeline services, forwarding the caller's credentials."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import httpx

from crm_gdpr.domain.errors import ContactErased, ServiceUnavailable
from crm_shared.problems import NotFound

log = logging.getLogger(__name__)


def _headers(authorization: str | None) -> dict[str, str]:
    return {"Authorization": authorization} if authorization else {}


def _json_object(response: httpx.Response, service: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise ServiceUnavailable(f"the {service} service sent a response that is not JSON") from exc
    if not isinstance(body, dict):
        raise ServiceUnavailable(f"the {service} service sent an unexpected response")
    return body


class ContactsApi:
    """The contacts service's public API, called on behalf of one caller (and so one tenant)."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, authorization: str | None) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._authorization = authorization

    async def get_contact(self, contact_id: str) -> dict[str, Any]:
        """The contact; 404 if the caller's tenant has no such contact, 409 if it was erased."""
        url = f"{self._base_url}/v1/contacts/{quote(contact_id, safe='')}"
        try:
            response = await self._http.get(url, headers=_headers(self._authorization))
        except httpx.HTTPError as exc:
            log.warning("contacts service unreachable: %s", type(exc).__name__)
            raise ServiceUnavailable("the contacts service cannot be reached") from exc
        if response.status_code == 404:
            raise NotFound(f"contact {contact_id} not found")
        if response.status_code == 410:
            raise ContactErased()
        if response.status_code != 200:
            log.warning("contacts service answered %d to a contact look-up", response.status_code)
            raise ServiceUnavailable(f"the contacts service answered {response.status_code}")
        return _json_object(response, "contacts")


class TimelineApi:
    """The timeline service's public API, called on behalf of one caller."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        authorization: str | None,
        *,
        max_pages: int = 1000,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._authorization = authorization
        self._max_pages = max_pages

    async def all_activities(self, contact_id: str) -> list[dict[str, Any]]:
        """Every timeline item of a contact, following `next_cursor` page by page."""
        url = f"{self._base_url}/v1/contacts/{quote(contact_id, safe='')}/timeline"
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(self._max_pages):
            params = {"cursor": cursor} if cursor else {}
            try:
                response = await self._http.get(
                    url, params=params, headers=_headers(self._authorization)
                )
            except httpx.HTTPError as exc:
                log.warning("timeline service unreachable: %s", type(exc).__name__)
                raise ServiceUnavailable("the timeline service cannot be reached") from exc
            if response.status_code == 404:
                # The timeline knows nothing about this contact: nothing to export from it.
                return items
            if response.status_code != 200:
                log.warning("timeline service answered %d", response.status_code)
                raise ServiceUnavailable(f"the timeline service answered {response.status_code}")
            body = _json_object(response, "timeline")
            page = body.get("items", [])
            if not isinstance(page, list):
                raise ServiceUnavailable("the timeline service sent an unexpected response")
            items.extend(page)
            next_cursor = body.get("next_cursor")
            if not next_cursor or not page:
                return items
            cursor = str(next_cursor)
        raise ServiceUnavailable("the timeline has more pages than one export may fetch")
