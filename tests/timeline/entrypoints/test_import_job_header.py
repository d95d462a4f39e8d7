"""The timeline's events group passes over an import's per-contact events by their job header,
unparsed, and records the import from its summary."""

from __future__ import annotations

import httpx
import pytest
from aiokafka import ConsumerRecord, TopicPartition
from fastapi import FastAPI

from crm_shared.cloudevents import structured_headers
from crm_shared.events import ContactsImported, ImportedContact
from crm_shared.ids import new_id
from crm_timeline.entrypoints.consumers import EVENTS_TOPICS
from tests.conftest import auth
from tests.consumer_fakes import (
    RecordingDeadLetters,
    RecordingOffsets,
    count_looks,
    recording_consumer,
)
from tests.timeline.factories import at, created, envelope

TP = TopicPartition(EVENTS_TOPICS[0], 0)


def _relayed(offset: int, value: bytes) -> ConsumerRecord[bytes, bytes]:
    headers = structured_headers(value, None)
    return ConsumerRecord(TP.topic, 0, offset, 0, 0, b"k", value, None, 1, len(value), headers)


async def test_an_imports_contact_events_are_passed_over_unparsed_and_its_summary_recorded(
    app: FastAPI,
    client: httpx.AsyncClient,
    parses: list[bytes | None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    looks = count_looks(monkeypatch)
    imported, manual = new_id(), new_id()
    per_contact = created(imported).data | {"import_job_id": "job-7"}
    values = [
        created(imported).model_copy(update={"data": per_contact}).to_bytes(),
        created(manual).to_bytes(),
        envelope(
            ContactsImported(
                job_id="job-7",
                batch_no=1,
                contacts=[ImportedContact(contact_id=imported, version=1, action="created")],
            ),
            time=at(10),
        ).to_bytes(),
    ]
    consumer = recording_consumer(
        app.state.bus, RecordingDeadLetters(), group="crm-timeline", topic=TP.topic
    )
    offsets = RecordingOffsets()
    await consumer._handle_poll(
        offsets, {TP: [_relayed(n, value) for n, value in enumerate(values)]}
    )
    assert (consumer.handled, consumer.ignored, consumer.dead_lettered) == (2, 1, 0)
    assert parses == values[1:]
    assert values[0] not in looks  # judged by its headers alone
    assert offsets.committed == {TP: 3}
    expected = {imported: "Contact created by import", manual: "Contact created (source: manual)"}
    for contact_id, summary in expected.items():
        response = await client.get(f"/v1/contacts/{contact_id}/timeline", headers=auth())
        assert [item["summary"] for item in response.json()["items"]] == [summary]
