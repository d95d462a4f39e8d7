"""What every screen owes a person: where they are, a title that says it, a useful empty list."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.console.fake_platform import FakePlatform


def _current_sections(page: str) -> list[str]:
    return re.findall(r'<a href="[^"]+" aria-current="page">([^<]+)</a>', page)


@pytest.mark.parametrize(
    ("path", "section"),
    [
        ("/contacts", "Contacts"),
        ("/contacts/c1", "Contacts"),
        ("/contacts/new", "New contact"),
        ("/imports/new", "Import"),
        ("/exports/new", "Export"),
        ("/privacy/audit", "Privacy"),
        ("/privacy/suppressions", "Privacy"),
        ("/settings", "Settings"),
    ],
)
def test_the_main_menu_marks_the_section_of_the_page(
    console: TestClient, sign_in: Callable[[str], str], path: str, section: str
) -> None:
    sign_in("admin-key")

    page = console.get(path)

    assert page.status_code == 200, page.text
    assert _current_sections(page.text) == [section]


def test_an_empty_tenant_is_offered_a_new_contact_or_an_import(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    fake.no_contacts = True
    sign_in("editor-key")

    empty = console.get("/contacts")
    assert "No contacts yet." in empty.text
    assert '<a href="/imports/new">import a CSV file</a>' in empty.text

    filtered = console.get("/contacts", params={"tag": "vip"})
    assert "No contacts match these filters." in filtered.text
    assert '<a href="/contacts">Clear the filters</a>' in filtered.text


def test_a_viewer_is_not_offered_to_add_contacts_to_an_empty_list(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    fake.no_contacts = True
    sign_in("viewer-key")

    empty = console.get("/contacts")

    assert "No contacts yet." in empty.text
    assert "import a CSV file" not in empty.text


def test_the_deleted_contacts_list_says_so_in_its_title(
    console: TestClient, sign_in: Callable[[str], str]
) -> None:
    sign_in("editor-key")

    deleted = console.get("/contacts", params={"deleted": "true"})

    assert "<title>Deleted contacts · CRM console</title>" in deleted.text


def test_signing_out_says_so_and_an_ended_session_says_why_it_asks_again(
    console: TestClient, sign_in: Callable[[str], str]
) -> None:
    csrf = sign_in("viewer-key")

    signed_out = console.post("/signout", data={"csrf_token": csrf})

    assert signed_out.headers["location"] == "/signin?signed_out=true"
    assert "You are signed out." in console.get(signed_out.headers["location"]).text
    asked = console.get("/contacts")
    assert asked.headers["location"] == "/signin?next=%2Fcontacts"
    assert "Sign in to continue" in console.get(asked.headers["location"]).text
    assert "Sign in to continue" not in console.get("/signin").text
