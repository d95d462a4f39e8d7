"""Merging duplicates into a primary contact: which values win, what conflicts, what is refused.

Pure rules, no I/O. A value "wins" by the caller's choice (`field_choices`: field -> contact id),
else it is the primary's, else the first non-empty one in `duplicate_ids` order. Emails, phones,
tags and campaigns are unions; custom fields are chosen key by key like the other fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crm_contacts.domain.contact import unique
from crm_contacts.domain.errors import FieldProblem, Gone, InvalidFields
from crm_contacts.domain.tags import is_reserved
from crm_contacts.domain.text import fold
from crm_contacts.domain.validation import ADDITIONAL_MAX, TAGS_MAX
from crm_shared.problems import Conflict, NotFound, Unprocessable

MAX_DUPLICATES = 50
# Single-valued profile fields a merge chooses one value for (email and phone: the primary one;
# the others are kept as additional emails and phones).
CHOSEN_FIELDS: tuple[str, ...] = ("name", "email", "phone", "company", "timezone", "owner")
CUSTOM_PREFIX = "custom_fields."
_EMPTY: tuple[Any, ...] = (None, "", [], {})


@dataclass(frozen=True)
class MergeRequest:
    """Merge `duplicate_ids` into `primary_id`, taking the values `field_choices` names."""

    primary_id: str
    duplicate_ids: tuple[str, ...]
    field_choices: Mapping[str, str] = field(default_factory=dict)

    @property
    def contact_ids(self) -> tuple[str, ...]:
        """The primary first, then the duplicates in the order given."""
        return (self.primary_id, *self.duplicate_ids)


@dataclass(frozen=True)
class MergeConflict:
    """A field the contacts hold different non-empty values for, each with its contact."""

    field: str
    values: tuple[tuple[str, Any], ...]

    def public(self) -> dict[str, Any]:
        """As the preview shows it."""
        return {
            "field": self.field,
            "values": [{"contact_id": cid, "value": value} for cid, value in self.values],
        }


def check_request(request: MergeRequest) -> None:
    """Refuse a self-merge, repeated ids, too many duplicates or a choice naming a stranger."""
    if not request.duplicate_ids:
        raise Unprocessable("duplicate_ids must name at least one contact")
    if len(request.duplicate_ids) > MAX_DUPLICATES:
        raise Unprocessable(
            f"a merge takes at most {MAX_DUPLICATES} duplicates, "
            f"not {len(request.duplicate_ids)}; merge them in several steps"
        )
    if request.primary_id in request.duplicate_ids:
        raise Unprocessable(f"contact {request.primary_id} cannot be merged with itself")
    repeated = sorted({i for i in request.duplicate_ids if request.duplicate_ids.count(i) > 1})
    if repeated:
        raise Unprocessable(f"duplicate_ids lists {', '.join(repeated)} more than once")
    problems: list[FieldProblem] = []
    involved = set(request.contact_ids)
    for name, contact_id in request.field_choices.items():
        known = name in CHOSEN_FIELDS or (
            name.startswith(CUSTOM_PREFIX) and len(name) > len(CUSTOM_PREFIX)
        )
        if not known:
            problems.append(
                FieldProblem(
                    f"field_choices.{name}",
                    f"is not a field a merge chooses; use one of {', '.join(CHOSEN_FIELDS)} "
                    "or custom_fields.<key>",
                )
            )
        elif contact_id not in involved:
            problems.append(
                FieldProblem(f"field_choices.{name}", "must name one of the merged contacts")
            )
    if problems:
        raise InvalidFields(problems)


def check_mergeable(request: MergeRequest, docs: Mapping[str, dict[str, Any] | None]) -> None:
    """Every contact must exist in the tenant and be live (not deleted, merged or erased).

    Another tenant's contact is simply not found (404), so its existence is not revealed.
    """
    for contact_id in request.contact_ids:
        doc = docs.get(contact_id)
        if doc is None:
            raise NotFound(f"contact {contact_id} not found")
        if doc.get("erased_at") is not None:
            raise Gone(f"contact {contact_id} was erased at the person's request")
        if doc.get("merged_into"):
            raise Conflict(
                f"contact {contact_id} was already merged into {doc['merged_into']}",
                extra={"contact_id": contact_id, "merged_into": doc["merged_into"]},
            )
        if doc.get("deleted_at") is not None:
            raise Conflict(
                f"contact {contact_id} is deleted; restore it before merging it",
                extra={"contact_id": contact_id},
            )


def _filled(value: Any) -> bool:
    return value not in _EMPTY


def _chosen(
    name: str, values: Sequence[tuple[str, Any]], choices: Mapping[str, str]
) -> tuple[str | None, Any]:
    """(contact id, value) that wins for one field: the choice, the primary's, the first filled."""
    chosen_id = choices.get(name)
    if chosen_id is not None:
        return chosen_id, dict(values).get(chosen_id)
    for contact_id, value in values:  # the primary comes first
        if _filled(value):
            return contact_id, value
    return None, None


