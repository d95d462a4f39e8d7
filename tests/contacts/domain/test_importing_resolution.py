"""Import updates follow the resolver's last-writer rule; `match_on` decides who a row is."""

from __future__ import annotations

import itertools
from typing import Any

from crm_contacts.domain.contact import new_contact
from crm_contacts.domain.importing import (
    BatchPlan,
    existing_by_identifiers,
    match_keys,
    plan_batch,
    prepare_rows,
)
from crm_shared.events import ImportRow
from crm_shared.events.imports import MatchIdentifier

KEY = b"test-key"
CREATED = "2026-01-01T00:00:00.000000Z"
EDITED = "2026-03-01T00:00:00.000000Z"
UPLOAD_BEFORE_EDIT = "2026-02-01T00:00:00.000000Z"
UPLOAD_AFTER_EDIT = "2026-04-01T00:00:00.000000Z"
NOW = "2026-05-01T00:00:00.000000Z"


def _contact(**fields: Any) -> dict[str, Any]:
    doc = new_contact(
        contact_id=fields.pop("id", "old-1"),
        tenant="acme",
        profile={"name": "Ada Lovelace", "email": "ada@example.com", **fields},
        source="manual",
        now=CREATED,
    )
    # A later write (a source or an integration) set the company in March.
    doc["field_times"] = {"company": EDITED, "name": CREATED}
    return doc


def _plan(
    rows: list[dict[str, Any]],
    existing: list[dict[str, Any]],
    *,
    occurred_at: str,
    match_on: tuple[MatchIdentifier, ...] = (),
) -> BatchPlan:
    ids = (f"new-{n}" for n in itertools.count(1))
    prepared = prepare_rows(
        [ImportRow(row_number=n, **row) for n, row in enumerate(rows, start=1)],
        region="US",
        suppression_key=KEY,
    )
    return plan_batch(
        prepared,
        tenant="acme",
        policy="update",
        existing=existing_by_identifiers(existing, match_on),
        suppressed=set(),
        now=NOW,
        new_id=lambda: next(ids),
        occurred_at=occurred_at,
    )


def test_an_import_older_than_the_last_write_of_a_field_does_not_overwrite_it() -> None:
    stored = _contact(company="Analytical Engines")
    plan = _plan(
        [{"email": "ada@example.com", "company": "Old Employer", "name": "Ada L."}],
        [stored],
        occurred_at=UPLOAD_BEFORE_EDIT,
    )
    updated = plan.replacements["old-1"]
    assert updated["company"] == "Analytical Engines"  # written in March, after the upload
    assert updated["name"] == "Ada L."  # last written at creation, before the upload
    assert updated["field_times"]["name"] == UPLOAD_BEFORE_EDIT
    assert updated["field_times"]["company"] == EDITED


def test_an_import_newer_than_the_last_write_overwrites_the_field() -> None:
    stored = _contact(company="Analytical Engines")
    plan = _plan(
        [{"email": "ada@example.com", "company": "Babbage & Co"}],
        [stored],
        occurred_at=UPLOAD_AFTER_EDIT,
    )
    updated = plan.replacements["old-1"]
    assert updated["company"] == "Babbage & Co"
    assert updated["field_times"]["company"] == UPLOAD_AFTER_EDIT


def test_an_older_import_still_fills_a_blank_field() -> None:
    stored = _contact()
    plan = _plan(
        [{"email": "ada@example.com", "timezone": "Europe/London"}],
        [stored],
        occurred_at=UPLOAD_BEFORE_EDIT,
    )
    assert plan.replacements["old-1"]["timezone"] == "Europe/London"


def test_a_new_email_from_a_row_matched_by_phone_is_added_not_put_in_place_of_the_primary() -> None:
    stored = _contact(phone="+14155550100")
    plan = _plan(
        [{"email": "ada@work.example", "phone": "+1 415 555 0100"}],
        [stored],
        occurred_at=UPLOAD_AFTER_EDIT,
    )
    updated = plan.replacements["old-1"]
    assert updated["email"] == "ada@example.com"
    assert updated["emails"] == ["ada@work.example"]


def test_a_row_that_changes_nothing_under_the_rule_is_skipped() -> None:
    stored = _contact(company="Analytical Engines")
    plan = _plan(
        [{"email": "ada@example.com", "company": "Old Employer"}],
        [stored],
        occurred_at=UPLOAD_BEFORE_EDIT,
    )
    assert [r["status"] for r in plan.results] == ["skipped"]
    assert plan.replacements == {}


def test_a_created_contact_records_when_its_fields_were_written() -> None:
    plan = _plan([{"name": "Grace Hopper", "company": "Navy"}], [], occurred_at=UPLOAD_BEFORE_EDIT)
    assert plan.inserts[0]["field_times"] == {
        "name": UPLOAD_BEFORE_EDIT,
        "company": UPLOAD_BEFORE_EDIT,
    }


def test_match_on_phone_ignores_a_contact_holding_the_rows_email() -> None:
    by_email = _contact(id="by-email")
    by_phone = _contact(id="by-phone", email="grace@example.com", phone="+14155550199")
    row = {"name": "Ada", "email": "ada@example.com", "phone": "+14155550199", "company": "X"}
    plan = _plan([row], [by_email, by_phone], occurred_at=UPLOAD_AFTER_EDIT, match_on=("phone",))
    assert [(r["status"], r["contact_id"]) for r in plan.results] == [("updated", "by-phone")]


def test_match_on_email_only_creates_when_just_the_phone_is_known() -> None:
    stored = _contact(phone="+14155550199")
    row = {"name": "Someone", "email": "new@example.com", "phone": "+14155550199"}
    plan = _plan([row], [stored], occurred_at=UPLOAD_AFTER_EDIT, match_on=("email",))
    assert [r["status"] for r in plan.results] == ["created"]


def test_match_on_order_decides_which_contact_a_row_is() -> None:
    by_email = _contact(id="by-email")
    by_phone = _contact(id="by-phone", email="grace@example.com", phone="+14155550199")
    row = {"name": "Ada", "email": "ada@example.com", "phone": "+14155550199", "company": "Y"}
    phone_first = _plan(
        [row], [by_email, by_phone], occurred_at=UPLOAD_AFTER_EDIT, match_on=("phone", "email")
    )
    email_first = _plan(
        [row], [by_email, by_phone], occurred_at=UPLOAD_AFTER_EDIT, match_on=("email", "phone")
    )
    assert phone_first.results[0]["contact_id"] == "by-phone"
    assert email_first.results[0]["contact_id"] == "by-email"


def test_only_the_identifiers_match_on_names_are_looked_up() -> None:
    prepared = prepare_rows(
        [ImportRow(row_number=1, name="A", email="a@example.com", phone="+14155550100")],
        region="US",
        suppression_key=KEY,
    )
    assert match_keys(prepared, ("phone",)) == ["p:+14155550100"]
    assert match_keys(prepared) == ["e:a@example.com", "p:+14155550100"]
