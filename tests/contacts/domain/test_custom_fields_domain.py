"""validate_custom_values: the one judge of custom values, for every write path."""

from __future__ import annotations

from typing import Any

import pytest

from crm_contacts.domain.custom_fields import FieldDefinition, validate_custom_values
from crm_contacts.domain.errors import InvalidFields

DEFINITIONS = {
    "note": FieldDefinition("note", "Note", "text"),
    "seats": FieldDefinition("seats", "Seats", "number"),
    "renewal": FieldDefinition("renewal", "Renewal", "date"),
    "plan": FieldDefinition("plan", "Plan", "dropdown", ("Free", "Pro"), ("Legacy",)),
    "channels": FieldDefinition("channels", "Channels", "multi_select", ("Email", "SMS")),
    "vip": FieldDefinition("vip", "VIP", "boolean"),
    "site": FieldDefinition("site", "Site", "url"),
    "billing": FieldDefinition("billing", "Billing", "email"),
    "tier": FieldDefinition("tier", "Tier", "text", required=True),
}


def _problems(values: dict[str, Any], **kwargs: Any) -> list[str]:
    with pytest.raises(InvalidFields) as caught:
        validate_custom_values(values, DEFINITIONS, **kwargs)
    return [p.describe() for p in caught.value.problems]


@pytest.mark.parametrize(
    ("text", "typed"),
    [("12", 12), (" -3 ", -3), ("2.5", 2.5), ("1e3", 1000.0)],
)
def test_number_cells_parse(text: str, typed: float) -> None:
    values = validate_custom_values({"seats": text}, DEFINITIONS, existing={}, from_text=True)
    assert values == {"seats": typed}


@pytest.mark.parametrize("text", ["NaN", "inf", "-Infinity", "1e999"])
def test_non_finite_number_cells_are_refused(text: str) -> None:
    problems = _problems({"seats": text}, existing={}, from_text=True)
    assert problems == ["custom_fields.seats: must be a finite number"]


@pytest.mark.parametrize(
    ("text", "typed"),
    [("true", True), ("YES", True), ("1", True), ("false", False), ("no", False), ("0", False)],
)
def test_boolean_cells_parse(text: str, typed: bool) -> None:
    values = validate_custom_values({"vip": text}, DEFINITIONS, existing={}, from_text=True)
    assert values == {"vip": typed}


def test_multi_select_cells_split_on_semicolons_and_deduplicate() -> None:
    values = validate_custom_values(
        {"channels": "sms; email ;SMS;"}, DEFINITIONS, existing={}, from_text=True
    )
    assert values == {"channels": ["SMS", "Email"]}


def test_options_match_ignoring_case_and_accents_and_keep_the_canonical_spelling() -> None:
    values = validate_custom_values({"plan": "PRÓ"}, DEFINITIONS, existing={})
    assert values == {"plan": "Pro"}


def test_a_retired_option_is_refused_as_a_new_value() -> None:
    problems = _problems({"plan": "legacy"}, existing={})
    assert problems == ["custom_fields.plan: option 'Legacy' of 'plan' is retired"]


def test_a_retired_option_the_contact_already_holds_is_accepted() -> None:
    values = validate_custom_values({"plan": "Legacy"}, DEFINITIONS, existing={"plan": "Legacy"})
    assert values == {"plan": "Legacy"}


def test_on_create_a_missing_required_field_is_named() -> None:
    assert _problems({}) == ["custom_fields.tier: is required"]


def test_on_update_a_missing_required_field_is_fine_but_clearing_it_is_not() -> None:
    assert validate_custom_values({"seats": 2}, DEFINITIONS, existing={}) == {"seats": 2}
    assert _problems({"tier": ""}, existing={"tier": "gold"}) == [
        "custom_fields.tier: is required and cannot be cleared"
    ]


def test_blank_values_clear_on_update_and_are_left_out_on_create() -> None:
    cleared = validate_custom_values({"seats": None, "note": " "}, DEFINITIONS, existing={})
    assert cleared == {"seats": None, "note": None}
    created = validate_custom_values({"tier": "x", "seats": None}, DEFINITIONS)
    assert created == {"tier": "x"}


def test_every_bad_value_is_named_at_once() -> None:
    problems = _problems({"seats": "x", "renewal": "2025-13-01", "ghost": 1}, existing={})
    assert [p.split(":")[0] for p in problems] == [
        "custom_fields.seats",
        "custom_fields.renewal",
        "custom_fields.ghost",
    ]


def test_clearing_the_value_of_a_deleted_field_is_allowed() -> None:
    values = validate_custom_values({"ghost": None}, DEFINITIONS, existing={"ghost": "old"})
    assert values == {"ghost": None}


@pytest.mark.parametrize(
    "url", ["http://example.com", "https://sub.example.com/path?q=1", " https://x.io "]
)
def test_http_urls_with_a_host_are_accepted(url: str) -> None:
    assert validate_custom_values({"site": url}, DEFINITIONS, existing={}) == {"site": url.strip()}


@pytest.mark.parametrize("url", ["example.com", "mailto:a@b.co", "http://", "https://a b.com"])
def test_other_urls_are_refused(url: str) -> None:
    assert _problems({"site": url}, existing={}) == [
        "custom_fields.site: must be an http(s) URL with a host"
    ]
