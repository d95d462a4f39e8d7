"""A dry run holds the caller's key only in memory: a restart fails the one it interrupted."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from crm_shared.events import ImportJobFinished
from tests.importer.conftest import AppFactory
from tests.importer.helpers import FakeContactsApi, job, outbox, upload, wait_for


async def _requests(api: FakeContactsApi) -> list[httpx.Request]:
    return list(api.requests)


async def test_a_restart_fails_the_dry_run_it_interrupted(
    running_app: AppFactory, contacts_api: FakeContactsApi
) -> None:
    contacts_api.gate = asyncio.Event()  # the look-up never answers before the restart
    async with running_app() as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await upload(client, b"name\nAda\n", fields={"dry_run": "true"})
            assert response.status_code == 202, response.text
            job_id = response.json()["id"]
            looked_up = await wait_for(
                lambda: _requests(contacts_api), lambda found: len(found) == 1
            )
    assert looked_up[0].url.path == "/v1/contacts/lookup"

    async with running_app() as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            state: dict[str, Any] = await job(client, job_id)
            published = await outbox(app, ImportJobFinished.event_type)

    assert (state["status"], state["dry_run"]) == ("failed", True)
    assert "interrupted by a restart" in state["error"]
    assert published == []
