"""The fast E.164 path must give exactly what phonenumbers alone gives."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from phonenumbers.phonemetadata import PhoneMetadata

from crm_shared.identity import to_e164


def _reference(raw: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _spellings(region: str) -> list[str]:
    """Every region's example numbers, written the ways people type them, plus near misses."""
    example = phonenumbers.example_number(region)
    if example is None:
        return []
    prefix = PhoneMetadata.metadata_for_region(region).national_prefix or ""  # type: ignore[union-attr]
    national = phonenumbers.national_significant_number(example)
    formats = (
        phonenumbers.PhoneNumberFormat.INTERNATIONAL,
        phonenumbers.PhoneNumberFormat.NATIONAL,
        phonenumbers.PhoneNumberFormat.E164,
    )
    written = [phonenumbers.format_number(example, f) for f in formats]
    return [*written, national, prefix + national, national[:-1], national + "7"]


@pytest.mark.parametrize("default_region", ["US", "GB"])
def test_every_regions_examples_agree_with_phonenumbers(default_region: str) -> None:
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for raw in _spellings(region):
            for parse_region in (region, default_region):
                assert to_e164(raw, parse_region) == _reference(raw, parse_region), (raw, region)


def test_random_digit_strings_agree_with_phonenumbers() -> None:
    rng = random.Random(7)
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    for _ in range(2000):
        region = rng.choice(regions)
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(4, 14)))
        for raw in (digits, "+" + digits):
            assert to_e164(raw, region) == _reference(raw, region), (raw, region)


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("(415) 555-2671", "US", "+14155552671"),
        ("1 415 555 2671", "US", "+14155552671"),
        ("+1 415 555 2671", "GB", "+14155552671"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("06 1234 5678", "IT", "+390612345678"),
        ("+1 415 555 2671 ext. 12", "US", "+14155552671"),
    ],
)
def test_common_spellings_become_e164(raw: str, region: str, e164: str) -> None:
    assert to_e164(raw, region) == e164


_TYPES = [t for t in vars(phonenumbers.PhoneNumberType).values() if isinstance(t, int)]


def test_every_number_type_of_every_region_agrees_with_phonenumbers() -> None:
    """The quick check of a country's main region stands for phonenumbers' walk through its number
    types: every type's example number, and neighbours of it that may be of no type at all."""
    rng = random.Random(11)
    checked = 0
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in _TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            code = example.country_code
            national = phonenumbers.national_significant_number(example)
            neighbours = [national[:-2] + f"{rng.randrange(100):02d}" for _ in range(3)]
            for digits in [national, *neighbours, national[:-1], national + "1"]:
                for raw in (f"+{code}{digits}", f"+{code} {digits[:3]} {digits[3:]}"):
                    assert to_e164(raw, "US") == _reference(raw, "US"), (raw, region, kind)
                    checked += 1
    assert checked > 10_000
