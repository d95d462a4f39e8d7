"""Bulk actions from the contact list: selected rows, all matching, progress, not available."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.console.fake_platform import FakePlatform


def test_an_editor_gets_row_checkboxes_and_a_viewer_does_not(
    console: TestClient, sign_in: Callable[[str], str]
) -> None:
    sign_in("editor-key")
    editor_page = console.get("/contacts").text
    sign_in("viewer-key")
    viewer_page = console.get("/contacts").text

    assert 'name="ids" value="c1"' in editor_page and "Apply" in editor_page
    assert 'name="ids"' not in viewer_page and "Bulk action" not in viewer_page


def test_selected_rows_are_sent_by_id_and_the_progress_is_shown(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    fake.bulk_bodies = []
    csrf = sign_in("editor-key")

    started = console.post(
        "/contacts/bulk",
        data={"csrf_token": csrf, "action": "add_tags", "value": "vip, q3", "ids": ["c1", "c2"]},
    )
    progress = console.get("/bulk/b1")

    assert started.status_code == 303 and started.headers["location"] == "/bulk/b1"
    assert fake.bulk_bodies == [
        {"action": "add_tags", "params": {"tags": ["vip", "q3"]}, "ids": ["c1", "c2"]}
    ]
    assert "1 of 2" in progress.text and 'hx-trigger="every 1s"' in progress.text


def test_all_matching_sends_the_lists_filters(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    fake.bulk_bodies = []
    csrf = sign_in("editor-key")

    console.post(
        "/contacts/bulk",
        data={
            "csrf_token": csrf,
            "action": "assign_owner",
            "value": "user-7",
            "scope": "all",
            "filter.q": "ada",
            "filter.tag": "vip",
            "filter.source": "import",
            "filter.cf_key": "plan",
            "filter.cf_value": "pro",
        },
    )

    assert fake.bulk_bodies == [
        {
            "action": "assign_owner",
            "params": {"owner": "user-7"},
            "filter": {
                "q": "ada",
                "tag": ["vip"],
                "source": "import",
                "custom": [{"key": "plan", "eq": "pro"}],
            },
        }
    ]


def test_without_a_bulk_api_the_console_says_not_available(
    console: TestClient, sign_in: Callable[[str], str]
) -> None:
    csrf = sign_in("editor-key")

    response = console.post(
        "/contacts/bulk", data={"csrf_token": csrf, "action": "delete", "ids": ["c1"]}
    )

    assert response.status_code == 404
    assert "Bulk actions are not available here." in response.text


def test_all_matching_carries_the_campaign_and_consent_filters(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    fake.bulk_bodies = []
    csrf = sign_in("editor-key")

    console.post(
        "/contacts/bulk",
        data={
            "csrf_token": csrf,
            "action": "add_tags",
            "value": "q3",
            "scope": "all",
            "filter.campaign": "cmp1",
            "filter.consent": "newsletter:email, !sms_offers:sms",
        },
    )

    (body,) = fake.bulk_bodies
    assert body["filter"] == {
        "campaign": "cmp1",
        "consent": ["newsletter:email", "!sms_offers:sms"],
    }


def test_deleting_all_matching_without_a_filter_is_refused_before_the_api_is_asked(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    fake.bulk_bodies = []
    csrf = sign_in("editor-key")
    unfiltered = {"csrf_token": csrf, "action": "delete", "scope": "all", "filter.q": " "}

    refused = console.post("/contacts/bulk", data=unfiltered)

    assert refused.status_code == 422
    assert "deleting all matching contacts without a filter" in refused.text
    assert fake.bulk_bodies == []
    filtered = console.post("/contacts/bulk", data={**unfiltered, "filter.tag": "churned"})
    assert filtered.status_code == 303
    assert fake.bulk_bodies == [{"action": "delete", "params": {}, "filter": {"tag": ["churned"]}}]


def test_a_refused_bulk_action_leads_back_to_the_list_with_its_filters(
    console: TestClient, sign_in: Callable[[str], str]
) -> None:
    csrf = sign_in("editor-key")

    refused = console.post(
        "/contacts/bulk",
        data={"csrf_token": csrf, "action": "", "filter.tag": "vip", "filter.q": "ada lovelace"},
    )

    assert refused.status_code == 422
    assert "Choose an action." in refused.text
    assert '<a href="/contacts?q=ada+lovelace&amp;tag=vip">Back to contacts</a>' in refused.text
