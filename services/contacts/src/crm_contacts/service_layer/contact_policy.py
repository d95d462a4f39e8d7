"""Loading a tenant's ContactPolicy inside a write, and recording the tags a write first used."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from crm_contacts.adapters.custom_fields import CustomFieldRepository
from crm_contacts.adapters.tags import TagRepository, TagRuleRepository, tag_info
from crm_contacts.domain.contact_policy import ContactPolicy
from crm_contacts.domain.tag_rules import TagRule
from crm_contacts.domain.tags import TagBook, TagInfo
from crm_contacts.domain.text import fold
from crm_shared.clock import now_iso
from crm_shared.filters import ContactFilter
from crm_shared.ids import new_id
from crm_shared.storage import Session


def rule_from_doc(doc: Mapping[str, Any], tag_names: Mapping[str, str]) -> TagRule:
    """The domain rule stored in `doc`, its tag named from `tag_names` (tag id -> name)."""
    return TagRule(
        id=doc["id"],
        name=doc["name"],
        filter=ContactFilter.model_validate(doc["filter"]),
        tag=tag_names.get(doc["tag_id"], ""),
    )


async def load_policy(
    session: Session, tenant: str, *, tag_names: Iterable[str] = ()
) -> ContactPolicy:
    """Definitions, rules, auto and system tags, and the named tags: four queries in all."""
    definitions = await CustomFieldRepository(session, tenant).all()
    tags = TagRepository(session, tenant)
    known = await tags.of_kinds(("auto", "system"))
    names = [name for name in dict.fromkeys(tag_names) if name]
    if names:
        known += await tags.by_names(names)
    rule_docs = await TagRuleRepository(session, tenant).all()
    names_by_id = {doc["id"]: doc["name"] for doc in known}
    rules = [rule_from_doc(doc, names_by_id) for doc in rule_docs]
    return ContactPolicy(
        definitions=definitions,
        rules=[rule for rule in rules if rule.tag],
        book=TagBook(tag_info(doc) for doc in known),
    )


def new_tag_doc(tenant: str, tag: TagInfo, now: str, *, color: str | None = None) -> dict[str, Any]:
    """A tag record."""
    return {
        "id": new_id(),
        "tenant": tenant,
        "name": tag.name,
        "name_norm": fold(tag.name),
        "kind": tag.kind,
        "group": tag.group,
        "color": color,
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }


async def record_new_tags(session: Session, tenant: str, policy: ContactPolicy) -> None:
    """Create records for the tags this write used first (manual, or system from the platform)."""
    created = policy.book.created
    if created:
        now = now_iso()
        await TagRepository(session, tenant).add_many(
            [new_tag_doc(tenant, tag, now) for tag in created.values()]
        )
        created.clear()


async def checked_create(
    session: Session, tenant: str, profile: Mapping[str, Any], *, source: str
) -> tuple[ContactPolicy, dict[str, Any]]:
    """The tenant's policy and a new contact's profile checked against it (422 if it breaks it)."""
    policy = await load_policy(session, tenant, tag_names=profile.get("tags") or ())
    return policy, policy.check_create(profile, source=source)


async def checked_update(
    session: Session,
    tenant: str,
    profile: Mapping[str, Any],
    contact: Mapping[str, Any],
    *,
    custom_fields_cleared: bool = False,
) -> tuple[ContactPolicy, dict[str, Any]]:
    """The tenant's policy and a partial profile for `contact` checked against it."""
    names = [*(profile.get("tags") or ()), *(contact.get("tags") or ())]
    policy = await load_policy(session, tenant, tag_names=names)
    checked = policy.check_update(profile, contact, raw_custom_fields_cleared=custom_fields_cleared)
    return policy, checked
