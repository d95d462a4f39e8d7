"""The console app in-process, with the services replaced by a fake transport."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from crm_console.bootstrap import create_app
from crm_console.settings import ConsoleSettings
from tests.console.fake_platform import FakePlatform

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def fake() -> FakePlatform:
    """The fake services."""
    return FakePlatform()


def console_settings(data_dir: Path) -> ConsoleSettings:
    """Test settings with the console's SQLite store under `data_dir`."""
    return ConsoleSettings(crm_env="test", crm_data_dir=str(data_dir))


@pytest.fixture
def console(fake: FakePlatform, tmp_path: Path) -> Iterator[TestClient]:
    """A client of the console app (cookies kept, redirects not followed)."""
    app = create_app(console_settings(tmp_path), transport=fake.transport())
    with TestClient(app, follow_redirects=False) as client:
        yield client


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = CSRF_INPUT.search(html)
    assert found, "the page has a form with a CSRF token"
    return found.group(1)


@pytest.fixture
def sign_in(console: TestClient) -> Callable[[str], str]:
    """Sign in with a key; returns the session's CSRF token."""

    def sign_in_with(key: str) -> str:
        form = console.get("/signin")
        response = console.post(
            "/signin",
            data={"api_key": key, "csrf_token": csrf_of(form.text), "next": "/contacts"},
        )
        assert response.status_code == 303, response.text
        return csrf_of(console.get("/contacts").text)

    return sign_in_with
