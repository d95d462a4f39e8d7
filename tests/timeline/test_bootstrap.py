"""The composition root: the app starts and serves HTTP while the broker is unreachable."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from crm_timeline.bootstrap import create_app
from crm_timeline.settings import TimelineSettings
from tests.conftest import EDITOR_KEY, auth
from tests.timeline.factories import seed_contact


def test_settings_read_the_port_from_the_environment(
    platform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIMELINE_PORT", "9102")

    assert TimelineSettings().timeline_port == 9102
    assert TimelineSettings(timeline_port=8002).timeline_host == "127.0.0.1"


async def test_the_app_serves_with_the_broker_unreachable(
    app: FastAPI, client: httpx.AsyncClient, platform_env: dict[str, str]
) -> None:
    contact_id = await seed_contact(app)

    note = await client.post(
        f"/v1/contacts/{contact_id}/notes", json={"body": "hi"}, headers=auth(EDITOR_KEY)
    )
    health = await client.get("/healthz")
    ready = await client.get("/readyz")

    assert note.status_code == 201
    assert health.status_code == 200
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["store"] == "ok"
    assert checks["broker"].startswith("unavailable")
    assert len(await app.state.store.pending_events(10)) == 1
    assert (Path(platform_env["CRM_DATA_DIR"]) / "timeline.sqlite3").exists()


async def test_the_openapi_document_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")

    paths = response.json()["paths"]
    assert "/v1/contacts/{contact_id}/timeline" in paths
    assert "/v1/contacts/{contact_id}/notes" in paths
    assert "/v1/contacts/{contact_id}/activities" in paths


def test_building_the_app_opens_no_store(platform_env: dict[str, str]) -> None:
    app = create_app()

    assert not hasattr(app.state, "store")
    assert not (Path(platform_env["CRM_DATA_DIR"]) / "timeline.sqlite3").exists()
