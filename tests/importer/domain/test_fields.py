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
from crm_importer.domain.rows import MappedRow, RowMapper, split_tags
from crm_shared.contact_fields import EXPORTABLE_FIELDS, FIELDS_BY_NAME, IMPORTABLE_FIELDS
from crm_shared.problems import Unprocessable
from crm_shared.rules import clean_tag_name, is_custom_field_key
from tests.shared.test_rules import BAD_KEYS, GOOD_KEYS


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


@pytest.mark.parametrize("key", GOOD_KEYS + BAD_KEYS)
def test_custom_columns_take_exactly_the_valid_keys(key: str) -> None:
    expected = key if is_custom_field_key(key) else None
    assert custom_key(f"custom.{key}") == expected


def test_a_field_without_the_custom_prefix_is_no_custom_field() -> None:
    assert custom_key("plan") is None


def test_tags_in_a_cell_are_cleaned_with_the_shared_rule() -> None:
    assert split_tags("  big   spender ; vip") == [clean_tag_name("  big   spender "), "vip"]
