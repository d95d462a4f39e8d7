"""Which contact field each column probably holds, from its header and its sample values.

First, middle and last name columns all suggest `name` (their cells are joined in that order);
a mobile or second phone suggests `phones`, a second address `emails`, unless the file has no
primary phone or email, then the first of them is the primary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crm_importer.domain.fields import custom_key, is_import_field
from crm_importer.domain.header_names import AMBIGUOUS_PARTS, HEADER_ROLES, normalize_header

NAME_PARTS = ("first", "middle", "last")
# Cells that look like the field, and the share of sample cells that must look like it.
_EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_SHAPE = re.compile(r"^\+?[\d\s().\-/]{7,20}$")
_TIMEZONE_SHAPE = re.compile(r"^[A-Z][A-Za-z_]+/[A-Za-z_/+-]+$")
_SHAPE_SHARE = 0.8
BY_NAME = 0.95
BY_AMBIGUOUS_NAME = 0.7
BY_VALUES = 0.6


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A field for a column and how sure the guess is (0-1)."""

    field: str
    confidence: float
    # For name parts: first, middle or last (their cells are joined in that order).
    part: str | None = None


def _shape(samples: list[str]) -> str | None:
    cells = [s.strip() for s in samples if s.strip()]
    if not cells:
        return None
    for field, shape in (
        ("email", _EMAIL_SHAPE),
        ("timezone", _TIMEZONE_SHAPE),
        ("phone", _PHONE_SHAPE),
    ):
        if sum(1 for c in cells if shape.match(c)) >= _SHAPE_SHARE * len(cells):
            if field == "phone" and sum(ch.isdigit() for ch in cells[0]) < 6:
                continue
            return field
    return None


def _role(header: str) -> tuple[str | None, float]:
    name = normalize_header(header)
    if not name:
        return None, 0.0
    exact = header.strip().casefold()
    if is_import_field(exact) or custom_key(header.strip()) is not None:
        return header.strip() if custom_key(header.strip()) else exact, 1.0
    role = HEADER_ROLES.get(name)
    if role is not None:
        return role, BY_NAME
    if name in AMBIGUOUS_PARTS:
        return "ambiguous", BY_AMBIGUOUS_NAME
    return None, 0.0


def suggest(headers: list[str], samples: list[list[str]]) -> list[Suggestion | None]:
    """One suggestion (or None) per column; `samples[i]` are column i's first cells."""
    roles = [_role(h) for h in headers]
    has_part = {r for r, _ in roles if r in NAME_PARTS}
    suggestions: list[Suggestion | None] = []
    for index, (role, confidence) in enumerate(roles):
        column_samples = samples[index] if index < len(samples) else []
        if role == "ambiguous":
            part = AMBIGUOUS_PARTS[normalize_header(headers[index])]
            other = "first" if part == "last" else "last"
            role = part if other in has_part else "name"
        if role is None:
            shape = _shape(column_samples)
            suggestions.append(None if shape is None else Suggestion(shape, BY_VALUES))
            continue
        if role in NAME_PARTS:
            suggestions.append(Suggestion("name", confidence, part=role))
            continue
        if role in ("email", "emails") and column_samples and _shape(column_samples) != "email":
            confidence = min(confidence, 0.5)  # named like addresses, holding something else
        suggestions.append(Suggestion(role, confidence))
    return _one_primary(suggestions)


def _one_primary(suggestions: list[Suggestion | None]) -> list[Suggestion | None]:
    """At most one column per single-value field; extra emails and phones become additional
    ones, and without a primary the first additional one is the primary."""
    result = list(suggestions)
    for primary, extra in (("email", "emails"), ("phone", "phones")):
        indexes = [i for i, s in enumerate(result) if s is not None and s.field == primary]
        for i in indexes[1:]:
            result[i] = Suggestion(extra, result[i].confidence)  # type: ignore[union-attr]
        if not indexes:
            extras = [i for i, s in enumerate(result) if s is not None and s.field == extra]
            if extras:
                first = extras[0]
                result[first] = Suggestion(primary, result[first].confidence)  # type: ignore[union-attr]
    taken: set[str] = set()
    for i, s in enumerate(result):
        if s is None or s.field in ("name", "emails", "phones", "tags"):
            continue
        if s.field in taken:
            result[i] = None  # a second company or timezone column: left for the user to map
        taken.add(s.field)
    if any(s is not None and s.field == "name" and s.part is None for s in result):
        # A full-name column wins over name parts.
        result = [None if s is not None and s.part is not None else s for s in result]
    return result
