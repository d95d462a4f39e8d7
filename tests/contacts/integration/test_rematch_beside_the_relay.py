"""With the real embedded broker: a long re-match queue leaves the outbox relay room.

An import of few distinct names once queued tens of thousands of re-matches whose rounds held
the writer while they matched, and the contacts outbox backed up behind them (import results
included, so the importer resent batches). Here hundreds of contacts of four names are
written and queued at once, as an import does: their events reach the broker while the
re-match is still working through the queue, and the queue still empties.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from crm_contacts.adapters.duplicates import (
    DUPLICATE_PAIRS,
    MATCH_QUEUE,
    QUEUE_TENANT,
    queue_rematch,
)
from crm_contacts.domain.contact import new_contact
from crm_contacts.domain.contact_doc import as_stored
from crm_shared.devstack import EmbeddedBroker
from crm_shared.events import ContactCreated
from crm_shared.ids import new_id
from crm_shared.storage import DocumentStore
from crm_shared.topics import CONTACT_EVENTS
from tests.conftest import EDITOR_KEY, auth
from tests.contacts.kafka_reading import first_matching
from tests.polling import eventually

pytestmark = pytest.mark.integration

TENANT = "acme"
QUEUED = 600
NAMES = ("Ada Lovelace", "Grace Hopper", "Alan Turing", "Barbara Liskov")
COMPANIES = ("Acme", "Globex", "Initech", "Hooli", "Umbrella")
NOW = "2026-01-01T00:00:00.000000Z"


def _imported(i: int) -> dict[str, Any]:
    profile = {
        "name": NAMES[i % len(NAMES)],
        "email": f"person.{i}@gmail.com",  # free mail: no shared work domain
        "company": COMPANIES[i // len(NAMES) % len(COMPANIES)],
    }
    doc = new_contact(contact_id=new_id(), tenant=TENANT, profile=profile, source="import", now=NOW)
    return as_stored(doc)


async def _queue_length(store: DocumentStore) -> int:
    async with store.reader() as session:
        return await session.count(MATCH_QUEUE, tenant=QUEUE_TENANT)


async def test_events_reach_the_broker_while_a_long_rematch_queue_drains(
    live_app: tuple[FastAPI, httpx.AsyncClient], broker: EmbeddedBroker
) -> None:
    app, client = live_app
    store: DocumentStore = app.state.store
    docs = [_imported(i) for i in range(QUEUED)]
    # Written and queued in one transaction, as an applied import batch is: each contact's
    # state record goes to the outbox with it.
    async with store.transaction() as session:
        await session.insert_many("contacts", docs)
        await queue_rematch(session, TENANT, [d["id"] for d in docs])
    created = await client.post(
        "/v1/contacts", json={"name": "Ada Lovelace", "company": "Acme"}, headers=auth(EDITOR_KEY)
    )
    assert created.status_code == 201

    # The relay publishes everything committed (acknowledged by the broker, then marked sent)...
    await eventually(store.pending_count, lambda n: n == 0, within=120, what="an empty outbox")
    behind = await _queue_length(store)
    event = await first_matching(
        broker, CONTACT_EVENTS.name, ContactCreated.event_type, created.json()["id"]
    )
    assert event.subject == created.json()["id"]
    # ... while the re-match still had contacts queued: it did not have to finish first.
    assert behind > 0

    await eventually(lambda: _queue_length(store), lambda n: n == 0, within=300, what="no queue")
    async with store.reader() as session:
        assert await session.count(DUPLICATE_PAIRS, tenant=TENANT) > 0
