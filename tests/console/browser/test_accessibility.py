"""axe-core finds no serious or critical accessibility violation on the console's screens."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.conftest import ADMIN_KEY, auth
from tests.console.browser.helpers import serious_violations
from tests.e2e.conftest import RunningPlatform

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.timeout(180)]
SCREENS = (
    "/contacts",
    "/contacts/{id}",
    "/contacts/new",
    "/imports/new",
    "/exports/new",
    "/privacy",
    "/privacy/audit",
    "/privacy/suppressions",
    "/settings/forms/new",
    "/settings",
)


@pytest.fixture(scope="module")
def signed_in(browser: Browser, stack: RunningPlatform) -> Iterator[Page]:
    """An admin's tab, signed in once for every screen."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{stack.url('console')}/signin")
    page.get_by_label("API key").fill(ADMIN_KEY)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/contacts")
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="module")
def contact_id(stack: RunningPlatform) -> str:
    with httpx.Client(base_url=stack.url("contacts"), headers=auth(ADMIN_KEY)) as client:
        client.post(
            "/v1/custom-fields",
            json={"key": "tier", "label": "Tier", "type": "multi_select", "options": ["a", "b"]},
        )
        created = client.post("/v1/contacts", json={"name": "Axe Checked", "tags": ["vip"]})
        return str(created.json()["id"])


@pytest.mark.parametrize("screen", SCREENS)
def test_the_screen_has_no_serious_accessibility_violation(
    signed_in: Page, stack: RunningPlatform, contact_id: str, screen: str
) -> None:
    signed_in.goto(stack.url("console") + screen.format(id=contact_id))

    assert serious_violations(signed_in) == []


def test_the_check_itself_reports_an_unlabelled_input(signed_in: Page) -> None:
    signed_in.set_content(
        "<html lang='en'><head><title>t</title></head><body><main><input></main></body></html>"
    )

    assert [v["id"] for v in serious_violations(signed_in)] == ["label"]
