"""Planning an import batch: validation per row and the duplicate policies."""

from __future__ import annotations

import itertools
from typing import Any

from crm_contacts.domain.contact import new_contact
from crm_contacts.domain.errors import SUPPRESSED_DETAIL
from crm_contacts.domain.importing import (
    BatchPlan,
    existing_by_identifiers,
    plan_batch,
    prepare_rows,
)
from crm_shared.events import ImportRow
from crm_shared.identity import PersonIdentifiers, person_hashes

KEY = b"test-key"
NOW = "2026-01-01T00:00:00.000000Z"


def _rows(*rows: dict[str, Any]) -> list[ImportRow]:
    return [ImportRow(row_number=n, **row) for n, row in enumerate(rows, start=1)]


def _existing(email: str, contact_id: str = "old-1") -> dict[str, Any]:
    return new_contact(
        contact_id=contact_id,
        tenant="acme",
        profile={"name": "Old", "email": email, "tags": ["VIP"], "company": "Old Co"},
        source="manual",
        now=NOW,
    )


def _plan(
    rows: list[ImportRow],
    policy: str,
    existing: dict[str, dict[str, Any]] | None = None,
    suppressed: set[str] | None = None,
) -> BatchPlan:
    ids = (f"new-{n}" for n in itertools.count(1))
    return plan_batch(
        prepare_rows(rows, region="US", suppression_key=KEY),
        tenant="acme",
        policy=policy,  # type: ignore[arg-type]
        existing=existing_by_identifiers((existing or {}).values()),
        suppressed=suppressed or set(),
        now=NOW,
        new_id=lambda: next(ids),
    )


def _statuses(plan: BatchPlan) -> list[tuple[str, str | None]]:
    return [(r["status"], r["contact_id"]) for r in plan.results]


def test_a_bad_cell_is_a_warning_on_a_row_that_still_has_a_name() -> None:
    plan = _plan(_rows({"name": "A", "email": "not-an-email"}), "skip")
    assert plan.results[0]["status"] == "created"
    assert any("not a valid address" in w for w in plan.results[0]["warnings"])
    assert plan.inserts[0]["email"] is None


def test_a_row_left_with_nothing_usable_fails_with_its_row_number() -> None:
    plan = _plan(_rows({"email": "not-an-email"}), "skip")
    assert plan.results[0]["status"] == "failed"
    assert plan.results[0]["error"].startswith("row 1:")
    assert plan.inserts == []


def test_row_without_name_cannot_create() -> None:
    plan = _plan(_rows({"email": "a@example.com"}), "create")
    assert plan.results[0]["status"] == "failed"
    assert "name is required" in plan.results[0]["error"]


def test_blank_cells_provide_nothing() -> None:
    plan = _plan(_rows({"name": "A", "email": " ", "phone": ""}), "create")
    assert plan.inserts[0]["email"] is None and plan.inserts[0]["phone"] is None


def test_skip_policy_skips_existing_and_later_duplicates_in_the_batch() -> None:
    existing = {"old@example.com": _existing("old@example.com")}
    rows = _rows(
        {"name": "A", "email": "OLD@example.com"},
        {"name": "B", "email": "new@example.com"},
        {"name": "C", "email": "new@example.com"},
    )
    plan = _plan(rows, "skip", existing)
    assert _statuses(plan) == [("skipped", "old-1"), ("created", "new-1"), ("skipped", "new-1")]
    assert [d["name"] for d in plan.inserts] == ["B"]
    assert plan.inserts[0]["source"] == "import"


def test_update_policy_changes_only_provided_fields_and_merges_tags() -> None:
    existing = {"old@example.com": _existing("old@example.com")}
    rows = _rows({"email": "old@example.com", "company": "New Co", "tags": ["Partner", "vip"]})
    plan = _plan(rows, "update", existing)
    assert _statuses(plan) == [("updated", "old-1")]
    updated = plan.replacements["old-1"]
    assert (updated["name"], updated["company"]) == ("Old", "New Co")
    assert updated["tags"] == ["VIP", "Partner"]
    assert updated["version"] == 2
    # The person came by an import too: the contact's sources say so.
    assert updated["sources"] == ["manual", "import"]
    assert plan.imported == [
        {
            "contact_id": "old-1",
            "version": 2,
            "action": "updated",
            "changed_fields": ["company", "tags", "sources"],
        }
    ]


