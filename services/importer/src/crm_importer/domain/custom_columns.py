"""Columns mapped to custom fields: which fields are undefined, and the type a new one gets."""

from __future__ import annotations

import re
from dataclasses import dataclass

from crm_importer.domain.fields import CUSTOM_PREFIX
from crm_importer.domain.mapping import ColumnPlan
from crm_importer.domain.numbers import DECIMAL_COMMA
from crm_shared.problems import Unprocessable

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_BOOLEAN = frozenset({"true", "false", "yes", "no"})
# The contacts API's limit on a field's label.
_LABEL_MAX = 100


@dataclass(frozen=True)
class CustomColumn:
    """A column whose cells go to the custom field `key`."""

    index: int
    header: str
    key: str


def custom_columns(plan: ColumnPlan) -> list[CustomColumn]:
    """The plan's columns mapped to `custom.<key>`, in file order."""
    return [
        CustomColumn(c.index, c.header, c.field[len(CUSTOM_PREFIX) :])
        for c in plan.columns
        if c.field.startswith(CUSTOM_PREFIX)
    ]


def undefined_columns(columns: list[CustomColumn], defined: dict[str, str]) -> list[CustomColumn]:
    """The columns mapped to a custom field the tenant has not defined."""
    return [column for column in columns if column.key not in defined]


@dataclass(frozen=True)
class NewField:
    """An undefined custom field a column maps to, and the type it would be created with."""

    column: CustomColumn
    field_type: str


def new_fields(
    missing: list[CustomColumn], plan: ColumnPlan, samples: list[list[str]]
) -> list[NewField]:
    """Each undefined field once (two columns may feed it), typed as the mapping says
    (`custom.<key>:<type>`) or as the first column's sample cells suggest."""
    fields: dict[str, NewField] = {}
    for column in missing:
        if column.key in fields:
            continue
        field_type = plan.declared_types.get(column.key) or inferred_type(
            samples[column.index] if column.index < len(samples) else [],
            decimal_comma=plan.decimal_comma,
        )
        fields[column.key] = NewField(column, field_type)
    return list(fields.values())


def refuse_undefined(columns: list[CustomColumn]) -> Unprocessable:
    """The 422 naming each column mapped to an undefined custom field."""
    named = ", ".join(f"column '{c.header}' maps to 'custom.{c.key}'" for c in columns)
    return Unprocessable(
        f"{named}, which is not a defined custom field; define it (POST /v1/custom-fields) or "
        "send create_fields=true to create it with a type inferred from the file's values",
        extra={
            "field": "mapping",
            "columns": [{"column": c.header, "custom_field": c.key} for c in columns],
        },
    )


def inferred_type(samples: list[str], *, decimal_comma: bool) -> str:
    """The type of a new custom field from a column's sample cells: number, date (ISO),
    boolean when every non-blank sample is one, else text."""
    values = [cell.strip() for cell in samples if cell.strip()]
    if not values:
        return "text"
    if all(_NUMBER.match(v) or (decimal_comma and DECIMAL_COMMA.match(v)) for v in values):
        return "number"
    if all(_DATE.match(v) for v in values):
        return "date"
    if all(v.casefold() in _BOOLEAN for v in values):
        return "boolean"
    return "text"


def field_label(header: str) -> str:
    """A new field's label: the column's header, within the API's length limit."""
    return header.strip()[:_LABEL_MAX] or "Imported field"
