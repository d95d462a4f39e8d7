"""The typed contact filter as storage conditions: what `GET /v1/contacts` and search run.

Every value is typed here (custom-field values by their definitions) before it becomes a storage
condition, so nothing a client sends reaches the database as a query document. The conditions
come in a deliberate order: the SQLite adapter reads a page off the index of the first equality
on an indexed field, so the most selective ones (email, owner) go first. The in-memory twin of
this translation (tag rules) is `domain/filter_match.py`; the two must agree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crm_contacts.domain.custom_fields import CHECKERS, FieldDefinition, InvalidValue
from crm_contacts.domain.matching.profile import EMAIL_KEY
from crm_contacts.domain.text import fold
from crm_shared.clock import iso
from crm_shared.filters import ContactFilter, CustomFieldCondition
from crm_shared.identity import normalize_email
from crm_shared.problems import Unprocessable
from crm_shared.storage import Contains, ContainsAny, Eq, In, Not, Range, TextMatch, Where
from crm_shared.text import MIN_INDEXED_LENGTH, search_fold

# `sort` values -> the stored field they order by. Without `sort`, pages come in id order, which
# is creation order (ids are time-ordered) and the cheapest keyset there is.
SORT_FIELDS: dict[str, str] = {
    "name": "name_sort",
    "created_at": "created_at",
    "updated_at": "updated_at",
}
DEFAULT_SORT = "id"
_PHONE_LIKE = re.compile(r"[+\d\s().\-/]+")
CONSENTS_GRANTED = "consents_granted"
_RANGE_TYPES = frozenset({"number", "date"})
# Sorts after every character: the upper bound of a prefix range.
_AFTER_EVERY_CHARACTER = "\U0010ffff"


@dataclass(frozen=True)
class SortOrder:
    """How a page is ordered: the client's name for it, the stored field, the direction."""

    name: str
    field: str
    descending: bool


def sort_order(sort: str | None) -> SortOrder:
    """The order a `sort` value asks for (`name`, `-updated_at`, ...; None: creation order)."""
    if sort is None or sort == DEFAULT_SORT:
        return SortOrder(DEFAULT_SORT, "id", False)
    descending = sort.startswith("-")
    name = sort.removeprefix("-")
    if name not in SORT_FIELDS:
        raise Unprocessable(f"sort must be one of {', '.join(sorted(SORT_FIELDS))}, or - before")
    return SortOrder(sort, SORT_FIELDS[name], descending)


def text_query(q: str) -> str:
    """What `q` is searched as: its digits if it looks like a phone number, else folded text."""
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) >= 3 and _PHONE_LIKE.fullmatch(q.strip()):
        return digits
    return search_fold(q)


def text_conditions(q: str) -> list[Where]:
    """The condition `q` stands for: every word in the contact's searched text, in any order.

    A query with no word of MIN_INDEXED_LENGTH characters is one no trigram index can serve
    (it would read every contact): it matches contacts whose folded name starts with it.
    """
    text = text_query(q)
    if not text:
        return []
    if max(len(word) for word in text.split()) < MIN_INDEXED_LENGTH:
        return [Range("name_sort", gte=text, lt=text + _AFTER_EVERY_CHARACTER)]
    return [TextMatch("search_text", text)]


def _problem(param: str, reason: str) -> Unprocessable:
    return Unprocessable(f"filter parameter {param}: {reason}", extra={"parameter": param})


def _param(cond: CustomFieldCondition, op: str) -> str:
    return f"cf.{cond.key}" if op == "eq" else f"cf.{cond.key}.{op}"


def _typed(value: Any, definition: FieldDefinition, param: str) -> Any:
    # Query-string values arrive as text; B's checkers parse text as imports do.
    checker = CHECKERS["dropdown" if definition.type == "multi_select" else definition.type]
    try:
        return checker(value, definition, True)
    except InvalidValue as exc:
        raise _problem(param, str(exc)) from None


