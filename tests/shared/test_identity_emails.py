"""Email normalization: case, whitespace, IDNA domains, and what is refused."""

from __future__ import annotations

import pytest

from crm_shared.identity import ascii_domain, email_domain, normalize_domain, normalize_email


def test_ascii_address_is_stripped_and_lower_cased() -> None:
    assert normalize_email("  Ada.Lovelace@Example.COM \n") == "ada.lovelace@example.com"


def test_internationalized_domain_becomes_its_idna_form() -> None:
    assert normalize_email("info@bücher.de") == "info@xn--bcher-kva.de"


def test_upper_case_internationalized_domain_gives_the_same_idna_form() -> None:
    assert normalize_email(" Info@BÜCHER.de ") == "info@xn--bcher-kva.de"


def test_idna_form_round_trips_to_the_unicode_domain() -> None:
    stored = normalize_email("info@bücher.de")
    assert stored is not None and normalize_email(stored) == stored
    domain = email_domain(stored)
    assert domain is not None and domain.encode("ascii").decode("idna") == "bücher.de"


def test_internationalized_top_level_domain_is_accepted() -> None:
    assert normalize_email("a@例え.テスト") == "a@xn--r8jz45g.xn--zckzah"


@pytest.mark.parametrize(
    "address",
    [
        "jö rg@example.com",
        "jörg→@example.com",
        "ö" * 33 + "@example.com",
        "info@bücher..de",
        "info@" + "ü" * 70 + ".de",
        "no-at-sign",
        "a@b",
        "",
    ],
)
def test_invalid_addresses_are_refused(address: str) -> None:
    assert normalize_email(address) is None


def test_idna_conversion_is_cached_per_domain() -> None:
    ascii_domain.cache_clear()
    normalize_email("a@straße-ä.de")
    normalize_email("b@straße-ä.de")
    assert ascii_domain.cache_info().hits == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Example.COM", "example.com"), (" bücher.de ", "xn--bcher-kva.de")],
)
def test_domains_are_normalized_like_email_domains(value: str, expected: str) -> None:
    assert normalize_domain(value) == expected


@pytest.mark.parametrize("value", ["not a domain", "a..b.com", "localhost", "@example.com"])
def test_invalid_domains_are_refused(value: str) -> None:
    assert normalize_domain(value) is None


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        (" Jörg@Example.com", "jörg@example.com"),
        ("用户@例子.广告", "用户@xn--fsqu00a.xn--4rr70v"),
        ("josé.garcía@bücher.de", "josé.garcía@xn--bcher-kva.de"),
        # The same letter typed decomposed (o + combining diaeresis) is stored composed (NFC).
        ("jo\u0308rg@example.com", "jörg@example.com"),
    ],
)
def test_internationalized_local_parts_are_accepted_rfc_6531(address: str, expected: str) -> None:
    assert normalize_email(address) == expected
