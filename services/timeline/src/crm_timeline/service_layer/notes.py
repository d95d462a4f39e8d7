"""Handlers for notes written in the timeline: add, edit, delete, each an audited event."""

from __future__ import annotations

from crm_shared.clock import iso, utcnow
from crm_shared.envelope import EventData
from crm_shared.events import NoteAdded, NoteDeleted, NoteEdited
from crm_shared.ids import new_id
from crm_shared.outbox import outgoing
from crm_shared.storage import DocumentStore, Session
from crm_timeline.adapters.repository import TimelineRepository
from crm_timeline.domain.errors import ContactErased, ContactNotFound, NoteNotFound
from crm_timeline.domain.items import note_item
from crm_timeline.domain.model import (
    NOTE_SUMMARY_LENGTH,
    TIMELINE_SOURCE,
    AddNote,
    DeleteNote,
    EditNote,
    TimelineItem,
)


async def add_note(
    store: DocumentStore, command: AddNote, *, tenant: str, actor: str | None
) -> TimelineItem:
    """Add a note to a known contact and emit NoteAdded (without the body) in the same commit."""
    async with store.transaction() as session:
        repo = TimelineRepository(session)
        held = await repo.get_contact(tenant=tenant, contact_id=command.contact_id)
        if held is None or held.purged:
            raise ContactNotFound(command.contact_id)
        if held.erased:
            raise ContactErased(command.contact_id)
        note_id = new_id()
        item = note_item(command, tenant=tenant, note_id=note_id, at=utcnow(), actor=actor)
        await repo.add_items([item])
        await _emit(session, NoteAdded(contact_id=command.contact_id, note_id=note_id), item, actor)
    return item


async def edit_note(
    store: DocumentStore, command: EditNote, *, tenant: str, actor: str | None
) -> TimelineItem:
    """Replace a note's body; NoteEdited (ids and who, never the body) goes with the change."""
    async with store.transaction() as session:
        repo = TimelineRepository(session)
        note = await _note(
            repo, tenant=tenant, contact_id=command.contact_id, note_id=command.note_id
        )
        edited = note.model_copy(
            update={
                "summary": command.body[:NOTE_SUMMARY_LENGTH],
                "data": {**note.data, "body": command.body},
                "edited_at": iso(utcnow()),
            }
        )
        await repo.replace_item(edited)
        event = NoteEdited(contact_id=note.contact_id, note_id=note.id)
        await _emit(session, event, note, actor)
    return edited


async def delete_note(
    store: DocumentStore, command: DeleteNote, *, tenant: str, actor: str | None
) -> None:
    """Delete a note; NoteDeleted records who deleted which note."""
    async with store.transaction() as session:
        repo = TimelineRepository(session)
        note = await _note(
            repo, tenant=tenant, contact_id=command.contact_id, note_id=command.note_id
        )
        await repo.delete_item(tenant=tenant, item_id=note.id)
        await _emit(session, NoteDeleted(contact_id=note.contact_id, note_id=note.id), note, actor)


async def _note(
    repo: TimelineRepository, *, tenant: str, contact_id: str, note_id: str
) -> TimelineItem:
    """A note written in the timeline on this contact's timeline (merged contacts' included)."""
    item = await repo.get_item(tenant=tenant, item_id=note_id)
    if item is None or item.type != "note" or item.source != TIMELINE_SOURCE:
        raise NoteNotFound(note_id)
    if item.contact_id != contact_id and item.contact_id not in await repo.merged_into(
        tenant=tenant, contact_id=contact_id
    ):
        raise NoteNotFound(note_id)
    return item


async def _emit(session: Session, event: EventData, note: TimelineItem, actor: str | None) -> None:
    await session.add_events(
        [
            outgoing(
                event, source=TIMELINE_SOURCE, tenant=note.tenant, key=note.contact_id, actor=actor
            )
        ]
    )
