"""How each editable field of a contact is shown and read back: its input and its value."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from crm_console.domain.values import (
    PROFILE_FIELDS,
    InvalidValue,
    custom_value,
    is_system_tag,
    tags_to_send,
    text_or_none,
)

# Custom field type -> the input the console shows for it.
_CUSTOM_INPUTS: dict[str, str] = {
    "text": "text",
    "number": "number",
    "date": "date",
    "dropdown": "select",
    "multi_select": "checkboxes",
    "boolean": "boolean",
    "url": "url",
    "email": "email",
}


@dataclass(frozen=True)
class FieldSpec:
    """One editable field: its form name, label, input kind and options."""

    name: str
    label: str
    input: str
    options: tuple[str, ...] = field(default_factory=tuple)
    required: bool = False
    field_type: str = "text"

    @property
    def custom_key(self) -> str | None:
        """The custom field's key, or None for a standard field."""
        return self.name[3:] if self.name.startswith("cf.") else None

    @property
    def dom_id(self) -> str:
        """A safe element id for the field."""
        return "f-" + self.name.replace(".", "-")

    def current(self, contact: dict[str, Any]) -> Any:
        """The contact's value of this field, as the input shows it."""
        if self.name == "tags":
            return ", ".join(t for t in contact.get("tags", []) if not is_system_tag(t))
        key = self.custom_key
        if key is not None:
            value = (contact.get("custom_fields") or {}).get(key)
            if self.input == "checkboxes":
                return list(value or [])
            if self.input == "boolean":
                return "" if value is None else ("true" if value else "false")
            return "" if value is None else str(value)
        value = contact.get(self.name)
        return "" if value is None else str(value)

    def payload(self, raw: Sequence[str], contact_tags: Sequence[str]) -> dict[str, Any]:
        """The PATCH body setting this field from its form values (raises InvalidValue)."""
        key = self.custom_key
        if key is not None:
            return {"custom_fields": {key: custom_value(self.field_type, raw)}}
        text = raw[-1] if raw else ""
        if self.name == "tags":
            return {"tags": tags_to_send(text, contact_tags)}
        value = text_or_none(text)
        if value is None and self.required:
            raise InvalidValue("is required")
        return {self.name: value}


def profile_specs() -> list[FieldSpec]:
    """The standard fields edited inline, then the tags."""
    specs = [
        FieldSpec(name, label, kind, required=name == "name")
        for name, label, kind in PROFILE_FIELDS
    ]
    return [*specs, FieldSpec("tags", "Tags (comma-separated)", "text")]


def custom_specs(definitions: Sequence[dict[str, Any]]) -> list[FieldSpec]:
    """One spec per custom field definition, typed by it."""
    return [
        FieldSpec(
            f"cf.{d['key']}",
            str(d.get("label") or d["key"]),
            _CUSTOM_INPUTS.get(str(d.get("type")), "text"),
            tuple(d.get("options") or ()),
            bool(d.get("required")),
            str(d.get("type") or "text"),
        )
        for d in definitions
    ]


def find_spec(name: str, definitions: Sequence[dict[str, Any]]) -> FieldSpec | None:
    """The spec of a field by its form name, or None if the contact has no such field."""
    for spec in [*profile_specs(), *custom_specs(definitions)]:
        if spec.name == name:
            return spec
    return None


def display(spec: FieldSpec, value: Any) -> str:
    """A value as text for a person (the other side of a conflict, a read-only profile)."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "(empty)"
    if spec.input == "boolean":
        return {"true": "yes", "false": "no"}.get(str(value), "(empty)")
    return str(value) if value not in (None, "") else "(empty)"
