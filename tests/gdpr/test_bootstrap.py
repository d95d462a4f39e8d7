"""The composition root: settings, health checks, and serving HTTP with the broker down."""

from __future__ import annotations

import httpx
import pytest

from crm_gdpr.settings import GdprSettings


def test_settings_default_to_port_8004(platform_env: dict[str, str]) -> None:
    settings = GdprSettings()
    assert (settings.gdpr_host, settings.gdpr_port) == ("127.0.0.1", 8004)


def test_settings_read_the_port_from_the_environment(
    platform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GDPR_PORT", "9104")
    assert GdprSettings().gdpr_port == 9104


async def test_liveness_answers_without_a_key(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.json() == {"status": "ok"}


async def test_readiness_reports_the_unreachable_broker(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["store"] == "ok"
    assert checks["broker"].startswith("unavailable")


async def test_openapi_lists_the_v1_routes(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {
        "/v1/erasure-requests",
        "/v1/erasure-requests/{erasure_id}",
        "/v1/audit-log",
        "/v1/audit-log/verify",
        "/v1/contacts/{contact_id}/consents",
        "/v1/data-exports",
    } <= set(paths)
