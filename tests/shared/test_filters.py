"""The typed contact filter: query-string round trip and clear errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm_shared.filters import ContactFilter, CustomFieldCondition, InvalidFilter


def test_a_filter_survives_a_round_trip_through_query_parameters() -> None:
    original = ContactFilter(
        q="ada",
        tag=["vip", "customer"],
        tag_any=["event"],
        tag_none=["churned"],
        owner="user-7",
        source="import",
        created_after=datetime(2026, 1, 1, tzinfo=UTC),
        deleted=True,
        custom=[
            CustomFieldCondition(key="score", gte="10", lte="20"),
            CustomFieldCondition(key="plan", eq="pro"),
        ],
    )
    assert ContactFilter.from_query_params(original.query_params()) == original


def test_a_single_tag_string_is_accepted_as_a_list() -> None:
    assert ContactFilter.model_validate({"tag": "vip"}).tag == ["vip"]


@pytest.mark.parametrize("name", ["tag", "tag_any", "tag_none", "ids"])
def test_the_schema_says_a_list_field_takes_one_string_too(name: str) -> None:
    listed = ContactFilter.model_json_schema()["properties"][name]
    assert [choice["type"] for choice in listed["anyOf"]] == ["array", "string"]
    assert ContactFilter.model_validate({name: "x"}).model_dump()[name] == ["x"]


def test_paging_parameters_are_not_part_of_the_filter() -> None:
    parsed = ContactFilter.from_query_params([("limit", "5"), ("cursor", "x"), ("q", "bo")])
    assert parsed == ContactFilter(q="bo")


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ([("colour", "red")], "colour"),
        ([("cf.Bad-Key", "1")], "cf.Bad-Key"),
        ([("source", "fax")], "source"),
        ([("created_after", "yesterday")], "created_after"),
    ],
)
def test_an_unknown_or_malformed_parameter_is_named(
    params: list[tuple[str, str]], named: str
) -> None:
    with pytest.raises(InvalidFilter, match=named):
        ContactFilter.from_query_params(params)


def test_the_email_filter_survives_a_round_trip() -> None:
    original = ContactFilter(email="ada@example.org", q="ada")
    assert ContactFilter.from_query_params(original.query_params()) == original


def test_a_moment_without_an_offset_is_read_as_utc() -> None:
    parsed = ContactFilter.from_query_params([("created_after", "2026-01-31")])
    assert parsed.created_after == datetime(2026, 1, 31, tzinfo=UTC)
