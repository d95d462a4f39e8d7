"""A column mapped to `external_ids.<system>`: planned, checked against `match_on`, and carried
on each row as the system's id."""

from __future__ import annotations

import pytest

from crm_importer.domain.mapping import check_match_on, plan_columns
from crm_importer.domain.rows import MappedRow, RowMapper
from crm_shared.problems import Unprocessable

HEADER = ["Record ID", "Name", "Email"]


def test_a_column_mapped_to_an_external_id_carries_the_cell_as_that_systems_id() -> None:
    plan = plan_columns(HEADER, {"Record ID": "external_ids.hubspot"})
    assert plan.as_mapping()["Record ID"] == "external_ids.hubspot"
    mapper = RowMapper(plan, max_row_bytes=10_000)
    mapped = mapper.map(2, [" 42 ", "Ada", "ada@example.com"])
    assert isinstance(mapped, MappedRow)
    assert mapped.row.external_ids == {"hubspot": "42"}
    blank = mapper.map(3, ["", "Bo", "bo@example.com"])
    assert isinstance(blank, MappedRow) and blank.row.external_ids == {}


@pytest.mark.parametrize("target", ["external_ids.", "external_ids.Hub Spot", "external_ids.a:b"])
def test_an_external_id_field_without_a_valid_system_name_is_refused(target: str) -> None:
    with pytest.raises(Unprocessable, match="unknown field"):
        plan_columns(HEADER, {"Record ID": target})


def test_match_on_external_id_needs_an_external_id_column() -> None:
    with_id = plan_columns(HEADER, {"Record ID": "external_ids.hubspot"})
    check_match_on(with_id, ["external_id", "email"])
    without = plan_columns(HEADER, {"Record ID": None})
    check_match_on(without, ["email"])
    with pytest.raises(Unprocessable, match="no column maps to an external id"):
        check_match_on(without, ["email", "external_id"])
