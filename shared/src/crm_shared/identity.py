"""Identity rules, once: email and phone normalization and the keyed hashes that find a person.

Every service normalizes and hashes a person's identifiers here, so a contact's erasure finds a
failed import row or a suppression entry whatever service hashed it and however it was typed.

Emails: stripped, lower-cased, an internationalized domain (`bücher.de`) in its ASCII (IDNA)
form, an internationalized local part (RFC 6531: `jörg@`, `用户@`) in Unicode NFC with only
letters, marks and digits beyond ASCII (no spaces, symbols or controls), at most 64 bytes.
Imports check up to a million addresses, so validity is a regular expression (~0.5 µs)
rather than `email_validator` (~22-65 µs); the IDNA codec runs only for non-ASCII domains and is
cached per domain, because imports repeat domains.

Phones: E.164. `phonenumbers.parse` costs ~10 µs and `is_valid_number` ~7 µs. Plain digit
strings (the usual CSV content) are checked against their country's main region's patterns,
compiled once, without building a PhoneNumber (phonenumbers' own check of that region tries up
to ten number types through its pattern cache); everything else (extensions, letters, trunk
prefixes, numbers of another region of the country code, invalid numbers) goes through
phonenumbers' full parse, so the result always equals what phonenumbers alone gives (tests
compare the two over every region's example numbers of every type).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import cache, lru_cache
from typing import Any, Literal, NamedTuple

import phonenumbers
from phonenumbers.phonemetadata import PhoneMetadata, PhoneNumberDesc

EMAIL_MAX = 254
# local@domain.tld, checked after normalization.
EMAIL_PATTERN = re.compile(
    r"(?!\.)(?!.*\.\.)[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}(?<!\.)"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})"
)
_DOMAIN_PATTERN = re.compile(EMAIL_PATTERN.pattern.split("@", 1)[1])

PHONE_MAX = 64  # longest phone text accepted as typed
# A value this long in digits is hashed as typed even when it is no valid number (a failed row's
# cell in another region's format); shorter invalid ones are no phone at all.
_PHONE_MIN_DIGITS = 6
_SEPARATORS = re.compile(r"[\s().\-/]")
_INTERNATIONAL = re.compile(r"\+[1-9]\d{6,14}")
_NATIONAL = re.compile(r"\d{4,17}")
_NON_DIGITS = re.compile(r"[^\d+]")
_E164 = phonenumbers.PhoneNumberFormat.E164

IdentifierKind = Literal["email", "phone"]


# --- emails and domains ---------------------------------------------------------------------


@lru_cache(maxsize=4096)
def ascii_domain(domain: str) -> str | None:
    """The domain in ASCII (IDNA) form, lower-cased; None if it cannot be encoded."""
    if domain.isascii():
        return domain.lower()
    try:
        return domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None


def _canonical_email(value: str) -> str | None:
    email = value.strip().lower()
    if email.isascii():
        return email
    local, at, domain = email.rpartition("@")
    encoded = ascii_domain(domain) if at else None
    if encoded is None:
        return None
    return f"{unicodedata.normalize('NFC', local)}@{encoded}"


_LOCAL_MAX_BYTES = 64
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# Beyond ASCII a local part may hold letters (L*), marks (M*) and digits (N*): RFC 6531 allows
# any UTF-8, but spaces, symbols and controls in an address are typing or encoding accidents.
_UNICODE_ATEXT = ("L", "M", "N")


def _pattern_form(email: str) -> str | None:
    """The address with its non-ASCII local characters as `a`, for the ASCII pattern; None if
    the local part holds a character no address should or is longer than 64 bytes."""
    if email.isascii():
        return email
    local, _, domain = email.rpartition("@")
    if len(local.encode()) > _LOCAL_MAX_BYTES:
        return None
    if any(
        not unicodedata.category(char).startswith(_UNICODE_ATEXT)
        for char in _NON_ASCII.findall(local)
    ):
        return None
    return f"{_NON_ASCII.sub('a', local)}@{domain}"


def normalize_email(value: str) -> str | None:
    """The address stripped, lower-cased and with an ASCII domain; None if it is not valid.

    Internationalized local parts (RFC 6531) are kept in Unicode (NFC).
    """
    email = _canonical_email(value)
    if email is None or len(email.encode()) > EMAIL_MAX:
        return None
    checked = _pattern_form(email)
    if checked is None or EMAIL_PATTERN.fullmatch(checked) is None:
        return None
    return email


def normalize_domain(value: str) -> str | None:
    """A bare domain (an account's `domain`) lower-cased in ASCII form; None if it is not valid."""
    encoded = ascii_domain(value.strip().lower())
    if encoded is None or len(encoded) > EMAIL_MAX or _DOMAIN_PATTERN.fullmatch(encoded) is None:
        return None
    return encoded


def email_domain(email: str | None) -> str | None:
    """The domain of a normalized address (None for no address)."""
    if not email:
        return None
    return email.rpartition("@")[2] or None


# --- phones ---------------------------------------------------------------------------------


def _is_valid(number: phonenumbers.PhoneNumber) -> bool:
    # The country's main region first: the full check walks every region sharing the country
    # code (25 for +1).
    main = phonenumbers.region_code_for_country_code(number.country_code or 0)
    return phonenumbers.is_valid_number_for_region(number, main) or phonenumbers.is_valid_number(
        number
    )


def _number(country_code: int, national: str) -> phonenumbers.PhoneNumber:
    number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national))
    zeros = len(national) - len(national.lstrip("0"))
    if zeros:  # leading zeros that belong to the number (Italy and a few others)
        number.italian_leading_zero = True
        if zeros > 1:
            number.number_of_leading_zeros = zeros
    return number


