"""HTTP clients of the contacts and timeline services, forwarding the caller's credentials."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx

from crm_gdpr.domain.errors import ContactErased, ServiceUnavailable
from crm_gdpr.domain.person import PersonFound
from crm_shared.problems import BadRequest, NotFound

log = logging.getLogger(__name__)

# Resolving 5,000 contacts and everything they lead to takes longer than a single look-up.
_RESOLVE_TIMEOUT = 120.0
_TIMELINE_PAGE = 200
_IMPORT_ROW_HASHES = 100


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

    async def resolve_person(
        self,
        *,
        contact_ids: Sequence[str],
        emails: Sequence[str],
        phones: Sequence[str],
        with_profiles: bool = False,
    ) -> PersonFound:
        """Every record of the person, through the contacts service's resolve endpoint."""
        url = f"{self._base_url}/v1/persons/resolve"
        body = {
            "contact_ids": list(contact_ids),
            "emails": list(emails),
            "phones": list(phones),
            "with_profiles": with_profiles,
        }
        try:
            response = await self._http.post(
                url, json=body, headers=_headers(self._authorization), timeout=_RESOLVE_TIMEOUT
            )
        except httpx.HTTPError as exc:
            log.warning("contacts service unreachable: %s", type(exc).__name__)
            raise ServiceUnavailable("the contacts service cannot be reached") from exc
        if response.status_code in (400, 422):
            # The contacts service names what is wrong (a malformed email or phone): pass it on.
            detail = _json_object(response, "contacts").get("detail")
            raise BadRequest(str(detail or "the contacts service refused the selector"))
        if response.status_code != 200:
            log.warning("contacts service answered %d to a person look-up", response.status_code)
            raise ServiceUnavailable(f"the contacts service answered {response.status_code}")
        found = _json_object(response, "contacts")
        records = found.get("records")
        hashes = found.get("identifier_hashes")
        if not isinstance(records, list) or not isinstance(hashes, list):
            raise ServiceUnavailable("the contacts service sent an unexpected response")
        return PersonFound(records=records, identifier_hashes=[str(h) for h in hashes])


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
            # The largest page the timeline serves: a bundle reads every item.
            params = {"limit": str(_TIMELINE_PAGE), **({"cursor": cursor} if cursor else {})}
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


class ImporterApi:
    """The importer service's public API, called on behalf of one caller."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, authorization: str | None) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._authorization = authorization

    async def rows_mentioning(self, identifier_hashes: Sequence[str]) -> list[dict[str, Any]]:
        """The import rows (failed, or imported with warnings) holding one of these hashes."""
        if not identifier_hashes:
            return []
        url = f"{self._base_url}/v1/import-rows"
        # The importer takes at most 100 hashes a request; a person has a few dozen at most.
        rows: dict[tuple[str, int], dict[str, Any]] = {}
        for start in range(0, len(identifier_hashes), _IMPORT_ROW_HASHES):
            chunk = list(identifier_hashes[start : start + _IMPORT_ROW_HASHES])
            try:
                response = await self._http.get(
                    url,
                    params={"identifier_hash": chunk},
                    headers=_headers(self._authorization),
                )
            except httpx.HTTPError as exc:
                log.warning("importer service unreachable: %s", type(exc).__name__)
                raise ServiceUnavailable("the importer service cannot be reached") from exc
            if response.status_code != 200:
                log.warning("importer service answered %d", response.status_code)
                raise ServiceUnavailable(f"the importer service answered {response.status_code}")
            items = _json_object(response, "importer").get("items", [])
            if not isinstance(items, list):
                raise ServiceUnavailable("the importer service sent an unexpected response")
            rows.update(((str(i["job_id"]), int(i["row_number"])), i) for i in items)
        return list(rows.values())
