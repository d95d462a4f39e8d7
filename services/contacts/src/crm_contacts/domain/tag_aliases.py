"""While a tag rename's job runs, a filter on the tag matches contacts under either name.

The rename commits the tag's new name first; contacts the job has not reached still carry the
old one. So that a filter (search, listing, export selection) sees the whole set throughout, each
condition on a renamed tag's folded name also accepts its previous names until the job ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from crm_contacts.domain.text import fold
from crm_shared.storage import Contains, ContainsAny, Not, Where

TAG_FIELD = "tags_norm"


def aliases_of(tag_docs: Iterable[Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """Folded name -> folded previous names, for the tags with a rename still catching up."""
    return {
        fold(doc["name"]): tuple(fold(name) for name in doc["previous_names"])
        for doc in tag_docs
        if doc.get("previous_names")
    }


def _widened(condition: Where, aliases: Mapping[str, tuple[str, ...]]) -> Where:
    if isinstance(condition, Contains) and condition.field == TAG_FIELD:
        others = aliases.get(condition.value, ())
        return ContainsAny(TAG_FIELD, (condition.value, *others)) if others else condition
    if isinstance(condition, ContainsAny) and condition.field == TAG_FIELD:
        values = [*condition.values]
        values += [alias for value in condition.values for alias in aliases.get(value, ())]
        return ContainsAny(TAG_FIELD, tuple(dict.fromkeys(values)))
    if isinstance(condition, Not):
        return Not(_widened(condition.condition, aliases))
    return condition


def with_tag_aliases(where: Sequence[Where], aliases: Mapping[str, tuple[str, ...]]) -> list[Where]:
    """`where` with every condition on a renamed tag also matching its previous names."""
    if not aliases:
        return list(where)
    return [_widened(condition, aliases) for condition in where]
