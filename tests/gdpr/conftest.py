"""Fixtures of the gdpr tests: a fake upstream API and the app running its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from crm_gdpr.bootstrap import create_app
from crm_gdpr.entrypoints.consumers import GdprBuses
from crm_gdpr.settings import GdprSettings
from crm_shared.storage import DocumentStore
from tests.gdpr.fakes import ALICE, CONTACTS_URL, IMPORTER_URL, TIMELINE_URL, FakeUpstream
from tests.polling import app_lifespan


@pytest.fixture
def upstream() -> FakeUpstream:
    """The fake contacts/timeline API with Alice in tenant acme."""
    fake = FakeUpstream()
    fake.add_contact("acme", dict(ALICE))
    return fake


@pytest.fixture
def settings(platform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> GdprSettings:
    """Settings for an in-process service pointing at the fake upstream API."""
    monkeypatch.setenv("CRM_CONTACTS_URL", CONTACTS_URL)
    monkeypatch.setenv("CRM_TIMELINE_URL", TIMELINE_URL)
    monkeypatch.setenv("CRM_IMPORTER_URL", IMPORTER_URL)
    return GdprSettings()


@pytest.fixture
async def app(settings: GdprSettings, upstream: FakeUpstream) -> AsyncIterator[FastAPI]:
    """The app with its lifespan running (SQLite in a temp dir, broker unreachable)."""
    application = create_app(settings, http_transport=upstream.transport())
    async with app_lifespan(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
def store(app: FastAPI) -> DocumentStore:
    """The store the app's lifespan opened."""
    opened: DocumentStore = app.state.store
    return opened


@pytest.fixture
def consumers(app: FastAPI) -> GdprBuses:
    """The message tables the app's consumer groups route by."""
    handlers: GdprBuses = app.state.buses
    return handlers
