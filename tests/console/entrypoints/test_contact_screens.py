"""What a person sees: the list, the contact page by role, conflicts, validation messages."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.console.fake_platform import FakePlatform


def test_the_list_asks_for_one_page_of_fifty_with_the_filters_and_sort(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    sign_in("viewer-key")

    page = console.get("/contacts?q=ada&tag=vip,newsletter&source=manual&sort=-name")

    assert page.status_code == 200
    assert "Ada Lovelace" in page.text
    listing = next(c for c in reversed(fake.calls) if c.url.path == "/v1/contacts")
    params = listing.url.params
    assert params["limit"] == "50"
    assert params["q"] == "ada"
    assert params.get_list("tag") == ["vip", "newsletter"]
    assert params["source"] == "manual"
    assert params["sort"] == "-name"
    assert "cursor=next-page-cursor" in page.text


def test_a_viewer_sees_the_contact_without_any_edit_control(
    console: TestClient, sign_in: Callable[[str], str]
) -> None:
    sign_in("viewer-key")

    page = console.get("/contacts/c1")

    assert page.status_code == 200
    assert "Analytical Engines" in page.text
    assert "hx-patch" not in page.text
    assert "Delete contact" not in page.text
    assert "Add a note" not in page.text
    assert "Record consent" not in page.text
    assert "New contact" not in page.text


def test_an_admin_gets_inline_edits_typed_custom_fields_and_delete(
    console: TestClient, sign_in: Callable[[str], str]
) -> None:
    sign_in("admin-key")

    page = console.get("/contacts/c1").text

    assert 'hx-patch="/contacts/c1/fields/name"' in page
    assert 'hx-trigger="input delay:600ms, submit"' in page
    assert '<option value="pro" selected>pro</option>' in page  # the dropdown custom field
    assert 'value="source:manual"' in page  # system tags are sent back untouched
    assert "Delete contact" in page


def test_a_viewer_cannot_save_even_with_a_valid_token(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    csrf = sign_in("viewer-key")

    response = console.patch(
        "/contacts/c1/fields/name",
        data={"value": "Eve", "version": "3"},
        headers={"X-CSRF-Token": csrf},
    )

    assert response.status_code == 403
    assert "needs the editor role" in response.text
    assert not any(c.method == "PATCH" for c in fake.calls)


def test_a_stale_save_shows_both_values_and_a_choice(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    csrf = sign_in("editor-key")
    fake.stored = {**fake.stored, "company": "Babbage & Co", "version": 5}

    response = console.patch(
        "/contacts/c1/fields/company",
        data={"value": "Lovelace Ltd", "version": "3"},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )

    assert response.status_code == 200
    assert "Someone else changed this meanwhile" in response.text
    assert '<strong class="theirs">Babbage &amp; Co</strong>' in response.text
    assert '<strong class="mine">Lovelace Ltd</strong>' in response.text
    assert "Keep mine" in response.text and "Use theirs" in response.text
    # The page now holds the current version, so "Keep mine" saves over it.
    assert 'id="version" name="version" value="5"' in response.text
    assert fake.stored["company"] == "Babbage & Co"


def test_tags_are_saved_with_the_system_tags_sent_back(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    csrf = sign_in("editor-key")

    console.patch(
        "/contacts/c1/fields/tags",
        data={"value": "vip, newsletter", "version": "3", "system_tags": "source:manual"},
        headers={"X-CSRF-Token": csrf},
    )

    assert fake.stored["tags"] == ["vip", "newsletter", "source:manual"]


def test_the_new_contact_form_shows_the_apis_message_next_to_the_field(
    console: TestClient, sign_in: Callable[[str], str]
) -> None:
    csrf = sign_in("editor-key")

    response = console.post(
        "/contacts/new", data={"name": "Bob", "email": "not-an-email", "csrf_token": csrf}
    )

    assert response.status_code == 422
    assert 'id="new-email-error">Email is not a valid email address</p>' in response.text
    assert 'value="not-an-email"' in response.text  # what was typed stays


def test_a_created_contact_opens_its_page(
    console: TestClient, sign_in: Callable[[str], str]
) -> None:
    csrf = sign_in("editor-key")

    response = console.post(
        "/contacts/new",
        data={"name": "Bob", "email": "bob@example.com", "cf.plan": "basic", "csrf_token": csrf},
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/contacts/c2?created=1"


def test_use_theirs_shows_the_field_with_the_stored_value_and_version(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    sign_in("editor-key")
    fake.stored = {**fake.stored, "company": "Babbage & Co", "version": 7}

    response = console.get("/contacts/c1/fields/company", headers={"HX-Request": "true"})

    assert 'id="f-company" name="value" type="text" value="Babbage &amp; Co"' in response.text
    assert 'id="version" name="version" value="7" hx-swap-oob="true"' in response.text


def test_an_unknown_field_is_a_404_not_a_500(
    console: TestClient, sign_in: Callable[[str], str]
) -> None:
    csrf = sign_in("editor-key")

    response = console.patch(
        "/contacts/c1/fields/cf.nope", data={"value": "x"}, headers={"X-CSRF-Token": csrf}
    )

    assert response.status_code == 404
    assert "contacts have no field cf.nope" in response.text


def test_a_custom_field_chosen_in_the_new_contact_form_reaches_the_api(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    csrf = sign_in("editor-key")

    response = console.post(
        "/contacts/new", data={"name": "Bob", "cf.plan": "pro", "csrf_token": csrf}
    )

    assert response.status_code == 303
    created = next(c for c in fake.calls if c.method == "POST" and c.url.path == "/v1/contacts")
    assert b'"custom_fields":{"plan":"pro"}' in created.content.replace(b" ", b"")


def test_the_list_filters_by_campaign_and_consent_and_links_back_to_the_previous_page(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    sign_in("viewer-key")

    page = console.get("/contacts?campaign=cmp1&consent=newsletter:email&cursor=p3&back=p2")

    sent = [c for c in fake.calls if c.url.path == "/v1/contacts"][-1].url.params
    assert sent["campaign"] == "cmp1"
    assert sent["consent"] == "newsletter:email"
    assert sent["cursor"] == "p3"
    assert (
        'href="/contacts?campaign=cmp1&amp;consent=newsletter%3Aemail&amp;cursor=p2" rel="prev"'
        in page.text
    )
    assert "back=p2&amp;back=p3" in page.text  # the next page remembers both
    assert '<option value="cmp1" selected>Spring launch</option>' in page.text
