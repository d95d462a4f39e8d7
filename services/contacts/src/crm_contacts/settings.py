"""Settings of the contacts service, read from the environment."""

from __future__ import annotations

import phonenumbers
from pydantic import field_validator

from crm_shared.settings import PlatformSettings


class ContactsSettings(PlatformSettings):
    """Platform settings plus the contacts service's own (CONTACTS_* variables)."""

    contacts_host: str = "127.0.0.1"
    contacts_port: int = 8001
    contacts_default_region: str = "US"

    @field_validator("contacts_default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        region = value.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown phone region {value!r} (use an ISO 3166 code such as US)")
        return region
