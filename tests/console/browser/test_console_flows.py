"""The console's flows driven in headless Chromium against the running platform.

Each test signs in like a person, clicks and types, and checks what the page shows. A screenshot
of every screen goes to artifacts/screenshots/ (git-ignored); with CONSOLE_DOC_SCREENSHOTS=1 the
README's images in docs/img/ are refreshed too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ADMIN_KEY, VIEWER_KEY
from tests.console.browser.helpers import SAVE_WAIT_MS, api, new_contact, settled, shot, sign_in
from tests.e2e.conftest import RunningPlatform

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.timeout(180)]


def test_a_wrong_key_is_refused_and_a_right_one_opens_the_contact_list(
    page: Page, stack: RunningPlatform
) -> None:
    console = stack.url("console")
    page.goto(f"{console}/contacts")
    expect(page).to_have_url(re.compile(r"/signin\?next="))
    page.get_by_label("API key").fill("not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not accepted")
    shot(page, "signin")

    page.get_by_label("API key").fill(ADMIN_KEY)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Contacts", exact=True)).to_be_visible()
    expect(page.get_by_title("Your role")).to_have_text("admin")


def test_new_contact_shows_the_apis_message_next_to_the_field_then_opens_the_contact(
    page: Page, stack: RunningPlatform
) -> None:
    sign_in(page, stack, path="/contacts/new")
    page.get_by_label("Name").fill("Grace Hopper")
    page.get_by_label("Email").fill("grace@@example")
    page.get_by_role("button", name="Create contact").click()

    expect(page.locator("#new-email-error")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    shot(page, "new-contact-invalid")

    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_label("Tags (comma-separated)").fill("navy, pioneer")
    page.get_by_role("button", name="Create contact").click()

    expect(page.get_by_role("heading", name="Grace Hopper")).to_be_visible()
    expect(page.get_by_text("Contact created.")).to_be_visible()


def test_inline_edits_save_as_you_type_and_a_conflict_offers_both_values(
    page: Page, stack: RunningPlatform
) -> None:
    with api(stack, "contacts") as contacts:
        contacts.post(
            "/v1/custom-fields",
            json={"key": "plan", "label": "Plan", "type": "dropdown", "options": ["basic", "pro"]},
        )
    ada = new_contact(stack, name="Ada Lovelace", email="ada@example.com", company="Engines")
    sign_in(page, stack, path=f"/contacts/{ada['id']}")

    page.get_by_label("Company").fill("Analytical Engines")
    expect(page.locator("#f-company-status")).to_have_text("Saved", timeout=SAVE_WAIT_MS)
    page.get_by_label("Plan").select_option("pro")
    expect(page.locator("#f-cf-plan-status")).to_have_text("Saved", timeout=SAVE_WAIT_MS)
    shot(page, "contact", doc=True)
    with api(stack, "contacts") as contacts:
        stored = contacts.get(f"/v1/contacts/{ada['id']}").json()
        assert stored["company"] == "Analytical Engines"
        assert stored["custom_fields"] == {"plan": "pro"}
        # Someone else changes the company while the page is open.
        changed = contacts.patch(
            f"/v1/contacts/{ada['id']}",
            json={"company": "Babbage & Co"},
            headers={"If-Match": str(stored["version"])},
        )
        assert changed.status_code == 200

    page.get_by_label("Company").fill("Lovelace Ltd")

    conflict = page.locator("#f-company-status .conflict")
    expect(conflict).to_contain_text("Theirs: Babbage & Co", timeout=SAVE_WAIT_MS)
    expect(conflict).to_contain_text("Yours: Lovelace Ltd")
    shot(page, "contact-conflict")
    conflict.get_by_role("button", name="Keep mine").click()
    expect(page.locator("#f-company-status")).to_have_text("Saved", timeout=SAVE_WAIT_MS)
    with api(stack, "contacts") as contacts:
        assert contacts.get(f"/v1/contacts/{ada['id']}").json()["company"] == "Lovelace Ltd"


def test_notes_timeline_filter_and_consents_on_the_contact_page(
    page: Page, stack: RunningPlatform
) -> None:
    alan = new_contact(stack, name="Alan Turing", email="alan@example.com")
    sign_in(page, stack, path=f"/contacts/{alan['id']}")

    page.get_by_label("Add a note").fill("Called about the Enigma project")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#timeline-items")).to_contain_text("Called about the Enigma project")
    settled(page)
    expect(page.get_by_label("Add a note")).to_be_focused()  # keyboard users carry on
    # Without a duplicates API the section says so; with one it lists candidates or none.
    expect(page.locator("#duplicates")).not_to_contain_text("Looking for duplicates")
    page.get_by_label("Show").select_option("note")
    expect(page.locator("#timeline-items .item-note")).to_have_count(1)
    expect(page.locator("#timeline-items .item-contact")).to_have_count(0)

    page.get_by_label("Purpose").fill("newsletter")
    page.get_by_label("Channel").select_option("email")
    page.get_by_role("button", name="Record consent").click()
    expect(page.locator("#consents td.consent-granted")).to_have_text("granted")
    shot(page, "contact-timeline-consents")


def test_search_sort_delete_and_restore(page: Page, stack: RunningPlatform) -> None:
    new_contact(stack, name="Zed Zephyr", email="zed@example.com", tags=["lead"])
    katherine = new_contact(stack, name="Katherine Johnson", email="kj@example.com", tags=["lead"])
    console = sign_in(page, stack)

    page.get_by_label("Search", exact=True).fill("katherine")
    page.get_by_role("button", name="Search", exact=True).click()
    rows = page.locator("table.contacts tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Katherine Johnson")

    page.goto(f"{console}/contacts?tag=lead")
    page.get_by_role("link", name="Name").click()
    expect(rows.first).to_contain_text("Katherine Johnson")
    page.get_by_role("link", name=re.compile("Name")).click()
    expect(rows.first).to_contain_text("Zed Zephyr")
    shot(page, "contacts")

    page.goto(f"{console}/contacts/{katherine['id']}")
    page.get_by_role("button", name="Delete contact").click()
    expect(page.get_by_text("Contact deleted.")).to_be_visible()
    shot(page, "contacts-deleted")
    page.get_by_role("button", name="Restore").click()

    expect(page.get_by_role("heading", name="Katherine Johnson")).to_be_visible()


def test_import_wizard_maps_columns_shows_progress_and_the_rejected_rows(
    page: Page, stack: RunningPlatform, tmp_path: Any
) -> None:
    csv_file = tmp_path / "people.csv"
    csv_file.write_text(
        "Full Name,E-mail,Mobile,Notes\n"
        "Mary Jackson,mary@example.com,+1 202 555 0101,engineer\n"
        "Dorothy Vaughan,dorothy@example.com,,manager\n"
        ",broken-row@example.com,,no name\n"
    )
    sign_in(page, stack, path="/imports/new")
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload and map columns").click()

    expect(page.get_by_label("Field for column Full Name")).to_have_value("name")
    expect(page.get_by_label("Field for column E-mail")).to_have_value("email")
    expect(page.get_by_label("Field for column Mobile")).to_have_value("phone")
    expect(page.get_by_label("Field for column Notes")).to_have_value("")
    shot(page, "import-mapping", doc=True)
    page.get_by_role("button", name="Start import").click()

    expect(page.locator("#import-status")).to_have_text("completed", timeout=60_000)
    expect(page.locator("#import-created")).to_have_text("2 created")
    expect(page.locator("#import-failed")).to_have_text("1 rejected")
    shot(page, "import-progress", doc=True)
    page.get_by_role("link", name="See the rejected rows").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody tr td").first).to_have_text("3")


def test_export_with_a_filter_and_chosen_fields(page: Page, stack: RunningPlatform) -> None:
    new_contact(stack, name="Hedy Lamarr", email="hedy@example.com", tags=["inventor"])
    sign_in(page, stack, path="/exports/new")
    page.get_by_label("Tags (all of)").fill("inventor")
    page.get_by_label("phone", exact=True).uncheck()
    page.get_by_label("company", exact=True).uncheck()
    page.get_by_role("button", name="Export").click()

    expect(page.locator("#export-state")).to_have_text("completed", timeout=60_000)
    expect(page.get_by_role("status")).to_contain_text("1 row ·")
    shot(page, "export")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    content = Path(download.value.path()).read_text(encoding="utf-8")
    assert content.splitlines()[0] == "name,email,tags"
    assert "Hedy Lamarr" in content


def test_erasure_shows_each_services_status_and_the_audit_chain_verifies(
    page: Page, stack: RunningPlatform
) -> None:
    victim = new_contact(stack, name="Erase Me", email="erase.me@example.com")
    console = sign_in(page, stack, path="/privacy")
    page.get_by_label("Contact id").first.fill(victim["id"])
    page.get_by_label("this cannot be undone").check()
    page.get_by_role("button", name="Request erasure").click()

    expect(page.get_by_role("heading", name="Erasure request")).to_be_visible()
    expect(page.locator("table.receipts tbody tr")).not_to_have_count(0)
    expect(page.locator("#erasure-overall")).to_have_text("completed", timeout=60_000)
    expect(page.get_by_text("due by")).to_be_visible()
    shot(page, "erasure")

    page.goto(f"{console}/privacy/audit")
    expect(page.locator("tbody tr").first).not_to_contain_text("No entries")
    page.get_by_role("button", name="Verify chain").click()
    expect(page.locator("#chain-report")).to_contain_text("Chain intact")
    page.get_by_label("Action", exact=True).fill("crm.gdpr.erasure.requested.v1")
    page.get_by_role("button", name="Filter").click()
    actions = page.locator("table.audit tbody td:nth-child(4)")
    expect(actions.first).to_have_text("crm.gdpr.erasure.requested.v1")
    assert set(actions.all_inner_texts()) == {"crm.gdpr.erasure.requested.v1"}
    shot(page, "audit")


def test_settings_lists_definitions_tags_and_rules_and_adds_a_tag_rule(
    page: Page, stack: RunningPlatform
) -> None:
    sign_in(page, stack, path="/settings")
    page.get_by_label("Rule name").fill("Chat leads")
    page.get_by_label("Gives tag").fill("chat-lead")
    page.get_by_label("and source is").select_option("chat")
    page.get_by_role("button", name="Add rule").click()

    rules = page.locator("section", has_text="Tag rules")
    expect(rules).to_contain_text("Chat leads")
    shot(page, "settings")
    rules.get_by_role("button", name="Delete Chat leads").click()
    expect(page.locator("section", has_text="Tag rules")).to_contain_text("No tag rules.")


def test_a_viewer_reads_every_screen_without_edit_controls(
    page: Page, stack: RunningPlatform
) -> None:
    person = new_contact(stack, name="Read Only", email="read.only@example.com")
    console = sign_in(page, stack, key=VIEWER_KEY)
    expect(page.get_by_title("Your role")).to_have_text("viewer")
    expect(page.get_by_role("link", name="New contact")).to_have_count(0)

    page.goto(f"{console}/contacts/{person['id']}")
    expect(page.get_by_role("heading", name="Read Only")).to_be_visible()
    expect(page.locator("main input:not([type=hidden]), main textarea")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete contact")).to_have_count(0)
    shot(page, "contact-viewer")

    page.goto(f"{console}/settings")
    expect(page.get_by_role("button", name="Add rule")).to_have_count(0)
    expect(page.get_by_role("heading", name="Forms")).to_be_visible()
    expect(page.get_by_role("link", name="New form")).to_have_count(0)
    expect(page.locator("table.forms").get_by_role("link", name="Edit")).to_have_count(0)
    page.goto(f"{console}/privacy")
    expect(page.get_by_role("alert")).to_contain_text("needs the admin role")


def test_the_contact_list_and_a_contact_fit_a_phone_screen(
    page: Page, stack: RunningPlatform
) -> None:
    person = new_contact(stack, name="Phone Reader", email="phone.reader@example.com")
    console = sign_in(page, stack)
    page.set_viewport_size({"width": 390, "height": 844})

    for path, name in (
        ("/contacts", "contacts-phone"),
        (f"/contacts/{person['id']}", "contact-phone"),
    ):
        page.goto(f"{console}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} scrolls sideways on a phone ({width}px wide)"
        shot(page, name)


def test_a_duplicate_is_merged_after_reviewing_the_preview_and_the_merge_is_undone(
    page: Page, stack: RunningPlatform
) -> None:
    keep = new_contact(stack, name="Margaret Hamilton", email="mh@example.com", company="MIT")
    with api(stack, "contacts") as contacts:
        dup = contacts.post(
            "/v1/contacts?allow_duplicate=true",
            json={"name": "Margaret Hamilton", "email": "mh@example.com", "company": "NASA"},
        ).json()
    console = sign_in(page, stack, path=f"/contacts/{keep['id']}")

    candidates = page.locator("#duplicates")
    expect(candidates).to_contain_text("Margaret Hamilton", timeout=SAVE_WAIT_MS)
    candidates.get_by_role("link", name="Review merge").click()
    expect(page.get_by_role("heading", name="Merge preview")).to_be_visible()
    page.get_by_role("group", name="company").get_by_label(re.compile("NASA")).check()
    page.get_by_role("button", name="Update preview").click()
    expect(page.locator("#merge-result")).to_contain_text("NASA")
    shot(page, "merge-preview")
    page.get_by_role("button", name="Merge", exact=True).click()

    expect(page.locator("#merge-status")).to_have_text("merged")
    page.goto(f"{console}/contacts/{dup['id']}")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    page.go_back()
    page.get_by_role("button", name="Undo merge").click()
    expect(page.locator("#merge-status")).to_have_text("undone")
    shot(page, "merge-undone")


def test_a_bulk_action_on_selected_rows_shows_its_progress(
    page: Page, stack: RunningPlatform
) -> None:
    first = new_contact(stack, name="Bulk One", email="bulk.one@example.com", tags=["bulk"])
    second = new_contact(stack, name="Bulk Two", email="bulk.two@example.com", tags=["bulk"])
    sign_in(page, stack, path="/contacts?tag=bulk")

    page.get_by_label("Select Bulk One").check()
    page.get_by_label("Select Bulk Two").check()
    page.get_by_label("Action", exact=True).select_option("add_tags")
    page.get_by_label("Tags or owner").fill("q3-campaign")
    page.get_by_role("button", name="Apply").click()

    expect(page.locator("#bulk-state")).to_have_text("completed", timeout=60_000)
    expect(page.locator("#bulk-succeeded")).to_have_text("2 done")
    shot(page, "bulk")
    with api(stack, "contacts") as contacts:
        for person in (first, second):
            tags = contacts.get(f"/v1/contacts/{person['id']}").json()["tags"]
            assert "q3-campaign" in tags
