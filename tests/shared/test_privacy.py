"""Identifier hashes agree across services whatever form an address or number was typed in."""

from __future__ import annotations

from crm_shared.privacy import identifier_hash, normalize_email, normalize_phone

KEY = b"test-key"


def test_an_internationalized_domain_hashes_like_its_ascii_form() -> None:
    typed = identifier_hash(KEY, "email", " Zoe@Bücher.de ")
    stored = identifier_hash(KEY, "email", "zoe@xn--bcher-kva.de")
    assert typed == stored


def test_emails_are_trimmed_and_lower_cased() -> None:
    assert normalize_email("  Ada@Example.COM ") == "ada@example.com"


def test_phone_formatting_does_not_change_the_hash() -> None:
    assert normalize_phone("+1 (415) 555-0123") == "+14155550123"
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
