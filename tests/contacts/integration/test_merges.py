"""With the real embedded broker: a merge reaches Kafka keyed by the primary and each duplicate."""

from __future__ import annotations

import httpx
import pytest

from crm_shared.devstack import EmbeddedBroker
from crm_shared.events import ContactsMerged
from crm_shared.topics import CONTACT_EVENTS
from tests.conftest import EDITOR_KEY, auth
from tests.contacts.kafka_reading import first_matching

pytestmark = pytest.mark.integration


async def test_contacts_merged_reaches_kafka_on_each_involved_contacts_key(
    live_client: httpx.AsyncClient, broker: EmbeddedBroker
) -> None:
    ids = []
    for name in ("Ada Lovelace", "Ada L."):
        created = await live_client.post(
            "/v1/contacts", json={"name": name}, headers=auth(EDITOR_KEY)
        )
        ids.append(created.json()["id"])
    primary, dup = ids
    merge = await live_client.post(
        "/v1/merges",
        json={"primary_id": primary, "duplicate_ids": [dup]},
        headers=auth(EDITOR_KEY),
    )
    assert merge.status_code == 201, merge.text

    for key in (primary, dup):
        event = await first_matching(broker, CONTACT_EVENTS.name, ContactsMerged.event_type, key)
        assert event.subject == key
        assert event.data["merge_id"] == merge.json()["id"]
        assert (event.data["primary_id"], event.data["duplicate_ids"]) == (primary, [dup])
