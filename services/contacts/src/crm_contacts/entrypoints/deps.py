"""Dependencies routes use to reach what the lifespan built (the store, the settings)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from crm_contacts.settings import ContactsSettings
from crm_shared.http import StoreDep


# Async: FastAPI runs a plain function in a thread, a hop that costs more than the look-up.
async def _settings(request: Request) -> ContactsSettings:
    settings: ContactsSettings = request.app.state.settings
    return settings


async def _clock(request: Request) -> Callable[[], datetime]:
    # The app's clock (utcnow), replaceable so retention can be tested without waiting.
    clock: Callable[[], datetime] = request.app.state.clock
    return clock


Store = StoreDep
Settings = Annotated[ContactsSettings, Depends(_settings)]
Clock = Annotated[Callable[[], datetime], Depends(_clock)]
