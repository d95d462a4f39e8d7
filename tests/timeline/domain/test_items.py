"""How notes, activities and erasures become items."""

from __future__ import annotations

from datetime import datetime

from crm_timeline.domain.items import activity_item, erased_item, note_item
from crm_timeline.domain.model import AddNote, RecordActivity
from tests.timeline.factories import T0


def test_a_note_summary_is_the_first_140_characters_of_its_body() -> None:
    body = "x" * 139 + "yz" + "tail"

    item = note_item(
        AddNote(contact_id="c1", body=body), tenant="acme", note_id="n1", at=T0, actor="key_1"
    )

    assert item.summary == "x" * 139 + "y"
    assert item.data == {"body": body, "note_id": "n1"}
    assert (item.type, item.source, item.id) == ("note", "crm/timeline", "n1")


def test_an_activity_time_without_offset_is_read_as_utc() -> None:
    command = RecordActivity(
        contact_id="c1",
        activity_type="email",
        occurred_at=datetime(2025, 3, 1, 9, 30),
        summary="Sent welcome email",
    )

    item = activity_item(command, tenant="acme", item_id="i1", source="mailer", actor=None)

    assert item.occurred_at == "2025-03-01T09:30:00.000000Z"
    assert item.type == "email"


def test_the_erasure_item_holds_only_the_erasure_id() -> None:
    item = erased_item(
        tenant="acme", contact_id="c1", erasure_id="e1", item_id="i1", at=T0, source="crm/gdpr"
    )

    assert (item.summary, item.data, item.type) == (
        "Contact data erased",
        {"erasure_id": "e1"},
        "contact_changed",
    )
