"""Fixtures of the timeline tests: the app inside its lifespan and an HTTP client to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from crm_timeline.bootstrap import create_app
from tests.polling import app_lifespan


@pytest.fixture
async def app(platform_env: dict[str, str]) -> AsyncIterator[FastAPI]:
    """The timeline app with its store started (SQLite in a temp dir, broker unreachable)."""
    application = create_app()
    async with app_lifespan(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in-process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
