"""Handlers for tag rules: each change commits the rule, then a job re-evaluates every contact.

New writes apply the changed rules at once; the job (service_layer/rewrite_jobs.py) catches up
the contacts already stored in bounded batches (one ContactUpdated per contact whose tags
change), so a tenant of a million contacts never holds the store's writer for the whole pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm_contacts.adapters.tags import TagRepository, TagRuleRepository
from crm_contacts.domain.errors import FieldProblem, InvalidFields
from crm_contacts.domain.tag_rules import RULE_NAME_MAX, check_rule_filter
from crm_contacts.domain.tags import TagInfo, is_reserved
from crm_contacts.service_layer.contact_policy import load_policy, new_tag_doc
from crm_contacts.service_layer.rewrite_jobs import queue_job, refuse_name_being_deleted
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
    await refuse_name_being_deleted(session, tenant, cleaned)
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


async def reevaluate(session: Session, tenant: str, *, rule_id: str, actor: str) -> dict[str, Any]:
    """Queue the job that re-applies every rule to every non-erased contact."""
    return await queue_job(
        session, tenant=tenant, kind="tag_rules", params={"rule_id": rule_id}, requested_by=actor
    )


def public_rule(doc: Mapping[str, Any], tag_name: str) -> dict[str, Any]:
    """A rule as clients see it: its tag by name."""
    view = {
        key: doc[key] for key in ("id", "name", "filter", "version", "created_at", "updated_at")
    }
    view["tag"] = tag_name
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
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Create a rule; returns it and the job tagging every contact it matches."""
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
        job = await reevaluate(session, tenant, rule_id=doc["id"], actor=actor)
    return public_rule(doc, tag_doc["name"]), job


async def update_rule(
    store: DocumentStore,
    rule_id: str,
    patch: Mapping[str, Any],
    *,
    tenant: str,
    actor: str,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Change a rule's name, filter or tag; returns it and the job re-tagging every contact."""
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
            return public_rule(doc, tag_name), None
        version = int(doc["version"])
        updated.update(version=version + 1, updated_at=now_iso())
        await rules.save(updated, expected_version=version)
        job = None
        if (updated["filter"], updated["tag_id"]) != (doc["filter"], doc["tag_id"]):
            job = await reevaluate(session, tenant, rule_id=rule_id, actor=actor)
    return public_rule(updated, tag_name), job


async def delete_rule(
    store: DocumentStore, rule_id: str, *, tenant: str, actor: str
) -> dict[str, Any]:
    """Delete a rule; returns the job taking its tag from contacts no other rule gives it to."""
    async with store.transaction() as session:
        await _rule(session, tenant, rule_id)
        await TagRuleRepository(session, tenant).remove(rule_id)
        return await reevaluate(session, tenant, rule_id=rule_id, actor=actor)
