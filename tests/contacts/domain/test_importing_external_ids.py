"""`match_on=external_id`: an import row is the contact holding its id in another system, by
the matching engine's external-id key (`x:<system>:<id>`), as integrations' upserts find it."""

from __future__ import annotations

import itertools
from typing import Any

from crm_contacts.domain.contact import new_contact
from crm_contacts.domain.contact_doc import as_stored
from crm_contacts.domain.importing import (
    BatchPlan,
    existing_by_identifiers,
    match_keys,
    plan_batch,
    prepare_rows,
)
from crm_contacts.domain.resolution import ExternalRef
from crm_shared.events import ImportRow
from crm_shared.events.imports import MatchIdentifier

KEY = b"test-key"
CREATED = "2026-01-01T00:00:00.000000Z"
NOW = "2026-05-01T00:00:00.000000Z"


def _contact(contact_id: str, **fields: Any) -> dict[str, Any]:
    doc = new_contact(
        contact_id=contact_id, tenant="acme", profile=fields, source="manual", now=CREATED
    )
    return as_stored(doc)


def _plan(
    rows: list[dict[str, Any]],
    existing: list[dict[str, Any]],
    match_on: tuple[MatchIdentifier, ...],
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
    )


def test_the_row_is_the_contact_holding_its_external_id_even_with_another_email() -> None:
    held = _contact("held", name="Ada", email="ada@old.example", external_ids={"hubspot": "42"})
    by_email = _contact("by-email", name="Ada L", email="ada@new.example")
    row = {"name": "Ada", "email": "ada@new.example", "external_ids": {"hubspot": "42"}}
    plan = _plan([row], [held, by_email], ("external_id",))
    assert plan.results[0]["status"] == "updated"
    assert plan.results[0]["contact_id"] == "held"
    # The row's email joins the contact found by id, as an additional one.
    assert plan.replacements["held"]["emails"] == ["ada@new.example"]


def test_external_id_then_email_falls_back_to_the_email_and_adds_the_id() -> None:
    by_email = _contact("by-email", name="Ada", email="ada@example.com")
    row = {"name": "Ada", "email": "ada@example.com", "external_ids": {"salesforce": "003X"}}
    plan = _plan([row], [by_email], ("external_id", "email"))
    assert plan.results[0]["contact_id"] == "by-email"
    assert plan.replacements["by-email"]["external_ids"] == {"salesforce": "003X"}
    assert "x:salesforce:003X" in plan.replacements["by-email"]["match_keys"]


def test_external_id_alone_creates_a_contact_holding_the_id_when_none_holds_it() -> None:
    by_email = _contact("by-email", name="Ada", email="ada@example.com")
    row = {"name": "Ada", "email": "ada@example.com", "external_ids": {"hubspot": "7"}}
    plan = _plan([row], [by_email], ("external_id",))
    assert plan.results[0]["status"] == "created"
    [created] = plan.inserts
    assert created["external_ids"] == {"hubspot": "7"}
    assert "x:hubspot:7" in created["match_keys"]


def test_a_later_row_of_the_batch_with_the_same_id_updates_the_contact_the_first_created() -> None:
    rows = [
        {"name": "Ada", "external_ids": {"hubspot": "7"}},
        {"name": "Ada", "company": "Engines", "external_ids": {"hubspot": "7"}},
    ]
    plan = _plan(rows, [], ("external_id",))
    assert [r["status"] for r in plan.results] == ["created", "updated"]
    assert plan.results[0]["contact_id"] == plan.results[1]["contact_id"]


def test_a_contact_holding_another_id_of_the_system_fails_the_row_as_the_upsert_refuses() -> None:
    held = _contact("held", name="Ada", email="ada@example.com", external_ids={"hubspot": "1"})
    row = {"name": "Ada", "email": "ada@example.com", "external_ids": {"hubspot": "2"}}
    plan = _plan([row], [held], ("external_id", "email"))
    assert plan.results[0]["status"] == "failed"
    assert "already has another hubspot id" in plan.results[0]["error"]


def test_an_id_breaking_the_upsert_rules_is_left_out_with_a_warning() -> None:
    rows = [{"name": "Ada", "external_ids": {"hubspot": "x" * 201}}]
    plan = _plan(rows, [], ("external_id",))
    assert plan.results[0]["status"] == "created"
    assert plan.results[0]["warnings"] == [
        "external_ids.hubspot must be 1-200 characters of text (left out)"
    ]
    assert plan.inserts[0]["external_ids"] == {}


def test_the_keys_looked_up_are_the_matching_engines_external_id_keys() -> None:
    prepared = prepare_rows(
        [ImportRow(row_number=1, name="A", email="a@example.com", external_ids={"crm": "9"})],
        region="US",
        suppression_key=KEY,
    )
    assert match_keys(prepared, ("external_id", "email")) == [
        ExternalRef("crm", "9").match_key,
        "e:a@example.com",
    ]
    assert match_keys(prepared, ("email",)) == ["e:a@example.com"]
