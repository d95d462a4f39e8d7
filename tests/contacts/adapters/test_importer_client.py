"""The importer export client: the caller's key in memory only, refusals with their reason."""

from __future__ import annotations

import httpx
import orjson
import pytest

from crm_contacts.adapters.importer_client import ExportRefused, ImporterExports


def _client(response: httpx.Response) -> tuple[ImporterExports, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return response

    return ImporterExports("http://importer", transport=httpx.MockTransport(handle)), seen


async def test_the_selection_goes_as_an_ids_filter_with_the_callers_key() -> None:
    client, seen = _client(httpx.Response(202, json={"id": "exp-1"}))
    client.remember("job-1", "Bearer caller")
    assert await client.request("job-1", ["a", "b"], ["id", "name"]) == "exp-1"
    [request] = seen
    assert request.headers["authorization"] == "Bearer caller"
    assert orjson.loads(request.content) == {
        "fields": ["id", "name"],
        "filter": {"ids": ["a", "b"]},
    }


async def test_without_the_key_after_a_restart_the_export_is_refused() -> None:
    client, seen = _client(httpx.Response(202, json={"id": "exp-1"}))
    with pytest.raises(ExportRefused, match="run the export again"):
        await client.request("job-1", ["a"], ["id"])
    assert seen == []


async def test_a_refusal_carries_the_importers_status_and_detail() -> None:
    client, _ = _client(
        httpx.Response(
            422,
            json={"detail": "unknown export field 'shoe'"},
            headers={"content-type": "application/problem+json"},
        )
    )
    client.remember("job-1", "Bearer caller")
    with pytest.raises(ExportRefused, match=r"422.*shoe"):
        await client.request("job-1", ["a"], ["shoe"])
