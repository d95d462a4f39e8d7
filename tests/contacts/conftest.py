"""Fixtures of the contacts tests: the app with its lifespan, an HTTP client, outbox readers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from crm_contacts.bootstrap import create_app
from tests.contacts.helpers import Harness


@pytest.fixture
async def app(platform_env: dict[str, str]) -> AsyncIterator[FastAPI]:
    """The contacts app with its lifespan running (SQLite in a temp dir, broker unreachable)."""
    application = create_app()
    async with application.router.lifespan_context(application):
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
