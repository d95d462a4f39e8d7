"""The full duplicate scan across replicas: two contacts app instances on one SQLite file never
scan one tenant at once, and either answers the scan's status."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from crm_contacts.bootstrap import create_app
from crm_contacts.service_layer import duplicate_scan
from tests.conftest import ADMIN_KEY, OTHER_TENANT_KEY, auth
from tests.polling import app_lifespan, eventually

SCAN = "/v1/duplicates/scan"


class GatedScans:
    """The real scan, held at its start until `release` is set (to look at it mid-way)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.release = asyncio.Event()
        self.started = 0
        real = duplicate_scan.scan_tenant

        async def gated(store: Any, *, tenant: str) -> duplicate_scan.ScanResult:
            self.started += 1
            await self.release.wait()
            return await real(store, tenant=tenant)

        monkeypatch.setattr(duplicate_scan, "scan_tenant", gated)


@asynccontextmanager
async def replica() -> AsyncIterator[httpx.AsyncClient]:
    """One contacts instance (the platform_env's SQLite file) and a client of it."""
    app: FastAPI = create_app()
    async with app_lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def two_replicas() -> tuple[
    AbstractAsyncContextManager[httpx.AsyncClient], AbstractAsyncContextManager[httpx.AsyncClient]
]:
    return replica(), replica()


async def _status(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get(SCAN, headers=auth(ADMIN_KEY))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_two_replicas_never_scan_one_tenant_at_once(
    platform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = GatedScans(monkeypatch)
    first, second = two_replicas()
    async with first as a, second as b:
        for email in ("ada.one@example.org", "ada.two@example.org"):
            created = await a.post(
                "/v1/contacts",
                params={"allow_duplicate": "true"},
                json={"name": "Ada Lovelace", "email": email},
                headers=auth(ADMIN_KEY),
            )
            assert created.status_code == 201, created.text

        started = await a.post(SCAN, headers=auth(ADMIN_KEY))
        assert started.status_code == 202 and started.json()["status"] == "running"
        refused = await b.post(SCAN, headers=auth(ADMIN_KEY))
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert (await _status(b))["status"] == "running", "the other replica sees the scan"
        # Another tenant's scan is not held up by this one.
        other = await b.post(SCAN, headers=auth(OTHER_TENANT_KEY))
        assert other.status_code == 202, other.text

        gate.release.set()
        done = await eventually(
            lambda: _status(b), lambda s: s["status"] != "running", what="the scan to end"
        )
        assert (done["status"], done["contacts"], done["groups"]) == ("completed", 2, 1)
        assert gate.started == 2, "one scan for each tenant, none for the refused request"

        again = await b.post(SCAN, headers=auth(ADMIN_KEY))
        assert again.status_code == 202, "once it ended, any replica may scan again"
        await eventually(
            lambda: _status(a), lambda s: s["status"] == "completed", what="the second scan"
        )


async def test_a_scan_whose_replica_stopped_reads_failed_and_may_run_again(
    platform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = GatedScans(monkeypatch)
    async with replica() as b:
        async with replica() as a:
            assert (await a.post(SCAN, headers=auth(ADMIN_KEY))).status_code == 202
            assert (await _status(b))["status"] == "running"
        # `a` stopped mid-scan: nobody holds the tenant's scan any more.
        assert (await _status(b))["status"] == "failed"
        gate.release.set()
        assert (await b.post(SCAN, headers=auth(ADMIN_KEY))).status_code == 202
        done = await eventually(
            lambda: _status(b), lambda s: s["status"] != "running", what="the new scan"
        )
        assert done["status"] == "completed"
