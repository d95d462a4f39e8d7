"""Handlers for merges: preview, merge, undo; each one transaction with its events (outbox)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crm_contacts.adapters.duplicates import queue_rematch
from crm_contacts.adapters.merges import MergeRepository
from crm_contacts.adapters.repository import ContactRepository
from crm_contacts.domain.contact import Changes, apply_profile, bump, profile_snapshot, public_view
from crm_contacts.domain.contact_policy import ContactPolicy
from crm_contacts.domain.merge_records import (
    later_merge,
    merged_away,
    new_merge_record,
    restored_duplicate,
    restored_primary,
    undo_blocker,
)
from crm_contacts.domain.merging import (
    MergeConflict,
    MergeRequest,
    check_mergeable,
    check_request,
    merged_profile,
)
from crm_contacts.domain.retention import purge_cutoff
from crm_contacts.service_layer.account_links import relink_contact
from crm_contacts.service_layer.contact_policy import load_policy, record_new_tags
from crm_contacts.service_layer.retention import note_deleted, note_restored
from crm_shared.clock import now_iso
from crm_shared.contact_fields import PROFILE_FIELDS
from crm_shared.envelope import EventData
from crm_shared.events import ContactsMerged, ContactUpdated, FieldChange, MergeUndone
from crm_shared.events.campaigns import CampaignMembershipChanged
from crm_shared.events.contacts import ContactProfile
from crm_shared.ids import new_id
from crm_shared.outbox import CONTACTS_SOURCE, outgoing
from crm_shared.problems import Conflict, NotFound, PreconditionFailed, Unprocessable
from crm_shared.storage import DocumentStore, OutgoingEvent, Session

# The fields a ContactUpdated of an undo compares: the profile, and campaign memberships.
_PROFILE_FIELDS = tuple(dict.fromkeys((*PROFILE_FIELDS, "campaigns")))


def _event(data: EventData, *, tenant: str, key: str, actor: str) -> OutgoingEvent:
    """An outbox entry of this service, keyed by (and about) `key`."""
    return outgoing(data, source=CONTACTS_SOURCE, tenant=tenant, key=key, actor=actor)


@dataclass(frozen=True)
class MergePreview:
    """The primary as the merge would save it, and the fields the contacts disagree on."""

    contact: dict[str, Any]
    conflicts: list[MergeConflict]


@dataclass(frozen=True)
class UndoResult:
    """The undone merge record, every contact as restored, and the primary's kept edits."""

    record: dict[str, Any]
    contacts: list[dict[str, Any]]
    kept_changes: list[str]


async def _merged_primary(
    session: Session, tenant: str, request: MergeRequest, docs: Mapping[str, dict[str, Any]]
) -> tuple[dict[str, Any], Changes, ContactPolicy, list[MergeConflict]]:
    """The primary with the merged values applied, the changes, the policy, the conflicts.

    System and auto tags are re-applied as on every update (the rules see the merged contact).
    """
    outcome = merged_profile(request, docs)
    primary = docs[request.primary_id]
    profile = {k: v for k, v in outcome.profile.items() if primary.get(k) != v}
    if "phones" in profile or "phones_raw" in profile:
        profile["phones"], profile["phones_raw"] = (
            outcome.profile["phones"],
            outcome.profile["phones_raw"],
        )
    if "phone" in profile:
        profile["phone_raw"] = outcome.profile["phone_raw"]
    policy = await load_policy(session, tenant, tag_names=outcome.profile["tags"])
    updated, changes = apply_profile(primary, profile, merge_custom_fields=False)
    changes = policy.retag_changed(primary, updated, changes)
    return updated, changes, policy, outcome.conflicts


async def _load(session: Session, tenant: str, request: MergeRequest) -> dict[str, dict[str, Any]]:
    docs = await MergeRepository(session, tenant).contacts(request.contact_ids)
    check_mergeable(request, docs)
    return docs


async def preview_merge(
    store: DocumentStore, request: MergeRequest, *, tenant: str
) -> MergePreview:
    """What a merge would make of the primary; nothing is saved."""
    check_request(request)
    async with store.reader() as session:
        docs = await _load(session, tenant, request)
        updated, _, _, conflicts = await _merged_primary(session, tenant, request, docs)
    return MergePreview(contact=updated, conflicts=conflicts)


