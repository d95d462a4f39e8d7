"""The contacts service applies the shared key and tag-name rules on every path."""

from __future__ import annotations

import pytest

from crm_contacts.domain.errors import InvalidFields
from crm_contacts.domain.field_definitions import new_definition
from crm_contacts.domain.validation import validate_profile
from crm_shared.rules import TAG_NAME_MAX, clean_tag_name, is_custom_field_key
from tests.shared.test_rules import BAD_KEYS, GOOD_KEYS


def _definition_accepts(key: str) -> bool:
    try:
        new_definition(key=key, label="Plan", type="text")
    except InvalidFields:
        return False
    return True


def _profile_accepts(key: str) -> bool:
    try:
        validate_profile({"custom_fields": {key: "x"}}, region="US")
    except InvalidFields:
        return False
    return True


@pytest.mark.parametrize("key", GOOD_KEYS + BAD_KEYS)
def test_definitions_and_contact_values_take_exactly_the_valid_keys(key: str) -> None:
    expected = is_custom_field_key(key)
    assert (_definition_accepts(key), _profile_accepts(key)) == (expected, expected)


def test_contact_tags_are_cleaned_with_the_shared_rule() -> None:
    raw = "  big   spender "
    assert validate_profile({"tags": [raw]}, region="US")["tags"] == [clean_tag_name(raw)]


def test_a_tag_longer_than_the_limit_once_cleaned_is_refused() -> None:
    with pytest.raises(InvalidFields, match=f"1-{TAG_NAME_MAX} characters"):
        validate_profile({"tags": ["a" * (TAG_NAME_MAX + 1)]}, region="US")
    padded = "  " + "a" * TAG_NAME_MAX + "  "  # blanks around do not count
    assert validate_profile({"tags": [padded]}, region="US")["tags"] == ["a" * TAG_NAME_MAX]