def _split(compact: str, region: str) -> tuple[int, str] | None:
    """A plain digit string's country calling code and national digits; None for anything else."""
    if _INTERNATIONAL.fullmatch(compact):
        digits = compact[1:]
        for length in (1, 2, 3):  # country calling codes are prefix-free
            country_code = int(digits[:length])
            if country_code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                return country_code, digits[length:]
        return None
    if _NATIONAL.fullmatch(compact):
        country_code = phonenumbers.country_code_for_region(region)
        return (country_code, compact) if country_code else None
    return None


def _significant(national: str) -> str:
    """`national_significant_number` of `_number(..., national)`: its leading zeros, kept."""
    zeros = len(national) - len(national.lstrip("0"))
    return "0" * zeros + str(int(national))


class _Desc(NamedTuple):
    """A number type of a region: the lengths it allows (none: any) and its pattern."""

    lengths: frozenset[int]
    pattern: re.Pattern[str]

    def matches(self, significant: str) -> bool:
        if self.lengths and len(significant) not in self.lengths:
            return False
        return self.pattern.fullmatch(significant) is not None


def _desc(desc: PhoneNumberDesc | None) -> _Desc | None:
    if desc is None or not desc.national_number_pattern:
        return None  # phonenumbers matches nothing against an absent type
    return _Desc(frozenset(desc.possible_length or ()), re.compile(desc.national_number_pattern))


@cache
def _main_region_types(country_code: int) -> tuple[_Desc, tuple[_Desc, ...]] | None:
    """`is_valid_number_for_region`'s rule for the country's main region, compiled once: a number
    is valid when it matches the general pattern and any number type (the order in which
    phonenumbers tries them only decides which type it reports). None: no such region."""
    region = phonenumbers.region_code_for_country_code(country_code)
    metadata = PhoneMetadata.metadata_for_region(region)
    general = _desc(metadata.general_desc) if metadata is not None else None
    if metadata is None or general is None or metadata.country_code != country_code:
        return None
    kinds = [metadata.fixed_line, metadata.premium_rate, metadata.toll_free, metadata.shared_cost]
    kinds += [metadata.voip, metadata.personal_number, metadata.pager, metadata.uan]
    kinds.append(metadata.voicemail)
    if not metadata.same_mobile_and_fixed_line_pattern:  # else phonenumbers never tries mobile
        kinds.append(metadata.mobile)
    return general, tuple(desc for kind in kinds if (desc := _desc(kind)) is not None)


def _valid_in_main_region(country_code: int, significant: str) -> bool:
    """`is_valid_number_for_region(number, main region)` without building the number: a few
    compiled patterns instead of phonenumbers' walk through every type."""
    rule = _main_region_types(country_code)
    if rule is None:
        return False
    general, kinds = rule
    return general.matches(significant) and any(kind.matches(significant) for kind in kinds)


@lru_cache(maxsize=8192)
def to_e164(raw: str, region: str) -> str | None:
    """The number in E.164 form (`region`: country of national numbers); None if not valid."""
    split = _split(_SEPARATORS.sub("", raw), region)
    if split is not None:
        country_code, national = split
        significant = _significant(national)
        if _valid_in_main_region(country_code, significant):
            return f"+{country_code}{significant}"  # format_number's E.164 of that number
        built = _number(country_code, national)
        if _is_valid(built):
            return phonenumbers.format_number(built, _E164)
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, _E164) if _is_valid(number) else None


