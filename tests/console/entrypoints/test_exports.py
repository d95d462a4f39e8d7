"""Exports: the contact list hands its filters to the export form, which sends them all."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.console.fake_platform import FakePlatform


def test_the_listed_contacts_are_exported_with_every_filter_of_the_list(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    csrf = sign_in("viewer-key")
    filters = {"tag": "vip", "campaign": "cmp1", "consent": "newsletter:email", "sort": "name"}
    listed = console.get("/contacts", params={**filters, "cf_key": "plan", "cf_value": "pro"})
    found = re.search(r'<a href="(/exports/new\?[^"]+)">Export these contacts</a>', listed.text)
    assert found

    form = console.get(html.unescape(found.group(1))).text

    assert 'id="ex-tag" name="tag" value="vip"' in form
    assert '<option value="cmp1" selected>Spring launch</option>' in form
    assert 'name="consent" value="newsletter:email"' in form
    assert '<option value="plan" selected>Plan</option>' in form
    started = console.post(
        "/exports",
        data={
            "csrf_token": csrf,
            "fields": ["name", "email"],
            "tag": "vip",
            "campaign": "cmp1",
            "consent": "newsletter:email",
            "cf_key": "plan",
            "cf_value": "pro",
        },
    )
    assert started.status_code == 303
    assert fake.exports == [
        {
            "fields": ["name", "email"],
            "filter": {
                "campaign": "cmp1",
                "tag": ["vip"],
                "consent": ["newsletter:email"],
                "custom": [{"key": "plan", "eq": "pro"}],
            },
        }
    ]


def test_a_finished_export_counts_its_rows_and_offers_another(
    console: TestClient, sign_in: Callable[[str], str]
) -> None:
    sign_in("viewer-key")

    page = console.get("/exports/x1").text

    assert "· 1 row ·" in page
    assert '<a href="/exports/new">New export</a>' in page
