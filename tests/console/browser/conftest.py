"""The platform (broker, four services, console) as processes, and headless Chromium from the OS."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.e2e.conftest import RunningPlatform, start_platform

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path(os.environ.get("CRM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
DOC_IMAGES = ROOT / "docs" / "img"

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    """The whole platform with the console, shared by every browser test.

    Stopped when the browser tests end: an idle platform kept for the rest of the session
    took most of a core (its consumers poll the broker) from every test after it.
    """
    # A loaded machine (other test runs beside this one) starts a service in well over 30 s.
    running = start_platform(tmp_path_factory.mktemp("console-platform"), ready_seconds=90.0)
    try:
        yield running
    finally:
        running.platform.stop()
        running.broker.stop()


@pytest.fixture(scope="module")
def browser(stack: RunningPlatform) -> Iterator[Browser]:
    """Headless Chromium from the OS packages (never a downloaded browser build).

    It starts after the platform: Playwright's sync API runs an event loop in this thread, and
    the platform's start-up runs one of its own. It ends with its module: while it runs, that
    loop counts as running in this thread, and every asyncio test after it would fail
    ("Runner.run() cannot be called from a running event loop").
    """
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium chromium-driver")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser tab with no cookies, laptop-sized."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()
