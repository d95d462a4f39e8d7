"""Signing in keeps the key server-side behind a strict cookie; changes need the CSRF token."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.console.conftest import csrf_of
from tests.console.fake_platform import FakePlatform


def test_signing_in_sets_an_httponly_samesite_strict_cookie_without_the_key(
    console: TestClient,
) -> None:
    form = console.get("/signin")
    response = console.post(
        "/signin", data={"api_key": "admin-key", "csrf_token": csrf_of(form.text)}
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/contacts"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("crm_console_session=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "admin-key" not in cookie


def test_a_refused_key_shows_a_message_and_opens_no_session(console: TestClient) -> None:
    form = console.get("/signin")
    response = console.post(
        "/signin", data={"api_key": "stolen-key", "csrf_token": csrf_of(form.text)}
    )

    assert response.status_code == 401
    assert "this API key is not accepted" in response.text
    assert "crm_console_session" not in response.headers.get("set-cookie", "")


def test_signing_in_without_the_form_token_is_refused(console: TestClient) -> None:
    response = console.post("/signin", data={"api_key": "admin-key", "csrf_token": "forged"})

    assert response.status_code == 403
    assert "The form expired" in response.text


def test_pages_redirect_to_sign_in_without_a_session(console: TestClient) -> None:
    response = console.get("/contacts/c1")

    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=%2Fcontacts%2Fc1"


def test_an_external_next_url_is_ignored_after_sign_in(console: TestClient) -> None:
    form = console.get("/signin")
    response = console.post(
        "/signin",
        data={"api_key": "admin-key", "csrf_token": csrf_of(form.text), "next": "//evil.test"},
    )

    assert response.headers["location"] == "/contacts"


def test_a_change_without_the_csrf_token_is_refused_and_never_reaches_the_api(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    sign_in("admin-key")
    before = len(fake.calls)

    patch = console.patch("/contacts/c1/fields/name", data={"value": "Eve", "version": "3"})
    note = console.post("/contacts/c1/notes", data={"body": "hi", "csrf_token": "wrong"})
    delete = console.post("/contacts/c1/delete", data={"version": "3"})

    assert [patch.status_code, note.status_code, delete.status_code] == [403, 403, 403]
    assert "did not come from this console" in delete.text
    assert len(fake.calls) == before


def test_a_change_with_the_csrf_header_goes_through(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    csrf = sign_in("admin-key")

    response = console.patch(
        "/contacts/c1/fields/name",
        data={"value": "Ada King", "version": "3"},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )

    assert response.status_code == 200
    assert "Saved" in response.text
    assert fake.stored["name"] == "Ada King"
    assert 'id="version" name="version" value="4" hx-swap-oob="true"' in response.text


def test_signing_out_forgets_the_session(
    console: TestClient, sign_in: Callable[[str], str]
) -> None:
    csrf = sign_in("admin-key")

    out = console.post("/signout", data={"csrf_token": csrf})
    after = console.get("/contacts")

    assert out.status_code == 303
    assert after.status_code == 303
    assert after.headers["location"].startswith("/signin")


def test_metrics_count_the_consoles_requests_by_route_without_signing_in(
    console: TestClient, sign_in: Callable[[str], str]
) -> None:
    sign_in("viewer-key")
    console.get("/contacts", params={"q": "ada@example.com"})

    metrics = console.get("/metrics")

    assert metrics.status_code == 200
    assert 'crm_http_requests_total{method="GET",route="/contacts",status="200"}' in metrics.text
    assert "ada@example.com" not in metrics.text
