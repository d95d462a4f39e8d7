"""Handlers for single-contact commands: create, update, delete, restore."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm_contacts.adapters.duplicates import queue_rematch
from crm_contacts.adapters.repository import ContactRepository, SuppressionRepository
from crm_contacts.domain.commands import (
    CreateContact,
    DeleteContact,
    RestoreContact,
    UpdateContact,
)
from crm_contacts.domain.contact import (
    apply_profile,
    bump,
    new_contact,
    profile_snapshot,
    public_view,
    restored,
    soft_deleted,
)
from crm_contacts.domain.contact_doc import as_stored
from crm_contacts.domain.contact_policy import ContactPolicy
from crm_contacts.domain.errors import Gone, SuppressedIdentity
from crm_contacts.domain.matching import rematch_needed
from crm_contacts.domain.validation import validate_profile
from crm_contacts.service_layer.account_links import (
    account_created_events,
    link_accounts,
    relink_contact,
)
from crm_contacts.service_layer.contact_policy import (
    checked_create,
    checked_update,
    record_new_tags,
)
from crm_contacts.service_layer.retention import note_deleted, note_restored
from crm_contacts.settings import ContactsSettings
from crm_shared.clock import now_iso
from crm_shared.events import (
    ContactCreated,
    ContactDeleted,
    ContactRestored,
    ContactUpdated,
    FieldChange,
)
from crm_shared.events.contacts import ContactProfile
from crm_shared.identity import PersonIdentifiers, person_hashes
from crm_shared.ids import new_id
from crm_shared.outbox import CONTACTS_SOURCE, outgoing
from crm_shared.problems import Conflict, NotFound, PreconditionFailed
from crm_shared.storage import DocumentStore, Session


def visible(doc: dict[str, Any] | None, contact_id: str) -> dict[str, Any]:
    """The contact if it is live: 404 when missing, soft-deleted or merged away, 410 when erased."""
    if doc is None:
        raise NotFound(f"contact {contact_id} not found")
    if doc.get("erased_at") is not None:
        raise Gone(f"contact {contact_id} was erased at the person's request")
    if doc.get("merged_into"):
        raise NotFound(
            f"contact {contact_id} was merged into {doc['merged_into']}",
            extra={"merged_into": doc["merged_into"]},
        )
    if doc.get("deleted_at") is not None:
        raise NotFound(f"contact {contact_id} not found")
    return doc


def check_version(doc: dict[str, Any], expected: int | None) -> None:
    if expected is not None and int(doc["version"]) != expected:
        raise PreconditionFailed(
            f"contact {doc['id']} is at version {doc['version']}, not {expected}; "
            "reload it and apply your change again",
            extra={"current": public_view(doc)},
        )


async def refuse_suppressed(
    suppressions: SuppressionRepository, settings: ContactsSettings, doc: Mapping[str, Any]
) -> None:
    """409 when any email or phone of `doc` (a contact or a profile) belongs to an erased person."""
    identifiers = PersonIdentifiers.of_contact(doc)
    region = settings.crm_default_region
    hashes = person_hashes(settings.suppression_key, identifiers, region=region)
    if hashes and await suppressions.suppressed(hashes):
        raise SuppressedIdentity()


async def create_contact(
    store: DocumentStore,
    command: CreateContact,
    *,
    tenant: str,
    actor: str,
    settings: ContactsSettings,
) -> dict[str, Any]:
    """Create a contact unless its email is taken (409) or its person was erased (409)."""
    profile = validate_profile(
        command.fields, region=settings.crm_default_region, require_name=True
    )
    async with store.transaction() as session:
        return await apply_create(
            session,
            tenant,
            profile,
            source=command.source,
            actor=actor,
            settings=settings,
            allow_duplicate=command.allow_duplicate,
        )


async def apply_create(
    session: Session,
    tenant: str,
    profile: dict[str, Any],
    *,
    source: str,
    actor: str,
    settings: ContactsSettings,
    allow_duplicate: bool = False,
    stamp: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Create a contact from a validated profile in `session` (POST and identity resolution).

    `stamp` sets internal fields of the new document (the resolver's `field_times`).
    """
    contacts = ContactRepository(session, tenant)
    policy, profile = await checked_create(session, tenant, profile, source=source)
    await refuse_suppressed(SuppressionRepository(session, tenant), settings, profile)
    email = profile.get("email")
    if email and not allow_duplicate:
        existing = await contacts.live_with_email(email)
        if existing is not None:
            raise Conflict(
                f"contact {existing['id']} already has this email; "
                "pass allow_duplicate=true to create another one",
                extra={"existing_id": existing["id"]},
            )
    doc = as_stored(
        new_contact(
            contact_id=new_id(), tenant=tenant, profile=profile, source=source, now=now_iso()
        )
    )
    if stamp:
        doc.update(stamp)
    policy.retag_new(doc)
    await record_new_tags(session, tenant, policy)
    accounts = await link_accounts(session, tenant, [doc], now=doc["created_at"])
    await contacts.add(doc)
    await queue_rematch(session, tenant, [doc["id"]], reason="created", new_contacts=True)
    event = ContactCreated(
        contact_id=doc["id"],
        version=doc["version"],
        source=doc["source"],
        profile=ContactProfile(**profile_snapshot(doc)),
    )
    await session.add_events(
        [
            *account_created_events(accounts, tenant=tenant, actor=actor),
            outgoing(event, source=CONTACTS_SOURCE, tenant=tenant, key=doc["id"], actor=actor),
        ]
    )
    return doc


