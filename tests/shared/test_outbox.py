"""The one builder of outgoing events every service writes to its outbox."""

from __future__ import annotations

from crm_shared.events import ContactDeleted
from crm_shared.outbox import CONTACTS_SOURCE, outgoing
from crm_shared.topics import CONTACT_EVENTS


def test_an_outgoing_event_goes_to_its_models_topic_keyed_and_addressed_by_the_key() -> None:
    data = ContactDeleted(contact_id="c-1", version=3)

    event = outgoing(data, source=CONTACTS_SOURCE, tenant="acme", key="c-1", actor="key_abc")

    assert event.topic == CONTACT_EVENTS.name
    assert event.key == "c-1"
    envelope = event.envelope
    assert (envelope.source, envelope.tenant, envelope.actor) == ("crm/contacts", "acme", "key_abc")
    assert envelope.subject == "c-1"
    assert envelope.type == "crm.contacts.contact.deleted.v1"
    assert envelope.data == {"contact_id": "c-1", "version": 3}


def test_each_outgoing_event_gets_its_own_id() -> None:
    data = ContactDeleted(contact_id="c-1", version=3)

    first, second = (
        outgoing(data, source=CONTACTS_SOURCE, tenant="acme", key="c-1", actor=None)
        for _ in range(2)
    )

    assert first.envelope.id != second.envelope.id
    assert first.envelope.actor is None
