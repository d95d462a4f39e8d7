"""Identifier hashes agree whatever form an address or number was typed in."""

from __future__ import annotations

from crm_shared.identity import (
    PersonIdentifiers,
    identifier_hash,
    normalize_email,
    person_hashes,
    phone_digits,
)

KEY = b"test-key"


def test_an_internationalized_domain_hashes_like_its_ascii_form() -> None:
    typed = identifier_hash(KEY, "email", " Zoe@Bücher.de ")
    stored = identifier_hash(KEY, "email", "zoe@xn--bcher-kva.de")
    assert typed == stored


def test_emails_are_trimmed_and_lower_cased() -> None:
    assert normalize_email("  Ada@Example.COM ") == "ada@example.com"


def test_phone_formatting_does_not_change_the_hash() -> None:
    assert phone_digits("+1 (415) 555-0123") == "+14155550123"
    assert identifier_hash(KEY, "phone", "+1 415 555 0123") == identifier_hash(
        KEY, "phone", "+14155550123"
    )


def test_different_people_hash_differently_and_the_key_matters() -> None:
    assert identifier_hash(KEY, "email", "a@example.com") != identifier_hash(
        KEY, "email", "b@example.com"
    )
    assert identifier_hash(KEY, "email", "a@example.com") != identifier_hash(
        b"other-key", "email", "a@example.com"
    )


def test_a_contact_is_hashed_by_every_email_and_every_phone_in_e164_and_as_typed() -> None:
    contact = {
        "email": "ada@example.com",
        "emails": ["ada@home.example"],
        "phone": "+14155552671",
        "phone_raw": "(415) 555-2671",
        "phones": ["+442079460958"],
        "phones_raw": ["020 7946 0958"],
    }
    hashes = person_hashes(KEY, PersonIdentifiers.of_contact(contact), region="US")
    assert hashes == [
        identifier_hash(KEY, "email", "ada@example.com"),
        identifier_hash(KEY, "email", "ada@home.example"),
        identifier_hash(KEY, "phone", "+14155552671"),
        identifier_hash(KEY, "phone", "+442079460958"),
        identifier_hash(KEY, "phone", "4155552671"),
        identifier_hash(KEY, "phone", "02079460958"),
    ]


def test_a_typed_phone_equal_to_its_e164_form_is_hashed_once() -> None:
    contact = {"phone": "+14155552671", "phone_raw": "+1 415 555 2671"}
    hashes = person_hashes(KEY, PersonIdentifiers.of_contact(contact), region="US")
    assert hashes == [identifier_hash(KEY, "phone", "+14155552671")]


def test_the_region_decides_the_country_of_a_national_number() -> None:
    row = PersonIdentifiers.of_row({"phone": "020 7946 0958"})
    assert identifier_hash(KEY, "phone", "+442079460958") in person_hashes(KEY, row, region="GB")
    assert identifier_hash(KEY, "phone", "+442079460958") not in person_hashes(
        KEY, row, region="US"
    )


def test_a_row_cell_that_is_neither_email_nor_phone_gives_no_hash() -> None:
    row = PersonIdentifiers.of_row({"name": "Ada", "plan": "pro", "seats": "12", "blank": " "})
    assert person_hashes(KEY, row, region="US") == []


def test_a_short_valid_number_is_hashed_in_both_forms_though_it_has_few_digits() -> None:
    # Niue's numbers have four national digits: a row holding one still finds the contact.
    row = PersonIdentifiers.of_row({"phone": "7012"})
    assert set(person_hashes(KEY, row, region="NU")) == {
        identifier_hash(KEY, "phone", "+6837012"),
        identifier_hash(KEY, "phone", "7012"),
    }


def test_of_contact_keeps_the_non_blank_texts_of_each_field_and_its_list() -> None:
    alone = PersonIdentifiers.of_contact(
        {"email": " ada@example.com ", "emails": [], "phone": "", "phones": None}
    )
    assert alone.emails == (" ada@example.com ",) and alone.e164 == () and alone.typed == ()
    both = PersonIdentifiers.of_contact(
        {
            "email": None,
            "emails": ["a@x.io", " ", 7, "b@x.io"],
            "phone": "+14155550100",
            "phones": ("+14155550101",),
            "phone_raw": 5,
        }
    )
    assert both.emails == ("a@x.io", "b@x.io")
    assert both.e164 == ("+14155550100", "+14155550101")
    assert both.typed == ()
