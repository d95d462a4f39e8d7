"""Applying a bulk action to one chunk of contacts, each through the single-edit steps.

Tags, owner and campaigns go through `apply_update` (tag rules, system-tag checks, the 50-tag cap,
ContactUpdated with before/after), deletion and restore through `apply_delete` and
`apply_restore`, exactly as the single-contact routes do. The tenant's policy is loaded once
per chunk. A contact the action cannot apply to is a `failed` outcome with the reason (never a
personal value); one it does not change is `skipped`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crm_contacts.adapters.batched_session import BatchedContactWrites
from crm_contacts.adapters.repository import CONTACTS
from crm_contacts.domain.bulk import Outcome
from crm_contacts.domain.contact_policy import ContactPolicy
from crm_contacts.domain.validation import validate_profile
from crm_contacts.service_layer.campaigns import change_membership
from crm_contacts.service_layer.contact_policy import load_policy
from crm_contacts.service_layer.contact_tags import retag
from crm_contacts.service_layer.handlers import apply_delete, apply_restore, apply_update, visible
from crm_contacts.settings import ContactsSettings
from crm_shared.problems import ProblemError
from crm_shared.storage import In, Session

# Actions that change live contacts which stay live: their writes are batched per chunk.
_STAY_LIVE = frozenset(
    {"add_tags", "remove_tags", "assign_owner", "add_to_campaign", "remove_from_campaign"}
)


@dataclass(frozen=True)
class ContactOutcome:
    """What a bulk action did to one contact."""

    contact_id: str
    outcome: Outcome
    reason: str | None = None


async def _docs(session: Session, tenant: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    found = await session.find(
        CONTACTS, tenant=tenant, where=(In("id", tuple(ids)),), limit=len(ids)
    )
    return {doc["id"]: doc for doc in found}


async def apply_chunk(
    session: Session,
    tenant: str,
    *,
    action: str,
    params: Mapping[str, Any],
    contact_ids: Sequence[str],
    actor: str,
    settings: ContactsSettings,
) -> list[ContactOutcome]:
    """Apply `action` to each contact of the chunk inside `session`; one outcome per contact."""
    docs = await _docs(session, tenant, contact_ids)
    batched = BatchedContactWrites(session, tenant) if action in _STAY_LIVE else None
    outcomes = await _apply_each(
        batched or session, tenant, docs, action, params, contact_ids, actor, settings
    )
    if batched is not None:
        await batched.flush()
    return outcomes


async def _apply_each(
    session: Session,
    tenant: str,
    docs: dict[str, dict[str, Any]],
    action: str,
    params: Mapping[str, Any],
    contact_ids: Sequence[str],
    actor: str,
    settings: ContactsSettings,
) -> list[ContactOutcome]:
    policy: ContactPolicy | None = None
    if action in _STAY_LIVE:
        names = [*params.get("tags", ()), *(t for d in docs.values() for t in d.get("tags") or ())]
        policy = await load_policy(session, tenant, tag_names=names)
    owner_profile = (
        validate_profile({"owner": params["owner"]}, region=settings.crm_default_region)
        if action == "assign_owner"
        else None
    )
    outcomes: list[ContactOutcome] = []
    for contact_id in contact_ids:
        doc = docs.get(contact_id)
        if (skipped := _nothing_to_do(action, doc)) is not None:
            outcomes.append(ContactOutcome(contact_id, "skipped", skipped))
            continue
        try:
            if action == "restore":
                after = await apply_restore(
                    session, tenant, doc, contact_id, actor=actor, settings=settings
                )
            else:
                live = visible(doc, contact_id)
                after = await _apply_live(
                    session, tenant, live, action, params, owner_profile, actor, settings, policy
                )
        except ProblemError as exc:
            outcomes.append(ContactOutcome(contact_id, "failed", exc.detail))
            continue
        if doc is not None and after is doc:
            outcomes.append(ContactOutcome(contact_id, "skipped", "nothing to change"))
        else:
            outcomes.append(ContactOutcome(contact_id, "succeeded"))
    return outcomes


def _nothing_to_do(action: str, doc: dict[str, Any] | None) -> str | None:
    # Missing, erased and merged-away contacts fail with the reason the single edit gives.
    if doc is None or doc.get("erased_at") is not None or doc.get("merged_into"):
        return None
    if action == "delete" and doc.get("deleted_at") is not None:
        return "already deleted"
    if action == "restore" and doc.get("deleted_at") is None:
        return "not deleted"
    return None


async def _apply_live(
    session: Session,
    tenant: str,
    doc: dict[str, Any],
    action: str,
    params: Mapping[str, Any],
    owner_profile: dict[str, Any] | None,
    actor: str,
    settings: ContactsSettings,
    policy: ContactPolicy | None,
) -> dict[str, Any]:
    if action == "add_tags":
        return await retag(
            session,
            tenant,
            doc,
            add=params["tags"],
            remove=(),
            actor=actor,
            settings=settings,
            policy=policy,
        )
    if action == "remove_tags":
        return await retag(
            session,
            tenant,
            doc,
            add=(),
            remove=params["tags"],
            actor=actor,
            settings=settings,
            policy=policy,
        )
    if action == "assign_owner":
        assert owner_profile is not None
        return await apply_update(
            session, tenant, doc, owner_profile, actor=actor, settings=settings, policy=policy
        )
    if action in ("add_to_campaign", "remove_from_campaign"):
        return await change_membership(
            session,
            tenant,
            doc,
            params["campaign_id"],
            join=action == "add_to_campaign",
            actor=actor,
            settings=settings,
            policy=policy,
        )
    if action == "delete":
        return await apply_delete(session, tenant, doc, actor=actor)
    raise ValueError(f"action {action} is not applied contact by contact")
