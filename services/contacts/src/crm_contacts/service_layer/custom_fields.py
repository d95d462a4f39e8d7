"""Handlers for custom field definitions: define, change (converting stored values), delete.

A type change (or respelled options), a delete, and a definition whose key contacts already hold
untyped values under commit the definition first and queue a job (service_layer/rewrite_jobs.py)
that converts or removes the values contacts hold, in batches; a value that does not convert
stays and is listed in the job's errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm_contacts.adapters.contact_pages import holding
from crm_contacts.adapters.custom_fields import CustomFieldRepository, definition_from_doc
from crm_contacts.adapters.repository import CONTACTS
from crm_contacts.adapters.tags import TagRuleRepository
from crm_contacts.domain.custom_fields import FieldDefinition
from crm_contacts.domain.errors import InvalidFields
from crm_contacts.domain.field_definitions import changed_definition, needs_rewrite
from crm_contacts.domain.tag_rules import check_rule_filter
from crm_contacts.service_layer.contact_policy import load_policy
from crm_contacts.service_layer.rewrite_jobs import queue_job
from crm_shared.clock import now_iso
from crm_shared.ids import new_id
from crm_shared.problems import Conflict, NotFound, PreconditionFailed
from crm_shared.storage import DocumentStore, DuplicateKeyError, Eq, Session


def definition_doc(definition: FieldDefinition, *, tenant: str, now: str) -> dict[str, Any]:
    """A new stored definition."""
    return {
        "id": new_id(),
        "tenant": tenant,
        **_attributes(definition),
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }


def _attributes(definition: FieldDefinition) -> dict[str, Any]:
    return {
        "key": definition.key,
        "label": definition.label,
        "type": definition.type,
        "options": list(definition.options),
        "retired_options": list(definition.retired_options),
        "required": definition.required,
        "description": definition.description,
    }


def _not_found(key: str) -> NotFound:
    return NotFound(f"custom field '{key}' not found")


async def list_definitions(store: DocumentStore, *, tenant: str) -> list[dict[str, Any]]:
    """Every definition of the tenant, by key."""
    async with store.reader() as session:
        return await CustomFieldRepository(session, tenant).all_docs()


async def get_definition(store: DocumentStore, key: str, *, tenant: str) -> dict[str, Any]:
    """One definition (404 if the tenant has none with this key)."""
    async with store.reader() as session:
        doc = await CustomFieldRepository(session, tenant).get_doc(key)
    if doc is None:
        raise _not_found(key)
    return doc


async def _check_rules_fit(session: Session, tenant: str, new: FieldDefinition) -> None:
    """409 if a tag rule filters on the field in a way its new type does not fit."""
    policy = (await load_policy(session, tenant)).with_definition(new)
    for rule in policy.rules:
        if not any(c.key == new.key for c in rule.filter.custom):
            continue
        try:
            check_rule_filter(rule.filter, policy.definitions)
        except InvalidFields as exc:  # a rule must not silently stop matching
            raise Conflict(
                f"tag rule '{rule.name}' filters on '{new.key}' in a way that does not fit a "
                f"{new.type} field; change the rule first",
                extra={"tag_rules": [rule.name]},
            ) from exc


async def create_definition(
    store: DocumentStore, definition: FieldDefinition, *, tenant: str, actor: str
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Define a field; returns it and, when contacts already hold untyped values under its key
    (written before it was defined), the job typing them in batches (a value that does not
    convert stays and is listed in the job's errors)."""
    async with store.transaction() as session:
        fields = CustomFieldRepository(session, tenant)
        if await fields.get_doc(definition.key) is not None:
            raise Conflict(f"custom field '{definition.key}' already exists")
        job = None
        # One indexed read: untyped values are rare (writes refuse undefined keys).
        if await session.find(CONTACTS, tenant=tenant, where=holding(definition.key), limit=1):
            await _check_rules_fit(session, tenant, definition)
            job = await queue_job(
                session,
                tenant=tenant,
                kind="field_change",
                params={"key": definition.key, "old": None, "new": _attributes(definition)},
                requested_by=actor,
            )
        doc = definition_doc(definition, tenant=tenant, now=now_iso())
        try:
            await fields.add(doc)
        except DuplicateKeyError as exc:
            raise Conflict(f"custom field '{definition.key}' already exists") from exc
    return doc, job


async def update_definition(
    store: DocumentStore,
    key: str,
    patch: Mapping[str, Any],
    *,
    tenant: str,
    actor: str,
    expected_version: int | None = None,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Change a definition under the documented rules; returns it and, when stored values must
    be converted, the job converting them."""
    async with store.transaction() as session:
        fields = CustomFieldRepository(session, tenant)
        doc = await fields.get_doc(key)
        if doc is None:
            raise _not_found(key)
        if expected_version is not None and int(doc["version"]) != expected_version:
            raise PreconditionFailed(f"custom field '{key}' is at version {doc['version']}")
        old = definition_from_doc(doc)
        new = changed_definition(old, patch)
        if new == old:
            return doc, None
        job = None
        if needs_rewrite(old, new):
            await _check_rules_fit(session, tenant, new)
            job = await queue_job(
                session,
                tenant=tenant,
                kind="field_change",
                params={"key": key, "old": _attributes(old), "new": _attributes(new)},
                requested_by=actor,
            )
        updated = {
            **doc,
            **_attributes(new),
            "updated_at": now_iso(),
            "version": int(doc["version"]) + 1,
        }
        await fields.save(updated, expected_version=int(doc["version"]))
    return updated, job


async def _live_holder(store: DocumentStore, tenant: str, key: str) -> bool:
    """Whether a live contact holds a value of the field (one indexed read, outside the writer)."""
    async with store.reader() as session:
        found = await session.find(
            CONTACTS, tenant=tenant, where=(*holding(key), Eq("deleted_at", None)), limit=1
        )
    return bool(found)


async def delete_definition(
    store: DocumentStore, key: str, *, purge_values: bool, tenant: str, actor: str
) -> dict[str, Any]:
    """Delete a definition: 409 while live contacts hold values unless they are purged; returns
    the job removing the values contacts hold (soft-deleted contacts' always)."""
    if not purge_values and await _live_holder(store, tenant, key):
        raise Conflict(
            f"live contacts have a value for '{key}'; pass purge_values=true to remove those "
            "values with the field"
        )
    async with store.transaction() as session:
        fields = CustomFieldRepository(session, tenant)
        doc = await fields.get_doc(key)
        if doc is None:
            raise _not_found(key)
        rules = [
            rule["name"]
            for rule in await TagRuleRepository(session, tenant).all()
            if any(cond.get("key") == key for cond in rule["filter"].get("custom", ()))
        ]
        if rules:
            raise Conflict(
                f"tag rules filter on custom field '{key}': {', '.join(rules)}; change them first",
                extra={"tag_rules": rules},
            )
        await fields.remove(doc["id"])
        # Every value goes, also one a live contact gained since the check above: the field
        # no longer exists, so no value of it may stay.
        return await queue_job(
            session, tenant=tenant, kind="field_purge", params={"key": key}, requested_by=actor
        )
