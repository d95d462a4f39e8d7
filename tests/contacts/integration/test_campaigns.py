"""Campaign membership events reach the real broker, keyed by the contact id."""

from __future__ import annotations

import httpx
import pytest

from crm_shared.devstack import EmbeddedBroker
from crm_shared.topics import CONTACT_EVENTS
from tests.conftest import EDITOR_KEY, auth
from tests.contacts.bulk_support import FINISHED
from tests.contacts.kafka_reading import first_matching

pytestmark = pytest.mark.integration


async def test_joining_a_campaign_publishes_the_membership_keyed_by_contact(
    live_client: httpx.AsyncClient, broker: EmbeddedBroker
) -> None:
    headers = auth(EDITOR_KEY)
    spring = await live_client.post("/v1/campaigns", json={"name": "Spring"}, headers=headers)
    contact = await live_client.post("/v1/contacts", json={"name": "Ada"}, headers=headers)
    job = await live_client.post(
        "/v1/bulk-actions",
        json={
            "action": "add_to_campaign",
            "ids": [contact.json()["id"]],
            "params": {"campaign_id": spring.json()["id"]},
        },
        headers=headers,
    )
    assert job.status_code == 202
    event = await first_matching(
        broker,
        CONTACT_EVENTS.name,
        "crm.contacts.campaign.membership-changed.v1",
        contact.json()["id"],
    )
    assert event.data["campaign_id"] == spring.json()["id"]
    assert event.data["change"] == "added"
    state = (await live_client.get(f"/v1/bulk-actions/{job.json()['id']}", headers=headers)).json()
    assert state["status"] in FINISHED | {"running"}
