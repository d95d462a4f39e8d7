"""One default phone region for the whole platform, read by every service."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from crm_contacts.settings import ContactsSettings
from crm_gdpr.settings import GdprSettings
from crm_importer.settings import ImporterSettings
from crm_shared.settings import PlatformSettings


@pytest.fixture(autouse=True)
def _no_region_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CRM_DEFAULT_REGION", "CONTACTS_DEFAULT_REGION", "IMPORTER_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)


def test_every_service_reads_the_one_region_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_DEFAULT_REGION", " gb ")
    services = (ContactsSettings, ImporterSettings, GdprSettings)
    assert {settings().crm_default_region for settings in services} == {"GB"}


def test_the_region_defaults_to_us() -> None:
    assert PlatformSettings().crm_default_region == "US"


def test_an_unknown_region_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_DEFAULT_REGION", "XX")
    with pytest.raises(ValidationError, match="unknown phone region"):
        PlatformSettings()


@pytest.mark.parametrize("old_name", ["CONTACTS_DEFAULT_REGION", "IMPORTER_DEFAULT_REGION"])
def test_the_old_per_service_names_still_work_but_the_platform_name_wins(
    monkeypatch: pytest.MonkeyPatch, old_name: str
) -> None:
    monkeypatch.setenv(old_name, "de")
    assert PlatformSettings().crm_default_region == "DE"
    monkeypatch.setenv("CRM_DEFAULT_REGION", "fr")
    assert PlatformSettings().crm_default_region == "FR"
