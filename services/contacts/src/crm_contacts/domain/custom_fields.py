"""Custom field definitions: per-tenant, typed; values live in a contact's `custom_fields`.

`validate_custom_values` is the one place custom values are judged, on every write path (API
create and update, import rows, bulk actions). Plain functions over plain values: an import runs
up to a million rows through here. Reasons never quote a free-text value (values are personal
data); option names are not, and are quoted so the user sees which one is wrong.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any, Literal
from urllib.parse import urlsplit

import orjson

from crm_contacts.domain.errors import FieldProblem, InvalidFields
from crm_contacts.domain.text import fold
from crm_shared.identity import normalize_email
from crm_shared.validation import INT_RULE, TEXT_RULE, is_clean_text, is_int64

FieldType = Literal["text", "number", "date", "dropdown", "multi_select", "boolean", "url", "email"]
FIELD_TYPES: tuple[FieldType, ...] = (
    "text",
    "number",
    "date",
    "dropdown",
    "multi_select",
    "boolean",
    "url",
    "email",
)
CHOICE_TYPES: frozenset[str] = frozenset({"dropdown", "multi_select"})
TEXT_MAX = 2000
URL_MAX = 2000
# Import cells list several options of a multi-select separated by this.
MULTI_SEPARATOR = ";"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INTEGER = re.compile(r"[+-]?\d{1,30}")
_BOOLEAN_TEXT = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


@dataclass(frozen=True)
class FieldDefinition:
    """One custom field of a tenant. Retired options stay valid on old values, not on new ones."""

    key: str
    label: str
    type: FieldType
    options: tuple[str, ...] = ()
    retired_options: tuple[str, ...] = field(default=())
    required: bool = False
    description: str | None = None

    @cached_property
    def choices(self) -> dict[str, str]:
        """Every option, active or retired, by its folded spelling -> canonical spelling."""
        return {fold(option): option for option in (*self.options, *self.retired_options)}

    @cached_property
    def retired(self) -> frozenset[str]:
        """Canonical spellings of the retired options."""
        return frozenset(self.retired_options)


@dataclass(frozen=True)
class CustomFieldProblem(FieldProblem):
    """An invalid custom value, described as `custom_fields.<key>: <rule>`."""

    def describe(self) -> str:
        """The problem as `custom_fields.<key>: <rule>`."""
        return f"{self.field}: {self.reason}"


class InvalidValue(ValueError):
    """One custom value breaks its field's rule; the message is the rule.

    `value_free`: the rule without the value, when the message quotes it.
    """

    def __init__(self, message: str, *, value_free: str | None = None) -> None:
        super().__init__(message)
        self.value_free = value_free


def _text(value: Any, definition: FieldDefinition, from_text: bool) -> str:
    if not isinstance(value, str):
        raise InvalidValue("must be text")
    if len(value) > TEXT_MAX:
        raise InvalidValue(f"must be at most {TEXT_MAX} characters")
    if not is_clean_text(value):
        raise InvalidValue(TEXT_RULE)
    return value


def _int64(number: int) -> int:
    # Every store holds signed 64 bits; a bigger integer would fail the write of a whole batch.
    if not is_int64(number):
        raise InvalidValue(INT_RULE)
    return number


def _finite(number: float) -> float:
    if not math.isfinite(number):
        raise InvalidValue("must be a finite number")
    return number


def _number(value: Any, definition: FieldDefinition, from_text: bool) -> int | float:
    if isinstance(value, bool):
        raise InvalidValue("must be a number")
    if isinstance(value, int):
        return _int64(value)
    if isinstance(value, float):
        return _finite(value)
    if from_text and isinstance(value, str):
        text = value.strip()
        if _INTEGER.fullmatch(text):
            return _int64(int(text))
        try:
            number = float(text)
        except ValueError:
            raise InvalidValue("must be a number") from None
        return _finite(number)
    raise InvalidValue("must be a number")


def _date(value: Any, definition: FieldDefinition, from_text: bool) -> str:
    text = value.strip() if isinstance(value, str) else None
    if text is None or _ISO_DATE.fullmatch(text) is None:
        raise InvalidValue("must be a date as YYYY-MM-DD")
    try:
        date.fromisoformat(text)
    except ValueError:
        raise InvalidValue("must be a real calendar date as YYYY-MM-DD") from None
    return text


def option_value(value: Any, definition: FieldDefinition) -> str:
    """The canonical spelling of the option `value` names (active or retired)."""
    if not isinstance(value, str):
        raise InvalidValue(f"options of '{definition.key}' are text")
    canonical = definition.choices.get(fold(value))
    if canonical is None:
        options = f"(options: {', '.join(definition.options)})"
        raise InvalidValue(
            f"option '{value.strip()[:80]}' does not exist for '{definition.key}' {options}",
            value_free=f"is not an option of '{definition.key}' {options}",
        )
    return canonical


def _dropdown(value: Any, definition: FieldDefinition, from_text: bool) -> str:
    return option_value(value, definition)


def _listed(text: str) -> Any:
    """Options in an import cell: `a; b`, or a JSON list as exports write them."""
    if text.lstrip().startswith("["):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return [part for part in text.split(MULTI_SEPARATOR) if part.strip()]


def _multi_select(value: Any, definition: FieldDefinition, from_text: bool) -> list[str]:
    if from_text and isinstance(value, str):
        value = _listed(value)
    if not isinstance(value, list):
        raise InvalidValue("must be a list of options")
    return list(dict.fromkeys(option_value(item, definition) for item in value))


def _boolean(value: Any, definition: FieldDefinition, from_text: bool) -> bool:
    if isinstance(value, bool):
        return value
    if from_text and isinstance(value, str):
        parsed = _BOOLEAN_TEXT.get(value.strip().lower())
        if parsed is not None:
            return parsed
        raise InvalidValue("must be true/false, yes/no or 1/0")
    raise InvalidValue("must be true or false")


def _url(value: Any, definition: FieldDefinition, from_text: bool) -> str:
    text = value.strip() if isinstance(value, str) else ""
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        host = None
    if (
        len(text) > URL_MAX
        or any(ch.isspace() for ch in text)
        or parts.scheme not in ("http", "https")
        or not host
    ):
        raise InvalidValue("must be an http(s) URL with a host")
    return text


def _email(value: Any, definition: FieldDefinition, from_text: bool) -> str:
    email = normalize_email(value) if isinstance(value, str) else None
    if email is None:
        raise InvalidValue("must be a valid email address")
    return email


Checker = Callable[[Any, FieldDefinition, bool], Any]
CHECKERS: dict[str, Checker] = {
    "text": _text,
    "number": _number,
    "date": _date,
    "dropdown": _dropdown,
    "multi_select": _multi_select,
    "boolean": _boolean,
    "url": _url,
    "email": _email,
}


def _is_blank(value: Any) -> bool:
    # Auto-save sends "" (or []) when a field is emptied: that means "no value".
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


def _retired_in(value: Any, definition: FieldDefinition, previous: Any) -> str | None:
    """The first retired option `value` newly uses (one `previous` did not hold), if any."""
    if not definition.retired:
        return None
    kept = set(previous) if isinstance(previous, list) else {previous}
    used = value if isinstance(value, list) else [value]
    return next((o for o in used if o in definition.retired and o not in kept), None)


def check_value(
    key: str,
    value: Any,
    definitions: Mapping[str, FieldDefinition],
    *,
    previous: Any = None,
    from_text: bool = False,
) -> Any:
    """One value typed and normalized for its field (None for blank); InvalidValue if not."""
    definition = definitions.get(key)
    if definition is None:
        raise InvalidValue("is not a defined custom field (define it under /v1/custom-fields)")
    if _is_blank(value):
        return None
    checked = CHECKERS[definition.type](value, definition, from_text)
    retired = _retired_in(checked, definition, previous)
    if retired is not None:
        raise InvalidValue(
            f"option '{retired}' of '{key}' is retired",
            value_free=f"is a retired option of '{key}'",
        )
    return checked


def validate_custom_values(
    values: Mapping[str, Any],
    definitions: Mapping[str, FieldDefinition],
    *,
    existing: Mapping[str, Any] | None = None,
    from_text: bool = False,
) -> dict[str, Any]:
    """Type and normalize custom values against the tenant's definitions; 422 naming each bad one.

    `existing` is the contact's stored values on an update (None on a create). On a create,
    blank values are left out and every required field must have a value; on an update a blank
    value (None) clears the field, which a required field refuses. A retired option is refused
    unless the contact already holds it (sending a stored value back is no new use).
    `from_text` parses import cells: numbers, booleans (true/false/yes/no/1/0) and `;`-separated
    multi-selects.
    """
    normalized: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    previous = existing or {}
    for key, value in values.items():
        definition = definitions.get(key)
        if definition is None and _is_blank(value) and key in previous:
            normalized[key] = None  # clearing a value whose field was deleted is always fine
            continue
        try:
            checked = check_value(
                key, value, definitions, previous=previous.get(key), from_text=from_text
            )
        except InvalidValue as exc:
            problems.append(
                CustomFieldProblem(f"custom_fields.{key}", str(exc), value_free=exc.value_free)
            )
            continue
        if checked is None and definition is not None and definition.required:
            rule = "is required" if existing is None else "is required and cannot be cleared"
            problems.append(CustomFieldProblem(f"custom_fields.{key}", rule))
            continue
        if checked is not None or existing is not None:
            normalized[key] = checked
    if existing is None:
        problems.extend(
            CustomFieldProblem(f"custom_fields.{key}", "is required")
            for key, definition in definitions.items()
            if definition.required and key not in values
        )
    if problems:
        raise InvalidFields(problems)
    return normalized
