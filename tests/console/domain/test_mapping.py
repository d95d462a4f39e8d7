"""The import wizard's suggested mapping."""

from __future__ import annotations

import pytest

from crm_console.domain.mapping import suggest_mapping


def test_headers_are_matched_by_name_synonym_and_custom_field_label() -> None:
    suggestion = suggest_mapping(
        ["Full Name", "E-mail", "Mobile", "Plan", "Notes"], [("plan", "Plan")]
    )

    assert suggestion == {
        "Full Name": "name",
        "E-mail": "email",
        "Mobile": "phone",
        "Plan": "custom.plan",
        "Notes": "",
    }


def test_a_field_is_suggested_for_one_column_only() -> None:
    suggestion = suggest_mapping(["email", "Email address"], [])

    assert suggestion == {"email": "email", "Email address": ""}


def test_custom_values_are_typed_by_their_definition() -> None:
    from crm_console.domain.values import InvalidValue, custom_value

    assert custom_value("number", ["42"]) == 42
    assert custom_value("number", ["4.5"]) == 4.5
    assert custom_value("boolean", ["false"]) is False
    assert custom_value("multi_select", ["a", "", "b"]) == ["a", "b"]
    assert custom_value("date", [""]) is None
    with pytest.raises(InvalidValue, match="must be a number"):
        custom_value("number", ["many"])


def test_a_new_custom_field_is_offered_under_the_columns_slug_once() -> None:
    from crm_console.domain.mapping import column_choices, field_choices, new_field_key

    choices = field_choices([("plan", "Plan")])
    assert new_field_key("Loyalty Tier (2024)") == "loyalty_tier_2024"
    assert new_field_key("2nd phone") == "field_2nd_phone"
    assert new_field_key("custom.points") == "points"
    assert new_field_key("---") is None
    offered = column_choices("Loyalty Tier", choices, "")
    assert offered[-1] == ("custom.loyalty_tier", "New custom field: loyalty_tier")
    assert column_choices("Plan", choices, "") == choices  # defined already
    assert column_choices("E-mail", choices, "")[-1] != ("custom.e_mail", "")
    assert column_choices("---", choices, "custom.kept")[-1] == ("custom.kept", "custom.kept")


def test_a_custom_dot_header_is_suggested_as_that_field_defined_or_not() -> None:
    suggestion = suggest_mapping(["custom.points", "custom.plan", "custom.Bad"], [("plan", "Plan")])

    assert suggestion == {
        "custom.points": "custom.points",
        "custom.plan": "custom.plan",
        "custom.Bad": "",
    }
