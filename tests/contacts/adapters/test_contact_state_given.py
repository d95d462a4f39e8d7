"""A writer that publishes a contact's state itself spares the transaction hook its read-back."""

from __future__ import annotations

from crm_contacts.adapters.contact_state import contacts_changed, current_state, state_data
from crm_contacts.domain.contact import new_contact, profile_snapshot
from crm_shared.events import ContactState, ContactUpdated, FieldChange
from crm_shared.outbox import CONTACTS_SOURCE, outgoing, outgoing_written
from crm_shared.storage import OutgoingEvent

DOC = {"id": "c1", "tenant": "acme", "version": 2, "name": "Ada", "created_at": None}


def _updated(contact_id: str) -> OutgoingEvent:
    change = ContactUpdated(
        contact_id=contact_id, version=2, changes={"name": FieldChange(before="A", after="Ada")}
    )
    return outgoing(change, source=CONTACTS_SOURCE, tenant="acme", key=contact_id, actor="x:y")


def _state(contact_id: str) -> OutgoingEvent:
    state = current_state({**DOC, "id": contact_id}, contact_id=contact_id)
    assert state is not None
    return outgoing(state, source=CONTACTS_SOURCE, tenant="acme", key=contact_id, actor="x:y")


def test_a_state_after_the_change_takes_the_contact_off_the_read_back() -> None:
    changed = contacts_changed([_updated("c1"), _updated("c2"), _state("c1")])
    assert changed == {("acme", "c2"): "x:y"}


def test_a_change_after_the_state_puts_the_contact_back() -> None:
    changed = contacts_changed([_state("c1")])
    contacts_changed([_updated("c1")], changed)
    assert changed == {("acme", "c1"): "x:y"}


def test_a_state_written_as_json_takes_the_contact_off_the_read_back_too() -> None:
    written = outgoing_written(
        [(ContactState, state_data(DOC, contact_id="c1", profile={"name": "Ada"}), "c1")],
        source=CONTACTS_SOURCE,
        tenant="acme",
        actor="x:y",
    )
    changed = contacts_changed([_updated("c1"), _updated("c2"), *written])
    assert changed == {("acme", "c2"): "x:y"}


def test_the_state_written_as_json_is_the_one_the_model_gives() -> None:
    profile = {"name": "Zoë", "email": "z@example.com", "tags": ["VIP"], "custom_fields": {"n": 1}}
    doc = new_contact(
        contact_id="c1", tenant="acme", profile=profile, source="import", now="2026-01-01T00:00Z"
    )
    state = current_state(doc, contact_id="c1")
    assert state is not None
    written = state_data(doc, contact_id="c1", profile=profile_snapshot(doc))
    assert list(written.items()) == list(state.model_dump(mode="json").items())
    assert current_state({**DOC, "erased_at": "2026-01-01T00:00:00Z"}, contact_id="c1") is None
