"""Dependencies routes use to reach what the lifespan built (the store, the settings)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from crm_contacts.settings import ContactsSettings
from crm_shared.http import StoreDep


def _settings(request: Request) -> ContactsSettings:
    settings: ContactsSettings = request.app.state.settings
    return settings


Store = StoreDep
Settings = Annotated[ContactsSettings, Depends(_settings)]
