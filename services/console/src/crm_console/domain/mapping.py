"""Suggesting which contact field each CSV column fills, as the import wizard shows it."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from crm_shared.contact_fields import IMPORTABLE_FIELDS

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
        if field in taken:
            field = ""
        if field:
            taken.add(field)
        suggestion[header] = field
    return suggestion
