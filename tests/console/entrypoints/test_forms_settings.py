"""Settings > Forms: an admin creates and edits a form; the API's refusal shows on the editor."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.console.fake_platform import FakePlatform


def test_a_form_is_created_then_its_origins_edited(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    csrf = sign_in("admin-key")
    editor = console.get("/settings/forms/new")
    assert 'name="field.custom_fields.plan"' in editor.text  # custom fields can be filled too

    created = console.post(
        "/settings/forms",
        data={"csrf_token": csrf, "name": "Signup", "field.email": "mail", "origins": ""},
    )
    assert created.status_code == 303
    assert fake.forms["f1"]["fields"] == {"mail": "email"}
    page = console.get("/settings/forms/f1")
    assert 'value="mail"' in page.text and "fk_1" in page.text
    saved = console.post(
        "/settings/forms/f1",
        data={
            "csrf_token": csrf,
            "name": "Signup",
            "field.email": "mail",
            "origins": "https://shop.example",
        },
    )

    assert saved.status_code == 303
    assert fake.forms["f1"]["allowed_origins"] == ["https://shop.example"]
    assert "mail → email" in console.get("/settings").text


def test_the_apis_refusal_is_shown_on_the_editor_with_the_values_kept(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    csrf = sign_in("admin-key")

    refused = console.post(
        "/settings/forms",
        data={"csrf_token": csrf, "name": "No id", "field.name": "full_name"},
    )

    assert refused.status_code == 422
    assert "an email or a phone must be mapped" in refused.text
    assert 'value="full_name"' in refused.text
    assert fake.forms == {}


def test_only_admins_edit_forms(console: TestClient, sign_in: Callable[[str], str]) -> None:
    csrf = sign_in("editor-key")

    assert console.get("/settings/forms/new").status_code == 403
    refused = console.post("/settings/forms", data={"csrf_token": csrf, "field.email": "m"})
    assert refused.status_code == 403
    assert "New form" not in console.get("/settings").text


def test_the_settings_page_has_a_plain_title_and_one_forms_section(
    console: TestClient, sign_in: Callable[[str], str]
) -> None:
    sign_in("admin-key")
    page = console.get("/settings").text
    assert "<title>Settings · CRM console</title>" in page
    assert page.count('id="forms-h"') == 1
