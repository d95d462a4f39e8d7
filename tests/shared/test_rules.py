"""The custom-field key rule and the tag-name rule, and the users that must apply them alike."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from crm_contacts.domain.errors import InvalidFields
from crm_contacts.domain.field_definitions import new_definition
from crm_contacts.domain.validation import validate_profile
from crm_importer.domain.fields import custom_key
from crm_importer.domain.rows import split_tags
from crm_shared.filters import ContactFilter, CustomFieldCondition, InvalidFilter
from crm_shared.rules import (
    TAG_NAME_MAX,
    clean_tag_name,
    is_custom_field_key,
    is_tag_name,
)

GOOD_KEYS = ["plan", "a", "shoe_size_2", "x" * 64]
BAD_KEYS = ["", "Plan", "2fa", "_plan", "plan-tier", "plan.tier", "x" * 65, "plän", "plan\n"]


@pytest.mark.parametrize("key", GOOD_KEYS)
def test_snake_case_keys_up_to_64_characters_are_custom_field_keys(key: str) -> None:
    assert is_custom_field_key(key)


@pytest.mark.parametrize("key", [*BAD_KEYS, None, 7])
def test_other_keys_are_not_custom_field_keys(key: object) -> None:
    assert not is_custom_field_key(key)


def _accepted_everywhere(key: str) -> list[bool]:
    """Whether each user of the key rule accepts `key`."""
    verdicts: list[bool] = []
    try:
        new_definition(key=key, label="Plan", type="text")
        verdicts.append(True)
    except InvalidFields:
        verdicts.append(False)
    try:
        validate_profile({"custom_fields": {key: "x"}}, region="US")
        verdicts.append(True)
    except InvalidFields:
        verdicts.append(False)
    try:
        CustomFieldCondition(key=key, eq="x")
        verdicts.append(True)
    except ValidationError:
        verdicts.append(False)
    try:
        ContactFilter.from_query_params([(f"cf.{key}", "x")])
        verdicts.append(True)
    except InvalidFilter:
        verdicts.append(False)
    verdicts.append(custom_key(f"custom.{key}") == key)
    return verdicts


@pytest.mark.parametrize("key", GOOD_KEYS + BAD_KEYS)
def test_definitions_profiles_filters_and_imports_agree_on_every_key(key: str) -> None:
    assert _accepted_everywhere(key) == [is_custom_field_key(key)] * 5


def test_a_tag_name_is_cleaned_of_surrounding_and_repeated_blanks() -> None:
    assert clean_tag_name("  VIP \t  customer\n") == "VIP customer"
    assert clean_tag_name("vip") == "vip"


@pytest.mark.parametrize(
    ("name", "allowed"), [("", False), ("a", True), ("a" * TAG_NAME_MAX, True), ("a" * 51, False)]
)
def test_a_cleaned_tag_name_holds_1_to_50_characters(name: str, allowed: bool) -> None:
    assert is_tag_name(name) is allowed


def test_contacts_and_the_importer_clean_tags_the_same_way() -> None:
    raw = "  big   spender "
    profile = validate_profile({"tags": [raw]}, region="US")
    assert profile["tags"] == [clean_tag_name(raw)] == split_tags(raw)


def test_a_tag_longer_than_the_limit_once_cleaned_is_refused_by_contacts() -> None:
    with pytest.raises(InvalidFields, match=f"1-{TAG_NAME_MAX} characters"):
        validate_profile({"tags": ["a" * (TAG_NAME_MAX + 1)]}, region="US")
    # Blanks around do not count against the limit.
    padded = "  " + "a" * TAG_NAME_MAX + "  "
    assert validate_profile({"tags": [padded]}, region="US")["tags"] == ["a" * TAG_NAME_MAX]