def custom_conditions(
    cond: CustomFieldCondition, definitions: Mapping[str, FieldDefinition]
) -> list[Where]:
    """Conditions for one custom-field condition; 422 naming the parameter when it is invalid."""
    definition = definitions.get(cond.key)
    if definition is None:
        raise _problem(f"cf.{cond.key}", f"no custom field '{cond.key}' is defined")
    path = f"custom_fields.{cond.key}"
    where: list[Where] = []
    for op in ("eq", "contains", "gte", "lte"):
        value = getattr(cond, op)
        if value is None:
            continue
        param = _param(cond, op)
        if op in ("gte", "lte") and definition.type not in _RANGE_TYPES:
            raise _problem(param, f"ranges apply to number and date fields, not {definition.type}")
        if op == "contains" and definition.type != "multi_select":
            raise _problem(param, "contains applies to multi_select fields; use cf.<key>=")
        typed = _typed(value, definition, param)
        if definition.type == "multi_select":  # eq on a multi-select means "holds this option"
            where.append(Contains(path, typed))
        elif op == "eq":
            where.append(Eq(path, typed))
        else:
            where.append(Range(path, **{op: typed}))
    return where


def _moment(value: datetime | None) -> str | None:
    return None if value is None else iso(value)


def _email(value: str) -> str:
    email = normalize_email(value)
    if email is None:
        raise _problem("email", "is not a valid email address")
    return email


def conditions(
    criteria: ContactFilter,
    definitions: Mapping[str, FieldDefinition] | None = None,
    *,
    include_deleted: bool = False,
) -> list[Where]:
    """The storage conditions selecting the contacts `criteria` describes (never erased ones).

    `include_deleted` (the older listing parameter) lists live and soft-deleted contacts alike.
    """
    definitions = definitions or {}
    where: list[Where] = []
    if criteria.ids:
        where.append(In("id", tuple(dict.fromkeys(criteria.ids))))
    if criteria.email:
        # Every email is a match key (`e:<email>`), indexed value by value.
        where.append(Contains("match_keys", EMAIL_KEY + _email(criteria.email)))
    if criteria.owner:
        where.append(Eq("owner", criteria.owner))
    if criteria.campaign:
        where.append(Contains("campaigns", criteria.campaign))
    if criteria.import_id:
        where.append(Contains("import_ids", criteria.import_id))
    selectors = criteria.consent_selectors()
    # Granted now: the pair is in the contact's granted list (kept from the gdpr ledger).
    where.extend(Contains(CONSENTS_GRANTED, s.token) for s in selectors if not s.negated)
    where.extend(Contains("tags_norm", fold(tag)) for tag in criteria.tag)
    for cond in criteria.custom:
        where.extend(custom_conditions(cond, definitions))
    if criteria.source:
        where.append(Eq("source", criteria.source))
    if criteria.tag_any:
        where.append(ContainsAny("tags_norm", tuple(fold(tag) for tag in criteria.tag_any)))
    if criteria.tag_none:
        where.append(Not(ContainsAny("tags_norm", tuple(fold(tag) for tag in criteria.tag_none))))
    # Not granted: withdrawn, or never given (no decision at all).
    where.extend(Not(Contains(CONSENTS_GRANTED, s.token)) for s in selectors if s.negated)
    for field, after, before in (
        ("created_at", criteria.created_after, criteria.created_before),
        ("updated_at", criteria.updated_after, criteria.updated_before),
    ):
        if after is not None or before is not None:
            where.append(Range(field, gte=_moment(after), lte=_moment(before)))
    if criteria.q:
        where.extend(text_conditions(criteria.q))
    if criteria.deleted or include_deleted:
        # Merged-away contacts are stamped deleted too, but never listed: they live on in the
        # primary (live-only queries skip them through `deleted_at` already).
        where.append(Eq("merged_into", None))
    if criteria.deleted:
        # Any timestamp is greater than "": unlike "is not null", a range can use the index.
        where.append(Range("deleted_at", gt=""))
    elif not include_deleted:
        where.append(Eq("deleted_at", None))
    where.append(Eq("erased_at", None))
    return where
