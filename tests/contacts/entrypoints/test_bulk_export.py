"""A bulk `export` hands the selection to the importer's export over its public HTTP API."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from crm_contacts.bootstrap import create_app as create_contacts
from crm_importer.bootstrap import create_app as create_importer
from tests.conftest import EDITOR_KEY, auth
from tests.contacts.bulk_support import results, run_bulk
from tests.contacts.helpers import Harness
from tests.polling import app_lifespan, eventually


class _Late:
    """An ASGI app forwarding to one set later (the two services call each other)."""

    app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@pytest.fixture
async def both(platform_env: dict[str, str]) -> AsyncIterator[tuple[Harness, httpx.AsyncClient]]:
    """The contacts and importer apps in-process, each calling the other's HTTP API."""
    contacts_proxy = _Late()
    importer: FastAPI = create_importer(contacts_transport=httpx.ASGITransport(app=contacts_proxy))
    contacts = create_contacts(importer_transport=httpx.ASGITransport(app=importer))
    contacts_proxy.app = contacts
    async with (
        app_lifespan(contacts),
        app_lifespan(importer),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=contacts), base_url="http://contacts"
        ) as contacts_client,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=importer), base_url="http://importer"
        ) as importer_client,
    ):
        yield Harness(contacts, contacts_client), importer_client


async def _export_file(importer: httpx.AsyncClient, export_id: str) -> list[dict[str, str]]:
    async def state() -> dict[str, Any]:
        response = await importer.get(f"/v1/exports/{export_id}", headers=auth(EDITOR_KEY))
        return dict(response.json())

    done = await eventually(
        state, lambda s: s["status"] not in ("queued", "running"), what="the export finishing"
    )
    assert done["status"] == "completed", done
    download = await importer.get(f"/v1/exports/{export_id}/download", headers=auth(EDITOR_KEY))
    return list(csv.DictReader(io.StringIO(download.text)))


async def test_export_hands_exactly_the_selected_contacts_to_the_importer(
    both: tuple[Harness, httpx.AsyncClient],
) -> None:
    harness, importer = both
    chosen = [await harness.create(name=f"Chosen {n}", email=f"c{n}@example.com") for n in range(3)]
    await harness.create(name="Not chosen")
    job = await run_bulk(
        harness,
        action="export",
        ids=[c["id"] for c in chosen],
        params={"fields": ["id", "name", "email"]},
    )
    assert job["status"] == "completed", job
    assert job["succeeded"] == 3
    [export_id] = job["export_ids"]
    rows = await _export_file(importer, export_id)
    assert sorted(r["id"] for r in rows) == sorted(c["id"] for c in chosen)
    assert {r["email"] for r in rows} == {"c0@example.com", "c1@example.com", "c2@example.com"}
    outcomes = await results(harness, job["id"])
    assert all(o["reason"] == f"handed to export {export_id}" for o in outcomes)


async def test_an_export_field_the_importer_refuses_fails_the_job_with_its_reason(
    both: tuple[Harness, httpx.AsyncClient],
) -> None:
    harness, _ = both
    contact = await harness.create()
    job = await run_bulk(harness, action="export", ids=[contact["id"]], params={"fields": ["shoe"]})
    assert job["status"] == "failed"
    assert "422" in job["error"] and "shoe" in job["error"]
