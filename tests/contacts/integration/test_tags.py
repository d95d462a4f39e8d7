"""With the real embedded broker: a tag rename's per-contact ContactUpdated (written by the
rename's background job) reaches Kafka."""

from __future__ import annotations

import httpx
import pytest

from crm_shared.devstack import EmbeddedBroker
from crm_shared.events import ContactUpdated
from crm_shared.topics import CONTACT_EVENTS
from tests.conftest import EDITOR_KEY, auth
from tests.contacts.kafka_reading import first_matching

pytestmark = pytest.mark.integration


async def test_a_tag_rename_publishes_contact_updated_keyed_by_contact(
    live_client: httpx.AsyncClient, broker: EmbeddedBroker
) -> None:
    editor = auth(EDITOR_KEY)
    created = await live_client.post(
        "/v1/contacts", json={"name": "Ada", "tags": ["VIP"]}, headers=editor
    )
    contact_id = created.json()["id"]
    tags = await live_client.get("/v1/tags?kind=manual", headers=editor)
    [tag] = tags.json()["items"]
    renamed = await live_client.patch(
        f"/v1/tags/{tag['id']}", json={"name": "Gold"}, headers=editor
    )
    # The rename is committed at once and the contacts follow in a background job.
    assert renamed.status_code == 202
    assert renamed.json()["job"]["id"]
    event = await first_matching(broker, CONTACT_EVENTS.name, ContactUpdated.event_type, contact_id)
    assert event.data["changes"]["tags"] == {
        "before": ["VIP", "source:manual"],
        "after": ["Gold", "source:manual"],
    }
