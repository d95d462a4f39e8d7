"""The importer's field lists come from the shared table, and every importable field arrives."""

from __future__ import annotations

import pytest

from crm_importer.domain.fields import (
    EXPORT_FIELDS,
    IMPORT_FIELDS,
    custom_key,
    is_import_field,
    validate_export_fields,
)
from crm_importer.domain.mapping import plan_columns
from crm_importer.domain.rows import MappedRow, RowMapper
from crm_shared.contact_fields import EXPORTABLE_FIELDS, FIELDS_BY_NAME, IMPORTABLE_FIELDS
from crm_shared.problems import Unprocessable


def test_the_import_and_export_fields_are_the_tables() -> None:
    assert IMPORT_FIELDS == IMPORTABLE_FIELDS
    assert EXPORT_FIELDS == EXPORTABLE_FIELDS


def test_every_importable_field_maps_by_its_name_and_reaches_the_row() -> None:
    header = [name.upper() for name in IMPORTABLE_FIELDS]  # headers map ignoring case
    mapper = RowMapper(plan_columns(header, None), max_row_bytes=4096)
    outcome = mapper.map(2, [f"value of {name}" for name in IMPORTABLE_FIELDS])
    assert isinstance(outcome, MappedRow)
    row = outcome.row.model_dump()
    for name in IMPORTABLE_FIELDS:
        expected = f"value of {name}"
        listed = FIELDS_BY_NAME[name].shape == "list"
        assert row[name] == ([expected] if listed else expected), name


def test_a_field_the_table_does_not_open_to_imports_is_refused() -> None:
    assert not is_import_field("id")
    assert not is_import_field("search_text")
    assert is_import_field("custom.plan")


def test_every_exportable_field_is_accepted_and_others_refused() -> None:
    assert validate_export_fields(list(EXPORTABLE_FIELDS)) == list(EXPORTABLE_FIELDS)
    with pytest.raises(Unprocessable, match="unknown export field 'tenant'"):
        validate_export_fields(["name", "tenant"])


@pytest.mark.parametrize("field", ["custom.Plan", "custom.", "custom.2x", "plan"])
def test_custom_keys_follow_the_shared_rule(field: str) -> None:
    assert custom_key(field) is None
