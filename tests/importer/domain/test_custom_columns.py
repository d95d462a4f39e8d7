"""The type a new custom field gets from a column's sample values."""

from __future__ import annotations

import pytest

from crm_importer.domain.custom_columns import field_label, inferred_type


@pytest.mark.parametrize(
    ("samples", "decimal_comma", "expected"),
    [
        (["3", "4.5", "", "-2"], False, "number"),
        (["3,5", "1.234,5"], True, "number"),
        (["3,5"], False, "text"),
        (["2024-01-31", "1999-12-01"], False, "date"),
        (["yes", "No", "TRUE"], False, "boolean"),
        (["3", "three"], False, "text"),
        (["", "  "], False, "text"),
    ],
)
def test_the_type_follows_every_non_blank_sample(
    samples: list[str], decimal_comma: bool, expected: str
) -> None:
    assert inferred_type(samples, decimal_comma=decimal_comma) == expected


def test_a_label_is_the_trimmed_header_within_the_apis_limit() -> None:
    assert field_label("  Seats ") == "Seats"
    assert len(field_label("x" * 300)) == 100
    assert field_label("   ") == "Imported field"
