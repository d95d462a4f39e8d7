"""The stored contact document, typed: a TypedDict keeps plain-dict speed on the import path.

Its keys are the fields of the shared table (`crm_shared.contact_fields.FIELDS`), which a test
checks. Documents read back from the store arrive as `dict[str, Any]`; functions that serve both
take `AnyContactDoc` and hand back the same kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict, TypeVar, cast


class ContactDoc(TypedDict):
    """A contact as the contacts service stores it."""

    id: str
    version: int
    name: str
    email: str | None
    phone: str | None
    phone_raw: str | None
    company: str | None
    timezone: str | None
    tags: list[str]
    custom_fields: dict[str, Any]
    emails: list[str]
    phones: list[str]
    phones_raw: list[str]
    owner: str | None
    account_id: str | None
    external_ids: dict[str, str]
    sources: list[str]
    campaigns: list[str]
    source: str
    created_at: str
    updated_at: str
    deleted_at: str | None
    tenant: str
    erased_at: str | None
    merged_into: str | None
    field_times: dict[str, str]
    tags_norm: list[str]
    search_text: str
    name_sort: str
    match_keys: list[str]
    import_ids: list[str]
    consents_granted: list[str]


AnyContactDoc = TypeVar("AnyContactDoc", ContactDoc, dict[str, Any])


def as_contact_doc(doc: dict[str, Any]) -> ContactDoc:
    """A document read from the store, typed (no copy, no check: the store holds what we wrote)."""
    return cast(ContactDoc, doc)


def as_stored(doc: ContactDoc) -> dict[str, Any]:
    """A contact as the storage port takes it (the same dict, no copy)."""
    return cast(dict[str, Any], doc)


def writable(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The same document, writable by a field name held in a variable (no copy)."""
    return cast(dict[str, Any], doc)
