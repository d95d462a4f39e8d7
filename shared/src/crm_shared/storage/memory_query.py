"""The typed conditions, sort order and keyset cursor evaluated in Python, for the in-memory store.

Semantics follow the SQLite and MongoDB adapters (the contract suite checks all of them): a
missing field reads as None; `Contains` treats a scalar as a one-element array; values of
different types never compare equal or within a range (booleans are not numbers); missing and
null values sort before every other value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crm_shared.storage.port import (
    Contains,
    ContainsAny,
    Cursor,
    Eq,
    In,
    Not,
    Range,
    TextMatch,
    Where,
    path_value,
    text_holds,
)


def _kind(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool):
        return 1
    if isinstance(value, int | float):
        return 2
    if isinstance(value, str):
        return 3
    return 4


def _same(a: Any, b: Any) -> bool:
    return _kind(a) == _kind(b) and a == b


def _elements(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _compare(value: Any, bound: Any) -> int | None:
    """-1, 0 or 1, or None when the two cannot be ordered (different types, or not scalars)."""
    kind = _kind(value)
    if kind in (0, 4) or kind != _kind(bound):
        return None
    order: int = (value > bound) - (value < bound)
    return order


def _in_range(value: Any, cond: Range) -> bool:
    if value is None:
        return False
    # Each bound and the orders (-1, 0, 1) of value against it that satisfy it.
    checks: tuple[tuple[Any, tuple[int, ...]], ...] = (
        (cond.gte, (0, 1)),
        (cond.lte, (-1, 0)),
        (cond.gt, (1,)),
        (cond.lt, (-1,)),
    )
    for bound, allowed in checks:
        if bound is not None and _compare(value, bound) not in allowed:
            return False
    return True


def matches(doc: dict[str, Any], cond: Where) -> bool:
    """Whether one document satisfies one condition."""
    if isinstance(cond, Not):
        return not matches(doc, cond.condition)
    value = path_value(doc, cond.field)
    if isinstance(cond, Eq):
        return value is None if cond.value is None else _same(value, cond.value)
    if isinstance(cond, In):
        return any(value is None if v is None else _same(value, v) for v in cond.values)
    if isinstance(cond, Contains):
        return any(_same(e, cond.value) for e in _elements(value))
    if isinstance(cond, ContainsAny):
        return any(_same(e, v) for e in _elements(value) for v in cond.values)
    if isinstance(cond, TextMatch):
        return text_holds(value, cond)
    if isinstance(cond, Range):
        return _in_range(value, cond)
    raise TypeError(f"unknown condition {cond!r}")


def matches_all(doc: dict[str, Any], where: Sequence[Where]) -> bool:
    """Whether a document satisfies every condition."""
    return all(matches(doc, cond) for cond in where)


def sort_key(value: Any, doc_id: str) -> tuple[Any, ...]:
    """The position of a document in an ascending order by `value`, ties broken by id."""
    kind = _kind(value)
    if kind == 4:
        return (kind, repr(value), doc_id)
    if kind == 1:
        return (kind, int(value), doc_id)
    return (kind, 0 if value is None else value, doc_id)


def page(
    docs: list[dict[str, Any]],
    *,
    order_by: str,
    descending: bool,
    limit: int,
    after: Cursor | None,
) -> list[dict[str, Any]]:
    """One keyset page of already filtered documents."""

    def key(doc: dict[str, Any]) -> tuple[Any, ...]:
        if order_by == "id":
            return (doc["id"],)
        return sort_key(path_value(doc, order_by), doc["id"])

    ordered = sorted(docs, key=key, reverse=descending)
    if after is not None:
        mark = (after.id,) if order_by == "id" else sort_key(after.value, after.id)
        ordered = [d for d in ordered if (key(d) < mark if descending else key(d) > mark)]
    return ordered[: max(limit, 0)]
