"""A service process leaves its start-up objects out of later garbage collections; an app
started inside a test process does not."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI

from crm_shared.service import new_service_app
from crm_shared.settings import PlatformSettings
from crm_shared.storage.memory import MemoryStore
from tests.conftest import TEST_API_KEYS
from tests.polling import app_lifespan


class _BuiltAtStartUp:
    """An object made by the lifespan's start-up (tracked by the collector)."""


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Nothing frozen during the test; the session's freeze (tests/conftest.py) put back after."""
    frozen = gc.get_freeze_count() > 0
    gc.unfreeze()
    yield
    gc.unfreeze()
    if frozen:  # without a collection first: late in a session it walks ~1M objects (~9 s)
        gc.freeze()


def _app(built: list[object]) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = MemoryStore()
        await store.start([])
        app.state.store = store
        built.append(_BuiltAtStartUp())
        yield

    settings = PlatformSettings(crm_api_keys=TEST_API_KEYS)
    return new_service_app(title="t", description="t", settings=settings, lifespan=lifespan)


@pytest.mark.usefixtures("unfrozen")
async def test_a_served_app_freezes_what_its_start_up_built() -> None:
    built: list[object] = []
    app = _app(built)
    app.state.freeze_gc_after_start = True  # what `serve` sets for a process of its own
    async with app_lifespan(app):
        assert gc.get_freeze_count() > 0
        assert not any(obj is built[0] for obj in gc.get_objects())  # frozen: not collected


@pytest.mark.usefixtures("unfrozen")
async def test_an_app_started_in_a_test_process_freezes_nothing() -> None:
    built: list[object] = []
    async with app_lifespan(_app(built)):
        assert gc.get_freeze_count() == 0
        assert any(obj is built[0] for obj in gc.get_objects())
