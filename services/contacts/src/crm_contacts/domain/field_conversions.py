"""What a custom field's stored values become when its type changes, defined once.

A rewrite job converts each contact's value with `convert_stored`; a value that cannot convert
stays as it was, and the job lists the contact with `conversion_problem` (which names the rule,
never the value). The rules, by class of change:

| from -> to | converts |
|---|---|
| anything -> text | always: the value's text (a multi-select list as `a; b`) |
| anything -> number | when the text reads as a number (64-bit integer or finite) |
| anything -> date | when the text is a calendar date as YYYY-MM-DD |
| anything -> boolean | when the text reads as true or false |
| anything -> url, email | when the text is a valid URL / email address |
| dropdown -> multi_select | always: a one-option list |
| multi_select -> dropdown | when the contact holds at most one option |
| anything else -> dropdown, multi_select | when the text names options of the field |
| same type, options respelled | always: the option's new spelling |
"""

from __future__ import annotations

from typing import Any

from crm_contacts.domain.custom_fields import CHECKERS, FieldDefinition, InvalidValue
from crm_contacts.domain.field_definitions import convert_value

_RULE_BY_TARGET = {
    "text": "always",
    "number": "when the text reads as a number",
    "date": "when the text is a calendar date as YYYY-MM-DD",
    "boolean": "when the text reads as true or false",
    "url": "when the text is a valid URL",
    "email": "when the text is a valid email address",
    "dropdown": "when the text names one of the field's options",
    "multi_select": "when the text names options of the field",
}


def conversion_rule(old_type: str | None, new_type: str) -> str:
    """When a value of `old_type` (None: untyped) converts to `new_type`, as a sentence."""
    if old_type == new_type:
        return "always: options take their new spelling"
    if old_type == "dropdown" and new_type == "multi_select":
        return "always: a one-option list"
    if old_type == "multi_select" and new_type == "dropdown":
        return "when the contact holds at most one option"
    if new_type == "text":
        return "always: the value's text"
    return _RULE_BY_TARGET[new_type]


def convert_stored(value: Any, old: FieldDefinition | None, new: FieldDefinition) -> Any:
    """A stored value as a value of `new`; InvalidValue if it cannot convert.

    A value that already fits `new` is kept (in the options' new spelling): a contact written
    after the definition changed, before the job reached it, already holds one.
    """
    try:
        return CHECKERS[new.type](value, new, False)
    except InvalidValue:
        return convert_value(value, old, new)


def conversion_problem(key: str, old: FieldDefinition | None, new: FieldDefinition) -> str:
    """Why a contact's value of `key` stayed as it was (no value quoted: it may be personal)."""
    source = "an untyped value" if old is None else f"a {old.type} value"
    rule = conversion_rule(None if old is None else old.type, new.type)
    return (
        f"custom_fields.{key}: {source} does not convert to {new.type} "
        f"(converts {rule}); the contact keeps its value until it is edited"
    )
