"""HTTP client of the contacts service's public API, used with the caller's key: exports read
contacts (`GET /v1/contacts/stream`), a dry run asks what its rows would do."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import orjson

from crm_shared.events import ImportRow, RowResult
from crm_shared.events.imports import DuplicatePolicy, MatchIdentifier
from crm_shared.filters import ContactFilter
from crm_shared.observability.tracing import TRACE_HOOKS

_RETRIES = 3
_RETRY_STATUSES = frozenset({429, 502, 503, 504})
# A stream may pause between chunks while the contacts service reads the next one; only a
# silence this long (no byte at all) counts as a dead connection.
_STREAM_READ_TIMEOUT = 120.0


def _as_items(lines: bytes) -> bytes:
    """Lines of JSON as the items of a JSON array (blank lines dropped)."""
    if b"\n\n" in lines or lines.startswith(b"\n"):
        lines = b"\n".join(line for line in lines.split(b"\n") if line)
    return lines.replace(b"\n", b",")


class ContactsUnavailable(Exception):
    """The contacts service could not be asked or refused the listing; the message says why."""


class _Retry(Exception):
    """A failed request of the stream worth asking again (after the last contact received)."""


class ContactsClient:
    """Pages through `GET /v1/contacts`; the transport is injectable for tests."""

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url, transport=transport, timeout=timeout, event_hooks=TRACE_HOOKS
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _get_page(
        self,
        params: list[tuple[str, str | int | float | bool | None]],
        authorization: str,
        *,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        delay = 0.5
        headers = {"Authorization": authorization}
        for attempt in range(1, _RETRIES + 1):
            try:
                if body is None:
                    response = await self._http.get("/v1/contacts", params=params, headers=headers)
                else:
                    response = await self._http.post(
                        "/v1/contacts/search", json=body, headers=headers
                    )
            except httpx.TransportError as exc:
                if attempt == _RETRIES:
                    raise ContactsUnavailable(
                        f"the contacts service is unreachable ({type(exc).__name__})"
                    ) from exc
            else:
                if response.status_code == 200:
                    answer: dict[str, Any] = response.json()
                    return answer
                if response.status_code not in _RETRY_STATUSES or attempt == _RETRIES:
                    raise ContactsUnavailable(
                        f"the contacts service answered {response.status_code} to the listing"
                    )
            await asyncio.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    async def pages(
        self, contact_filter: ContactFilter, *, authorization: str, page_size: int
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield the matching contacts page by page, following `next_cursor`.

        A filter naming contacts by id (a bulk action's selection, up to 10,000 ids) is too long
        for a query string: it goes as the JSON body of `POST /v1/contacts/search` instead.
        """
        cursor: str | None = None
        while True:
            body: dict[str, Any] | None = None
            if contact_filter.ids:
                body = {
                    "filter": contact_filter.model_dump(mode="json", exclude_defaults=True),
                    "limit": page_size,
                    **({"cursor": cursor} if cursor else {}),
                }
            params: list[tuple[str, str | int | float | bool | None]] = [
                *contact_filter.query_params(),
                ("limit", page_size),
            ]
            if cursor:
                params.append(("cursor", cursor))
            page = await self._get_page(params, authorization, body=body)
            items = page.get("items")
            if not isinstance(items, list):
                raise ContactsUnavailable("the contacts service answered without an items list")
            yield items
            cursor = page.get("next_cursor")
            if not cursor or not items:
                return

    async def stream(
        self,
        contact_filter: ContactFilter,
        *,
        authorization: str,
        page_size: int,
        fields: Sequence[str] | None = None,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield the matching contacts in id order, a list for each piece of the answer read.

        Reads `GET /v1/contacts/stream` (one JSON contact per line) as it arrives; with `fields`
        (export field names) each contact holds its id and those fields only. A connection
        that drops mid-way is asked again after the last contact received (the stream is in id
        order), up to three times in a row without progress. A filter naming contacts by id is
        too long for a query string: it is read through the listing's pages (`pages`, at most
        10,000 contacts).
        """
        if contact_filter.ids:
            async for page in self.pages(
                contact_filter, authorization=authorization, page_size=page_size
            ):
                yield page
            return
        after: str | None = None
        failures = 0
        delay = 0.5
        while True:
            params: list[tuple[str, str | int | float | bool | None]] = [
                *contact_filter.query_params(),
                *([("fields", ",".join(fields))] if fields else []),
                *([("after", after)] if after else []),
            ]
            try:
                async for contacts in self._stream_once(params, authorization):
                    after = str(contacts[-1].get("id", ""))
                    failures, delay = 0, 0.5
                    yield contacts
                return
            except _Retry as retry:
                failures += 1
                if failures == _RETRIES:
                    raise ContactsUnavailable(str(retry)) from retry.__cause__
            await asyncio.sleep(delay)
            delay *= 2

    async def _stream_once(
        self, params: list[tuple[str, str | int | float | bool | None]], authorization: str
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """One request of the stream: its complete lines as they arrive; _Retry if it failed
        in a way asking again may mend."""
        timeout = httpx.Timeout(self._http.timeout.connect, read=_STREAM_READ_TIMEOUT)
        request = self._http.build_request(
            "GET",
            "/v1/contacts/stream",
            params=params,
            headers={"Authorization": authorization},
            timeout=timeout,
        )
        try:
            response = await self._http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise _Retry(f"the contacts service is unreachable ({type(exc).__name__})") from exc
        try:
            if response.status_code != 200:
                reason = f"the contacts service answered {response.status_code} to the stream"
                if response.status_code in _RETRY_STATUSES:
                    raise _Retry(reason)
                raise ContactsUnavailable(reason)
            rest = b""
            try:
                async for piece in response.aiter_bytes():
                    received = rest + piece
                    end = received.rfind(b"\n")
                    if end < 0:
                        rest = received
                        continue
                    rest = received[end + 1 :]
                    # The piece's complete lines as one JSON array: one parse for all of them.
                    contacts = orjson.loads(b"[" + _as_items(received[:end]) + b"]")
                    if contacts:
                        yield contacts
            except httpx.TransportError as exc:
                raise _Retry(
                    f"the contacts service's stream broke off ({type(exc).__name__})"
                ) from exc
            if rest.strip():
                raise _Retry("the contacts service's stream ended inside a line")
        except orjson.JSONDecodeError as exc:
            raise ContactsUnavailable("the contacts service streamed a line not JSON") from exc
        finally:
            await response.aclose()

    async def look_up_rows(
        self,
        rows: list[ImportRow],
        *,
        on_duplicate: DuplicatePolicy,
        match_on: list[MatchIdentifier],
        occurred_at: str | None,
        authorization: str,
    ) -> list[RowResult]:
        """What importing `rows` would do (`POST /v1/contacts/lookup`), one result per row."""
        body = {
            "rows": [row.model_dump(mode="json", exclude_defaults=True) for row in rows],
            "on_duplicate": on_duplicate,
            "match_on": match_on,
            "occurred_at": occurred_at,
        }
        headers = {"Authorization": authorization}
        delay = 0.5
        for attempt in range(1, _RETRIES + 1):
            try:
                response = await self._http.post("/v1/contacts/lookup", json=body, headers=headers)
            except httpx.TransportError as exc:
                if attempt == _RETRIES:
                    raise ContactsUnavailable(
                        f"the contacts service is unreachable ({type(exc).__name__})"
                    ) from exc
            else:
                if response.status_code == 200:
                    results = response.json().get("results")
                    if not isinstance(results, list) or len(results) != len(rows):
                        raise ContactsUnavailable("the contacts service answered without results")
                    return [RowResult.model_validate(r) for r in results]
                if response.status_code not in _RETRY_STATUSES or attempt == _RETRIES:
                    raise ContactsUnavailable(
                        f"the contacts service answered {response.status_code} to the look-up"
                    )
            await asyncio.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    async def custom_field_types(self, *, authorization: str) -> dict[str, str]:
        """The tenant's custom fields, key -> type (`GET /v1/custom-fields`)."""
        try:
            response = await self._http.get(
                "/v1/custom-fields", headers={"Authorization": authorization}
            )
        except httpx.TransportError as exc:
            raise ContactsUnavailable(
                f"the contacts service is unreachable ({type(exc).__name__})"
            ) from exc
        if response.status_code != 200:
            raise ContactsUnavailable(
                f"the contacts service answered {response.status_code} to the custom fields"
            )
        items = response.json().get("items") or []
        return {str(item["key"]): str(item["type"]) for item in items}

    async def create_custom_field(
        self, *, key: str, label: str, field_type: str, authorization: str
    ) -> int:
        """Define a custom field (`POST /v1/custom-fields`); the status code the API answered
        (201 created, 409 defined meanwhile, 403 the key may not define fields...)."""
        try:
            response = await self._http.post(
                "/v1/custom-fields",
                json={"key": key, "label": label, "type": field_type},
                headers={"Authorization": authorization},
            )
        except httpx.TransportError as exc:
            raise ContactsUnavailable(
                f"the contacts service is unreachable ({type(exc).__name__})"
            ) from exc
        return response.status_code
