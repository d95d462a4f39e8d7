"""Privacy > erasure requests: the order chosen reaches gdpr and stays on every page link."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient

from tests.console.fake_platform import FakePlatform


def _listings(fake: FakePlatform) -> list[dict[str, list[str]]]:
    """The query of each erasure list call the console made."""
    return [
        parse_qs(c.url.query.decode())
        for c in fake.calls
        if c.method == "GET" and c.url.path == "/v1/erasure-requests"
    ]


def _link(page: str, rel: str) -> str:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', page)
    assert found, f"the page has a {rel} link"
    return html.unescape(found.group(1))


def test_the_due_soonest_order_is_asked_of_gdpr_and_kept_on_the_next_page(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    sign_in("admin-key")

    first = console.get("/privacy", params={"sort": "due_at", "status": "pending"})

    assert first.status_code == 200
    assert _listings(fake)[-1]["sort"] == ["due_at"]
    assert '<option value="due_at" selected>Due soonest first</option>' in first.text
    assert "Erasure requests, due soonest first" in first.text
    next_url = _link(first.text, "next")
    assert parse_qs(urlsplit(next_url).query)["sort"] == ["due_at"]

    second = console.get(next_url)

    sent = _listings(fake)[-1]
    assert (sent["sort"], sent["status"], sent["cursor"]) == (
        ["due_at"],
        ["pending"],
        ["erasure-page-2"],
    )
    previous = parse_qs(urlsplit(_link(second.text, "prev")).query)
    assert previous["sort"] == ["due_at"]
    assert "cursor" not in previous  # back to the first page


def test_newest_first_is_offered_and_an_unknown_order_falls_back_to_oldest_first(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    sign_in("admin-key")

    newest = console.get("/privacy", params={"sort": "-received_at"})
    assert '<option value="-received_at" selected>Newest first</option>' in newest.text
    assert _listings(fake)[-1]["sort"] == ["-received_at"]

    made_up = console.get("/privacy", params={"sort": "name"})
    assert made_up.status_code == 200
    assert _listings(fake)[-1]["sort"] == ["received_at"]
    assert "sort=" not in _link(made_up.text, "next")


def test_a_page_link_gdpr_no_longer_accepts_says_so_and_offers_the_first_page(
    console: TestClient, sign_in: Callable[[str], str]
) -> None:
    sign_in("admin-key")

    stale = console.get("/privacy", params={"sort": "-due_at", "cursor": "stale"})

    assert stale.status_code == 200
    assert "That page link no longer works" in stale.text
    assert 'href="/privacy?sort=-due_at">First page</a>' in stale.text
