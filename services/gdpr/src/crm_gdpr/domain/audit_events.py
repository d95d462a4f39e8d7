"""Which audit entries an event produces: who, what, on which target, which fields, which values."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeAlias

import orjson

from crm_gdpr.domain.audit import AuditDraft
from crm_gdpr.domain.audit_values import ValueChange
from crm_shared.clock import iso
from crm_shared.contact_fields import FIELDS_BY_NAME, PROFILE_FIELDS
from crm_shared.envelope import EventData, EventEnvelope, PlainEvent
from crm_shared.events import (
    ActivityRecorded,
    ConsentChanged,
    ContactAnonymized,
    ContactCreated,
    ContactDeleted,
    ContactRestored,
    ContactsImported,
    ContactsMerged,
    ContactUpdated,
    ErasureCompleted,
    ErasureReceipt,
    ErasureRequested,
    ExportCompleted,
    ImportJobFinished,
    JobDataDeleted,
    MergeUndone,
    NoteAdded,
    NoteDeleted,
    NoteEdited,
    SuppressionLifted,
    TimelineActivityRecorded,
    in_import_summary,
)
from crm_shared.events.contacts import (
    AccountCreated,
    AccountDeleted,
    AccountUpdated,
    ContactProfile,
    ContactPurged,
)
from crm_shared.validation import is_clean_text, scrub_text

_PROFILE_SCALARS = tuple(n for n in PROFILE_FIELDS if FIELDS_BY_NAME[n].shape == "one")
_PROFILE_LISTS = tuple(n for n in PROFILE_FIELDS if FIELDS_BY_NAME[n].shape == "list")
# Maps other than custom fields (external ids) are one field; custom fields are one per key.
_PROFILE_MAPS = tuple(
    n for n in PROFILE_FIELDS if FIELDS_BY_NAME[n].shape == "map" and n != "custom_fields"
)


# The scalars, then the lists, then the maps: the order entries have always listed them in.
_PROFILED = (*_PROFILE_SCALARS, *_PROFILE_LISTS, *_PROFILE_MAPS)


def _profile_field_names(profile: ContactProfile) -> tuple[str, ...]:
    names = [name for name in _PROFILE_SCALARS if getattr(profile, name)]
    names.extend(name for name in _PROFILE_LISTS if getattr(profile, name))
    names.extend(name for name in _PROFILE_MAPS if getattr(profile, name, None))
    names.extend(f"custom_fields.{key}" for key in sorted(profile.custom_fields))
    return tuple(names)


def _profile_values(profile: dict[str, Any]) -> tuple[ValueChange, ...]:
    """The filled fields of a profile: a ContactProfile's attributes (its `__dict__`), or the
    parsed JSON it would take as it is (a missing field is its default, empty)."""
    # The validated attributes themselves: every profile field is text, a list of text or a
    # string-keyed map, which a dump would only copy (a third of the entry's cost in an import).
    # Each field read once, each change built by tuple.__new__ (a NamedTuple's own __new__ is
    # a Python call): some nine per imported contact.
    get, new = profile.get, tuple.__new__
    values = [new(ValueChange, (name, None, value)) for name in _PROFILED if (value := get(name))]
    if custom := get("custom_fields"):  # most imported contacts have none
        values += [
            new(ValueChange, (f"custom_fields.{key}", None, value))
            for key, value in sorted(custom.items())
        ]
    return tuple(values)


def _values(data: EventData) -> tuple[ValueChange, ...]:
    """The before/after values an event states (committed to in the chain, redactable)."""
    match data:
        case ContactCreated():
            return _profile_values(data.profile.__dict__)
        case ContactUpdated() | AccountUpdated():
            return tuple(
                ValueChange(name, change.before, change.after)
                for name, change in sorted(data.changes.items())
            )
        case ConsentChanged():
            return (ValueChange(f"consent.{data.purpose}", None, data.status),)
        case SuppressionLifted():
            return (ValueChange("reason", None, data.reason),)
    return ()


def _fields_and_target(data: EventData, envelope: EventEnvelope) -> tuple[str, tuple[str, ...]]:
    """The target id and changed field names of a single-entry event."""
    match data:
        case ContactCreated():
            return data.contact_id, _profile_field_names(data.profile)
        case ContactUpdated():
            return data.contact_id, tuple(sorted(data.changes))
        case ActivityRecorded():
            # An interaction another product reported: its type, never its summary or data.
            return data.contact_id, (f"activity.{data.activity_type}",)
        case TimelineActivityRecorded():
            return data.contact_id, (f"activity.{data.item_type}",)
        case (
            ContactDeleted()
            | ContactRestored()
            | ContactAnonymized()
            | ContactPurged()
            | NoteAdded()
            | NoteEdited()
            | NoteDeleted()
        ):
            return data.contact_id, ()
        case ContactsMerged() | MergeUndone():
            # One entry per involved contact (each copy of the event): the merge is on record
            # for the primary and for every duplicate.
            return data.contact_id, ()
        case AccountCreated():
            return data.account_id, ("name", "domain") if data.domain else ("name",)
        case AccountUpdated():
            return data.account_id, tuple(sorted(data.changes))
        case AccountDeleted():
            return data.account_id, ()
        case ConsentChanged():
            # The purpose slug names the consent that changed; its status is a value, left out.
            return data.contact_id, (f"consent.{data.purpose}",)
        case ErasureRequested() | ErasureReceipt() | ErasureCompleted():
            # Identifier hashes and failure details stay out: they may single a person out.
            return data.contact_id, ()
        case SuppressionLifted():
            # The hash, never an identifier; the reason is on record in the event it points to.
            return data.identifier_hash, ("suppression", "reason")
        case ImportJobFinished():
            return data.job_id, ()
        case ExportCompleted():
            return data.export_id, tuple(data.fields)
        case JobDataDeleted():
            # What retention deleted of a finished import or export (never the data itself).
            return data.job_id, tuple(data.deleted)
    return envelope.subject or envelope.id, ()


def audit_drafts(envelope: EventEnvelope, data: EventData) -> list[AuditDraft]:
    """The audit entries for one event (none for an import's summary, whose contacts' own
    events are audited).

    Text no store can hold (NUL, lone surrogates) is replaced by U+FFFD in the entry that holds
    it, so one odd identifier never fails the other entries of the batch.
    """
    return audit_drafts_many([(data, envelope)])


# An event as the audit intake gets it: validated into models, or a contact's created/updated
# event read plain (`plain_contact_created` / `plain_contact_updated` hold for its data).
AuditedEvent: TypeAlias = tuple[EventData, EventEnvelope] | PlainEvent


def audit_drafts_many(events: Sequence[AuditedEvent]) -> list[AuditDraft]:
    """`audit_drafts` of each event in order, their text checked in one pass for the batch."""
    times: dict[str, str] = {}  # an import batch's events share their time
    drafts: list[AuditDraft] = []
    for event in events:
        if isinstance(event, PlainEvent):
            at = times.get(event.time)
            if at is None:
                at = times[event.time] = iso(datetime.fromisoformat(event.time))
            drafts.append(_plain_draft(event, at))
        else:
            drafts.extend(_drafts(event[1], event[0]))
    if _all_storable(drafts):
        return drafts
    return [_storable(draft) for draft in drafts]


def _all_storable(drafts: Sequence[AuditDraft]) -> bool:
    """Whether every text of every draft is storable, from one orjson pass over them all.

    orjson refuses a lone surrogate and escapes NUL as `\\u0000`; a clean batch (nearly every
    one) is thus told apart without visiting each value. A false "no" only costs the slow path:
    text holding a literal backslash-u0000, or a value orjson does not write.
    """
    try:
        # A draft and its value changes are named tuples, which orjson hands to `default`.
        encoded = orjson.dumps(drafts, default=tuple)
    except orjson.JSONEncodeError:
        return False
    return b"\\u0000" not in encoded


def _clean_value(value: Any) -> Any:
    if isinstance(value, str):
        return value if is_clean_text(value) else scrub_text(value)
    if isinstance(value, list):
        return [_clean_value(v) for v in value]
    if isinstance(value, dict):
        return {_clean_value(k): _clean_value(v) for k, v in value.items()}
    return value


def _storable(draft: AuditDraft) -> AuditDraft:
    if draft.changes:
        draft = draft._replace(
            changes=tuple(
                ValueChange(_clean_value(c.field), _clean_value(c.before), _clean_value(c.after))
                for c in draft.changes
            )
        )
    texts = (draft.at, draft.actor, draft.action, draft.target, *draft.fields)
    if all(is_clean_text(text) for text in texts):
        return draft
    return draft._replace(
        at=scrub_text(draft.at),
        actor=scrub_text(draft.actor),
        action=scrub_text(draft.action),
        target=scrub_text(draft.target),
        fields=tuple(scrub_text(name) for name in draft.fields),
    )


def _action(envelope: EventEnvelope, data: EventData) -> str:
    """The entry's action: the event type; an import's write keeps the import's own action
    (`crm.contacts.contacts.imported.v1:created` or `:updated`), so imports stay findable."""
    if in_import_summary(data):
        return _IMPORT_ACTIONS[envelope.type]
    return envelope.type


_IMPORT_ACTIONS = {
    ContactCreated.event_type: f"{ContactsImported.event_type}:created",
    ContactUpdated.event_type: f"{ContactsImported.event_type}:updated",
}


def _plain_draft(event: PlainEvent, at: str) -> AuditDraft:
    """`_drafts` of a contact's created/updated event read plain: the same entry, read off the
    parsed JSON (tests/gdpr/domain/test_audit_plain_parity.py holds the two paths alike)."""
    data = event.data
    if event.type == ContactCreated.event_type:
        changes = _profile_values(data["profile"])
    else:
        changes = tuple(
            ValueChange(name, change.get("before"), change.get("after"))
            for name, change in sorted(data["changes"].items())
        )
    imported = data.get("import_job_id") is not None
    action = _IMPORT_ACTIONS[event.type] if imported else event.type
    # The draft's fields in AuditDraft's order, built by tuple.__new__ (a NamedTuple's own
    # __new__ is a Python call with keywords): one per imported contact.
    fields = tuple([change[0] for change in changes])
    draft = (at, event.actor or event.source, action, data["contact_id"], fields, event.id, changes)
    return tuple.__new__(AuditDraft, draft)


def _drafts(envelope: EventEnvelope, data: EventData) -> list[AuditDraft]:
    if isinstance(data, ContactsImported):
        # Each contact of the batch has its own created/updated event, audited with its values
        # like an API write; the summary names no values, so it adds nothing.
        return []
    if isinstance(data, ContactCreated):
        # The filled fields are exactly those with values: one walk over the profile, not two
        # (every contact of an import comes through here).
        changes = _profile_values(data.profile.__dict__)
        target, fields = data.contact_id, tuple(change.field for change in changes)
    else:
        target, fields = _fields_and_target(data, envelope)
        changes = _values(data)
    return [
        AuditDraft(
            at=iso(envelope.time),
            actor=envelope.actor or envelope.source,
            action=_action(envelope, data),
            target=target,
            fields=fields,
            event_id=envelope.id,
            changes=changes,
        )
    ]
