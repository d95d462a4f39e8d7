"""The one builder of outgoing events every service writes to its outbox."""

from __future__ import annotations

import json
from pathlib import Path

from crm_shared.contract import SCHEMAS_DIR
from crm_shared.envelope import EventEnvelope
from crm_shared.events import EVENT_TYPES, ContactDeleted
from crm_shared.outbox import CONTACTS_SOURCE, outgoing
from crm_shared.topics import CONTACT_EVENTS


def test_an_outgoing_event_goes_to_its_models_topic_keyed_and_addressed_by_the_key() -> None:
    data = ContactDeleted(contact_id="c-1", version=3)

    event = outgoing(data, source=CONTACTS_SOURCE, tenant="acme", key="c-1", actor="key:abc")

    assert event.topic == CONTACT_EVENTS.name
    assert event.key == "c-1"
    envelope = event.envelope
    assert (envelope.source, envelope.tenant, envelope.actor) == ("crm/contacts", "acme", "key:abc")
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


def test_every_event_points_at_the_published_schema_of_its_type() -> None:
    root = Path(__file__).resolve().parents[2]
    for event_type, model in EVENT_TYPES.items():
        envelope = EventEnvelope.wrap(
            model.model_construct(), source="crm/test", tenant="acme", subject=None
        )
        published = json.loads((root / SCHEMAS_DIR / f"{event_type}.json").read_text())
        assert envelope.dataschema == published["$id"]
        assert envelope.dataschema.endswith(f"/{event_type}.json")
