"""The custom-field key rule, the tag-name rule, and the shared filter applying the key rule."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from crm_shared.filters import ContactFilter, CustomFieldCondition, InvalidFilter
from crm_shared.rules import TAG_NAME_MAX, clean_tag_name, is_custom_field_key, is_tag_name

GOOD_KEYS = ["plan", "a", "shoe_size_2", "x" * 64]
BAD_KEYS = ["", "Plan", "2fa", "_plan", "plan-tier", "plan.tier", "x" * 65, "plän", "plan\n"]


@pytest.mark.parametrize("key", GOOD_KEYS)
def test_snake_case_keys_up_to_64_characters_are_custom_field_keys(key: str) -> None:
    assert is_custom_field_key(key)


@pytest.mark.parametrize("key", [*BAD_KEYS, None, 7])
def test_other_keys_are_not_custom_field_keys(key: object) -> None:
    assert not is_custom_field_key(key)


@pytest.mark.parametrize("key", GOOD_KEYS)
def test_the_filter_takes_conditions_on_valid_keys(key: str) -> None:
    assert ContactFilter.from_query_params([(f"cf.{key}", "x")]).custom[0].key == key
    assert CustomFieldCondition(key=key, eq="x").key == key


@pytest.mark.parametrize("key", BAD_KEYS)
def test_the_filter_refuses_conditions_on_invalid_keys(key: str) -> None:
    with pytest.raises(InvalidFilter):
        ContactFilter.from_query_params([(f"cf.{key}", "x")])
    with pytest.raises(ValidationError):
        CustomFieldCondition(key=key, eq="x")


def test_a_tag_name_is_cleaned_of_surrounding_and_repeated_blanks() -> None:
    assert clean_tag_name("  VIP \t  customer\n") == "VIP customer"
    assert clean_tag_name("vip") == "vip"


@pytest.mark.parametrize(
    ("name", "allowed"), [("", False), ("a", True), ("a" * TAG_NAME_MAX, True), ("a" * 51, False)]
)
def test_a_cleaned_tag_name_holds_1_to_50_characters(name: str, allowed: bool) -> None:
    assert is_tag_name(name) is allowed
