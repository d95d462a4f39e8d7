"""Additional emails and phones, owner: validation, the primary left out, erasure hashes."""

from __future__ import annotations

from typing import Any

import pytest

from crm_contacts.domain.contact import anonymized, apply_profile, new_contact
from crm_contacts.domain.errors import InvalidFields
from crm_contacts.domain.validation import validate_profile
from crm_shared.identity import PersonIdentifiers, identifier_hash, person_hashes

NOW = "2026-01-01T00:00:00.000000Z"
KEY = b"k"


def _problems(raw: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(InvalidFields) as caught:
        validate_profile(raw, region="US")
    return [(p.field, p.reason) for p in caught.value.problems]


def _contact(**profile: Any) -> dict[str, Any]:
    valid = validate_profile({"name": "Ada", **profile}, region="US")
    return new_contact(contact_id="c1", tenant="acme", profile=valid, source="manual", now=NOW)


def test_additional_emails_are_normalized_and_repeats_dropped_in_order() -> None:
    profile = validate_profile(
        {"emails": [" B@Example.com", "a@bücher.de", "b@example.COM", "  "]}, region="US"
    )
    assert profile["emails"] == ["b@example.com", "a@xn--bcher-kva.de"]


def test_an_invalid_additional_email_is_named_by_its_position() -> None:
    assert _problems({"emails": ["ok@example.com", "nope@"]}) == [
        ("emails[1]", "is not a valid address")
    ]


def test_a_non_text_additional_email_is_named_by_its_position() -> None:
    assert _problems({"emails": [7]}) == [("emails[0]", "must be text")]


def test_additional_emails_must_be_a_list() -> None:
    assert _problems({"emails": "a@example.com"}) == [
        ("emails", "must be a list of email addresses")
    ]


def test_more_than_ten_distinct_additional_emails_are_refused() -> None:
    emails = [f"p{n}@example.com" for n in range(11)]
    assert _problems({"emails": emails}) == [("emails", "must hold at most 10 distinct values")]


def test_ten_additional_emails_with_repeats_are_accepted() -> None:
    emails = [f"p{n % 10}@example.com" for n in range(15)]
    assert len(validate_profile({"emails": emails}, region="US")["emails"]) == 10


def test_additional_phones_keep_e164_and_the_text_as_typed() -> None:
    profile = validate_profile(
        {"phones": ["(415) 555-2671", "+1 415 555 2671", "+44 20 7946 0958"]}, region="US"
    )
    assert profile["phones"] == ["+14155552671", "+442079460958"]
    assert profile["phones_raw"] == ["(415) 555-2671", "+44 20 7946 0958"]


def test_an_unparseable_additional_phone_is_named_by_its_position() -> None:
    assert _problems({"phones": ["call me maybe"]}) == [
        ("phones[0]", "is not a valid phone number")
    ]


def test_null_lists_clear_to_empty() -> None:
    profile = validate_profile({"emails": None, "phones": None}, region="US")
    assert profile == {"emails": [], "phones": [], "phones_raw": []}


def test_owner_is_stripped_and_blank_means_none() -> None:
    assert validate_profile({"owner": " user-7 "}, region="US") == {"owner": "user-7"}
    assert validate_profile({"owner": "  "}, region="US") == {"owner": None}


@pytest.mark.parametrize("owner", ["u" * 101, 7])
def test_bad_owner_is_refused(owner: object) -> None:
    assert [field for field, _ in _problems({"owner": owner})] == ["owner"]


def test_the_primary_email_and_phone_are_left_out_of_the_additional_ones() -> None:
    doc = _contact(
        email="ada@example.com",
        emails=["ADA@example.com", "ada@home.example"],
        phone="+14155552671",
        phones=["(415) 555-2671", "+442079460958"],
    )
    assert doc["emails"] == ["ada@home.example"]
    assert (doc["phones"], doc["phones_raw"]) == (["+442079460958"], ["+442079460958"])


def test_promoting_an_additional_email_to_primary_removes_it_from_the_list() -> None:
    doc = _contact(email="ada@example.com", emails=["ada@home.example", "ada@work.example"])
    profile = validate_profile({"email": "ada@home.example"}, region="US")
    updated, changes = apply_profile(doc, profile)
    assert updated["emails"] == ["ada@work.example"]
    assert changes["emails"] == (["ada@home.example", "ada@work.example"], ["ada@work.example"])


def test_the_same_phones_typed_differently_are_no_change() -> None:
    doc = _contact(phones=["(415) 555-2671"])
    profile = validate_profile({"phones": ["+1 415-555-2671"]}, region="US")
    updated, changes = apply_profile(doc, profile)
    assert changes == {}
    assert updated["phones_raw"] == ["(415) 555-2671"]


def test_additional_emails_and_phones_are_searchable() -> None:
    doc = _contact(emails=["ada@home.example"], phones=["+44 20 7946 0958"])
    assert "ada@home.example" in doc["search_text"]
    assert "+442079460958" in doc["search_text"]


def test_suppression_hashes_cover_additional_emails_and_phones() -> None:
    doc = _contact(email="ada@example.com", emails=["ada@home.example"], phones=["(415) 555-2671"])
    hashes = person_hashes(KEY, PersonIdentifiers.of_contact(doc), region="US")
    assert identifier_hash(KEY, "email", "ada@home.example") in hashes
    assert identifier_hash(KEY, "phone", "+14155552671") in hashes
    assert identifier_hash(KEY, "phone", "(415) 555-2671") in hashes


def test_erasure_clears_additional_emails_phones_owner_and_account() -> None:
    doc = _contact(emails=["ada@home.example"], phones=["(415) 555-2671"], owner="u1")
    doc["account_id"] = "a1"
    erased = anonymized(doc, NOW)
    assert [erased[f] for f in ("emails", "phones", "phones_raw", "owner", "account_id")] == [
        [],
        [],
        [],
        None,
        None,
    ]
