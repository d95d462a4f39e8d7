"""With the real embedded broker: events leave through the outbox relay, commands are consumed."""

from __future__ import annotations

import httpx
import pytest

from crm_shared.devstack import EmbeddedBroker
from crm_shared.events import ContactCreated, ImportBatchProcessed
from crm_shared.ids import new_id
from crm_shared.topics import CONTACT_COMMANDS, CONTACT_EVENTS, IMPORT_RESULTS
from tests.conftest import EDITOR_KEY, auth
from tests.contacts.helpers import envelope, import_batch
from tests.contacts.kafka_reading import first_matching
from tests.kafka_clients import producer

pytestmark = pytest.mark.integration


async def test_contact_created_reaches_kafka(
    live_client: httpx.AsyncClient, broker: EmbeddedBroker
) -> None:
    response = await live_client.post(
        "/v1/contacts", json={"name": "Ada", "email": "ada@example.com"}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 201
    contact_id = response.json()["id"]
    event = await first_matching(broker, CONTACT_EVENTS.name, ContactCreated.event_type, contact_id)
    assert event.tenant == "acme"
    assert event.subject == contact_id
    assert event.data["profile"]["email"] == "ada@example.com"


async def test_import_batch_from_kafka_is_applied_and_answered(
    live_client: httpx.AsyncClient, broker: EmbeddedBroker
) -> None:
    job_id = f"job-{new_id()}"
    command = envelope(
        import_batch([{"name": "Grace", "email": "grace@example.com"}], job_id=job_id)
    )
    async with producer(broker.bootstrap_servers) as sender:
        await sender.send_and_wait(
            CONTACT_COMMANDS.name, value=command.to_bytes(), key=job_id.encode()
        )
    answer = await first_matching(
        broker, IMPORT_RESULTS.name, ImportBatchProcessed.event_type, job_id
    )
    [result] = answer.data["results"]
    assert result["status"] == "created"
    listed = await live_client.get("/v1/contacts", params={"q": "grace"}, headers=auth(EDITOR_KEY))
    assert [c["id"] for c in listed.json()["items"]] == [result["contact_id"]]