def _conflict(name: str, values: Sequence[tuple[str, Any]]) -> MergeConflict | None:
    filled = [(cid, value) for cid, value in values if _filled(value)]
    distinct = {repr(fold(v) if isinstance(v, str) else v) for _, v in filled}
    return MergeConflict(name, tuple(filled)) if len(distinct) > 1 else None


def _phones_of(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(E.164, as typed) of every phone of a contact, primary first."""
    pairs: list[tuple[str, str]] = []
    if doc.get("phone"):
        pairs.append((doc["phone"], doc.get("phone_raw") or doc["phone"]))
    typed = doc.get("phones_raw") or []
    for i, number in enumerate(doc.get("phones") or ()):
        pairs.append((number, typed[i] if i < len(typed) else number))
    return pairs


def _union_tags(docs: Sequence[Mapping[str, Any]]) -> list[str]:
    """The primary's tags, then the duplicates' (but not their system tags), folded unique."""
    seen: set[str] = set()
    tags: list[str] = []
    for position, doc in enumerate(docs):
        for tag in doc.get("tags") or ():
            folded = fold(tag)
            if folded in seen or (position > 0 and is_reserved(tag)):
                continue
            seen.add(folded)
            tags.append(tag)
    return tags


@dataclass(frozen=True)
class MergeOutcome:
    """The primary's new profile values and the conflicts the choice settled."""

    profile: dict[str, Any]
    conflicts: list[MergeConflict]


def merged_profile(request: MergeRequest, docs: Mapping[str, Mapping[str, Any]]) -> MergeOutcome:
    """The values the primary takes from a merge (every mergeable field), and the conflicts."""
    ordered = [docs[cid] for cid in request.contact_ids]
    choices = request.field_choices
    profile: dict[str, Any] = {}
    conflicts: list[MergeConflict] = []
    for name in CHOSEN_FIELDS:
        values = [(doc["id"], doc.get(name)) for doc in ordered]
        winner_id, profile[name] = _chosen(name, values, choices)
        if name == "phone":
            winner = docs[winner_id] if winner_id else {}
            profile["phone_raw"] = winner.get("phone_raw") if winner else None
        if (found := _conflict(name, values)) is not None:
            conflicts.append(found)
    email = profile["email"]
    emails = unique(
        e for doc in ordered for e in (doc.get("email"), *(doc.get("emails") or ())) if e
    )
    profile["emails"] = [e for e in emails if e != email]
    typed: dict[str, str] = {}  # each number as first typed, primary first
    for doc in ordered:
        for number, raw in _phones_of(doc):
            typed.setdefault(number, raw)
    kept = [number for number in typed if number != profile["phone"]]
    profile["phones"] = kept
    profile["phones_raw"] = [typed[number] for number in kept]
    profile["tags"] = _union_tags(ordered)
    profile["custom_fields"] = _merged_custom_fields(request, ordered, conflicts)
    if any("campaigns" in doc for doc in ordered):
        profile["campaigns"] = unique(c for doc in ordered for c in doc.get("campaigns") or ())
    _merge_origins(ordered, profile)
    _check_caps(profile)
    return MergeOutcome(profile=profile, conflicts=conflicts)


def _merge_origins(ordered: Sequence[Mapping[str, Any]], profile: dict[str, Any]) -> None:
    """Other systems' ids (the primary's first, per system) and the channels, as unions.

    So an integration still finds the person by a duplicate's id after the merge.
    """
    external: dict[str, str] = {}
    for doc in ordered:
        for system, value in (doc.get("external_ids") or {}).items():
            external.setdefault(system, value)
    if external:
        profile["external_ids"] = external
    sources = unique(s for doc in ordered for s in (doc.get("sources") or [doc.get("source")]) if s)
    if sources != list(ordered[0].get("sources") or [ordered[0].get("source")]):
        profile["sources"] = sources


def _merged_custom_fields(
    request: MergeRequest, ordered: Sequence[Mapping[str, Any]], conflicts: list[MergeConflict]
) -> dict[str, Any]:
    keys = unique(key for doc in ordered for key in doc.get("custom_fields") or {})
    merged: dict[str, Any] = {}
    for key in keys:
        name = f"{CUSTOM_PREFIX}{key}"
        values = [(doc["id"], (doc.get("custom_fields") or {}).get(key)) for doc in ordered]
        _, value = _chosen(name, values, request.field_choices)
        if value is not None:
            merged[key] = value
        if (found := _conflict(name, values)) is not None:
            conflicts.append(found)
    return merged


def _check_caps(profile: Mapping[str, Any]) -> None:
    problems: list[FieldProblem] = []
    if len(profile["tags"]) > TAGS_MAX:
        problems.append(
            FieldProblem(
                "tags",
                f"would hold {len(profile['tags'])} tags after the merge, at most {TAGS_MAX}; "
                "remove some from the contacts first",
            )
        )
    for name in ("emails", "phones"):
        if len(profile[name]) > ADDITIONAL_MAX:
            problems.append(
                FieldProblem(
                    name,
                    f"would hold {len(profile[name])} additional values after the merge, "
                    f"at most {ADDITIONAL_MAX}; remove some from the contacts first",
                )
            )
    if problems:
        raise InvalidFields(problems)
