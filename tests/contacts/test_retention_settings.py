"""Retention settings: the period and the purge interval, read from CONTACTS_* variables."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from crm_contacts.settings import ContactsSettings


def test_retention_settings_read_the_contacts_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTACTS_RETENTION_DAYS", "7")
    monkeypatch.setenv("CONTACTS_PURGE_INTERVAL_SECONDS", "60")
    settings = ContactsSettings()
    assert (settings.contacts_retention_days, settings.contacts_purge_interval_seconds) == (7, 60)


def test_retention_defaults_to_30_days_purged_hourly() -> None:
    settings = ContactsSettings()
    assert (settings.contacts_retention_days, settings.contacts_purge_interval_seconds) == (
        30,
        3600,
    )


def test_negative_retention_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTACTS_RETENTION_DAYS", "-1")
    with pytest.raises(ValidationError):
        ContactsSettings()
