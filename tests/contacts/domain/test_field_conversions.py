"""The conversion rules of a field type change, one class of change at a time."""

from __future__ import annotations

from typing import Any

import pytest

from crm_contacts.domain.custom_fields import FieldDefinition, InvalidValue
from crm_contacts.domain.field_conversions import (
    conversion_problem,
    conversion_rule,
    convert_stored,
)
from crm_contacts.domain.field_definitions import new_definition


def _field(field_type: str, options: list[str] | None = None) -> FieldDefinition:
    return new_definition(key="f", label="F", type=field_type, options=options)


PLAN = ["Free", "Pro"]


@pytest.mark.parametrize(
    ("old", "new", "value", "expected"),
    [
        ("text", "number", "12", 12),
        ("text", "number", " 3.5 ", 3.5),
        ("number", "text", 7, "7"),
        ("number", "text", 2.5, "2.5"),
        ("text", "date", "2024-02-29", "2024-02-29"),
        ("text", "boolean", "true", True),
        ("boolean", "text", False, "false"),
        ("multi_select", "text", ["Free", "Pro"], "Free; Pro"),
        ("dropdown", "multi_select", "Pro", ["Pro"]),
        ("multi_select", "dropdown", ["Pro"], "Pro"),
        ("multi_select", "dropdown", [], None),
        ("text", "dropdown", "pro", "Pro"),
        ("text", "multi_select", "free; pro", ["Free", "Pro"]),
    ],
)
def test_a_value_that_converts_takes_the_new_type(
    old: str, new: str, value: Any, expected: Any
) -> None:
    options = PLAN if new in ("dropdown", "multi_select") else None
    before = _field(old, PLAN if old in ("dropdown", "multi_select") else None)
    assert convert_stored(value, before, _field(new, options)) == expected


@pytest.mark.parametrize(
    ("old", "new", "value"),
    [
        ("text", "number", "a dozen"),
        ("text", "number", "1e400"),
        ("text", "date", "29/02/2024"),
        ("text", "date", "2023-02-29"),
        ("text", "boolean", "perhaps"),
        ("multi_select", "dropdown", ["Free", "Pro"]),
        ("text", "dropdown", "Gold"),
        ("text", "email", "not an address"),
    ],
)
def test_a_value_that_does_not_convert_is_refused(old: str, new: str, value: Any) -> None:
    options = PLAN if new in ("dropdown", "multi_select") else None
    before = _field(old, PLAN if old in ("dropdown", "multi_select") else None)
    with pytest.raises(InvalidValue):
        convert_stored(value, before, _field(new, options))


@pytest.mark.parametrize(
    ("old", "new", "value"),
    [("text", "number", 12), ("number", "text", "twelve"), ("dropdown", "multi_select", ["Pro"])],
)
def test_a_value_written_after_the_change_already_fits_and_is_kept(
    old: str, new: str, value: Any
) -> None:
    options = PLAN if new in ("dropdown", "multi_select") else None
    before = _field(old, PLAN if old in ("dropdown", "multi_select") else None)
    assert convert_stored(value, before, _field(new, options)) == value


def test_a_respelled_option_takes_its_new_spelling() -> None:
    assert convert_stored("pro", _field("dropdown", ["pro"]), _field("dropdown", ["Pro"])) == "Pro"


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ("number", "text", "always"),
        ("dropdown", "multi_select", "always"),
        ("multi_select", "dropdown", "at most one option"),
        ("text", "number", "reads as a number"),
        ("text", "date", "YYYY-MM-DD"),
        ("dropdown", "dropdown", "new spelling"),
        (None, "boolean", "true or false"),
    ],
)
def test_each_class_of_change_has_its_rule(old: str | None, new: str, says: str) -> None:
    assert says in conversion_rule(old, new)


def test_the_problem_names_the_field_and_rule_but_not_the_value() -> None:
    problem = conversion_problem("seats", _field("text"), _field("number"))
    assert problem.startswith("custom_fields.seats: a text value does not convert to number")
    assert "reads as a number" in problem