def test_update_policy_with_nothing_new_skips_without_a_version() -> None:
    existing = {"old@example.com": _existing("old@example.com")}
    plan = _plan(_rows({"email": "old@example.com", "company": "Old Co"}), "update", existing)
    assert _statuses(plan) == [("skipped", "old-1")]
    assert plan.replacements == {} and plan.imported == []


def test_update_policy_applies_a_later_duplicate_to_the_contact_the_batch_created() -> None:
    rows = _rows(
        {"name": "A", "email": "x@example.com"},
        {"email": "x@example.com", "company": "Acme"},
    )
    plan = _plan(rows, "update")
    assert _statuses(plan) == [("created", "new-1"), ("updated", "new-1")]
    assert len(plan.inserts) == 1 and plan.inserts[0]["company"] == "Acme"
    assert plan.imported[0]["action"] == "created"
    assert plan.imported[0]["changed_fields"] == ["name", "email", "company"]


def test_two_rows_updating_one_existing_contact_make_one_new_version() -> None:
    existing = {"old@example.com": _existing("old@example.com")}
    rows = _rows(
        {"email": "old@example.com", "company": "One"},
        {"email": "old@example.com", "timezone": "Europe/Paris"},
    )
    plan = _plan(rows, "update", existing)
    assert plan.replacements["old-1"]["version"] == 2
    assert plan.replacements["old-1"]["company"] == "One"
    assert plan.imported[0]["changed_fields"] == ["company", "sources", "timezone"]


def test_create_policy_always_creates() -> None:
    existing = {"old@example.com": _existing("old@example.com")}
    rows = _rows(
        {"name": "A", "email": "old@example.com"}, {"name": "B", "email": "old@example.com"}
    )
    plan = _plan(rows, "create", existing)
    assert _statuses(plan) == [("created", "new-1"), ("created", "new-2")]


def test_suppressed_identity_fails_the_row_without_quoting_it() -> None:
    gone = PersonIdentifiers(emails=("gone@example.com",))
    suppressed = set(person_hashes(KEY, gone, region="US"))
    plan = _plan(_rows({"name": "A", "email": "gone@example.com"}), "create", suppressed=suppressed)
    assert plan.results[0]["status"] == "failed"
    assert plan.results[0]["error"] == f"row 1: {SUPPRESSED_DETAIL}"
    assert plan.results[0]["suppressed"] is True  # the importer keeps none of its cells
    assert plan.inserts == []


def test_a_row_no_store_can_hold_fails_alone_naming_the_field() -> None:
    rows = prepare_rows(
        _rows({"name": "Fine"}, {"name": "Too big"}, {"name": "Also fine"}),
        region="US",
        suppression_key=KEY,
    )
    # Validation bounds custom values; this row stands for one that slipped through.
    assert rows[1].profile is not None
    rows[1].profile["custom_fields"] = {"seats": 2**70}
    ids = (f"new-{n}" for n in itertools.count(1))
    plan = plan_batch(
        rows,
        tenant="acme",
        policy="skip",
        existing=existing_by_identifiers([]),
        suppressed=set(),
        now=NOW,
        new_id=lambda: next(ids),
    )
    assert [r["status"] for r in plan.results] == ["created", "failed", "created"]
    assert plan.results[1]["error"].startswith("row 2: custom_fields.seats: must be an integer")
    assert [doc["name"] for doc in plan.inserts] == ["Fine", "Also fine"]


def test_row_matches_an_existing_contact_by_an_additional_email_or_phone() -> None:
    by_email = new_contact(
        contact_id="old-1",
        tenant="acme",
        profile={"name": "Old", "email": "a@x.io", "emails": ["second@x.io"]},
        source="manual",
        now=NOW,
    )
    by_phone = new_contact(
        contact_id="old-2",
        tenant="acme",
        profile={"name": "Other", "phone": "+14155550100", "phones": ["+14155550199"]},
        source="manual",
        now=NOW,
    )
    plan = _plan(
        _rows(
            {"name": "A", "email": "SECOND@x.io"},
            {"name": "B", "phone": "(415) 555-0199"},
            {"name": "C", "email": "new@x.io", "phone": "+1 415 555 0100"},
        ),
        "skip",
        {"old-1": by_email, "old-2": by_phone},
    )
    assert _statuses(plan) == [("skipped", "old-1"), ("skipped", "old-2"), ("skipped", "old-2")]
