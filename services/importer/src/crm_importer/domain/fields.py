"""The contact fields a CSV column can map to, and the fields an export can contain.

Both lists come from the shared table of contact fields; custom fields are `custom.<key>`, and
a column may hold the id another system knows each person by, `external_ids.<system>` (the key
integrations upsert by, so `match_on=external_id` finds the contact holding it).
"""

from __future__ import annotations

import re

from crm_shared.contact_fields import FIELDS_BY_NAME, IMPORTABLE_FIELDS
from crm_shared.events.sources import EXTERNAL_SYSTEM_PATTERN
from crm_shared.export_fields import (
    ALLOWED_DESCRIPTION,
    CUSTOM_PREFIX,
    EXPORT_FIELDS,
    custom_key,
    is_export_field,
)
from crm_shared.problems import Unprocessable

__all__ = ["CUSTOM_PREFIX", "EXPORT_FIELDS", "custom_key"]
EXTERNAL_PREFIX = "external_ids."
_EXTERNAL_SYSTEM = re.compile(EXTERNAL_SYSTEM_PATTERN)
IMPORT_FIELDS: tuple[str, ...] = IMPORTABLE_FIELDS
# Importable fields holding a list: a cell lists several values separated by ';' or ','.
LIST_IMPORT_FIELDS: frozenset[str] = frozenset(
    name for name in IMPORTABLE_FIELDS if FIELDS_BY_NAME[name].shape == "list"
)
MAX_EXPORT_FIELDS = 100


def external_system(field: str) -> str | None:
    """The system of an `external_ids.<system>` field, or None if `field` is not one."""
    if not field.startswith(EXTERNAL_PREFIX):
        return None
    system = field[len(EXTERNAL_PREFIX) :]
    return system if _EXTERNAL_SYSTEM.match(system) else None


def is_import_field(field: str) -> bool:
    """True if a column may map to `field`."""
    return (
        field in IMPORT_FIELDS
        or custom_key(field) is not None
        or external_system(field) is not None
    )


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
        if not is_export_field(field):
            raise Unprocessable(
                f"unknown export field '{field}'; allowed are {ALLOWED_DESCRIPTION}",
                extra={"field": field, "allowed_fields": [*EXPORT_FIELDS, "custom.<key>"]},
            )
        if field in seen:
            raise Unprocessable(f"export field '{field}' is listed twice", extra={"field": field})
        seen.add(field)
    return fields