def _check_versions(docs: Mapping[str, dict[str, Any]], if_match: Mapping[str, int]) -> None:
    for contact_id, version in if_match.items():
        doc = docs[contact_id]
        if int(doc["version"]) != version:
            raise PreconditionFailed(
                f"contact {contact_id} is at version {doc['version']}, not {version}; "
                "preview the merge again",
                extra={"contact_id": contact_id, "current": public_view(doc)},
            )


def _merged_events(
    record: Mapping[str, Any], versions: Mapping[str, int], profile: ContactProfile
) -> list[ContactsMerged]:
    """One ContactsMerged per involved contact, each to be keyed by its contact."""
    return [
        ContactsMerged(
            contact_id=contact_id,
            version=versions[contact_id],
            merge_id=record["id"],
            primary_id=record["primary_id"],
            duplicate_ids=list(record["duplicate_ids"]),
            profile=profile,
        )
        for contact_id in record["contact_ids"]
    ]


async def merge_contacts(
    store: DocumentStore,
    request: MergeRequest,
    *,
    if_match: Mapping[str, int],
    tenant: str,
    actor: str,
) -> dict[str, Any]:
    """Merge the duplicates into the primary; return the merge record (with the new primary)."""
    check_request(request)
    strangers = sorted(set(if_match) - set(request.contact_ids))
    if strangers:
        raise Unprocessable(f"if_match names contacts outside this merge: {', '.join(strangers)}")
    async with store.transaction() as session:
        contacts = ContactRepository(session, tenant)
        docs = await _load(session, tenant, request)
        _check_versions(docs, if_match)
        primary = docs[request.primary_id]
        updated, changes, policy, _ = await _merged_primary(session, tenant, request, docs)
        now = now_iso()
        events: list[OutgoingEvent] = await relink_contact(
            session, tenant, primary, updated, changes, now=now, actor=actor
        )
        bump(updated, now)
        versions = {request.primary_id: int(updated["version"])}
        # The duplicates leave the live set before the primary takes their emails.
        for duplicate_id in request.duplicate_ids:
            doc = docs[duplicate_id]
            gone = merged_away(doc, primary_id=request.primary_id, now=now)
            if not await contacts.save(gone, expected_version=int(doc["version"])):
                raise Conflict(f"contact {duplicate_id} changed meanwhile; retry the merge")
            await note_deleted(session, tenant, gone)
            versions[duplicate_id] = int(gone["version"])
        if not await contacts.save(updated, expected_version=int(primary["version"])):
            raise Conflict(f"contact {request.primary_id} changed meanwhile; retry the merge")
        await record_new_tags(session, tenant, policy)
        record = new_merge_record(
            merge_id=new_id(),
            tenant=tenant,
            request=request,
            before=docs,
            primary_after=updated,
            now=now,
            actor=actor,
        )
        await MergeRepository(session, tenant).add(record)
        # The primary's pairs change with its new identifiers; the duplicates' pairs go.
        await queue_rematch(session, tenant, list(record["contact_ids"]))
        if changes:
            update = ContactUpdated(
                contact_id=request.primary_id,
                version=updated["version"],
                changes={f: FieldChange(before=b, after=a) for f, (b, a) in changes.items()},
            )
            events.append(_event(update, tenant=tenant, key=request.primary_id, actor=actor))
        events += _membership_events(primary, updated, tenant=tenant, actor=actor)
        profile = ContactProfile(**profile_snapshot(updated))
        events += [
            _event(event, tenant=tenant, key=event.contact_id, actor=actor)
            for event in _merged_events(record, versions, profile)
        ]
        await session.add_events(events)
    return record


def _membership_events(
    before: Mapping[str, Any], after: Mapping[str, Any], *, tenant: str, actor: str
) -> list[OutgoingEvent]:
    """A CampaignMembershipChanged per campaign the primary joined or left (as bulk edits do)."""
    old, new = list(before.get("campaigns") or ()), list(after.get("campaigns") or ())
    moves = [(c, "added") for c in new if c not in old]
    moves += [(c, "removed") for c in old if c not in new]
    return [
        _event(
            CampaignMembershipChanged(
                contact_id=after["id"],
                campaign_id=campaign_id,
                change="added" if change == "added" else "removed",
                contact_version=int(after["version"]),
            ),
            tenant=tenant,
            key=after["id"],
            actor=actor,
        )
        for campaign_id, change in moves
    ]


async def get_merge(store: DocumentStore, merge_id: str, *, tenant: str) -> dict[str, Any]:
    """One merge record of the tenant (404 when unknown)."""
    async with store.reader() as session:
        record = await MergeRepository(session, tenant).get(merge_id)
    if record is None:
        raise NotFound(f"merge {merge_id} not found")
    return record


