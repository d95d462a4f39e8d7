"""Definition rules: creating, changing (options, type) and converting stored values."""

from __future__ import annotations

from typing import Any

import pytest

from crm_contacts.domain.custom_fields import FieldDefinition, InvalidValue
from crm_contacts.domain.errors import InvalidFields
from crm_contacts.domain.field_definitions import (
    changed_definition,
    convert_value,
    needs_rewrite,
    new_definition,
)

PLAN = FieldDefinition("plan", "Plan", "dropdown", ("Free", "Legacy", "Pro"))


def test_a_new_definition_strips_its_options() -> None:
    definition = new_definition(key="plan", label=" Plan ", type="dropdown", options=[" Pro "])
    assert (definition.label, definition.options) == ("Plan", ("Pro",))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"key": "Plan", "type": "text"}, "key"),
        ({"key": "plan", "type": "dropdown"}, "options"),
        ({"key": "plan", "type": "text", "options": ["a"]}, "options"),
        ({"key": "plan", "type": "dropdown", "options": ["A", "a"]}, "options"),
    ],
)
def test_a_bad_definition_names_the_attribute(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidFields) as caught:
        new_definition(label="Plan", **kwargs)
    assert [p.field for p in caught.value.problems] == [field]


def test_leaving_an_option_out_retires_it() -> None:
    changed = changed_definition(PLAN, {"options": ["Free", "Pro"]})
    assert (changed.options, changed.retired_options) == (("Free", "Pro"), ("Legacy",))


def test_retired_options_move_out_of_the_active_ones() -> None:
    changed = changed_definition(PLAN, {"retired_options": ["legacy"]})
    assert (changed.options, changed.retired_options) == (("Free", "Pro"), ("Legacy",))


def test_every_option_cannot_be_retired() -> None:
    with pytest.raises(InvalidFields):
        changed_definition(PLAN, {"retired_options": ["Free", "Legacy", "Pro"]})


def test_a_relabel_needs_no_rewrite_but_a_respelled_option_does() -> None:
    assert not needs_rewrite(PLAN, changed_definition(PLAN, {"label": "Tier"}))
    respelled = changed_definition(PLAN, {"options": ["FREE", "Legacy", "Pro"]})
    assert needs_rewrite(PLAN, respelled)
    assert convert_value("Free", PLAN, respelled) == "FREE"


def test_a_type_change_to_text_drops_the_options() -> None:
    changed = changed_definition(PLAN, {"type": "text"})
    assert (changed.type, changed.options, changed.retired_options) == ("text", (), ())


@pytest.mark.parametrize(
    ("value", "old_type", "new_type", "converted"),
    [
        ("12", "text", "number", 12),
        (12, "number", "text", "12"),
        (2.5, "number", "text", "2.5"),
        (True, "boolean", "text", "true"),
        ("yes", "text", "boolean", True),
        ("2025-01-31", "text", "date", "2025-01-31"),
        ("2025-01-31", "date", "text", "2025-01-31"),
        ("https://x.io", "text", "url", "https://x.io"),
        ("A@B.co", "text", "email", "a@b.co"),
    ],
)
def test_lossless_conversions(value: Any, old_type: str, new_type: str, converted: Any) -> None:
    old = FieldDefinition("f", "F", old_type)  # type: ignore[arg-type]
    new = FieldDefinition("f", "F", new_type)  # type: ignore[arg-type]
    assert convert_value(value, old, new) == converted


@pytest.mark.parametrize(
    ("value", "old_type", "new_type"),
    [("twelve", "text", "number"), ("maybe", "text", "boolean"), ("31/01/2025", "text", "date")],
)
def test_lossy_conversions_are_refused(value: Any, old_type: str, new_type: str) -> None:
    old = FieldDefinition("f", "F", old_type)  # type: ignore[arg-type]
    new = FieldDefinition("f", "F", new_type)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue):
        convert_value(value, old, new)


def test_choice_conversions_between_dropdown_and_multi_select() -> None:
    multi = FieldDefinition("plan", "Plan", "multi_select", PLAN.options)
    assert convert_value("Legacy", PLAN, multi) == ["Legacy"]
    assert convert_value(["Pro"], multi, PLAN) == "Pro"
    assert convert_value([], multi, PLAN) is None
    with pytest.raises(InvalidValue):
        convert_value(["Pro", "Free"], multi, PLAN)


def test_a_multi_select_becomes_semicolon_separated_text() -> None:
    multi = FieldDefinition("plan", "Plan", "multi_select", PLAN.options)
    text = FieldDefinition("plan", "Plan", "text")
    assert convert_value(["Pro", "Free"], multi, text) == "Pro; Free"
