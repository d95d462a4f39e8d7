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
