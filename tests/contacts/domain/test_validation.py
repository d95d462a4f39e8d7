"""Field validation and normalization shared by the API and imports."""

from __future__ import annotations

import pytest

from crm_contacts.domain.errors import InvalidFields
from crm_contacts.domain.validation import validate_profile


def _fields_named(error: InvalidFields) -> list[str]:
    return [p.field for p in error.problems]


def test_name_is_stripped() -> None:
    assert validate_profile({"name": "  Ada  "}, region="US") == {"name": "Ada"}


@pytest.mark.parametrize("name", ["", "   ", None, "x" * 201, 7])
def test_bad_name_is_rejected(name: object) -> None:
    with pytest.raises(InvalidFields) as caught:
        validate_profile({"name": name}, region="US")
    assert _fields_named(caught.value) == ["name"]


def test_missing_name_is_rejected_when_required() -> None:
    with pytest.raises(InvalidFields) as caught:
        validate_profile({"email": "a@b.co"}, region="US", require_name=True)
    assert _fields_named(caught.value) == ["name"]


def test_email_is_stripped_and_lower_cased() -> None:
    profile = validate_profile({"email": "  Ada.Lovelace@Example.COM "}, region="US")
    assert profile["email"] == "ada.lovelace@example.com"


@pytest.mark.parametrize(
    "email",
    [
        "plainaddress",
        "a@b",
        "a@b.c",
        "@example.com",
        "a..b@example.com",
        ".a@example.com",
        "a.@example.com",
        "a b@example.com",
        "a@-example.com",
        "a@example..com",
        ("x" * 65) + "@example.com",
        "a@" + ("d" * 250) + ".com",
    ],
)
def test_invalid_email_is_rejected(email: str) -> None:
    with pytest.raises(InvalidFields) as caught:
        validate_profile({"email": email}, region="US")
    assert _fields_named(caught.value) == ["email"]
    assert email not in caught.value.detail  # reasons never quote personal data


@pytest.mark.parametrize(
    "email",
    ["a@b.co", "first.last+tag@sub.example.org", "o'brien@example.ie", "x@example.xn--p1ai"],
)
def test_valid_email_is_accepted(email: str) -> None:
    assert validate_profile({"email": email}, region="US")["email"] == email


def test_blank_optional_field_means_no_value() -> None:
    assert validate_profile({"email": "  ", "company": ""}, region="US") == {
        "email": None,
        "company": None,
    }


def test_phone_is_stored_as_e164_with_the_original_text() -> None:
    profile = validate_profile({"phone": " (415) 555-2671 "}, region="US")
    assert profile["phone"] == "+14155552671"
    assert profile["phone_raw"] == "(415) 555-2671"


def test_phone_uses_the_default_region() -> None:
    assert validate_profile({"phone": "020 7946 0958"}, region="GB")["phone"] == "+442079460958"


@pytest.mark.parametrize("phone", ["not a phone", "12", "+1 555 0000", "+999 1234567"])
def test_unparseable_or_invalid_phone_is_rejected(phone: str) -> None:
    with pytest.raises(InvalidFields) as caught:
        validate_profile({"phone": phone}, region="US")
    assert _fields_named(caught.value) == ["phone"]


def test_timezone_must_be_an_iana_name() -> None:
    assert validate_profile({"timezone": "Europe/Paris"}, region="US")["timezone"] == "Europe/Paris"
    with pytest.raises(InvalidFields) as caught:
        validate_profile({"timezone": "Mars/Olympus"}, region="US")
    assert _fields_named(caught.value) == ["timezone"]


def test_tags_are_deduplicated_ignoring_case_keeping_the_first_spelling() -> None:
    profile = validate_profile({"tags": [" VIP ", "vip", "Customer", "customer "]}, region="US")
    assert profile["tags"] == ["VIP", "Customer"]


@pytest.mark.parametrize("tags", [[""], ["x" * 51], [f"t{i}" for i in range(51)], "vip", [3]])
def test_bad_tags_are_rejected(tags: object) -> None:
    with pytest.raises(InvalidFields) as caught:
        validate_profile({"tags": tags}, region="US")
    assert _fields_named(caught.value) == ["tags"]


def test_custom_fields_accept_scalars_and_lists_of_text() -> None:
    fields = {"plan": "pro", "seats": 5, "score": 0.5, "active": True, "notes": None, "ids": ["a"]}
    assert validate_profile({"custom_fields": fields}, region="US")["custom_fields"] == fields


@pytest.mark.parametrize(
    "fields",
    # Values are typed against the field definitions later (test_custom_fields_*); here only
    # the object's shape and keys are checked.
    [{"Plan": "x"}, {"1st": "x"}, {"a-b": "x"}, {"x" * 65: 1}],
)
def test_bad_custom_fields_are_rejected(fields: dict[str, object]) -> None:
    with pytest.raises(InvalidFields) as caught:
        validate_profile({"custom_fields": fields}, region="US")
    assert _fields_named(caught.value) == ["custom_fields"]


def test_every_invalid_field_is_named_at_once() -> None:
    with pytest.raises(InvalidFields) as caught:
        validate_profile({"name": "", "email": "nope", "timezone": "Nowhere"}, region="US")
    assert _fields_named(caught.value) == ["name", "email", "timezone"]


def test_null_clears_tags_and_custom_fields() -> None:
    profile = validate_profile({"tags": None, "custom_fields": None}, region="US")
    assert profile == {"tags": [], "custom_fields": {}}
