"""Privacy > audit log: every filter is the audit API's, so it holds on every page."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient

from tests.console.fake_platform import FakePlatform


def _audit_queries(fake: FakePlatform) -> list[dict[str, list[str]]]:
    return [parse_qs(c.url.query.decode()) for c in fake.calls if c.url.path == "/v1/audit-log"]


def test_the_filters_are_sent_to_the_audit_api_and_kept_on_the_next_page(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    sign_in("admin-key")
    filters = {"action": "crm.gdpr.erasure.requested.v1", "actor": "key:ops"}

    page = console.get(
        "/privacy/audit", params={**filters, "since": "2026-01-01", "until": "2026-01-31"}
    )

    sent = _audit_queries(fake)[-1]
    assert sent["action"] == ["crm.gdpr.erasure.requested.v1"]
    assert sent["actor"] == ["key:ops"]
    assert (sent["since"], sent["until"]) == (["2026-01-01T00:00:00Z"], ["2026-02-01T00:00:00Z"])
    assert '<option value="crm.gdpr.erasure.requested.v1">' in page.text  # suggested actions
    found = re.search(r'<a href="([^"]+)" rel="next">', page.text)
    assert found
    following = console.get(html.unescape(found.group(1)))
    assert following.status_code == 200
    again = _audit_queries(fake)[-1]
    assert (again["action"], again["cursor"], again["since"]) == (
        sent["action"],
        ["a2"],
        sent["since"],
    )
    assert 'rel="prev"' in following.text


def test_a_day_that_is_not_a_date_is_named_and_the_api_is_not_asked(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    sign_in("admin-key")
    asked_at_sign_in = len(_audit_queries(fake))  # the role check

    page = console.get("/privacy/audit", params={"since": "yesterday"})

    assert "Enter the first day as a date." in page.text
    assert len(_audit_queries(fake)) == asked_at_sign_in
    assert "No entries match these filters." in page.text


def test_a_filter_the_api_refuses_shows_its_reason(
    console: TestClient, sign_in: Callable[[str], str]
) -> None:
    sign_in("admin-key")

    page = console.get("/privacy/audit", params={"contact_id": "not an id"})

    assert page.status_code == 200
    assert "These filters cannot be used: contact_id" in page.text
    assert urlsplit("/privacy/audit").path in page.text
