"""The screens added after the first flows: the import dry run, the erasure request list, the
suppression list, campaign filter and previous-page paging, driven in headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.console.browser.helpers import (
    api,
    new_contact,
    serious_violations,
    shot,
    sign_in,
    until_true,
)
from tests.e2e.conftest import RunningPlatform

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.timeout(180)]


def _contacts_tagged(stack: RunningPlatform, tag: str) -> list[dict[str, Any]]:
    with api(stack, "contacts") as contacts:
        items: list[dict[str, Any]] = contacts.get(
            "/v1/contacts", params={"tag": tag, "limit": 100}
        ).json()["items"]
        return items


def test_a_dry_run_says_what_would_happen_and_the_import_then_follows_it(
    page: Page, stack: RunningPlatform, tmp_path: Path
) -> None:
    csv_file = tmp_path / "dry.csv"
    csv_file.write_text(
        "Full Name,E-mail,Labels\n"
        "Ada Dry,ada.dry@example.com,dryrun\n"
        "Bea Dry,bea.dry@example.com,dryrun\n"
        ",nobody.dry@example.com,dryrun\n"
    )
    sign_in(page, stack, path="/imports/new")
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload and map columns").click()
    page.get_by_label("Field for column Labels").select_option("tags")
    page.get_by_role("button", name="Dry run").click()

    expect(page.get_by_role("heading", name="Import dry run")).to_be_visible()
    expect(page.locator("#import-status")).to_have_text("completed", timeout=60_000)
    expect(page.locator("#import-created")).to_have_text("2 would be created")
    expect(page.locator("#import-failed")).to_have_text("1 would be rejected")
    shot(page, "import-dry-run")
    assert _contacts_tagged(stack, "dryrun") == []  # a dry run writes nothing

    page.get_by_role("button", name="Import dry.csv now").click()

    expect(page.get_by_role("heading", name="Import", exact=True)).to_be_visible()
    expect(page.locator("#import-status")).to_have_text("completed", timeout=60_000)
    expect(page.locator("#import-created")).to_have_text("2 created")
    names = sorted(c["name"] for c in _contacts_tagged(stack, "dryrun"))
    assert names == ["Ada Dry", "Bea Dry"]  # the mapping chosen before the dry run (Labels)


def test_erasure_requests_are_listed_and_the_erased_email_can_be_lifted_off_the_list(
    page: Page, stack: RunningPlatform
) -> None:
    person = new_contact(stack, name="Listed Erasure", email="listed.erasure@example.com")
    with api(stack, "gdpr") as gdpr:
        erasure = gdpr.post("/v1/erasure-requests", json={"contact_id": person["id"]}).json()
        until_true(
            lambda: (
                gdpr.get(f"/v1/erasure-requests/{erasure['id']}").json()["status"] == "completed"
            ),
            seconds=60,
            what="the erasure completes",
        )
    console = sign_in(page, stack, path="/privacy?status=completed")

    row = page.locator("table.erasures tbody tr", has_text=erasure["id"])
    expect(row).to_contain_text(person["id"])
    expect(row).to_contain_text("completed")
    expect(row).to_contain_text(erasure["due_at"][:10])
    expect(row.locator("td").nth(5)).to_have_text("no")
    page.get_by_label("Overdue only").check()
    page.get_by_role("button", name="Show").click()
    expect(page.locator("table.erasures tbody tr", has_text=erasure["id"])).to_have_count(0)
    shot(page, "privacy-erasures")

    page.goto(f"{console}/privacy/suppressions")
    expect(page.locator("table.suppressions tbody tr")).not_to_have_count(0)
    page.get_by_label("Email or phone", exact=True).fill("Listed.Erasure@example.com")
    page.get_by_role("button", name="Look up").click()
    result = page.locator("#lookup-result")
    expect(result).to_contain_text("Suppressed.")
    result.get_by_label("Reason for lifting", exact=False).fill("erased by mistake, ticket 7")
    result.get_by_role("button", name="Lift", exact=False).click()
    expect(page.locator("#lifted")).to_contain_text("Lifted")
    shot(page, "suppressions")

    page.get_by_label("Email or phone", exact=True).fill("listed.erasure@example.com")
    page.get_by_role("button", name="Look up").click()
    expect(page.locator("#lookup-result")).to_contain_text("Not suppressed.")
    again = new_contact(stack, name="Listed Again", email="listed.erasure@example.com")
    assert again["email"] == "listed.erasure@example.com"


def test_the_campaign_filter_and_previous_page_paging_on_the_contact_list(
    page: Page, stack: RunningPlatform
) -> None:
    members = [
        new_contact(stack, name=f"Pager {i:02d}", email=f"pager{i}@example.com", tags=["pager"])
        for i in range(55)
    ]
    with api(stack, "contacts") as contacts:
        campaign = contacts.post("/v1/campaigns", json={"name": "Pager launch"}).json()
        job = contacts.post(
            "/v1/bulk-actions",
            json={
                "action": "add_to_campaign",
                "ids": [members[0]["id"], members[1]["id"]],
                "params": {"campaign_id": campaign["id"]},
            },
        ).json()
        until_true(
            lambda: contacts.get(f"/v1/bulk-actions/{job['id']}").json()["status"] == "completed",
            seconds=60,
            what="the campaign members are added",
        )
    sign_in(page, stack, path="/contacts?tag=pager&sort=name")
    rows = page.locator("table.contacts tbody tr")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("Pager 00")

    page.get_by_role("link", name="Next page").click()
    expect(rows).to_have_count(5)
    expect(rows.first).to_contain_text("Pager 50")
    page.get_by_role("link", name="Previous page").click()
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("Pager 00")
    expect(page.get_by_role("link", name="Previous page")).to_have_count(0)

    page.get_by_label("Campaign").select_option(label="Pager launch")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("Pager 01")
    shot(page, "contacts-campaign")


def test_forms_settings_create_a_form_then_edit_its_allowed_origins(
    page: Page, stack: RunningPlatform
) -> None:
    sign_in(page, stack, path="/settings")
    page.get_by_role("link", name="New form").click()
    page.get_by_label("Form name").fill("Browser signup")
    page.get_by_label("Email", exact=True).fill("mail")
    page.get_by_label("Name", exact=True).fill("full_name")
    page.get_by_label("Allowed origins", exact=False).fill("https://shop.example")
    page.get_by_label("Consent checkboxes", exact=False).fill("newsletter:email: Send me news")
    page.get_by_role("button", name="Create form").click()

    forms = page.locator("table.forms tbody tr", has_text="Browser signup")
    expect(forms).to_contain_text("mail → email")
    expect(forms).to_contain_text("newsletter (email)")
    expect(forms).to_contain_text("https://shop.example")
    forms.get_by_role("link", name="Edit Browser signup").click()
    expect(page.locator("#form-key")).to_contain_text("fk_")
    page.get_by_label("Allowed origins", exact=False).fill("https://www.shop.example")
    page.get_by_role("button", name="Save form").click()

    expect(forms).to_contain_text("https://www.shop.example")
    shot(page, "settings-forms")
    with api(stack, "contacts") as contacts:
        stored = [
            f for f in contacts.get("/v1/forms").json()["items"] if f["name"] == "Browser signup"
        ]
    assert stored[0]["allowed_origins"] == ["https://www.shop.example"]
    assert stored[0]["fields"] == {"mail": "email", "full_name": "name"}


def test_a_second_console_process_continues_the_wizard_the_first_one_started(
    page: Page, stack: RunningPlatform, tmp_path: Path
) -> None:
    replica = stack.platform.services.get("console-2")
    if replica is None:
        replica = stack.platform.add_replica("console", wait=False)
        replica.wait_ready(90.0)  # a loaded machine starts a Python process slowly
    csv_file = tmp_path / "replica.csv"
    csv_file.write_text("Full Name,E-mail\nRita Replica,rita.replica@example.com\n")
    sign_in(page, stack, path="/imports/new")  # on the first console process
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload and map columns").click()
    expect(page.get_by_label("Field for column E-mail")).to_have_value("email")

    # The browser keeps its cookie (cookies do not depend on the port): the mapping form is sent
    # to the other process, which finds the session and the held file in the shared store.
    page.evaluate(
        "url => { document.querySelector('form[action=\"/imports/start\"]').action = url }",
        f"{replica.url}/imports/start",
    )
    page.get_by_role("button", name="Start import").click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(replica.url)}/imports/"))
    expect(page.locator("#import-status")).to_have_text("completed", timeout=60_000)
    expect(page.locator("#import-created")).to_have_text("1 created")
    with api(stack, "contacts") as contacts:
        found = contacts.get("/v1/contacts", params={"q": "Rita Replica"}).json()["items"]
    assert [c["email"] for c in found] == ["rita.replica@example.com"]


def test_the_consent_filter_lists_who_granted_it_and_who_did_not(
    page: Page, stack: RunningPlatform
) -> None:
    granted = new_contact(stack, name="Consent Yes", email="consent.yes@example.com", tags=["cf"])
    new_contact(stack, name="Consent No", email="consent.no@example.com", tags=["cf"])
    with api(stack, "gdpr") as gdpr:
        recorded = gdpr.post(
            f"/v1/contacts/{granted['id']}/consents",
            json={"purpose": "newsletter", "channel": "email", "status": "granted"},
        )
        assert recorded.status_code == 201, recorded.text

    def filtered(selector: str) -> list[str]:
        with api(stack, "contacts") as contacts:
            found = contacts.get("/v1/contacts", params={"tag": "cf", "consent": selector})
            return [c["name"] for c in found.json()["items"]]

    # Contacts learns the decision from the gdpr ledger's event.
    until_true(
        lambda: filtered("newsletter:email") == ["Consent Yes"],
        seconds=60,
        what="contacts holds the consent",
    )
    console = sign_in(page, stack, path="/contacts?tag=cf")
    rows = page.locator("table.contacts tbody tr")
    page.get_by_label("Consent (purpose:channel)").fill("newsletter:email")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Consent Yes")
    shot(page, "contacts-consent")

    page.goto(f"{console}/contacts?tag=cf&consent=!newsletter:email")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Consent No")


def test_the_mapping_step_names_a_missing_custom_field_and_the_import_creates_it(
    page: Page, stack: RunningPlatform, tmp_path: Path
) -> None:
    csv_file = tmp_path / "points.csv"
    csv_file.write_text(
        "Full Name,E-mail,Loyalty Points\n"
        "Ivy Points,ivy.points@example.com,120\n"
        "Jo Points,jo.points@example.com,80\n"
    )
    sign_in(page, stack, path="/imports/new")
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload and map columns").click()
    points = page.get_by_label("Field for column Loyalty Points")
    expect(points).to_have_value("")
    points.select_option(label="New custom field: loyalty_points")
    page.get_by_role("button", name="Check mapping").click()

    problem = page.locator("#problem-2")
    expect(problem).to_have_text(
        "custom.loyalty_points is not a custom field yet; it would be created as a number field."
    )
    expect(page.get_by_label("Field for column Loyalty Points")).to_have_value(
        "custom.loyalty_points"
    )
    expect(page.locator("#create-fields")).to_contain_text("from column “Loyalty Points”")
    shot(page, "import-mapping-problems")
    assert serious_violations(page) == []
    page.get_by_label("Create the missing custom fields when importing").check()
    page.get_by_role("button", name="Start import").click()

    expect(page.locator("#import-status")).to_have_text("completed", timeout=60_000)
    expect(page.locator("#import-created")).to_have_text("2 created")
    with api(stack, "contacts") as contacts:
        defined = contacts.get("/v1/custom-fields").json()["items"]
        ivy = contacts.get("/v1/contacts", params={"q": "Ivy Points"}).json()["items"]
    assert {(d["key"], d["type"]) for d in defined} >= {("loyalty_points", "number")}
    assert [c["custom_fields"].get("loyalty_points") for c in ivy] == [120]


def test_the_erasure_list_shows_the_newest_first_or_the_soonest_due_first(
    page: Page, stack: RunningPlatform
) -> None:
    people = [
        new_contact(stack, name=f"Ordered Erasure {n}", email=f"ordered.{n}@example.com")
        for n in (1, 2)
    ]
    with api(stack, "gdpr") as gdpr:
        erasures = [
            gdpr.post("/v1/erasure-requests", json={"contact_id": p["id"]}).json() for p in people
        ]
    sign_in(page, stack, path="/privacy")
    rows = page.locator("table.erasures tbody tr")

    page.get_by_label("Order").select_option(label="Newest first")
    page.get_by_role("button", name="Show").click()
    expect(rows.first).to_contain_text(erasures[1]["id"])
    expect(rows.nth(1)).to_contain_text(erasures[0]["id"])
    expect(page.get_by_label("Order")).to_have_value("-received_at")
    shot(page, "privacy-erasures-newest")

    page.get_by_label("Order").select_option(label="Due soonest first")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"sort=due_at"))
    dues = rows.locator("td:nth-child(5)").all_inner_texts()
    assert dues == sorted(dues) and len(dues) >= 2
    ids = [text.strip() for text in rows.locator("td:first-child").all_inner_texts()]
    assert ids.index(erasures[0]["id"]) < ids.index(erasures[1]["id"])
