"""Handlers for tag rules: each change re-evaluates every contact of the tenant in one transaction.

The rule change and the contacts it re-tags commit together (one ContactUpdated per contact
whose tags change), so nobody sees a rule without its effect. On a large tenant this holds the
write lock for the whole pass; see the report on moving it to a background job.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm_contacts.adapters.contact_pages import NOT_ERASED
from crm_contacts.adapters.tags import TagRepository, TagRuleRepository
from crm_contacts.domain.errors import FieldProblem, InvalidFields
from crm_contacts.domain.tag_rules import RULE_NAME_MAX, check_rule_filter
from crm_contacts.domain.tags import TagInfo, is_reserved
from crm_contacts.service_layer.contact_policy import load_policy, new_tag_doc
from crm_contacts.service_layer.contact_rewrites import rewrite_contacts
from crm_shared.clock import now_iso
from crm_shared.filters import ContactFilter
from crm_shared.ids import new_id
from crm_shared.problems import Conflict, NotFound
from crm_shared.rules import TAG_NAME_RULE, clean_tag_name, is_tag_name
from crm_shared.storage import DocumentStore, Session


async def _rule(session: Session, tenant: str, rule_id: str) -> dict[str, Any]:
    doc = await TagRuleRepository(session, tenant).get(rule_id)
    if doc is None:
        raise NotFound(f"tag rule {rule_id} not found")
    return doc


async def _auto_tag(session: Session, tenant: str, name: str) -> dict[str, Any]:
    """The auto tag with this name, created if new; 409 if the name is a manual/system tag."""
    cleaned = clean_tag_name(name)
    if not is_tag_name(cleaned) or is_reserved(cleaned):
        raise InvalidFields([FieldProblem("tag", f"{TAG_NAME_RULE} and not a system tag")])
    tags = TagRepository(session, tenant)
    for doc in await tags.by_names([cleaned]):
        if doc["kind"] != "auto":
            raise Conflict(
                f"tag '{doc['name']}' is a {doc['kind']} tag; a rule gives auto tags only "
                "(choose another name)",
                extra={"existing_id": doc["id"]},
            )
        return doc
    doc = new_tag_doc(tenant, TagInfo(name=cleaned, kind="auto"), now_iso())
    await tags.add(doc)
    return doc


async def _checked_filter(session: Session, tenant: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    criteria = ContactFilter.model_validate(raw)
    definitions = (await load_policy(session, tenant)).definitions
    check_rule_filter(criteria, definitions)
    return criteria.model_dump(mode="json", exclude_defaults=True)


def _checked_name(name: str) -> str:
    cleaned = name.strip()
    if not 1 <= len(cleaned) <= RULE_NAME_MAX:
        raise InvalidFields([FieldProblem("name", f"must be 1-{RULE_NAME_MAX} characters")])
    return cleaned


async def reevaluate(session: Session, tenant: str, *, actor: str) -> int:
    """Re-apply every rule to every non-erased contact; returns how many contacts changed."""
    policy = await load_policy(session, tenant)
    result = await rewrite_contacts(
        session,
        tenant,
        where=NOT_ERASED,
        transform=lambda doc: {"tags": policy.tags_for(doc)},
        actor=actor,
    )
    return result.changed


def public_rule(
    doc: Mapping[str, Any], tag_name: str, retagged: int | None = None
) -> dict[str, Any]:
    """A rule as clients see it: its tag by name."""
    view = {
        key: doc[key] for key in ("id", "name", "filter", "version", "created_at", "updated_at")
    }
    view["tag"] = tag_name
    if retagged is not None:
        view["contacts_updated"] = retagged
    return view


async def list_rules(store: DocumentStore, *, tenant: str) -> list[dict[str, Any]]:
    """Every rule of the tenant, oldest first, with its tag's name."""
    async with store.reader() as session:
        docs = await TagRuleRepository(session, tenant).all()
        names = {
            d["id"]: d["name"] for d in await TagRepository(session, tenant).of_kinds(["auto"])
        }
    return [public_rule(doc, names.get(doc["tag_id"], "")) for doc in docs]


async def get_rule(store: DocumentStore, rule_id: str, *, tenant: str) -> dict[str, Any]:
    """One rule with its tag's name."""
    async with store.reader() as session:
        doc = await _rule(session, tenant, rule_id)
        tag = await TagRepository(session, tenant).get(doc["tag_id"])
    return public_rule(doc, tag["name"] if tag else "")


async def create_rule(
    store: DocumentStore,
    *,
    tenant: str,
    name: str,
    criteria: Mapping[str, Any],
    tag: str,
    actor: str,
) -> dict[str, Any]:
    """Create a rule and tag every contact it matches."""
    async with store.transaction() as session:
        tag_doc = await _auto_tag(session, tenant, tag)
        now = now_iso()
        doc = {
            "id": new_id(),
            "tenant": tenant,
            "name": _checked_name(name),
            "filter": await _checked_filter(session, tenant, criteria),
            "tag_id": tag_doc["id"],
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        await TagRuleRepository(session, tenant).add(doc)
        retagged = await reevaluate(session, tenant, actor=actor)
    return public_rule(doc, tag_doc["name"], retagged)


async def update_rule(
    store: DocumentStore,
    rule_id: str,
    patch: Mapping[str, Any],
    *,
    tenant: str,
    actor: str,
) -> dict[str, Any]:
    """Change a rule's name, filter or tag, then re-tag every contact."""
    async with store.transaction() as session:
        rules = TagRuleRepository(session, tenant)
        doc = await _rule(session, tenant, rule_id)
        updated = dict(doc)
        if patch.get("name") is not None:
            updated["name"] = _checked_name(patch["name"])
        if patch.get("filter") is not None:
            updated["filter"] = await _checked_filter(session, tenant, patch["filter"])
        if patch.get("tag") is not None:
            updated["tag_id"] = (await _auto_tag(session, tenant, patch["tag"]))["id"]
        tag = await TagRepository(session, tenant).get(updated["tag_id"])
        tag_name = tag["name"] if tag else ""
        if updated == doc:
            return public_rule(doc, tag_name, 0)
        version = int(doc["version"])
        updated.update(version=version + 1, updated_at=now_iso())
        await rules.save(updated, expected_version=version)
        retagged = await reevaluate(session, tenant, actor=actor)
    return public_rule(updated, tag_name, retagged)


async def delete_rule(store: DocumentStore, rule_id: str, *, tenant: str, actor: str) -> int:
    """Delete a rule; its tag leaves the contacts no other rule gives it to."""
    async with store.transaction() as session:
        await _rule(session, tenant, rule_id)
        await TagRuleRepository(session, tenant).remove(rule_id)
        return await reevaluate(session, tenant, actor=actor)
