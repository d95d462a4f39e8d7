"""The contact fields a CSV column can map to, and the fields an export can contain."""

from __future__ import annotations

import re

from crm_shared.problems import Unprocessable

CUSTOM_PREFIX = "custom."
# Same key rule as the contacts service's custom field definitions.
CUSTOM_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")

IMPORT_FIELDS: tuple[str, ...] = ("name", "email", "phone", "company", "timezone", "tags")
EXPORT_FIELDS: tuple[str, ...] = (
    "id",
    "name",
    "email",
    "phone",
    "company",
    "timezone",
    "tags",
    "source",
    "created_at",
    "updated_at",
)
MAX_EXPORT_FIELDS = 100


def custom_key(field: str) -> str | None:
    """The key of a `custom.<key>` field, or None if `field` is not a valid custom field."""
    if not field.startswith(CUSTOM_PREFIX):
        return None
    key = field[len(CUSTOM_PREFIX) :]
    return key if CUSTOM_KEY.fullmatch(key) else None


def is_import_field(field: str) -> bool:
    """True if a column may map to `field`."""
    return field in IMPORT_FIELDS or custom_key(field) is not None


def validate_export_fields(fields: list[str]) -> list[str]:
    """Return the fields unchanged, or raise 422 naming the first unknown or repeated one."""
    if not fields:
        raise Unprocessable(
            "fields must name at least one field",
            extra={"allowed_fields": [*EXPORT_FIELDS, "custom.<key>"]},
        )
    if len(fields) > MAX_EXPORT_FIELDS:
        raise Unprocessable(f"fields may name at most {MAX_EXPORT_FIELDS} fields")
    seen: set[str] = set()
    for field in fields:
        if field not in EXPORT_FIELDS and custom_key(field) is None:
            raise Unprocessable(
                f"unknown export field '{field}'; allowed are {', '.join(EXPORT_FIELDS)} "
                "and custom.<key> (key: lower-case letters, digits, underscores)",
                extra={"field": field, "allowed_fields": [*EXPORT_FIELDS, "custom.<key>"]},
            )
        if field in seen:
            raise Unprocessable(f"export field '{field}' is listed twice", extra={"field": field})
        seen.add(field)
    return fields
