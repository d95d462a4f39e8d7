"""Adding and removing some tags of one contact without resending its whole list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crm_contacts.adapters.repository import ContactRepository
from crm_contacts.domain.contact_policy import ContactPolicy
from crm_contacts.domain.tags import edited_tags
from crm_contacts.domain.validation import validate_profile
from crm_contacts.service_layer.handlers import apply_update, check_version, visible
from crm_contacts.settings import ContactsSettings
from crm_shared.storage import DocumentStore, Session


async def retag(
    session: Session,
    tenant: str,
    contact: dict[str, Any],
    *,
    add: Sequence[str],
    remove: Sequence[str],
    actor: str,
    settings: ContactsSettings,
    policy: ContactPolicy | None = None,
) -> dict[str, Any]:
    """Apply the tag edit to a live contact read in `session`, by the rules of PATCH `tags`:
    system tags cannot be added or removed, auto tags follow the rules, at most 50 tags."""
    current = list(contact.get("tags") or ())
    wanted = edited_tags(current, list(add), list(remove))
    if wanted == current:
        return contact
    profile = validate_profile({"tags": wanted}, region=settings.crm_default_region)
    return await apply_update(
        session, tenant, contact, profile, actor=actor, settings=settings, policy=policy
    )


async def edit_tags(
    store: DocumentStore,
    contact_id: str,
    *,
    add: Sequence[str],
    remove: Sequence[str],
    expected_version: int | None,
    tenant: str,
    actor: str,
    settings: ContactsSettings,
) -> dict[str, Any]:
    """Add and remove tags on one contact (404/410 as reads, 412 on a stale version)."""
    async with store.transaction() as session:
        doc = visible(await ContactRepository(session, tenant).get(contact_id), contact_id)
        check_version(doc, expected_version)
        return await retag(
            session, tenant, doc, add=add, remove=remove, actor=actor, settings=settings
        )
