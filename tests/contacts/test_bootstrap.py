"""The composition root: settings, health checks, the app starting without a broker."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from crm_contacts.settings import ContactsSettings
from tests.contacts.helpers import Harness


def test_settings_read_the_contacts_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTACTS_PORT", "9101")
    monkeypatch.setenv("CRM_DEFAULT_REGION", "gb")
    settings = ContactsSettings()
    assert (settings.contacts_port, settings.crm_default_region) == (9101, "GB")
    assert settings.contacts_host == "127.0.0.1"


def test_unknown_phone_region_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_DEFAULT_REGION", "XX")
    with pytest.raises(ValidationError):
        ContactsSettings()


async def test_service_serves_http_while_the_broker_is_down(harness: Harness) -> None:
    assert (await harness.client.get("/healthz")).status_code == 200
    ready = await harness.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["store"] == "ok"
    assert ready.json()["checks"]["broker"].startswith("unavailable")


async def test_openapi_documents_the_contacts_routes(harness: Harness) -> None:
    paths = (await harness.client.get("/openapi.json")).json()["paths"]
    assert {
        "/v1/contacts",
        "/v1/contacts/{contact_id}",
        "/v1/contacts/{contact_id}/restore",
    } <= set(paths)
