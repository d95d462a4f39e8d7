"""Defining custom fields and changing definitions without corrupting the values contacts hold.

The rules for existing values when a definition changes:
- label, description: free; values are untouched.
- required: free; making a field required does not invalidate contacts that lack a value (it
  applies to new contacts and forbids clearing the value), so no contact is rewritten.
- adding options: free.
- retiring an option (listed in `retired_options`, or left out of a new `options` list): values
  holding it stay, readable and filterable; new writes using it are refused (422). Listing a
  retired option in `options` again re-activates it.
- respelling an option (same option ignoring case and accents): stored values are rewritten to
  the new spelling.
- changing `type`: allowed only when every stored value converts losslessly (text->number when
  every value parses, dropdown->multi_select always, anything->text always, ...); the values are
  converted in the same transaction. Otherwise 409 with the number of contacts that block it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm_contacts.domain.custom_fields import (
    CHECKERS,
    CHOICE_TYPES,
    FIELD_TYPES,
    MULTI_SEPARATOR,
    FieldDefinition,
    FieldType,
    InvalidValue,
)
from crm_contacts.domain.errors import FieldProblem, InvalidFields
from crm_contacts.domain.text import fold
from crm_shared.rules import CUSTOM_FIELD_KEY_RULE, is_custom_field_key

LABEL_MAX = 100
DESCRIPTION_MAX = 500
OPTION_MAX = 100
OPTIONS_MAX = 500
_CHOICES_ONLY = "are only allowed for dropdown and multi_select fields"


def _options(field_type: str, options: list[str] | None, problems: list[FieldProblem]) -> list[str]:
    if field_type not in CHOICE_TYPES:
        if options:
            problems.append(FieldProblem("options", _CHOICES_ONLY))
        return []
    if not options:
        problems.append(FieldProblem("options", f"are required for a {field_type} field"))
        return []
    cleaned = [option.strip() for option in options]
    if len(cleaned) > OPTIONS_MAX:
        problems.append(FieldProblem("options", f"must be at most {OPTIONS_MAX}"))
    if any(not 1 <= len(option) <= OPTION_MAX for option in cleaned):
        problems.append(FieldProblem("options", f"must each be 1-{OPTION_MAX} characters"))
    if any(MULTI_SEPARATOR in option for option in cleaned):
        problems.append(FieldProblem("options", f"cannot contain '{MULTI_SEPARATOR}'"))
    folded = [fold(option) for option in cleaned]
    if len(set(folded)) != len(folded):
        problems.append(FieldProblem("options", "must be unique ignoring case and accents"))
    return cleaned


def _label(label: str, problems: list[FieldProblem]) -> str:
    cleaned = label.strip()
    if not 1 <= len(cleaned) <= LABEL_MAX:
        problems.append(FieldProblem("label", f"must be 1-{LABEL_MAX} characters"))
    return cleaned


def _description(description: str | None, problems: list[FieldProblem]) -> str | None:
    if description is not None and len(description) > DESCRIPTION_MAX:
        reason = f"must be at most {DESCRIPTION_MAX} characters"
        problems.append(FieldProblem("description", reason))
    return description.strip() or None if description is not None else None


def _field_type(value: str, problems: list[FieldProblem]) -> FieldType:
    if value not in FIELD_TYPES:
        problems.append(FieldProblem("type", f"must be one of {', '.join(FIELD_TYPES)}"))
        return "text"
    return value


def new_definition(
    *,
    key: str,
    label: str,
    type: str,
    options: list[str] | None = None,
    required: bool = False,
    description: str | None = None,
) -> FieldDefinition:
    """A validated definition; InvalidFields names each bad attribute."""
    problems: list[FieldProblem] = []
    if not is_custom_field_key(key):
        problems.append(FieldProblem("key", CUSTOM_FIELD_KEY_RULE))
    field_type = _field_type(type, problems)
    definition = FieldDefinition(
        key=key,
        label=_label(label, problems),
        type=field_type,
        options=tuple(_options(field_type, options, problems)),
        required=required,
        description=_description(description, problems),
    )
    if problems:
        raise InvalidFields(problems)
    return definition


def _retire(
    old: FieldDefinition, active: list[str], retiring: list[str], problems: list[FieldProblem]
) -> tuple[list[str], list[str]]:
    """The active and retired options after retiring `retiring` (and keeping dropped ones)."""
    known = {fold(o): o for o in (*old.options, *old.retired_options, *active)}
    for name in retiring:
        if fold(name) not in known:
            problems.append(
                FieldProblem("retired_options", f"option '{name}' of '{old.key}' does not exist")
            )
    retire = {fold(name) for name in retiring if fold(name) in known}
    still_active = [o for o in active if fold(o) not in retire]
    active_folded = {fold(o) for o in still_active}
    retired = [
        known[fold(o)]
        for o in (*old.retired_options, *old.options, *retiring)
        if fold(o) in known and fold(o) not in active_folded
    ]
    return still_active, list({fold(o): o for o in retired}.values())


def changed_definition(old: FieldDefinition, patch: Mapping[str, Any]) -> FieldDefinition:
    """The definition after a PATCH (only the attributes present in `patch` change)."""
    problems: list[FieldProblem] = []
    # A null type or label means "unchanged"; a null description clears it.
    field_type = _field_type(patch["type"], problems) if patch.get("type") else old.type
    label = _label(patch["label"], problems) if patch.get("label") is not None else old.label
    description = (
        _description(patch["description"], problems) if "description" in patch else old.description
    )
    required = bool(patch["required"]) if patch.get("required") is not None else old.required
    if field_type not in CHOICE_TYPES:
        _options(field_type, patch.get("options"), problems)
        if patch.get("retired_options"):
            problems.append(FieldProblem("retired_options", _CHOICES_ONLY))
        active: list[str] = []
        retired: list[str] = []
    else:
        if patch.get("options") is not None:
            active = _options(field_type, patch["options"], problems)
        elif old.type in CHOICE_TYPES:
            active = list(old.options)
        else:
            active = _options(field_type, None, problems)
        active, retired = _retire(old, active, list(patch.get("retired_options") or ()), problems)
        if not active and not problems:
            problems.append(FieldProblem("options", "at least one option must stay active"))
    if problems:
        raise InvalidFields(problems)
    return FieldDefinition(
        key=old.key,
        label=label,
        type=field_type,
        options=tuple(active),
        retired_options=tuple(retired),
        required=required,
        description=description,
    )


def needs_rewrite(old: FieldDefinition, new: FieldDefinition) -> bool:
    """True when stored values must be converted: a new type, or a respelled option."""
    if old.type != new.type:
        return True
    return any(
        new.choices.get(folded, spelled) != spelled for folded, spelled in old.choices.items()
    )


def as_text(value: Any) -> str:
    """A stored value as the text an import cell would hold."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return f"{MULTI_SEPARATOR} ".join(str(item) for item in value)
    return str(value)


def convert_value(value: Any, old: FieldDefinition | None, new: FieldDefinition) -> Any:
    """`value` (stored under `old`, or untyped) as a value of `new`; InvalidValue if it cannot be.

    Conversion goes through the value's text form, parsed like an import cell, except between
    the two choice types (a dropdown value becomes a one-option list; a list of at most one
    option becomes a dropdown value). Retired options convert like active ones.
    """
    from_choice = old is None or old.type in CHOICE_TYPES
    if new.type == "multi_select" and isinstance(value, list | str) and from_choice:
        items = value if isinstance(value, list) else [value]
        return CHECKERS["multi_select"](items, new, False)
    if new.type == "dropdown" and isinstance(value, list):
        if len(value) > 1:
            raise InvalidValue("holds several options; a dropdown holds one")
        if not value:
            return None
        value = value[0]
    if new.type == "text":
        return CHECKERS["text"](as_text(value), new, True)
    return CHECKERS[new.type](as_text(value), new, True)
