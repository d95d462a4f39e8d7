"""What the browser tests share: signing in, screenshots, waiting for htmx, arranging data."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.conftest import ADMIN_KEY, auth
from tests.console.browser.conftest import DOC_IMAGES, SCREENSHOTS
from tests.e2e.conftest import RunningPlatform

SAVE_WAIT_MS = 10_000
AXE = Path(__file__).parent / "vendor" / "axe.min.js"


def shot(page: Page, name: str, *, doc: bool = False) -> None:
    """Keep a screenshot of the screen as a test artifact (and as a README image if asked)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    if doc and os.environ.get("CONSOLE_DOC_SCREENSHOTS") == "1":
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOC_IMAGES / f"console-{name}.png"), full_page=True)


def sign_in(page: Page, stack: RunningPlatform, key: str = ADMIN_KEY, path: str = "") -> str:
    """Sign in through the form; returns the console's URL."""
    console = stack.url("console")
    page.goto(f"{console}/signin")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Contacts", exact=True)).to_be_visible()
    if path:
        page.goto(f"{console}{path}")
    return console


def settled(page: Page) -> None:
    """Wait until htmx finished swapping and wiring new content (as a person would pause)."""
    page.wait_for_function(
        "!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )
    page.wait_for_timeout(100)


def api(stack: RunningPlatform, service: str) -> httpx.Client:
    """The service's API, as the test's own admin (to arrange data and to check results)."""
    return httpx.Client(base_url=stack.url(service), headers=auth(ADMIN_KEY), timeout=30)


def new_contact(stack: RunningPlatform, **fields: Any) -> dict[str, Any]:
    with api(stack, "contacts") as contacts:
        response = contacts.post("/v1/contacts", json=fields)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


def until_true(check: Callable[[], bool], *, seconds: float, what: str) -> None:
    """Wait for `check` to hold, polling; the browser tests are synchronous (Playwright's sync
    API owns this thread's event loop, so tests/polling.py's async `eventually` cannot run)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:.0f}s waiting for {what}")
        time.sleep(0.2)


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2 A/AA violations of impact serious or critical on the page."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
