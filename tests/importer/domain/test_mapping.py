"""Column planning: by-name mapping, explicit mapping, and the header and mapping errors."""

from __future__ import annotations

import pytest

from crm_importer.domain.mapping import parse_mapping, plan_columns
from crm_shared.problems import BadRequest, Unprocessable


def fields_of(header: list[str], mapping: dict[str, str | None] | None = None) -> dict[str, str]:
    return plan_columns(header, mapping).as_mapping()


def test_headers_map_by_name_ignoring_case_and_surrounding_spaces() -> None:
    assert fields_of([" Name", "EMAIL ", "Tags"]) == {
        "Name": "name",
        "EMAIL": "email",
        "Tags": "tags",
    }


def test_a_custom_header_maps_to_its_custom_field() -> None:
    assert fields_of(["name", "custom.plan"]) == {"name": "name", "custom.plan": "custom.plan"}


def test_unknown_headers_are_ignored_and_listed() -> None:
    plan = plan_columns(["name", "Birthday", ""], None)

    assert plan.ignored_columns == ["Birthday", "(column 3, no header)"]
    assert plan.width == 3


def test_an_explicit_mapping_wins_over_the_header_name() -> None:
    assert fields_of(["name", "Company"], {"Company": "custom.employer"}) == {
        "name": "name",
        "Company": "custom.employer",
    }


def test_a_column_mapped_to_null_or_empty_is_ignored_without_being_listed() -> None:
    plan = plan_columns(["name", "email", "phone"], {"email": None, "phone": ""})

    assert plan.as_mapping() == {"name": "name"}
    assert plan.ignored_columns == []


def test_mapping_field_names_are_case_insensitive() -> None:
    assert fields_of(["Full name"], {"full name": "Name"}) == {"Full name": "name"}


def test_a_duplicate_header_is_refused_when_the_column_is_used() -> None:
    with pytest.raises(Unprocessable, match="'Email' more than once"):
        plan_columns(["Email", "name", "email"], None)


def test_a_duplicate_header_nobody_uses_is_fine() -> None:
    plan = plan_columns(["name", "Notes", "notes"], None)
    assert plan.as_mapping() == {"name": "name"}
    assert plan.ignored_columns == ["Notes", "notes"]


def test_a_mapping_key_not_in_the_header_is_refused() -> None:
    with pytest.raises(Unprocessable, match="'Mail', which is not in"):
        plan_columns(["name"], {"Mail": "email"})


@pytest.mark.parametrize("target", ["birthday", "custom.", "custom.Plan", "custom.a-b", "tag"])
def test_a_mapping_to_an_unknown_field_is_refused(target: str) -> None:
    with pytest.raises(Unprocessable, match="unknown field"):
        plan_columns(["name", "x"], {"x": target})


def test_two_columns_explicitly_mapped_to_one_field_are_refused() -> None:
    with pytest.raises(Unprocessable, match="both map to 'email'"):
        plan_columns(["email", "Mail"], {"Mail": "email", "email": "email"})


def test_a_suggested_email_gives_way_to_an_explicit_one_as_an_additional_address() -> None:
    assert fields_of(["email", "Mail"], {"Mail": "email"}) == {"email": "emails", "Mail": "email"}


def test_a_mapping_without_a_name_or_email_column_is_refused() -> None:
    with pytest.raises(Unprocessable, match="no column maps to name or email"):
        plan_columns(["Phone", "Company"], None)


def test_several_columns_may_feed_name_emails_and_phones() -> None:
    mapping = {"Given": "name", "Family": "name", "Work": "emails", "Home": "emails"}
    assert fields_of(["Given", "Family", "Work", "Home"], mapping) == mapping


def test_a_header_that_maps_nothing_is_refused() -> None:
    with pytest.raises(Unprocessable, match="no column maps"):
        plan_columns(["a", "b"], None)


def test_an_absent_or_blank_mapping_means_by_name() -> None:
    assert parse_mapping(None) is None
    assert parse_mapping("  ") is None


def test_a_mapping_is_a_json_object() -> None:
    assert parse_mapping('{"A": "name", "B": null}') == {"A": "name", "B": None}


def test_a_mapping_that_is_not_json_is_a_bad_request() -> None:
    with pytest.raises(BadRequest, match="not valid JSON"):
        parse_mapping("{oops")


@pytest.mark.parametrize("raw", ['["name"]', '"name"', '{"A": 1}', '{"A": ["name"]}'])
def test_a_mapping_of_the_wrong_shape_is_refused(raw: str) -> None:
    with pytest.raises(Unprocessable):
        parse_mapping(raw)
