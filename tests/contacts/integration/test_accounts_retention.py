"""With the real embedded broker: account and purge events leave through the outbox relay."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from crm_shared.clock import utcnow
from crm_shared.devstack import EmbeddedBroker
from crm_shared.envelope import EventEnvelope
from crm_shared.events.contacts import AccountCreated, ContactPurged
from crm_shared.topics import CONTACT_EVENTS
from tests.conftest import ADMIN_KEY, EDITOR_KEY, auth
from tests.kafka_clients import reader
from tests.polling import eventually

pytestmark = pytest.mark.integration
WAIT_SECONDS = 20.0


async def _keys_seen(broker: EmbeddedBroker, wanted: dict[str, str]) -> dict[str, EventEnvelope]:
    """Read CONTACT_EVENTS until an event of each wanted (key -> type) arrived."""
    found: dict[str, EventEnvelope] = {}
    async with reader(broker.bootstrap_servers, CONTACT_EVENTS.name) as consumer:

        async def read_more() -> dict[str, EventEnvelope]:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    key = (record.key or b"").decode()
                    event = EventEnvelope.from_bytes(record.value or b"")
                    if wanted.get(key) == event.type:
                        found[key] = event
            return found

        await eventually(
            read_more,
            lambda seen: set(seen) == set(wanted),
            within=WAIT_SECONDS,
            interval=0,
            what=f"events {sorted(wanted.values())}",
        )
    return found


async def test_account_created_and_contact_purged_reach_kafka(
    live_app: tuple[FastAPI, httpx.AsyncClient], broker: EmbeddedBroker
) -> None:
    app, client = live_app
    created = await client.post(
        "/v1/contacts", json={"name": "Ada", "company": "Acme"}, headers=auth(EDITOR_KEY)
    )
    contact = created.json()
    await client.delete(f"/v1/contacts/{contact['id']}", headers=auth(EDITOR_KEY))
    later = utcnow() + timedelta(days=31)
    app.state.clock = lambda: later
    purged = await client.post("/v1/contacts/purge", headers=auth(ADMIN_KEY))
    assert purged.json() == {"purged": 1}
    found = await _keys_seen(
        broker,
        {
            contact["account_id"]: AccountCreated.event_type,
            contact["id"]: ContactPurged.event_type,
        },
    )
    assert found[contact["account_id"]].data["name"] == "Acme"
    assert found[contact["id"]].data["contact_id"] == contact["id"]
