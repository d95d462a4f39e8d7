"""Listing and searching contacts: the one query function HTTP routes and benchmarks call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from crm_contacts.adapters.contact_search import ContactSearch
from crm_contacts.adapters.custom_fields import CustomFieldRepository
from crm_contacts.adapters.tags import TagRepository
from crm_contacts.domain.search import conditions, sort_order
from crm_contacts.domain.search_cursor import cursor_key, decode_cursor, encode_cursor
from crm_contacts.domain.tag_aliases import aliases_of, with_tag_aliases
from crm_shared.filters import ContactFilter
from crm_shared.storage import DocumentStore, Session, Where
from crm_shared.storage.port import path_value

MAX_LIMIT = 200


@dataclass(frozen=True)
class SearchPage:
    """Matching contacts and the cursor of the next page (None on the last)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


@lru_cache(maxsize=8)
def _key(secret: bytes) -> bytes:
    return cursor_key(secret)


async def with_renamed_tags(
    session: Session, tenant: str, criteria: ContactFilter, where: Sequence[Where]
) -> list[Where]:
    """`where` whose conditions on a tag renamed by a job still running match its old name too
    (docs/jobs.md); one indexed read, only when the filter names tags."""
    named_tags = [*criteria.tag, *criteria.tag_any, *criteria.tag_none]
    if not named_tags:
        return list(where)
    tag_docs = await TagRepository(session, tenant).by_names(named_tags)
    return with_tag_aliases(where, aliases_of(tag_docs))


async def filter_conditions(
    session: Session, tenant: str, criteria: ContactFilter, *, include_deleted: bool = False
) -> list[Where]:
    """The storage conditions of a listing's filter: the one translation the listing, search and
    the export stream run (custom fields typed by their definitions, renamed tags followed)."""
    definitions = await CustomFieldRepository(session, tenant).all() if criteria.custom else {}
    where = conditions(criteria, definitions, include_deleted=include_deleted)
    return await with_renamed_tags(session, tenant, criteria, where)


async def search_contacts(
    store: DocumentStore,
    *,
    tenant: str,
    criteria: ContactFilter,
    secret: bytes,
    sort: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    include_deleted: bool = False,
) -> SearchPage:
    """One page of the tenant's contacts matching `criteria`, in `sort` order (default: created).

    422 naming the parameter for a filter that cannot apply (an unknown custom field, a value
    of the wrong type); 400 for a cursor that is malformed or was made for another sort.
    `secret` signs the cursors (the service's suppression key; a key is derived from it).
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    order = sort_order(sort)
    key = _key(secret)
    after = decode_cursor(cursor, order, key=key) if cursor else None
    async with store.reader() as session:
        where = await filter_conditions(session, tenant, criteria, include_deleted=include_deleted)
        # One extra row tells whether another page follows.
        docs = await ContactSearch(session, tenant).page(where, order, limit=limit + 1, after=after)
    items = docs[:limit]
    if len(docs) <= limit:
        return SearchPage(items=items, next_cursor=None)
    last = items[-1]
    return SearchPage(
        items=items,
        next_cursor=encode_cursor(order, path_value(last, order.field), last["id"], key=key),
    )
