"""The contact's fields, listed once, with what each service may do with them.

Every list of contact fields derives from `FIELDS`: the API's public view and the data-subject
export (`PUBLIC_FIELDS`), the fields an erasure clears (`PERSONAL_FIELDS`), the profile contact
events carry (`PROFILE_FIELDS`, checked against `events.contacts.ContactProfile` by a test), the
columns an import may map (`IMPORTABLE_FIELDS`) and the fields an export may list
(`EXPORTABLE_FIELDS`). Adding a standard field starts here; tests then name every model that
must carry it.

Custom fields are not listed one by one: they live under `custom_fields`, are imported and
exported as `custom.<key>` (keys: `rules.CUSTOM_FIELD_KEY_PATTERN`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

FieldKind = Literal[
    "id", "integer", "text", "email", "phone", "timezone", "tag", "custom", "source", "timestamp"
]
# How a field holds its value: one value (or null), a list, or an object of custom values.
Shape = Literal["one", "list", "map"]


@dataclass(frozen=True, slots=True)
class ContactField:
    """One field of a contact and the uses it is open to."""

    name: str
    kind: FieldKind
    shape: Shape = "one"
    public: bool = True  # in the API's contact view (and so in the data-subject export)
    personal: bool = False  # holds, or is derived from, personal data: an erasure clears it
    profile: bool = False  # carried by contact events (`ContactProfile`)
    importable: bool = False  # a CSV column may map to it
    exportable: bool = False  # an export may list it
    derived: bool = False  # computed by the contacts service from other fields, never sent

    @property
    def empty(self) -> Any:
        """The value that means "none": null, an empty list or an empty object."""
        if self.shape == "list":
            return []
        if self.shape == "map":
            return {}
        return None


def _personal(name: str, kind: FieldKind, shape: Shape = "one", **uses: bool) -> ContactField:
    return ContactField(name, kind, shape, personal=True, **uses)


def _internal(name: str, kind: FieldKind, shape: Shape = "one", **flags: bool) -> ContactField:
    return ContactField(name, kind, shape, public=False, **flags)


FIELDS: tuple[ContactField, ...] = (
    ContactField("id", "id", exportable=True),
    ContactField("version", "integer"),
    _personal("name", "text", profile=True, importable=True, exportable=True),
    _personal("email", "email", profile=True, importable=True, exportable=True),
    _personal("phone", "phone", profile=True, importable=True, exportable=True),
    _personal("phone_raw", "text"),  # the primary phone as typed
    _personal("company", "text", profile=True, importable=True, exportable=True),
    _personal("timezone", "timezone", profile=True, importable=True, exportable=True),
    _personal("tags", "tag", "list", profile=True, importable=True, exportable=True),
    _personal("custom_fields", "custom", "map", profile=True),  # in files as custom.<key>
    _personal("emails", "email", "list", profile=True),  # additional ones
    _personal("phones", "phone", "list", profile=True),
    _personal("phones_raw", "text", "list"),  # the additional phones as typed
    _personal("owner", "id", profile=True),
    _personal("account_id", "id", profile=True),
    ContactField("source", "source", exportable=True),
    ContactField("created_at", "timestamp", exportable=True),
    ContactField("updated_at", "timestamp", exportable=True),
    ContactField("deleted_at", "timestamp"),
    # Stored by the contacts service, never shown: ownership, erasure, and search helpers.
    _internal("tenant", "id"),
    _internal("erased_at", "timestamp"),
    _internal("email_norm", "email", personal=True, derived=True),
    _internal("emails_norm", "email", "list", personal=True, derived=True),
    _internal("tags_norm", "tag", "list", personal=True, derived=True),
    _internal("search_text", "text", personal=True, derived=True),
    _internal("name_sort", "text", personal=True, derived=True),
)
FIELDS_BY_NAME: dict[str, ContactField] = {field.name: field for field in FIELDS}

ALL_FIELDS: tuple[str, ...] = tuple(field.name for field in FIELDS)
PUBLIC_FIELDS: tuple[str, ...] = tuple(field.name for field in FIELDS if field.public)
PERSONAL_FIELDS: tuple[str, ...] = tuple(field.name for field in FIELDS if field.personal)
DERIVED_FIELDS: tuple[str, ...] = tuple(field.name for field in FIELDS if field.derived)
PROFILE_FIELDS: tuple[str, ...] = tuple(field.name for field in FIELDS if field.profile)
IMPORTABLE_FIELDS: tuple[str, ...] = tuple(field.name for field in FIELDS if field.importable)
EXPORTABLE_FIELDS: tuple[str, ...] = tuple(field.name for field in FIELDS if field.exportable)
# Erasure sets these to their empty value (the name gets a placeholder), then recomputes the
# derived fields from what is left.
ERASED_FIELDS: tuple[str, ...] = tuple(
    field.name for field in FIELDS if field.personal and not field.derived
)
