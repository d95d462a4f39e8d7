"""Requesting an erasure: it cannot be undone, so it is confirmed first; admins find it (and
the access request) on the contact's page too."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.console.fake_platform import FakePlatform


def _erasures_sent(fake: FakePlatform) -> list[str]:
    return [
        c.content.decode()
        for c in fake.calls
        if c.method == "POST" and c.url.path == "/v1/erasure-requests"
    ]


def test_an_erasure_is_requested_only_once_the_person_confirmed_it(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    csrf = sign_in("admin-key")

    unconfirmed = console.post("/privacy/erasures", data={"csrf_token": csrf, "contact_id": "c1"})

    assert unconfirmed.status_code == 422
    assert "Tick the box to confirm the erasure: it cannot be undone." in unconfirmed.text
    assert 'name="contact_id" required value="c1"' in unconfirmed.text  # kept to tick and resend
    assert _erasures_sent(fake) == []

    confirmed = console.post(
        "/privacy/erasures", data={"csrf_token": csrf, "contact_id": "c1", "confirm": "yes"}
    )

    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == "/privacy/erasures/e9"
    assert _erasures_sent(fake) == ['{"contact_id":"c1"}']


def test_the_contact_page_offers_an_admin_the_persons_privacy_actions(
    console: TestClient, sign_in: Callable[[str], str]
) -> None:
    sign_in("admin-key")

    page = console.get("/contacts/c1").text

    privacy = page.split('id="privacy"')[1].split("</section>")[0]
    assert '<a href="/privacy/audit?contact_id=c1">' in privacy
    assert 'action="/privacy/access"' in privacy
    assert 'action="/privacy/erasures"' in privacy
    assert '<input type="hidden" name="contact_id" value="c1">' in privacy
    assert 'name="confirm" value="yes" required' in privacy


def test_an_editor_is_not_offered_privacy_actions_on_the_contact_page(
    console: TestClient, sign_in: Callable[[str], str]
) -> None:
    sign_in("editor-key")

    page = console.get("/contacts/c1").text

    assert 'id="privacy"' not in page
    assert "Erase this person" not in page
