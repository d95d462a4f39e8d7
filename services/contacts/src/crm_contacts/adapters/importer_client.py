"""The importer's public export API, called with the key of whoever asked for a bulk export.

Services talk only over Kafka or public HTTP: a bulk `export` hands its selection to
`POST /v1/exports` of the importer as a ContactFilter of ids, and the importer reads the contacts
back from this service's API with the same key, as any export does. The key is kept in memory
only (never stored), so an export interrupted by a restart fails and is run again.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx


class ExportRefused(Exception):
    """The importer could not be reached or refused the export; the message says why."""


class ImporterExports:
    """Hands selections to the importer's export; the transport is injectable for tests."""

    def __init__(self, base_url: str, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, transport=transport, timeout=30.0)
        self._keys: dict[str, str] = {}

    def remember(self, job_id: str, authorization: str) -> None:
        """Keep the caller's Authorization header for the job, in memory only."""
        self._keys[job_id] = authorization

    def forget(self, job_id: str) -> None:
        """Drop the job's key once it no longer needs it."""
        self._keys.pop(job_id, None)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def request(self, job_id: str, ids: Sequence[str], fields: Sequence[str]) -> str:
        """Queue an importer export of these contacts; its id."""
        authorization = self._keys.get(job_id)
        if authorization is None:
            raise ExportRefused(
                "the caller's key is kept in memory only and the service restarted; "
                "run the export again"
            )
        body = {"fields": list(fields), "filter": {"ids": list(ids)}}
        try:
            response = await self._http.post(
                "/v1/exports", json=body, headers={"Authorization": authorization}
            )
        except httpx.TransportError as exc:
            raise ExportRefused(f"the importer is unreachable ({type(exc).__name__})") from exc
        if response.status_code != 202:
            detail = ""
            if response.headers.get("content-type", "").endswith("json"):
                detail = str(response.json().get("detail", ""))
            raise ExportRefused(
                f"the importer answered {response.status_code} to the export"
                + (f": {detail}" if detail else "")
            )
        return str(response.json()["id"])
