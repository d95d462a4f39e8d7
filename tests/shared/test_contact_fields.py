"""The table of contact fields, and the shared models that must carry what it lists."""

from __future__ import annotations

from crm_shared.contact_fields import (
    ALL_FIELDS,
    DERIVED_FIELDS,
    ERASED_FIELDS,
    EXPORTABLE_FIELDS,
    FIELDS,
    FIELDS_BY_NAME,
    IMPORTABLE_FIELDS,
    PERSONAL_FIELDS,
    PROFILE_FIELDS,
    PUBLIC_FIELDS,
    WRITABLE_FIELDS,
)
from crm_shared.events import ImportRow
from crm_shared.events.contacts import ContactProfile


def test_every_field_is_listed_once() -> None:
    assert len(set(ALL_FIELDS)) == len(FIELDS) == len(FIELDS_BY_NAME)


def test_the_event_profile_carries_exactly_the_profile_fields() -> None:
    assert tuple(ContactProfile.model_fields) == PROFILE_FIELDS


def test_the_profile_fields_are_public() -> None:
    assert set(PROFILE_FIELDS) <= set(PUBLIC_FIELDS)


def test_an_import_row_carries_the_importable_fields_and_keyed_columns() -> None:
    # Custom values and external ids are keyed columns (`custom.<key>`, `external_ids.<system>`).
    carried = set(ImportRow.model_fields) - {"row_number", "custom_fields", "external_ids"}
    assert carried == set(IMPORTABLE_FIELDS)


def test_only_public_fields_are_imported_or_exported() -> None:
    assert set(IMPORTABLE_FIELDS) <= set(WRITABLE_FIELDS) <= set(PUBLIC_FIELDS)
    assert set(EXPORTABLE_FIELDS) <= set(PUBLIC_FIELDS)


def test_derived_fields_are_internal_and_cleared_by_recomputing_not_by_erasure() -> None:
    assert all(not FIELDS_BY_NAME[name].public for name in DERIVED_FIELDS)
    assert set(ERASED_FIELDS) == set(PERSONAL_FIELDS) - set(DERIVED_FIELDS)


def test_the_empty_value_follows_the_shape() -> None:
    assert FIELDS_BY_NAME["email"].empty is None
    assert FIELDS_BY_NAME["tags"].empty == []
    assert FIELDS_BY_NAME["custom_fields"].empty == {}
    # A fresh value each time, so clearing one document never shares a list with another.
    assert FIELDS_BY_NAME["tags"].empty is not FIELDS_BY_NAME["tags"].empty


def test_identifiers_and_timestamps_are_not_personal() -> None:
    kept = {"id", "version", "tenant", "source", "created_at", "updated_at", "deleted_at"}
    assert kept.isdisjoint(PERSONAL_FIELDS)
    assert {"name", "email", "phone", "phone_raw", "emails", "phones"} <= set(ERASED_FIELDS)
