"""Fixtures of the importer tests: the app in its lifespan, an HTTP client, a fake contacts API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from crm_contacts.bootstrap import create_app as create_contacts
from crm_importer.bootstrap import create_app
from crm_importer.settings import ImporterSettings
from tests.importer.helpers import FakeContactsApi
from tests.polling import app_lifespan

AppFactory = Callable[..., AbstractAsyncContextManager[FastAPI]]


@pytest.fixture
def contacts_api() -> FakeContactsApi:
    """An empty fake contacts API; tests fill `contacts`."""
    return FakeContactsApi(contacts=[])


@pytest.fixture
def running_app(platform_env: dict[str, str], contacts_api: FakeContactsApi) -> AppFactory:
    """Start an importer app (settings overridable) inside its lifespan; reusable for restarts."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[FastAPI]:
        application = create_app(
            ImporterSettings(**overrides), contacts_transport=contacts_api.transport()
        )
        async with app_lifespan(application):
            yield application

    return start


@pytest.fixture
async def app(running_app: AppFactory) -> AsyncIterator[FastAPI]:
    """The importer app (SQLite in a temp dir, broker unreachable); batches of 2 rows, so small
    files already make several batches."""
    async with running_app(importer_batch_size=2) as application:
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in-process."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        yield http


@pytest.fixture
async def with_contacts(
    platform_env: dict[str, str],
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, httpx.AsyncClient]]:
    """The importer (batches of 2 rows) calling the real contacts app in-process."""
    contacts = create_contacts()
    importer = create_app(
        ImporterSettings(importer_batch_size=2),
        contacts_transport=httpx.ASGITransport(app=contacts),
    )
    async with (
        app_lifespan(contacts),
        app_lifespan(importer),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=contacts), base_url="http://contacts"
        ) as contacts_client,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=importer), base_url="http://importer"
        ) as importer_client,
    ):
        yield importer, importer_client, contacts_client
