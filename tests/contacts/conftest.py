"""Fixtures of the contacts tests: the app with its lifespan, an HTTP client, outbox readers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from crm_contacts.bootstrap import create_app
from crm_shared.devstack import EmbeddedBroker
from tests.contacts.helpers import Harness
from tests.polling import app_lifespan


@pytest.fixture
async def app(platform_env: dict[str, str]) -> AsyncIterator[FastAPI]:
    """The contacts app with its lifespan running (SQLite in a temp dir, broker unreachable)."""
    application = create_app()
    async with app_lifespan(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in-process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
def harness(app: FastAPI, client: httpx.AsyncClient) -> Harness:
    """Shortcuts for creating contacts and reading the outbox."""
    return Harness(app, client)


@pytest.fixture
async def live_app(
    platform_env: dict[str, str], broker: EmbeddedBroker, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The contacts app wired to the real embedded broker, with an HTTP client."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap_servers)
    application = create_app()
    async with app_lifespan(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield application, client


@pytest.fixture
def live_client(live_app: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    """The HTTP client of `live_app`."""
    return live_app[1]
