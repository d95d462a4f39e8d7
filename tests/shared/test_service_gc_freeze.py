"""A service process leaves its start-up objects out of later garbage collections; an app
started inside a test process does not."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from crm_shared.service import new_service_app
from crm_shared.settings import PlatformSettings
from crm_shared.storage.memory import MemoryStore
from tests.conftest import TEST_API_KEYS
from tests.polling import app_lifespan

ROOT = Path(__file__).resolve().parents[2]
# Run by a process of its own, as `serve` runs an app: inside the test session the app's
# collection before its freeze walks the session's whole heap (13 s after tests/contacts).
SERVED_APP = """
import asyncio, gc
from tests.polling import app_lifespan
from tests.shared.test_service_gc_freeze import _app, _collectable

async def main() -> None:
    built: list[object] = []
    app = _app(built)
    app.state.freeze_gc_after_start = True  # what `serve` sets for a process of its own
    async with app_lifespan(app):
        assert gc.get_freeze_count() > 0, "nothing frozen"
        assert not _collectable(built[0]), "the start-up's object is still collected"

asyncio.run(main())
"""


class _BuiltAtStartUp:
    """An object made by the lifespan's start-up (tracked by the collector)."""


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


def _collectable(obj: object) -> bool:
    """Whether the collector still walks `obj` (it is in a generation, not frozen). The youngest
    generation first, where a new object is: the oldest holds most of a test session's heap."""
    return any(any(o is obj for o in gc.get_objects(generation=g)) for g in range(3))


def test_a_served_app_freezes_what_its_start_up_built() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SERVED_APP], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


async def test_an_app_started_in_a_test_process_freezes_nothing() -> None:
    built: list[object] = []
    frozen_before = gc.get_freeze_count()  # the session's own freeze (tests/conftest.py)
    async with app_lifespan(_app(built)):
        # Nothing added (frozen objects that die leave the count, so it may only drop).
        assert gc.get_freeze_count() <= frozen_before
        assert _collectable(built[0])
