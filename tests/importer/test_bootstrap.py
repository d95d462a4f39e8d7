"""The composition root: settings, health routes, and start-up with the broker down."""

from __future__ import annotations

import httpx
import pytest

from crm_importer.settings import ImporterSettings


def test_the_settings_have_the_documented_defaults(platform_env: dict[str, str]) -> None:
    settings = ImporterSettings()

    assert settings.importer_port == 8003
    assert settings.importer_batch_size == 1000
    assert settings.importer_max_upload_bytes == 200 * 1024 * 1024
    assert settings.crm_default_region == "US"


def test_settings_are_read_from_importer_variables(
    platform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMPORTER_BATCH_SIZE", "250")
    monkeypatch.setenv("IMPORTER_PORT", "9003")

    settings = ImporterSettings()

    assert (settings.importer_batch_size, settings.importer_port) == (250, 9003)


def test_the_default_region_is_upper_cased_and_must_be_known(
    platform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_DEFAULT_REGION", " gb ")
    assert ImporterSettings().crm_default_region == "GB"

    monkeypatch.setenv("CRM_DEFAULT_REGION", "XX")
    with pytest.raises(ValueError, match="unknown phone region"):
        ImporterSettings()


async def test_the_service_is_alive_while_the_broker_is_down(client: httpx.AsyncClient) -> None:
    healthz = await client.get("/healthz")
    readyz = await client.get("/readyz")

    assert healthz.status_code == 200
    assert readyz.status_code == 503
    assert readyz.json()["checks"]["store"] == "ok"
    assert readyz.json()["checks"]["broker"].startswith("unavailable")


async def test_the_api_documentation_is_served(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 200
