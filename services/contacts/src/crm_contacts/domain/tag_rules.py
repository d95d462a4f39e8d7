"""Tag rules: a filter and an auto tag; a contact carries the tag while it matches any such rule.

Rules see a contact's manual and system tags, never auto tags, so rules do not chain and the
outcome does not depend on the order rules are evaluated in. Rules apply to live contacts; a
soft-deleted one keeps the auto tags it would have if live, so restoring it needs no re-check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crm_contacts.domain.contact import refresh_derived
from crm_contacts.domain.custom_fields import FieldDefinition
from crm_contacts.domain.errors import FieldProblem, InvalidFields
from crm_contacts.domain.filter_match import compile_filter, matches_compiled
from crm_contacts.domain.search import conditions
from crm_contacts.domain.tags import TagBook, with_system_tags
from crm_contacts.domain.text import fold
from crm_shared.filters import ContactFilter
from crm_shared.problems import ProblemError
from crm_shared.storage import Where

RULE_NAME_MAX = 100


@dataclass(frozen=True)
class TagRule:
    """A rule: contacts matching `filter` get the auto tag `tag` (its canonical name)."""

    id: str
    name: str
    filter: ContactFilter
    tag: str


@dataclass(frozen=True)
class CompiledRule:
    """A rule's tag and its filter as storage conditions (None: it matches nothing)."""

    tag: str
    where: list[Where] | None


def compile_rules(
    rules: Sequence[TagRule], definitions: Mapping[str, FieldDefinition]
) -> list[CompiledRule]:
    """Translate each rule's filter once, for evaluating it on many contacts."""
    return [CompiledRule(rule.tag, compile_filter(rule.filter, definitions)) for rule in rules]


def auto_tags(contact: Mapping[str, Any], rules: Sequence[CompiledRule]) -> list[str]:
    """The auto tags the rules give this contact (derived fields current), without repeats."""
    given: dict[str, str] = {}
    for rule in rules:
        if fold(rule.tag) not in given and matches_compiled(rule.where, contact):
            given[fold(rule.tag)] = rule.tag
    return list(given.values())


def final_tags(
    contact: Mapping[str, Any], *, book: TagBook, rules: Sequence[CompiledRule]
) -> list[str]:
    """The contact's tags after the platform's system tags and the tag rules are applied.

    Manual and system tags come first in their order, then the auto tags: those the contact
    already carried and still earns keep their order, new ones follow, ones no rule gives any
    more are dropped.
    """
    tags = list(contact.get("tags") or ())
    base = with_system_tags([t for t in tags if book.kind(t) != "auto"], contact, book)
    if not rules:
        return base
    # A soft-deleted contact is judged as if live, so it is restored with the right auto tags.
    probe = {**contact, "tags": base, "deleted_at": None}
    if base != tags:  # the rules must see the tags without the auto ones
        refresh_derived(probe)
    else:
        # A contact read from the store lacks the fields the store derives (its folded tags
        # and match keys, which tag and email conditions read): made here, the others kept.
        refresh_derived(probe, ())
    given = {fold(tag): tag for tag in auto_tags(probe, rules)}
    kept = [given.pop(fold(t)) for t in tags if book.kind(t) == "auto" and fold(t) in given]
    return [*base, *kept, *given.values()]


def check_rule_filter(criteria: ContactFilter, definitions: Mapping[str, FieldDefinition]) -> None:
    """A rule's filter must fit live contacts and the tenant's custom fields; 422 if not."""
    if criteria.deleted:
        raise InvalidFields([FieldProblem("filter.deleted", "tag rules apply to live contacts")])
    try:
        conditions(criteria, definitions)
    except ProblemError as exc:
        raise InvalidFields([FieldProblem("filter", exc.detail)]) from exc
