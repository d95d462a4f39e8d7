"""The import wizard's suggested mapping."""

from __future__ import annotations

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
