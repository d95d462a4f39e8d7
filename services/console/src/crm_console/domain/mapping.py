"""Suggesting which contact field each CSV column fills, as the import wizard shows it."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from crm_shared.contact_fields import IMPORTABLE_FIELDS
from crm_shared.rules import is_custom_field_key

CUSTOM_PREFIX = "custom."
# The contacts API's longest custom field key.
_KEY_MAX = 64

# Common column headings that name a field differently.
_SYNONYMS: dict[str, str] = {
    "full_name": "name",
    "fullname": "name",
    "contact": "name",
    "contact_name": "name",
    "e_mail": "email",
    "email_address": "email",
    "mail": "email",
    "telephone": "phone",
    "tel": "phone",
    "mobile": "phone",
    "phone_number": "phone",
    "organisation": "company",
    "organization": "company",
    "account": "company",
    "time_zone": "timezone",
    "tz": "timezone",
    "labels": "tags",
}


def _slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", folded).strip("_")


def field_choices(custom: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(value, label) of every field a column may fill: standard ones, then `custom.<key>`."""
    choices = [(name, name.replace("_", " ").capitalize()) for name in IMPORTABLE_FIELDS]
    choices += [(f"custom.{key}", f"{label} (custom)") for key, label in custom]
    return choices


def new_field_key(header: str) -> str | None:
    """The key a new custom field for this column would get: `custom.<key>` headers (a file
    exported from this CRM) keep theirs, other headers are slugged; None if nothing is left."""
    if header.startswith(CUSTOM_PREFIX) and is_custom_field_key(header[len(CUSTOM_PREFIX) :]):
        return header[len(CUSTOM_PREFIX) :]
    slug = _slug(header)
    if slug[:1].isdigit():
        slug = f"field_{slug}"
    key = slug[:_KEY_MAX].rstrip("_")
    return key if is_custom_field_key(key) else None


def column_choices(
    header: str, choices: Sequence[tuple[str, str]], chosen: str
) -> list[tuple[str, str]]:
    """The fields one column may fill: every field of `choices`, then a new custom field named
    after the column (and the field chosen for it, if it is one of neither)."""
    offered = list(choices)
    values = {value for value, _ in offered}
    key = new_field_key(header)
    if key is not None and f"{CUSTOM_PREFIX}{key}" not in values and key not in values:
        offered.append((f"{CUSTOM_PREFIX}{key}", f"New custom field: {key}"))
        values.add(f"{CUSTOM_PREFIX}{key}")
    if chosen and chosen not in values:
        offered.append((chosen, chosen))
    return offered


def suggest_mapping(headers: Sequence[str], custom: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Column header -> suggested field ("" = ignore), each field suggested for one column."""
    by_slug: dict[str, str] = {_slug(name): name for name in IMPORTABLE_FIELDS}
    by_slug.update({slug: field for slug, field in _SYNONYMS.items() if field in IMPORTABLE_FIELDS})
    for key, label in custom:
        by_slug.setdefault(_slug(key), f"custom.{key}")
        by_slug.setdefault(_slug(label), f"custom.{key}")
    taken: set[str] = set()
    suggestion: dict[str, str] = {}
    for header in headers:
        field = by_slug.get(_slug(header), "")
        key = header.removeprefix(CUSTOM_PREFIX)
        if not field and key != header and is_custom_field_key(key):
            field = header  # how this CRM's exports name custom fields, defined or not
        if field in taken:
            field = ""
        if field:
            taken.add(field)
        suggestion[header] = field
    return suggestion
