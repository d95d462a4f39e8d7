"""On the embedded broker: the latest record per key of the state topic is the contact now."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crm_shared.devstack import EmbeddedBroker
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ErasureRequested
from crm_shared.topics import CONTACT_STATE, GDPR_EVENTS
from tests.conftest import EDITOR_KEY, auth
from tests.contacts.helpers import envelope
from tests.kafka_clients import first_record, producer, reader

pytestmark = pytest.mark.integration


async def test_the_latest_record_per_key_is_the_profile_and_an_erased_contact_a_tombstone(
    live_client: httpx.AsyncClient, broker: EmbeddedBroker
) -> None:
    kept = await live_client.post(
        "/v1/contacts", json={"name": "Ada", "email": "ada@example.com"}, headers=auth(EDITOR_KEY)
    )
    gone = await live_client.post(
        "/v1/contacts", json={"name": "Bob", "email": "bob@example.com"}, headers=auth(EDITOR_KEY)
    )
    kept_id, gone_id = kept.json()["id"], gone.json()["id"]
    renamed = await live_client.patch(
        f"/v1/contacts/{kept_id}", json={"name": "Ada Lovelace"}, headers=auth(EDITOR_KEY)
    )
    assert renamed.status_code == 200
    erasure = ErasureRequested(erasure_id="er-state", contact_id=gone_id, identifier_hashes=[])
    async with producer(broker.bootstrap_servers) as sender:
        await sender.send_and_wait(
            GDPR_EVENTS.name, value=envelope(erasure).to_bytes(), key=gone_id.encode()
        )

    latest: dict[str, Any] = {}
    headers_of_gone: list[tuple[str, bytes]] = []

    def compacted(record: Any) -> bool:
        # What a compacted topic keeps: the last record of each key.
        key = record.key.decode()
        latest[key] = None if record.value is None else EventEnvelope.from_bytes(record.value)
        if key == gone_id and record.value is None:
            headers_of_gone[:] = list(record.headers)
        kept_now = latest.get(kept_id)
        return bool(
            gone_id in latest
            and latest[gone_id] is None
            and kept_now is not None
            and kept_now.data["version"] == 2
        )

    async with reader(broker.bootstrap_servers, CONTACT_STATE.name) as consumer:
        await first_record(consumer, compacted, what="Ada renamed and Bob's tombstone")

    assert latest[kept_id].data["profile"]["name"] == "Ada Lovelace"
    assert latest[kept_id].type == "crm.contacts.contact-state.v1"
    assert latest[gone_id] is None
    assert all(name != "content-type" for name, _ in headers_of_gone)
