"""The suppression list screen: admins look people up and lift an entry only with a reason."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.console.fake_platform import SUPPRESSED, FakePlatform


def _deletes(fake: FakePlatform) -> list[str]:
    return [str(c.url) for c in fake.calls if c.method == "DELETE"]


def test_an_entry_is_lifted_with_the_reason_given(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    csrf = sign_in("admin-key")
    listed = console.get("/privacy/suppressions")
    assert f'title="{SUPPRESSED}"' in listed.text

    lifted = console.post(
        f"/privacy/suppressions/{SUPPRESSED}/lift",
        data={"csrf_token": csrf, "reason": "erased by mistake, ticket 42"},
    )

    assert lifted.status_code == 303
    (sent,) = _deletes(fake)
    assert sent.endswith(f"/v1/suppressions/{SUPPRESSED}?reason=erased+by+mistake%2C+ticket+42")


def test_lifting_without_a_reason_is_refused_before_the_api_is_asked(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    csrf = sign_in("admin-key")

    refused = console.post(
        f"/privacy/suppressions/{SUPPRESSED}/lift", data={"csrf_token": csrf, "reason": " x "}
    )

    assert refused.status_code == 422
    assert "Say why it is lifted" in refused.text
    assert _deletes(fake) == []


def test_a_lookup_by_email_is_posted_and_says_whether_the_person_is_suppressed(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    csrf = sign_in("admin-key")

    hit = console.post(
        "/privacy/suppressions/lookup", data={"csrf_token": csrf, "identifier": "ada@example.com"}
    )
    miss = console.post(
        "/privacy/suppressions/lookup", data={"csrf_token": csrf, "identifier": "bo@example.com"}
    )

    assert "<strong>Suppressed.</strong>" in hit.text
    assert f"/privacy/suppressions/{SUPPRESSED}/lift" in hit.text
    assert "Not suppressed." in miss.text
    assert all("example.com" not in str(c.url) for c in fake.calls)


def test_an_editor_cannot_open_the_list(console: TestClient, sign_in: Callable[[str], str]) -> None:
    sign_in("editor-key")

    assert console.get("/privacy/suppressions").status_code == 403
