"""Validation and normalization of contact fields, shared by the API and the import path.

Plain functions over plain values: imports validate up to a million rows, so nothing here builds
a model per value. Each checker returns the normalized value or raises `_Invalid` with a reason
that never quotes the value (reasons may reach logs; values are personal data).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from crm_contacts.domain.errors import FieldProblem, InvalidFields
from crm_contacts.domain.text import fold
from crm_shared.identity import PHONE_MAX, normalize_email, to_e164
from crm_shared.rules import (
    CUSTOM_FIELD_KEY_RULE,
    TAG_NAME_MAX,
    clean_tag_name,
    is_custom_field_key,
    is_tag_name,
)
from crm_shared.validation import TEXT_RULE, is_clean_text

NAME_MAX = 200
COMPANY_MAX = 200
TAGS_MAX = 50
CUSTOM_FIELDS_MAX = 100
OWNER_MAX = 100
ADDITIONAL_MAX = 10  # additional emails, additional phones


class _Invalid(ValueError):
    """A single value is invalid; `reason` reads after the field name (`item`: a list index)."""

    def __init__(self, reason: str, *, item: int | None = None) -> None:
        super().__init__(reason)
        self.item = item


def normalize_name(value: Any) -> str:
    """A stripped name of 1-200 characters."""
    if not isinstance(value, str):
        raise _Invalid("is required and must be text")
    name = value.strip()
    if not name:
        raise _Invalid("is required and cannot be empty")
    if len(name) > NAME_MAX:
        raise _Invalid(f"must be at most {NAME_MAX} characters")
    return name


def check_email(value: str) -> str:
    """The address normalized by the platform's identity rules; refused if not local@domain.tld."""
    email = normalize_email(value)
    if email is None:
        raise _Invalid("is not a valid address")
    return email


def check_phone(value: str, region: str) -> str:
    """The number in E.164 form, parsed with `region` as the default country."""
    raw = value.strip()
    e164 = to_e164(raw, region) if len(raw) <= PHONE_MAX else None
    if e164 is None:
        raise _Invalid("is not a valid phone number")
    return e164


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def normalize_timezone(value: str) -> str:
    """A valid IANA timezone name such as Europe/Paris."""
    name = value.strip()
    if name not in _timezones():
        raise _Invalid("is not a valid IANA timezone name (for example Europe/Paris)")
    return name


def normalize_company(value: str) -> str:
    """A stripped company name of at most 200 characters."""
    company = value.strip()
    if len(company) > COMPANY_MAX:
        raise _Invalid(f"must be at most {COMPANY_MAX} characters")
    return company


def normalize_owner(value: str) -> str:
    """The assigned user's id: stripped, 1-100 characters."""
    owner = value.strip()
    if len(owner) > OWNER_MAX:
        raise _Invalid(f"must be 1-{OWNER_MAX} characters")
    return owner


