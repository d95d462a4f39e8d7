"""Timeline errors; each carries the HTTP status it maps to."""

from __future__ import annotations

from crm_shared.problems import BadRequest, Conflict, NotFound


class ContactNotFound(NotFound):
    """The tenant has no such contact in the timeline."""

    def __init__(self, contact_id: str) -> None:
        super().__init__(f"no contact {contact_id} in this tenant's timeline")


class ContactErased(Conflict):
    """The contact's data was erased, so nothing more may be recorded about it."""

    def __init__(self, contact_id: str) -> None:
        super().__init__(
            f"the data of contact {contact_id} was erased; nothing can be added to its timeline"
        )


class ContactRemoved(NotFound):
    """The contact was removed for good after its retention; nothing more is kept about it."""

    def __init__(self, contact_id: str) -> None:
        super().__init__(f"no contact {contact_id} in this tenant's timeline")


class NoteNotFound(NotFound):
    """No note written in the timeline with this id on this contact's timeline."""

    def __init__(self, note_id: str) -> None:
        super().__init__(f"no note {note_id} on this contact's timeline")


class InvalidCursor(BadRequest):
    """A pagination cursor that this service did not issue."""

    def __init__(self) -> None:
        super().__init__(
            "cursor is malformed; pass the next_cursor of a previous page unchanged",
            extra={"errors": [{"loc": ["query", "cursor"], "msg": "malformed cursor"}]},
        )
