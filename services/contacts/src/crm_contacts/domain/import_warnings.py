"""Field problems of an import row as warnings: the bad cells are left out, the row goes on.

A row that still identifies a person (a name or an email) once its invalid cells are dropped is
imported without them, each problem reported as a warning on the row (as HubSpot does); only a
row left with nothing that identifies anyone fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from crm_contacts.domain.errors import FieldProblem

# What identifies a person in an import row: without one of them a row is not imported.
IDENTIFYING_FIELDS = ("name", "email")
_ITEM = re.compile(r"^(?P<field>[a-z_]+)\[(?P<index>\d+)\]$")
_CUSTOM = "custom_fields."


def describe(problem: FieldProblem) -> str:
    """The problem as a sentence naming the field and the kind of problem, never the value.

    Row errors and warnings travel on the bus, into the importer's store and its job events:
    the cell itself stays in the user's file and in errors.csv, which repeats the row.
    """
    return problem.without_value().describe()


def left_out(description: str) -> str:
    """A warning: the problem, and that the value was not imported."""
    return f"{description} (left out)"


def without_problems(raw: Mapping[str, Any], problems: Iterable[FieldProblem]) -> dict[str, Any]:
    """`raw` without the fields (or list items, or custom values) the problems name."""
    kept = dict(raw)
    dropped_items: dict[str, set[int]] = {}
    for problem in problems:
        item = _ITEM.match(problem.field)
        if item is not None:
            dropped_items.setdefault(item["field"], set()).add(int(item["index"]))
        elif problem.field.startswith(_CUSTOM):
            custom = dict(kept.get("custom_fields") or {})
            custom.pop(problem.field[len(_CUSTOM) :], None)
            kept["custom_fields"] = custom
        else:
            kept.pop(problem.field, None)
    for field, indexes in dropped_items.items():
        values = kept.get(field)
        if isinstance(values, list):
            kept[field] = [v for i, v in enumerate(values) if i not in indexes]
    return kept


def identifies_someone(raw: Mapping[str, Any]) -> bool:
    """True if the row still holds a name or an email."""
    return any(raw.get(field) for field in IDENTIFYING_FIELDS)
