"""Form text to API values, and API problems back to messages next to form fields."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# Contact fields the profile edits inline, in display order, with their labels and input types.
PROFILE_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("name", "Name", "text"),
    ("email", "Email", "email"),
    ("phone", "Phone", "tel"),
    ("company", "Company", "text"),
    ("owner", "Owner", "text"),
    ("timezone", "Time zone", "text"),
)
PROFILE_FIELD_NAMES = frozenset(name for name, _, _ in PROFILE_FIELDS)
SYSTEM_TAG_PREFIX = "source:"
SYSTEM_TAGS = frozenset({"imported"})
CONSENT_CHANNELS = ("any", "email", "sms", "phone", "chat")


class InvalidValue(ValueError):
    """A form value that cannot become the field's type; the message says why."""


def text_or_none(value: str | None) -> str | None:
    """A trimmed text, or None (which clears the field) when empty."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def split_list(value: str | None) -> list[str]:
    """A comma- or semicolon-separated list, trimmed, without empties and repeats."""
    seen: dict[str, None] = {}
    for part in (value or "").replace(";", ",").split(","):
        part = part.strip()
        if part:
            seen.setdefault(part, None)
    return list(seen)


def is_system_tag(name: str) -> bool:
    """System tags are set by the platform; a user cannot add or remove them."""
    return name.startswith(SYSTEM_TAG_PREFIX) or name in SYSTEM_TAGS


def tags_to_send(typed: str | None, current: Sequence[str]) -> list[str]:
    """The typed manual tags plus the system tags the contact holds (the API wants them back)."""
    system = [tag for tag in current if is_system_tag(tag)]
    manual = [tag for tag in split_list(typed) if not is_system_tag(tag)]
    return manual + system


def custom_value(field_type: str, raw: Sequence[str]) -> Any:
    """A custom field's form input as the JSON value its definition expects (None clears it)."""
    if field_type == "multi_select":
        return [v for v in raw if v.strip()] or None
    text = text_or_none(raw[-1] if raw else None)
    if text is None:
        return None
    if field_type == "number":
        try:
            number = float(text)
        except ValueError:
            raise InvalidValue("must be a number") from None
        return int(number) if number.is_integer() and "." not in text else number
    if field_type == "boolean":
        if text not in ("true", "false"):
            raise InvalidValue("must be yes or no")
        return text == "true"
    return text


def field_errors(problem: dict[str, Any]) -> dict[str, str]:
    """Messages by form field from a 422 problem's `errors` (`loc` ends with the field name).

    A custom field's error (`custom_fields.<key>` or loc `[..., "custom_fields", key]`) is keyed
    `cf.<key>`, the name of its form input.
    """
    found: dict[str, str] = {}
    for error in problem.get("errors") or []:
        loc = [str(part) for part in error.get("loc") or [] if part != "body"]
        if not loc:
            continue
        dotted = ".".join(loc)
        custom = dotted.startswith("custom_fields.")
        name = "cf." + dotted.split(".")[1] if custom else loc[0]
        found.setdefault(name, str(error.get("msg") or "is invalid"))
    field = problem.get("field")
    if isinstance(field, str) and field not in found:
        found[field] = str(problem.get("detail") or "is invalid")
    return found


def problem_message(problem: dict[str, Any], fallback: str = "The request failed") -> str:
    """The sentence a person reads for an API problem."""
    return str(problem.get("detail") or problem.get("title") or fallback)
