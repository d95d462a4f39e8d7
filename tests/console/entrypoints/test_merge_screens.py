"""Possible duplicates and the merge preview, and their "not available" without those APIs."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.console.fake_platform import FakePlatform, contact

HTMX = {"HX-Request": "true"}


def test_without_a_duplicates_api_the_section_says_not_available(
    console: TestClient, sign_in: Callable[[str], str]
) -> None:
    sign_in("editor-key")

    response = console.get("/contacts/c1/duplicates", headers=HTMX)

    assert response.status_code == 200
    assert "Duplicate detection is not available" in response.text


def test_candidates_are_listed_with_score_reasons_and_a_merge_link_for_editors(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    fake.duplicates = [
        {"contact": contact(id="c3", name="Ada L."), "score": 0.96, "reasons": ["same_email"]}
    ]
    sign_in("editor-key")

    response = console.get("/contacts/c1/duplicates", headers=HTMX)

    assert "Ada L." in response.text
    assert "96%" in response.text and "same email" in response.text
    link = 'href="/merges/new?primary=c1&amp;duplicate=c3" aria-label="Review merge with Ada L."'
    assert link in response.text


def test_a_viewer_sees_candidates_without_the_merge_link(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    fake.duplicates = [{"contact": contact(id="c3"), "score": 0.9, "reasons": ["same_phone"]}]
    sign_in("viewer-key")

    response = console.get("/contacts/c1/duplicates", headers=HTMX)

    assert "Review merge" not in response.text


def test_the_preview_offers_each_value_of_a_conflicting_field_and_follows_the_choice(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    fake.duplicates = []
    csrf = sign_in("editor-key")

    first = console.get("/merges/new?primary=c1&duplicate=c3")
    chosen = console.post(
        "/merges",
        data={
            "csrf_token": csrf,
            "primary": "c1",
            "duplicate": "c3",
            "choice.company": "c3",
            "action": "preview",
        },
    )

    assert first.status_code == 200
    assert 'name="choice.company" value="c1"\n      checked' in first.text
    assert "Dup Corp" in first.text and "Analytical Engines" in first.text
    assert "<dt>company</dt><dd>Analytical Engines</dd>" in first.text
    assert "<dt>company</dt><dd>Dup Corp</dd>" in chosen.text


def test_without_a_merges_api_the_preview_says_not_available(
    console: TestClient, sign_in: Callable[[str], str]
) -> None:
    sign_in("editor-key")

    response = console.get("/merges/new?primary=c1&duplicate=c3")

    assert response.status_code == 404
    assert "Merging is not available" in response.text
