"""FastAPI dependencies: the objects the composition root put on `app.state`."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import Depends, Request

from crm_gdpr.adapters.upstream import ContactsApi, ImporterApi, TimelineApi
from crm_gdpr.settings import GdprSettings
from crm_shared.http import StoreDep


def _settings_of(request: Request) -> GdprSettings:
    settings: GdprSettings = request.app.state.settings
    return settings


def _http(request: Request) -> httpx.AsyncClient:
    client: httpx.AsyncClient = request.app.state.http
    return client


# The dependencies are async: FastAPI runs a plain function in a thread, a hop that costs
# more than building a client wrapper from `app.state`.
async def _settings(request: Request) -> GdprSettings:
    return _settings_of(request)


async def _contacts(request: Request) -> ContactsApi:
    # Forwarding the caller's credentials makes the contacts service enforce the tenant too.
    settings = _settings_of(request)
    return ContactsApi(
        _http(request), settings.crm_contacts_url, request.headers.get("authorization")
    )


async def _timeline(request: Request) -> TimelineApi:
    settings = _settings_of(request)
    return TimelineApi(
        _http(request),
        settings.crm_timeline_url,
        request.headers.get("authorization"),
        max_pages=settings.gdpr_export_max_timeline_pages,
    )


async def _importer(request: Request) -> ImporterApi:
    settings = _settings_of(request)
    return ImporterApi(
        _http(request), settings.crm_importer_url, request.headers.get("authorization")
    )


Store = StoreDep
Settings = Annotated[GdprSettings, Depends(_settings)]
Contacts = Annotated[ContactsApi, Depends(_contacts)]
Timeline = Annotated[TimelineApi, Depends(_timeline)]
Importer = Annotated[ImporterApi, Depends(_importer)]
