"""The background purge: started with the app, across tenants, surviving a failed run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from crm_contacts.bootstrap import create_app
from crm_contacts.entrypoints.purge_loop import run_purge_loop
from crm_contacts.settings import ContactsSettings
from crm_shared.clock import utcnow
from crm_shared.events.contacts import ContactPurged
from tests.conftest import EDITOR_KEY, OTHER_TENANT_KEY, auth
from tests.contacts.helpers import Harness
from tests.polling import app_lifespan, eventually

WAIT_SECONDS = 5.0


@pytest.fixture
async def fast_purge_harness(
    platform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Harness]:
    """The app with its purge loop running at once and then every 50 ms."""
    monkeypatch.setenv("CONTACTS_PURGE_FIRST_RUN_SECONDS", "0")
    monkeypatch.setenv("CONTACTS_PURGE_INTERVAL_SECONDS", "0.05")
    app: FastAPI = create_app()
    async with app_lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Harness(app, client)


async def _delete(harness: Harness, key: str, name: str) -> str:
    contact = await harness.create(key=key, name=name)
    await harness.client.delete(f"/v1/contacts/{contact['id']}", headers=auth(key))
    return str(contact["id"])


async def test_background_purge_removes_expired_contacts_of_every_tenant(
    fast_purge_harness: Harness,
) -> None:
    harness = fast_purge_harness
    ids = {await _delete(harness, EDITOR_KEY, "Ada"), await _delete(harness, OTHER_TENANT_KEY, "G")}
    later = utcnow() + timedelta(days=31)
    harness.app.state.clock = lambda: later

    async def purged() -> set[str | None]:
        return {e.key for e in await harness.outbox(ContactPurged.event_type)}

    await eventually(purged, lambda keys: keys == ids, within=WAIT_SECONDS, what="both purged")


async def test_purge_loop_keeps_running_after_a_failed_purge(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTACTS_PURGE_FIRST_RUN_SECONDS", "0")
    monkeypatch.setenv("CONTACTS_PURGE_INTERVAL_SECONDS", "0.01")
    settings = ContactsSettings()
    calls: list[datetime] = []
    third_run = asyncio.Event()

    def failing_then_fine_clock() -> datetime:
        calls.append(utcnow())
        if len(calls) == 3:
            third_run.set()
        if len(calls) == 1:
            raise RuntimeError("clock unavailable")
        return utcnow()

    task = asyncio.create_task(
        run_purge_loop(harness.app.state.store, settings, clock=failing_then_fine_clock)
    )
    try:
        await asyncio.wait_for(third_run.wait(), timeout=WAIT_SECONDS)
    finally:
        task.cancel()
    assert len(calls) >= 3
