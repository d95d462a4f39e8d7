"""Auto tags from rules and the in-memory filter: pure rules without I/O."""

from __future__ import annotations

from typing import Any

import pytest

from crm_contacts.domain.contact import new_contact
from crm_contacts.domain.custom_fields import FieldDefinition
from crm_contacts.domain.errors import InvalidFields
from crm_contacts.domain.filter_match import matches
from crm_contacts.domain.tag_rules import (
    TagRule,
    check_rule_filter,
    compile_rules,
    final_tags,
)
from crm_contacts.domain.tags import TagBook, TagInfo
from crm_shared.filters import ContactFilter

DEFINITIONS = {
    "seats": FieldDefinition("seats", "Seats", "number"),
    "channels": FieldDefinition("channels", "Channels", "multi_select", ("Email", "SMS")),
}
BOOK = [TagInfo("Big", "auto"), TagInfo("Hot", "auto"), TagInfo("source:manual", "system")]


def _contact(**profile: Any) -> dict[str, Any]:
    return new_contact(
        contact_id="0190a000-0000-7000-8000-000000000001",
        tenant="acme",
        profile={"name": "Ada", **profile},
        source="manual",
        now="2025-01-01T00:00:00.000000Z",
    )


def _rules(*rules: tuple[str, dict[str, Any]]) -> list[Any]:
    domain_rules = [
        TagRule(id=str(n), name=tag, filter=ContactFilter.model_validate(criteria), tag=tag)
        for n, (tag, criteria) in enumerate(rules)
    ]
    return compile_rules(domain_rules, DEFINITIONS)


def test_a_matching_rule_adds_its_tag_after_manual_and_system_tags() -> None:
    rules = _rules(("Big", {"custom": [{"key": "seats", "gte": 10}]}))
    contact = _contact(tags=["VIP"], custom_fields={"seats": 12})
    assert final_tags(contact, book=TagBook(BOOK), rules=rules) == ["VIP", "source:manual", "Big"]


def test_an_auto_tag_no_rule_gives_any_more_is_dropped() -> None:
    rules = _rules(("Big", {"custom": [{"key": "seats", "gte": 10}]}))
    contact = _contact(tags=["Big", "VIP"], custom_fields={"seats": 1})
    assert final_tags(contact, book=TagBook(BOOK), rules=rules) == ["VIP", "source:manual"]


def test_rules_do_not_see_auto_tags_so_they_do_not_chain() -> None:
    rules = _rules(
        ("Hot", {"tag": ["Big"]}),
        ("Big", {"custom": [{"key": "seats", "gte": 10}]}),
    )
    contact = _contact(custom_fields={"seats": 50})
    assert final_tags(contact, book=TagBook(BOOK), rules=rules) == ["source:manual", "Big"]


def test_a_soft_deleted_contact_is_judged_as_if_live() -> None:
    rules = _rules(("Big", {"custom": [{"key": "seats", "gte": 10}]}))
    contact = {**_contact(custom_fields={"seats": 12}), "deleted_at": "2025-01-02T00:00:00Z"}
    assert "Big" in final_tags(contact, book=TagBook(BOOK), rules=rules)


def test_a_rule_whose_filter_no_longer_fits_matches_nothing() -> None:
    rules = compile_rules(
        [
            TagRule(
                "1",
                "x",
                ContactFilter.model_validate({"custom": [{"key": "gone", "eq": 1}]}),
                "Big",
            )
        ],
        DEFINITIONS,
    )
    assert final_tags(_contact(), book=TagBook(BOOK), rules=rules) == ["source:manual"]


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ({"q": "ADA"}, True),
        ({"tag": ["vìp"]}, True),
        ({"tag_none": ["vip"]}, False),
        ({"custom": [{"key": "channels", "contains": "sms"}]}, True),
        ({"custom": [{"key": "seats", "lte": "2"}]}, False),
        ({"deleted": True}, False),
    ],
)
def test_matches_evaluates_the_filter_on_one_contact(
    criteria: dict[str, Any], expected: bool
) -> None:
    contact = _contact(tags=["VIP"], custom_fields={"seats": 3, "channels": ["SMS"]})
    assert matches(ContactFilter.model_validate(criteria), contact, DEFINITIONS) is expected


@pytest.mark.parametrize(
    "criteria",
    [
        {"deleted": True},
        {"custom": [{"key": "nope", "eq": 1}]},
        {"custom": [{"key": "seats", "contains": "x"}]},
    ],
)
def test_a_rule_filter_that_cannot_apply_is_refused(criteria: dict[str, Any]) -> None:
    with pytest.raises(InvalidFields):
        check_rule_filter(ContactFilter.model_validate(criteria), DEFINITIONS)
