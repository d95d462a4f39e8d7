"""Backward-compatibility check between two JSON Schemas of the same event type.

Used by the event contract (crm_shared.contract) and its test, so a change to a published schema
that would break a reader of the old one, or an event stored with it, fails before it ships.
"""

from __future__ import annotations

import json
from typing import Any

JsonSchema = dict[str, Any]


def compatibility_breaks(old: JsonSchema, new: JsonSchema) -> list[str]:
    """What in `new` breaks readers of `old` or events stored with it; empty when compatible.

    Breaking: a property removed, a type, format or set of allowed values changed, a property
    became required, a new required property. Adding an optional property is allowed.
    """
    comparison = _Comparison(old, new)
    comparison.compare(old, new, "")
    return comparison.breaks


class _Comparison:
    def __init__(self, old_root: JsonSchema, new_root: JsonSchema) -> None:
        self._old_root = old_root
        self._new_root = new_root
        self._seen: set[tuple[int, int]] = set()
        self.breaks: list[str] = []

    def compare(self, old: JsonSchema, new: JsonSchema, path: str) -> None:
        old, new = _resolve(old, self._old_root), _resolve(new, self._new_root)
        if (id(old), id(new)) in self._seen:  # recursive models
            return
        self._seen.add((id(old), id(new)))
        where = path or "the payload"
        old_types, new_types = _types(old, self._old_root), _types(new, self._new_root)
        if old_types != new_types:
            self.breaks.append(
                f"{where}: type changed from {' | '.join(old_types)} to {' | '.join(new_types)}"
            )
            return
        old_values, new_values = _values(old, self._old_root), _values(new, self._new_root)
        if old_values != new_values:
            self.breaks.append(
                f"{where}: allowed values changed from {_show(old_values)} to {_show(new_values)}"
            )
        if old.get("format") != new.get("format"):
            self.breaks.append(
                f"{where}: format changed from {old.get('format')!r} to {new.get('format')!r}"
            )
        old_variant, new_variant = _single_variant(old), _single_variant(new)
        if old_variant is not None and new_variant is not None:
            self.compare(old_variant, new_variant, path)
            return
        self._compare_properties(old, new, path)
        self._compare_children(old, new, path)

    def _compare_properties(self, old: JsonSchema, new: JsonSchema, path: str) -> None:
        old_props: JsonSchema = old.get("properties", {})
        new_props: JsonSchema = new.get("properties", {})
        old_required = set(old.get("required", ()))
        for name in old_props:
            if name not in new_props:
                self.breaks.append(f"{_join(path, name)}: property removed")
        for name in new.get("required", ()):
            if name in old_required:
                continue
            change = "property became required" if name in old_props else "new required property"
            self.breaks.append(f"{_join(path, name)}: {change}")
        for name, schema in old_props.items():
            if name in new_props:
                self.compare(schema, new_props[name], _join(path, name))

    def _compare_children(self, old: JsonSchema, new: JsonSchema, path: str) -> None:
        old_extra, new_extra = _extra(old), _extra(new)
        if old_extra is not None and new_extra is None:
            self.breaks.append(f"{path or 'the payload'}: additional keys no longer allowed")
        elif old_extra is not None and new_extra is not None and (old_extra or new_extra):
            self.compare(old_extra, new_extra, f"{path}.*")
        old_items, new_items = old.get("items"), new.get("items")
        if isinstance(old_items, dict) and isinstance(new_items, dict):
            self.compare(old_items, new_items, f"{path}[]")


_JSON_TYPES = {str: "string", bool: "boolean", int: "integer", float: "number", type(None): "null"}


def _resolve(schema: JsonSchema, root: JsonSchema) -> JsonSchema:
    while "$ref" in schema:
        target: Any = root
        for part in str(schema["$ref"]).removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        schema = target
    return schema


def _variants(schema: JsonSchema) -> list[JsonSchema] | None:
    variants = schema.get("anyOf", schema.get("oneOf"))
    return list(variants) if isinstance(variants, list) else None


def _types(schema: JsonSchema, root: JsonSchema) -> list[str]:
    schema = _resolve(schema, root)
    variants = _variants(schema)
    if variants is not None:
        return sorted({t for variant in variants for t in _types(variant, root)})
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return sorted(declared)
    values = schema.get("enum", [schema["const"]] if "const" in schema else None)
    if values is not None:
        return sorted({_JSON_TYPES.get(type(v), "any") for v in values})
    return ["object"] if "properties" in schema else ["any"]


def _values(schema: JsonSchema, root: JsonSchema) -> frozenset[str] | None:
    """The allowed values (as JSON) of an enum or const, ignoring null; None if unrestricted."""
    schema = _resolve(schema, root)
    variants = _variants(schema)
    if variants is not None:
        non_null = [v for v in variants if _resolve(v, root).get("type") != "null"]
        sets = [_values(v, root) for v in non_null]
        if not sets or any(s is None for s in sets):
            return None
        return frozenset().union(*(s for s in sets if s is not None))
    if "const" in schema:
        return frozenset({json.dumps(schema["const"])})
    if "enum" in schema:
        return frozenset(json.dumps(v) for v in schema["enum"])
    return None


def _single_variant(schema: JsonSchema) -> JsonSchema | None:
    """The X of an optional `X | None`, to compare what is inside it."""
    variants = _variants(schema)
    if variants is None:
        return None
    non_null = [v for v in variants if v.get("type") != "null"]
    return non_null[0] if len(non_null) == 1 else None


def _extra(schema: JsonSchema) -> JsonSchema | None:
    """The schema of additional keys' values: {} for any, None when none are allowed."""
    extra = schema.get("additionalProperties", True)
    if extra is False:
        return None
    return extra if isinstance(extra, dict) else {}


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _show(values: frozenset[str] | None) -> str:
    return "any value" if values is None else "{" + ", ".join(sorted(values)) + "}"
