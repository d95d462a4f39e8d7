"""A writer that publishes a contact's state itself spares the transaction hook its read-back."""

from __future__ import annotations

from crm_contacts.adapters.contact_state import contacts_changed, current_state
from crm_shared.events import ContactProfile, ContactUpdated, FieldChange
from crm_shared.outbox import CONTACTS_SOURCE, outgoing
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


def test_a_given_profile_is_the_one_the_state_holds() -> None:
    profile = ContactProfile(name="Given")
    state = current_state(DOC, contact_id="c1", profile=profile)
    assert state is not None and state.profile is profile
    assert current_state({**DOC, "erased_at": "2026-01-01T00:00:00Z"}, contact_id="c1") is None
