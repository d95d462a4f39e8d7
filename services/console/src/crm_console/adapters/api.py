"""The four services' public v1 APIs over HTTP, called with the signed-in user's key."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import httpx

Service = Literal["contacts", "timeline", "importer", "gdpr"]
Params = Mapping[str, Any] | Sequence[tuple[str, Any]] | None
_Query = Any  # what httpx accepts as params; the union above is a subset


class ApiError(Exception):
    """A service answered with an error; `problem` is its problem+json body (or a stand-in)."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status}: {problem.get('detail') or problem.get('title')}")
        self.status = status
        self.problem = problem

    @property
    def route_missing(self) -> bool:
        """True when the service has no such route at all (an older or smaller deployment).

        The services answer an unknown route with a bare "Not Found" (`about:blank`), and a
        missing resource with a typed problem naming it.
        """
        kind = self.problem.get("type", "about:blank")
        return self.status in (404, 405) and kind == "about:blank"

    @property
    def message(self) -> str:
        """What a person reads."""
        return str(self.problem.get("detail") or self.problem.get("title") or "request failed")


class Unreachable(ApiError):
    """A service did not answer at all."""


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    return {"title": response.reason_phrase or "Error", "status": response.status_code}


def _as_query(params: Params) -> _Query:
    return params


class PlatformApi:
    """One HTTP client for every service; each call carries the caller's key."""

    def __init__(
        self,
        urls: Mapping[Service, str],
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._urls = dict(urls)
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def send(
        self,
        service: Service,
        method: str,
        path: str,
        *,
        key: str,
        params: Params = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        files: Any = None,
        data: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """The raw response of one call; raises ApiError for 4xx/5xx and Unreachable."""
        sent_headers = {"Authorization": f"Bearer {key}", **(headers or {})}
        try:
            response = await self._client.request(
                method,
                f"{self._urls[service]}{path}",
                params=_as_query(params),
                json=json,
                headers=sent_headers,
                files=files,
                data=data,
            )
        except httpx.HTTPError as exc:
            raise Unreachable(
                503,
                {
                    "title": "Service unavailable",
                    "detail": f"the {service} service is not reachable ({type(exc).__name__})",
                },
            ) from None
        if response.status_code >= 400:
            raise ApiError(response.status_code, _problem(response))
        return response

    async def get(self, service: Service, path: str, *, key: str, params: Params = None) -> Any:
        """GET and decode the JSON body."""
        return (await self.send(service, "GET", path, key=key, params=params)).json()

    async def post(self, service: Service, path: str, *, key: str, json: Any = None) -> Any:
        """POST JSON and decode the JSON body (None for an empty body)."""
        response = await self.send(service, "POST", path, key=key, json=json)
        return response.json() if response.content else None

    def stream_url(self, service: Service, path: str) -> str:
        """The absolute URL of a path, for streaming a download through."""
        return f"{self._urls[service]}{path}"

    @property
    def client(self) -> httpx.AsyncClient:
        """The shared client (for streaming downloads)."""
        return self._client