async def update_contact(
    store: DocumentStore,
    command: UpdateContact,
    *,
    tenant: str,
    actor: str,
    settings: ContactsSettings,
) -> dict[str, Any]:
    """Apply only the given fields; no change means no new version and no event."""
    profile = validate_profile(command.fields, region=settings.crm_default_region)
    # custom_fields merge key by key; an explicit null clears them all.
    replace_custom = "custom_fields" in command.fields and command.fields["custom_fields"] is None
    async with store.transaction() as session:
        doc = visible(
            await ContactRepository(session, tenant).get(command.contact_id), command.contact_id
        )
        check_version(doc, command.expected_version)
        return await apply_update(
            session,
            tenant,
            doc,
            profile,
            actor=actor,
            settings=settings,
            replace_custom=replace_custom,
        )


async def apply_update(
    session: Session,
    tenant: str,
    doc: dict[str, Any],
    profile: dict[str, Any],
    *,
    actor: str,
    settings: ContactsSettings,
    replace_custom: bool = False,
    policy: ContactPolicy | None = None,
    stamp: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Apply a validated partial profile to a live contact read in `session` (every update path:
    PATCH, tag edits, bulk actions, identity resolution); returns the contact, unchanged when
    nothing changed.

    `policy` lets a caller changing many contacts load the tenant's rules once; `stamp` sets
    internal fields along with a change (the resolver's `field_times`), never reported as one.
    """
    if policy is None:
        policy, profile = await checked_update(
            session, tenant, profile, doc, custom_fields_cleared=replace_custom
        )
    else:
        profile = policy.check_update(profile, doc, raw_custom_fields_cleared=replace_custom)
    updated, changes = apply_profile(doc, profile, merge_custom_fields=not replace_custom)
    changes = policy.retag_changed(doc, updated, changes)
    if not changes:
        return doc
    if stamp:
        updated.update(stamp)
    if changes.keys() & {"email", "phone", "emails", "phones"}:
        await refuse_suppressed(SuppressionRepository(session, tenant), settings, updated)
    now = now_iso()
    account_events = await relink_contact(
        session, tenant, doc, updated, changes, now=now, actor=actor
    )
    bump(updated, now)
    if not await ContactRepository(session, tenant).save(
        updated, expected_version=int(doc["version"])
    ):
        raise PreconditionFailed(f"contact {doc['id']} changed meanwhile; reload it")
    await record_new_tags(session, tenant, policy)
    if rematch_needed(changes):
        await queue_rematch(session, tenant, [doc["id"]])
    event = ContactUpdated(
        contact_id=doc["id"],
        version=updated["version"],
        changes={f: FieldChange(before=b, after=a) for f, (b, a) in changes.items()},
    )
    await session.add_events(
        [
            *account_events,
            outgoing(event, source=CONTACTS_SOURCE, tenant=tenant, key=doc["id"], actor=actor),
        ]
    )
    return updated


async def delete_contact(
    store: DocumentStore, command: DeleteContact, *, tenant: str, actor: str
) -> dict[str, Any]:
    """Soft-delete a live contact (restorable)."""
    async with store.transaction() as session:
        doc = visible(
            await ContactRepository(session, tenant).get(command.contact_id), command.contact_id
        )
        check_version(doc, command.expected_version)
        return await apply_delete(session, tenant, doc, actor=actor)


async def apply_delete(
    session: Session, tenant: str, doc: dict[str, Any], *, actor: str
) -> dict[str, Any]:
    """Soft-delete a live contact read in `session` (DELETE and bulk delete)."""
    deleted = soft_deleted(doc, now_iso())
    await ContactRepository(session, tenant).save(deleted, expected_version=int(doc["version"]))
    await note_deleted(session, tenant, deleted)
    await queue_rematch(session, tenant, [doc["id"]])
    event = ContactDeleted(contact_id=doc["id"], version=deleted["version"])
    await session.add_events(
        [outgoing(event, source=CONTACTS_SOURCE, tenant=tenant, key=doc["id"], actor=actor)]
    )
    return deleted


async def restore_contact(
    store: DocumentStore,
    command: RestoreContact,
    *,
    tenant: str,
    actor: str,
    settings: ContactsSettings,
) -> dict[str, Any]:
    """Restore a soft-deleted contact unless a live one took its email meanwhile."""
    async with store.transaction() as session:
        doc = await ContactRepository(session, tenant).get(command.contact_id)
        return await apply_restore(
            session, tenant, doc, command.contact_id, actor=actor, settings=settings
        )


async def apply_restore(
    session: Session,
    tenant: str,
    doc: dict[str, Any] | None,
    contact_id: str,
    *,
    actor: str,
    settings: ContactsSettings,
) -> dict[str, Any]:
    """Restore a soft-deleted contact read in `session` (restore and bulk restore)."""
    if doc is None:
        raise NotFound(f"contact {contact_id} not found")
    if doc.get("erased_at") is not None:
        raise Gone(f"contact {contact_id} was erased at the person's request")
    if doc.get("merged_into"):
        raise Conflict(
            f"contact {contact_id} was merged into {doc['merged_into']}; undo the merge instead",
            extra={"merged_into": doc["merged_into"]},
        )
    if doc.get("deleted_at") is None:
        raise Conflict(f"contact {contact_id} is not deleted")
    contacts = ContactRepository(session, tenant)
    if doc.get("email"):
        other = await contacts.live_with_email(doc["email"], other_than=contact_id)
        if other is not None:
            raise Conflict(
                f"contact {other['id']} now has this email; merge or change it first",
                extra={"existing_id": other["id"]},
            )
    await refuse_suppressed(SuppressionRepository(session, tenant), settings, doc)
    back = restored(doc, now_iso())
    await contacts.save(back, expected_version=int(doc["version"]))
    await note_restored(session, tenant, contact_id)
    await queue_rematch(session, tenant, [contact_id])
    event = ContactRestored(contact_id=contact_id, version=back["version"])
    await session.add_events(
        [outgoing(event, source=CONTACTS_SOURCE, tenant=tenant, key=contact_id, actor=actor)]
    )
    return back