def _list_items(value: Any, what: str) -> list[tuple[int, str]]:
    """The non-blank text items of a list field with their positions (null is an empty list)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Invalid(f"must be a list of {what}")
    items: list[tuple[int, str]] = []
    for position, item in enumerate(value):
        if not isinstance(item, str):
            raise _Invalid("must be text", item=position)
        if item.strip():  # a blank entry is no entry, as for the single fields
            items.append((position, item))
    return items


def _at_most(values: list[Any]) -> list[Any]:
    if len(values) > ADDITIONAL_MAX:
        raise _Invalid(f"must hold at most {ADDITIONAL_MAX} distinct values")
    return values


def normalize_emails(value: Any) -> list[str]:
    """Additional emails, each normalized like the primary, without repeats, at most 10."""
    emails: dict[str, None] = {}
    for position, item in _list_items(value, "email addresses"):
        email = normalize_email(item)
        if email is None:
            raise _Invalid("is not a valid address", item=position)
        emails[email] = None
    return _at_most(list(emails))


def normalize_phones(value: Any, region: str) -> list[tuple[str, str]]:
    """Additional phones as (E.164, text as typed), without repeated numbers, at most 10."""
    phones: dict[str, str] = {}
    for position, item in _list_items(value, "phone numbers"):
        try:
            e164 = check_phone(item, region)
        except _Invalid as exc:
            raise _Invalid(str(exc), item=position) from None
        phones.setdefault(e164, item.strip())
    return _at_most(list(phones.items()))


def normalize_tags(value: Any) -> list[str]:
    """Cleaned tags of 1-50 characters, de-duplicated ignoring case (first spelling kept)."""
    if not isinstance(value, list):
        raise _Invalid("must be a list of text tags")
    seen: set[str] = set()
    tags: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise _Invalid("must contain only text tags")
        tag = clean_tag_name(item)
        if not is_tag_name(tag):
            raise _Invalid(f"must each be 1-{TAG_NAME_MAX} characters")
        folded = fold(tag)  # "VIP", "vip" and "Vìp" are one tag
        if folded not in seen:
            seen.add(folded)
            tags.append(tag)
    if len(tags) > TAGS_MAX:
        raise _Invalid(f"must hold at most {TAGS_MAX} tags")
    return tags


def merge_tags(existing: list[str], added: list[str]) -> list[str]:
    """Existing tags followed by the new ones, de-duplicated ignoring case."""
    return normalize_tags(existing + added) if added else list(existing)


def normalize_custom_fields(value: Any) -> dict[str, Any]:
    """An object whose keys are snake_case identifiers (its shape only).

    The values are judged against the tenant's field definitions, inside the write's
    transaction, by `custom_fields.validate_custom_values`.
    """
    if not isinstance(value, dict):
        raise _Invalid("must be an object")
    if len(value) > CUSTOM_FIELDS_MAX:
        raise _Invalid(f"must hold at most {CUSTOM_FIELDS_MAX} fields")
    fields: dict[str, Any] = {}
    for key, item in value.items():
        if not is_custom_field_key(key):
            raise _Invalid(f"keys {CUSTOM_FIELD_KEY_RULE}")
        fields[key] = item
    return fields


def _optional_text(check: Callable[[str], str]) -> Callable[[Any], str | None]:
    def normalize(value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise _Invalid("must be text or null")
        # A blank optional field means "no value": auto-save sends "" when a field is emptied.
        return check(value) if value.strip() else None

    return normalize


@lru_cache(maxsize=16)
def _checkers(region: str) -> dict[str, Callable[[Any], Any]]:
    return {
        "name": normalize_name,
        "email": _optional_text(check_email),
        "phone": _optional_text(lambda v: check_phone(v, region)),
        "company": _optional_text(normalize_company),
        "timezone": _optional_text(normalize_timezone),
        "owner": _optional_text(normalize_owner),
        "emails": normalize_emails,
        "phones": lambda v: normalize_phones(v, region),
        "tags": lambda v: [] if v is None else normalize_tags(v),
        "custom_fields": lambda v: {} if v is None else normalize_custom_fields(v),
    }


def _clean(value: Any) -> bool:
    """False when a text (or a list of texts) holds NUL or a lone surrogate; custom values are
    judged by their own field types."""
    if isinstance(value, str):
        return is_clean_text(value)
    if isinstance(value, list):
        return all(is_clean_text(item) for item in value if isinstance(item, str))
    return True


def validate_profile(
    raw: Mapping[str, Any], *, region: str, require_name: bool = False
) -> dict[str, Any]:
    """Normalize the profile fields present in `raw`; raise InvalidFields naming each bad one.

    Returns only the fields present, plus `phone_raw` next to `phone` and `phones_raw` next to
    `phones`. `None` clears an optional field (tags, custom_fields, emails and phones become
    empty); `name` can never be cleared.
    """
    checkers = _checkers(region)
    profile: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    if require_name and "name" not in raw:
        problems.append(FieldProblem("name", "is required"))
    for field, value in raw.items():
        checker = checkers.get(field)
        if checker is None:
            problems.append(FieldProblem(field, "is not a contact field"))
            continue
        if not _clean(value):
            problems.append(FieldProblem(field, TEXT_RULE))
            continue
        try:
            profile[field] = checker(value)
        except _Invalid as exc:
            name = field if exc.item is None else f"{field}[{exc.item}]"
            problems.append(FieldProblem(name, str(exc)))
    if problems:
        raise InvalidFields(problems)
    if "phone" in profile:
        profile["phone_raw"] = raw["phone"].strip() if profile["phone"] else None
    if "phones" in profile:
        pairs = profile["phones"]
        profile["phones"] = [e164 for e164, _ in pairs]
        profile["phones_raw"] = [typed for _, typed in pairs]
    return profile
