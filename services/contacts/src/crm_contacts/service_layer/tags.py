"""Handlers for tags: create, rename (everywhere), regroup, delete (from every contact).

A rename or delete commits the tag's change first and queues a job that rewrites the contacts
carrying it (service_layer/rewrite_jobs.py). Until the job completes, the renamed tag keeps its
old name in `previous_names`, and a filter on the tag matches either name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm_contacts.adapters.tags import TagRepository, TagRuleRepository
from crm_contacts.domain.errors import FieldProblem, InvalidFields
from crm_contacts.domain.tags import TagInfo, is_reserved
from crm_contacts.domain.text import fold
from crm_contacts.service_layer.contact_policy import new_tag_doc
from crm_contacts.service_layer.rewrite_jobs import queue_job, refuse_name_being_deleted
from crm_shared.clock import now_iso
from crm_shared.problems import Conflict, NotFound, Unprocessable
from crm_shared.rules import TAG_NAME_RULE, clean_tag_name, is_tag_name
from crm_shared.storage import DocumentStore, DuplicateKeyError, Session

_FILTER_TAG_LISTS = ("tag", "tag_any", "tag_none")


def _checked_name(name: str) -> str:
    cleaned = clean_tag_name(name)
    if not is_tag_name(cleaned):
        raise InvalidFields([FieldProblem("name", TAG_NAME_RULE)])
    if is_reserved(cleaned):
        raise InvalidFields(
            [FieldProblem("name", "'imported' and names starting 'source:' are system tags")]
        )
    return cleaned


async def _tag(session: Session, tenant: str, tag_id: str) -> dict[str, Any]:
    doc = await TagRepository(session, tenant).get(tag_id)
    if doc is None:
        raise NotFound(f"tag {tag_id} not found")
    return doc


async def _name_taken(session: Session, tenant: str, name: str, other_than: str | None) -> None:
    for doc in await TagRepository(session, tenant).by_names([name]):
        if doc["id"] != other_than:
            raise Conflict(
                f"tag '{doc['name']}' already exists (names are unique ignoring case and accents)",
                extra={"existing_id": doc["id"]},
            )


async def list_tags(
    store: DocumentStore, *, tenant: str, kind: str | None, group: str | None
) -> list[dict[str, Any]]:
    """The tenant's tags, optionally of one kind and group."""
    async with store.reader() as session:
        return await TagRepository(session, tenant).listed(kind=kind, group=group)


async def get_tag(store: DocumentStore, tag_id: str, *, tenant: str) -> dict[str, Any]:
    """One tag (404 if not the tenant's)."""
    async with store.reader() as session:
        return await _tag(session, tenant, tag_id)


async def create_tag(
    store: DocumentStore, *, tenant: str, name: str, group: str | None, color: str | None
) -> dict[str, Any]:
    """Create a manual tag; 409 if a tag with the same folded name exists or is still being
    removed from contacts by a delete job."""
    cleaned = _checked_name(name)
    async with store.transaction() as session:
        await _name_taken(session, tenant, cleaned, None)
        await refuse_name_being_deleted(session, tenant, cleaned)
        doc = new_tag_doc(
            tenant, TagInfo(name=cleaned, kind="manual", group=group), now_iso(), color=color
        )
        try:
            await TagRepository(session, tenant).add(doc)
        except DuplicateKeyError as exc:
            raise Conflict(f"tag '{cleaned}' already exists") from exc
    return doc


async def _rename_in_rule_filters(session: Session, tenant: str, old: str, new: str) -> None:
    """Rules that filter on the tag keep filtering on it under its new name."""
    rules = TagRuleRepository(session, tenant)
    for rule in await rules.all():
        criteria = dict(rule["filter"])
        changed = False
        for name in _FILTER_TAG_LISTS:
            tags = list(criteria.get(name) or ())
            renamed = [new if fold(tag) == fold(old) else tag for tag in tags]
            if renamed != tags:
                criteria[name] = renamed
                changed = True
        if changed:
            version = int(rule["version"])
            updated = {**rule, "filter": criteria, "version": version + 1, "updated_at": now_iso()}
            await rules.save(updated, expected_version=version)


async def _rules_using(session: Session, tenant: str, doc: Mapping[str, Any]) -> list[str]:
    """Names of the rules that give this tag or filter on it."""
    names: list[str] = []
    for rule in await TagRuleRepository(session, tenant).all():
        filtered = {
            fold(tag) for name in _FILTER_TAG_LISTS for tag in rule["filter"].get(name) or ()
        }
        if rule["tag_id"] == doc["id"] or fold(doc["name"]) in filtered:
            names.append(rule["name"])
    return names


async def update_tag(
    store: DocumentStore,
    tag_id: str,
    patch: Mapping[str, Any],
    *,
    tenant: str,
    actor: str,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Rename, regroup or recolor a tag; returns it and, for a rename, the job renaming it on
    the contacts that carry it."""
    async with store.transaction() as session:
        doc = await _tag(session, tenant, tag_id)
        updated = {**doc, **{k: v for k, v in patch.items() if k in ("group", "color")}}
        job = None
        if "name" in patch and patch["name"] is not None and patch["name"] != doc["name"]:
            if doc["kind"] == "system":
                raise Unprocessable(f"tag '{doc['name']}' is a system tag; it cannot be renamed")
            new = _checked_name(patch["name"])
            await _name_taken(session, tenant, new, tag_id)
            await refuse_name_being_deleted(session, tenant, new)
            old = doc["name"]
            previous = [name for name in doc.get("previous_names") or () if fold(name) != fold(new)]
            if fold(old) != fold(new):
                previous.append(old)
            updated.update(name=new, name_norm=fold(new), previous_names=previous)
            await _rename_in_rule_filters(session, tenant, old, new)
            job = await queue_job(
                session,
                tenant=tenant,
                kind="tag_rename",
                params={"tag_id": tag_id, "old": old, "new": new},
                requested_by=actor,
            )
        if updated == doc:
            return doc, None
        version = int(doc["version"])
        updated.update(version=version + 1, updated_at=now_iso())
        try:
            await TagRepository(session, tenant).save(updated, expected_version=version)
        except DuplicateKeyError as exc:
            raise Conflict(f"tag '{updated['name']}' already exists") from exc
    return updated, job


async def delete_tag(
    store: DocumentStore, tag_id: str, *, tenant: str, actor: str
) -> dict[str, Any]:
    """Delete a tag; returns the job that removes it from every contact."""
    async with store.transaction() as session:
        doc = await _tag(session, tenant, tag_id)
        if doc["kind"] == "system":
            raise Unprocessable(f"tag '{doc['name']}' is a system tag; it cannot be deleted")
        rules = await _rules_using(session, tenant, doc)
        if rules:
            raise Conflict(
                f"tag rules use tag '{doc['name']}': {', '.join(rules)}; change them first",
                extra={"tag_rules": rules},
            )
        await TagRepository(session, tenant).remove(tag_id)
        return await queue_job(
            session,
            tenant=tenant,
            kind="tag_delete",
            params={"tag_id": tag_id, "name": doc["name"]},
            requested_by=actor,
        )