def _undo_refusal(record: Mapping[str, Any], *, cutoff: str, retention_days: int) -> str | None:
    status = record["status"]
    if status == "undone":
        return f"merge {record['id']} was already undone at {record['undone_at']}"
    if status == "erased":
        return f"a contact of merge {record['id']} was erased; it can no longer be undone"
    if status == "expired" or record["merged_at"] < cutoff:
        return (
            f"merge {record['id']} is older than the {retention_days}-day retention of merged "
            "contacts; it can no longer be undone"
        )
    return None


async def undo_merge(
    store: DocumentStore,
    merge_id: str,
    *,
    tenant: str,
    actor: str,
    now: datetime,
    retention_days: int,
) -> UndoResult:
    """Bring every contact of a merge back as it was; 409 naming what blocks it."""
    async with store.transaction() as session:
        merges = MergeRepository(session, tenant)
        record = await merges.get(merge_id)
        if record is None:
            raise NotFound(f"merge {merge_id} not found")
        refusal = _undo_refusal(
            record, cutoff=purge_cutoff(now, retention_days), retention_days=retention_days
        )
        if refusal is not None:
            raise Conflict(refusal)
        later = later_merge(record, await merges.standing_with(record["contact_ids"]))
        if later is not None:
            raise Conflict(
                f"merge {later} was made later on a contact of this merge; undo it first",
                extra={"blocking_merge_id": later},
            )
        current = await merges.contacts(record["contact_ids"])
        blocker = undo_blocker(record, current)
        if blocker is not None:
            raise Conflict(f"merge {merge_id} cannot be undone: {blocker}")
        restored, kept = await _restore_all(session, tenant, record, current, merges)
        stamp = now_iso()
        record = {**record, "status": "undone", "undone_at": stamp, "undone_by": actor}
        record["kept_changes"] = kept
        await merges.save(record)
        await queue_rematch(session, tenant, list(record["contact_ids"]))
        await session.add_events(_undo_events(record, current, restored, tenant, actor))
    return UndoResult(record=record, contacts=restored, kept_changes=kept)


async def _restore_all(
    session: Session,
    tenant: str,
    record: Mapping[str, Any],
    current: Mapping[str, dict[str, Any]],
    merges: MergeRepository,
) -> tuple[list[dict[str, Any]], list[str]]:
    contacts = ContactRepository(session, tenant)
    now = now_iso()
    primary_id = record["primary_id"]
    primary, kept = restored_primary(record, current[primary_id], now=now)
    await contacts.save(primary, expected_version=int(current[primary_id]["version"]))
    restored = [primary]
    involved = [primary_id, *record["duplicate_ids"]]
    for duplicate_id in record["duplicate_ids"]:
        back = restored_duplicate(record["before"][duplicate_id], current[duplicate_id], now=now)
        email = back.get("email")
        other = await merges.live_with_email_outside(email, involved) if email else None
        if other is not None:
            raise Conflict(
                f"contact {other['id']} now has the email of contact {duplicate_id}; "
                "change it before undoing the merge",
                extra={"existing_id": other["id"], "contact_id": duplicate_id},
            )
        await contacts.save(back, expected_version=int(current[duplicate_id]["version"]))
        await note_restored(session, tenant, duplicate_id)
        restored.append(back)
    return restored, kept


def _undo_events(
    record: Mapping[str, Any],
    current: Mapping[str, dict[str, Any]],
    restored: list[dict[str, Any]],
    tenant: str,
    actor: str,
) -> list[OutgoingEvent]:
    primary_id = record["primary_id"]
    primary, before = restored[0], current[primary_id]
    changes = {
        field: FieldChange(before=before.get(field), after=primary.get(field))
        for field in _PROFILE_FIELDS
        if before.get(field) != primary.get(field)
    }
    events: list[OutgoingEvent] = _membership_events(before, primary, tenant=tenant, actor=actor)
    if changes:
        update = ContactUpdated(contact_id=primary_id, version=primary["version"], changes=changes)
        events.append(_event(update, tenant=tenant, key=primary_id, actor=actor))
    for doc in restored:
        undone = MergeUndone(
            contact_id=doc["id"],
            version=int(doc["version"]),
            merge_id=record["id"],
            primary_id=primary_id,
            duplicate_ids=list(record["duplicate_ids"]),
            profile=ContactProfile(**profile_snapshot(doc)),
        )
        events.append(_event(undone, tenant=tenant, key=doc["id"], actor=actor))
    return events