def phone_digits(value: str) -> str:
    """Only the digits and a leading plus: the phone as typed, formatting left out."""
    text = value.strip()
    if (text[1:] if text[:1] == "+" else text).isdecimal():
        return text  # already compact, as E.164 numbers are
    digits = _NON_DIGITS.sub("", text)
    return ("+" + digits.replace("+", "")) if digits.startswith("+") else digits.replace("+", "")


def known_region(value: str) -> str:
    """An ISO 3166 region phonenumbers knows, upper-cased; ValueError otherwise."""
    region = value.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown phone region {value!r} (use an ISO 3166 code such as US)")
    return region


# --- keyed hashes ---------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _keyed(key: bytes) -> hmac.HMAC:
    # Copying a keyed HMAC skips deriving the key pads again: half the cost of hmac.new.
    return hmac.new(key, digestmod=hashlib.sha256)


def _hash(key: bytes, kind: IdentifierKind, normalized: str) -> str:
    mac = _keyed(key).copy()
    mac.update(f"{kind}:{normalized}".encode())
    return mac.hexdigest()


def identifier_hash(key: bytes, kind: IdentifierKind, value: str) -> str:
    """HMAC-SHA256 of one normalized email or phone (as typed); the value cannot be recovered."""
    if kind == "email":
        return _hash(key, kind, _canonical_email(value) or value.strip().lower())
    return _hash(key, kind, phone_digits(value))


def _texts(first: object, more: object) -> tuple[str, ...]:
    """The non-blank texts of a single field and its list field (a contact's primary + others)."""
    if not more:  # no others (nearly every import row): no tuple to build and filter
        return (first,) if isinstance(first, str) and first.strip() else ()
    values = (first, *more) if isinstance(more, list | tuple) else (first,)
    return tuple(v for v in values if isinstance(v, str) and v.strip())


class PersonIdentifiers(NamedTuple):
    """A person's emails and phones, before hashing."""

    emails: tuple[str, ...] = ()
    # Phones in any format, not known to be valid: parsed with the region, hashed in E.164 form
    # (when valid) and as typed.
    phones: tuple[str, ...] = ()
    # Valid phones as the contacts service stores them, in E.164 form and as typed: hashed as
    # they are, without parsing them again (imports hash every row).
    e164: tuple[str, ...] = ()
    typed: tuple[str, ...] = ()

    @classmethod
    def of_contact(cls, contact: Mapping[str, Any]) -> PersonIdentifiers:
        """A stored contact, a validated profile, or a contact as the contacts API returns it."""
        return cls(
            emails=_texts(contact.get("email"), contact.get("emails")),
            e164=_texts(contact.get("phone"), contact.get("phones")),
            typed=_texts(contact.get("phone_raw"), contact.get("phones_raw")),
        )

    @classmethod
    def of_row(cls, values: Mapping[str, str]) -> PersonIdentifiers:
        """Every cell of a failed import row: its cells may have shifted to another column."""
        cells = tuple(v for v in values.values() if v.strip())
        return cls(
            emails=tuple(c for c in cells if "@" in c),
            phones=tuple(c for c in cells if "@" not in c and any(ch.isdigit() for ch in c)),
        )


def _phone_keys(typed: str, region: str) -> Iterable[str]:
    raw = typed.strip()
    e164 = to_e164(raw, region) if len(raw) <= PHONE_MAX else None
    digits = phone_digits(raw)
    if e164 is not None:
        yield e164
    if e164 is not None or sum(ch.isdigit() for ch in digits) >= _PHONE_MIN_DIGITS:
        yield digits


def person_hashes(key: bytes, person: PersonIdentifiers, *, region: str) -> list[str]:
    """The keyed hashes that find a person: every email, every phone in E.164 and as typed.

    `region` is the platform's default region (`CRM_DEFAULT_REGION`), the country of phones
    typed without one. The same person gives the same hashes in every service.
    """
    emails: dict[str, None] = {}
    for email in person.emails:
        emails[_canonical_email(email) or email.strip().lower()] = None
    phones: dict[str, None] = {}
    for number in (*person.e164, *person.typed):
        phones[phone_digits(number)] = None
    for unknown in person.phones:
        phones.update(dict.fromkeys(_phone_keys(unknown, region)))
    hashes = [_hash(key, "email", email) for email in emails]
    return hashes + [_hash(key, "phone", phone) for phone in phones if phone]
