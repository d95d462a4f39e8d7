"""The fields an export may list and where each lives in a contact: the one rule the importer's
export jobs and the contacts stream that feeds them both apply.

An export names standard fields as the shared field table does (`EXPORTABLE_FIELDS`) and custom
fields as `custom.<key>`; in a contact those live under `custom_fields.<key>`, the spelling the
contacts API shows, which the stream also accepts.
"""

from __future__ import annotations

from crm_shared.contact_fields import EXPORTABLE_FIELDS
from crm_shared.rules import is_custom_field_key

EXPORT_FIELDS: tuple[str, ...] = EXPORTABLE_FIELDS
CUSTOM_PREFIX = "custom."
_DOCUMENT_CUSTOM_PREFIX = "custom_fields."
ALLOWED_DESCRIPTION = (
    f"{', '.join(EXPORT_FIELDS)} and custom.<key> (key: lower-case letters, digits, underscores)"
)


def custom_key(field: str) -> str | None:
    """The key of a `custom.<key>` field, or None if `field` is not a valid custom field."""
    if not field.startswith(CUSTOM_PREFIX):
        return None
    key = field[len(CUSTOM_PREFIX) :]
    return key if is_custom_field_key(key) else None


def is_export_field(field: str) -> bool:
    """True if an export may list `field`."""
    return field in EXPORT_FIELDS or custom_key(field) is not None


def contact_path(field: str) -> str | None:
    """Where an export field lives in a contact (`custom.plan` -> `custom_fields.plan`), or
    None if no export may list it. `custom_fields.<key>` names the same place."""
    if field in EXPORT_FIELDS:
        return field
    if (key := custom_key(field)) is not None:
        return _DOCUMENT_CUSTOM_PREFIX + key
    if field.startswith(_DOCUMENT_CUSTOM_PREFIX):
        key = field[len(_DOCUMENT_CUSTOM_PREFIX) :]
        return field if is_custom_field_key(key) else None
    return None
