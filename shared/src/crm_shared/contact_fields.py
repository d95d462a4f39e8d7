"""The contact's fields, listed once, with what each service may do with them.

Every list of contact fields derives from `FIELDS`: the API's public view and the data-subject
export (`PUBLIC_FIELDS`), what clients may set (`WRITABLE_FIELDS`), what an erasure clears
(`PERSONAL_FIELDS`), the profile contact events carry (`PROFILE_FIELDS`), the columns an import
may map (`IMPORTABLE_FIELDS`) and the fields an export may list (`EXPORTABLE_FIELDS`). Models
that spell fields out (`ContactProfile`, `ImportRow`, `ContactDoc`, the contacts API schemas)
are checked against it by tests, so adding a standard field starts here and the tests name every
place that must carry it.

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
    writable: bool = False  # clients set it (create, update); the others the service derives
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


def _profile(
    name: str,
    kind: FieldKind,
    shape: Shape = "one",
    *,
    files: bool,
    imported: bool = False,
    exported: bool | None = None,
) -> ContactField:
    """A personal field clients set and events carry; `files`: also imported and exported;
    `imported` / `exported`: only one of the two when `files` is false."""
    return ContactField(
        name,
        kind,
        shape,
        personal=True,
        writable=True,
        profile=True,
        importable=files or imported,
        exportable=files if exported is None else exported,
    )


def _internal(name: str, kind: FieldKind, shape: Shape = "one", *, derived: bool) -> ContactField:
    """A field the contacts service stores and never shows; derived ones hold personal data."""
    return ContactField(name, kind, shape, public=False, personal=derived, derived=derived)


FIELDS: tuple[ContactField, ...] = (
    ContactField("id", "id", exportable=True),
    ContactField("version", "integer"),
    _profile("name", "text", files=True),
    _profile("email", "email", files=True),
    _profile("phone", "phone", files=True),
    ContactField("phone_raw", "text", personal=True),  # the primary phone as typed
    _profile("company", "text", files=True),
    _profile("timezone", "timezone", files=True),
    _profile("tags", "tag", "list", files=True),
    _profile("custom_fields", "custom", "map", files=False),  # in files as custom.<key>
    _profile("emails", "email", "list", files=False, imported=True, exported=True),  # additional
    _profile("phones", "phone", "list", files=False, imported=True, exported=True),
    ContactField("phones_raw", "text", "list", personal=True),  # the additional phones as typed
    _profile("owner", "id", files=False, exported=True),
    # Linked by the service from the company or work-email domain, not set by clients.
    ContactField("account_id", "id", personal=True, profile=True, exportable=True),
    # Ids other systems know the person by, system -> id (set through the by-external-id
    # upsert, never by a plain create or update); exported as a JSON object.
    ContactField("external_ids", "id", "map", personal=True, profile=True, exportable=True),
    # Every channel the person arrived through (manual, chat, form, import, integration), in
    # order of first arrival; `source` keeps the first.
    ContactField("sources", "source", "list", profile=True, exportable=True),
    # Campaign ids: joined and left through bulk actions, not set by clients; an erasure
    # clears them with the rest of what is known about the person.
    ContactField("campaigns", "id", "list", personal=True, exportable=True),
    ContactField("source", "source", exportable=True),
    ContactField("created_at", "timestamp", exportable=True),
    ContactField("updated_at", "timestamp", exportable=True),
    ContactField("deleted_at", "timestamp", exportable=True),
    # Stored by the contacts service, never shown: ownership, erasure, and search helpers.
    _internal("tenant", "id", derived=False),
    _internal("erased_at", "timestamp", derived=False),
    # The primary a merged-away contact now lives on in (null unless merged); shown only in the
    # 404 that answers for it.
    _internal("merged_into", "id", derived=False),
    # When a source last wrote each field (field -> its `occurred_at`): the last-writer rule of
    # identity resolution lets an older write fill a blank but never overwrite a newer value.
    _internal("field_times", "timestamp", "map", derived=False),
    _internal("tags_norm", "tag", "list", derived=True),
    _internal("search_text", "text", derived=True),
    _internal("name_sort", "text", derived=True),
    # Blocking keys of duplicate matching: every email and phone, external ids, name blocks.
    _internal("match_keys", "text", "list", derived=True),
    # The imports that created or changed the contact (the latest few): the `import_id` filter.
    _internal("import_ids", "id", "list", derived=False),
    # The (purpose, channel) pairs the person has granted now (`purpose:channel`), kept from the
    # gdpr ledger's events: the `consent=` filter. Shown by `GET /v1/contacts/{id}/consents`;
    # an erasure clears it.
    ContactField("consents_granted", "text", "list", public=False, personal=True),
)
FIELDS_BY_NAME: dict[str, ContactField] = {field.name: field for field in FIELDS}
# Derived fields older code stored and nothing reads any more: `email_norm` (the primary email,
# which is stored normalized already) and `emails_norm` (every email, each also a match key
# `e:<email>`). Writes leave them out; the derived-fields backfill removes them from old contacts.
RETIRED_DERIVED_FIELDS: tuple[str, ...] = ("email_norm", "emails_norm")

ALL_FIELDS: tuple[str, ...] = tuple(field.name for field in FIELDS)
PUBLIC_FIELDS: tuple[str, ...] = tuple(field.name for field in FIELDS if field.public)
PERSONAL_FIELDS: tuple[str, ...] = tuple(field.name for field in FIELDS if field.personal)
DERIVED_FIELDS: tuple[str, ...] = tuple(field.name for field in FIELDS if field.derived)
WRITABLE_FIELDS: tuple[str, ...] = tuple(field.name for field in FIELDS if field.writable)
PROFILE_FIELDS: tuple[str, ...] = tuple(field.name for field in FIELDS if field.profile)
IMPORTABLE_FIELDS: tuple[str, ...] = tuple(field.name for field in FIELDS if field.importable)
EXPORTABLE_FIELDS: tuple[str, ...] = tuple(field.name for field in FIELDS if field.exportable)
# Erasure sets these to their empty value (the name gets a placeholder), then recomputes the
# derived fields from what is left.
ERASED_FIELDS: tuple[str, ...] = tuple(
    field.name for field in FIELDS if field.personal and not field.derived
)
