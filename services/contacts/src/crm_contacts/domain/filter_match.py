"""Whether one contact matches a ContactFilter, evaluated in memory (tag rules).

Consistency with the database by construction: the filter is translated by the SAME function
the list endpoint uses (`search.conditions`: typing, folding, phone digits, deleted/erased), and
the resulting storage conditions are evaluated here with the SQLite adapter's semantics. A test
runs the same filters through both on the same contacts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from crm_contacts.domain.contact import refresh_derived
from crm_contacts.domain.custom_fields import FieldDefinition
from crm_contacts.domain.search import conditions
from crm_shared.filters import ContactFilter
from crm_shared.problems import ProblemError
from crm_shared.storage import Contains, ContainsAny, Eq, In, Not, Range, TextMatch, Where
from crm_shared.storage.port import text_holds


def compile_filter(
    criteria: ContactFilter, definitions: Mapping[str, FieldDefinition]
) -> list[Where] | None:
    """The storage conditions of `criteria`, or None if it no longer fits the definitions."""
    try:
        return conditions(criteria, definitions)
    except ProblemError:
        return None


def _read(doc: Mapping[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _elements(value: Any) -> list[Any]:
    # SQLite's json_each over a scalar yields the scalar itself; over null, nothing.
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _same(stored: Any, wanted: Any) -> bool:
    # SQLite stores JSON true/false as 1/0 and compares numbers by value.
    if isinstance(stored, bool) or isinstance(wanted, bool):
        return (
            isinstance(stored, bool | int)
            and isinstance(wanted, bool | int)
            and (int(stored) == int(wanted))
        )
    return bool(stored == wanted)


def _in_range(value: Any, cond: Range) -> bool:
    if value is None:
        return False
    try:
        return all(
            check
            for check in (
                cond.gte is None or value >= cond.gte,
                cond.lte is None or value <= cond.lte,
                cond.gt is None or value > cond.gt,
                cond.lt is None or value < cond.lt,
            )
        )
    except TypeError:  # a value of another type than the bound
        return False


def holds(cond: Where, doc: Mapping[str, Any]) -> bool:
    """Whether one storage condition holds for a document (SQLite adapter semantics)."""
    match cond:
        case Eq(field=path, value=None):
            return _read(doc, path) is None
        case Eq(field=path, value=value):
            return _same(_read(doc, path), value)
        case In(field=path, values=values):
            stored = _read(doc, path)
            return any(stored is None if v is None else _same(stored, v) for v in values)
        case Contains(field=path, value=value):
            return any(_same(item, value) for item in _elements(_read(doc, path)))
        case ContainsAny(field=path, values=values):
            items = _elements(_read(doc, path))
            return any(_same(item, v) for item in items for v in values)
        case TextMatch(field=path):
            return text_holds(_read(doc, path), cond)
        case Range():
            return _in_range(_read(doc, cond.field), cond)
        case Not(condition=inner):
            return not holds(inner, doc)
    raise TypeError(f"unsupported condition {cond!r}")


def matches_compiled(where: Sequence[Where] | None, doc: Mapping[str, Any]) -> bool:
    """Whether every compiled condition holds (None, an unusable filter, matches nothing)."""
    return where is not None and all(holds(cond, doc) for cond in where)


def matches(
    criteria: ContactFilter, contact: Mapping[str, Any], definitions: Mapping[str, FieldDefinition]
) -> bool:
    """True when `contact` (a contact document) meets every condition of `criteria`.

    The derived search fields are recomputed from the document first, as they are on write.
    """
    doc = refresh_derived(dict(contact))
    return matches_compiled(compile_filter(criteria, definitions), doc)
