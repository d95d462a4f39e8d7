"""The audit group reads an import's contact events plain: audited once each, the chain valid,
bad records dead-lettered as before, and the envelope validated only where it must be."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from aiokafka import ConsumerRecord, TopicPartition

from crm_gdpr.adapters.repositories import AUDIT_ENTRIES
from crm_gdpr.domain.audit import ChainReport
from crm_gdpr.entrypoints.consumers import AUDIT_GROUP, GdprBuses
from crm_gdpr.service_layer.audit import verify_chain
from crm_shared.cloudevents import structured_headers
from crm_shared.events import (
    ContactCreated,
    ContactDeleted,
    ContactProfile,
    ContactsImported,
    ContactUpdated,
    ImportedContact,
)
from crm_shared.events.contacts import FieldChange
from crm_shared.messaging.consumer import EventConsumer
from crm_shared.settings import PlatformSettings
from crm_shared.storage import DocumentStore, scan
from crm_shared.topics import CONTACT_EVENTS
from tests.consumer_fakes import RecordingDeadLetters, RecordingOffsets
from tests.gdpr.fakes import wrap

TP = TopicPartition(CONTACT_EVENTS.name, 0)


def _imported(n: int) -> bytes:
    data: ContactCreated | ContactUpdated
    if n % 2:
        profile = ContactProfile(name=f'Zoë "{n}" \\ ☃', email=f"p{n}@example.com")
        data = ContactCreated(
            contact_id=f"c{n}", version=1, source="import", profile=profile, import_job_id="j1"
        )
    else:
        changes = {"phone": FieldChange(before=None, after="+14155550100")}
        data = ContactUpdated(contact_id=f"c{n}", version=2, changes=changes, import_job_id="j1")
    return wrap(data, subject=f"c{n}", actor="import:j1").to_bytes()


def _with_data(raw: bytes, **data: Any) -> bytes:
    envelope = orjson.loads(raw)
    return orjson.dumps({**envelope, "data": {**envelope["data"], **data}})


def _records(values: list[bytes]) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
    return {
        TP: [
            ConsumerRecord(
                TP.topic, 0, n, 0, 0, b"k", v, None, 1, len(v), structured_headers(v, None)
            )
            for n, v in enumerate(values)
        ]
    }


def _consumer(consumers: GdprBuses, dead: RecordingDeadLetters) -> EventConsumer:
    return EventConsumer(
        PlatformSettings(),
        group=AUDIT_GROUP,
        topics=[TP.topic],
        bus=consumers.audit,
        dead_letters=dead,  # type: ignore[arg-type]
    )


async def _stored(store: DocumentStore) -> list[dict[str, Any]]:
    return [doc async for doc in scan(store, AUDIT_ENTRIES, tenant="acme", order_by="seq")]


async def test_an_imports_events_are_audited_in_order_without_validating_them(
    consumers: GdprBuses, store: DocumentStore, parses: list[bytes | None]
) -> None:
    values = [_imported(n) for n in range(30)]
    deleted = wrap(ContactDeleted(contact_id="c0", version=3), subject="c0").to_bytes()
    consumer = _consumer(consumers, RecordingDeadLetters())
    await consumer._handle_poll(RecordingOffsets(), _records([*values, deleted]))
    assert parses == [deleted]  # only the type not read plain was validated
    stored = await _stored(store)
    ids = [orjson.loads(v)["id"] for v in [*values, deleted]]
    assert [e["event_id"] for e in stored] == ids
    assert stored[1]["action"] == "crm.contacts.contacts.imported.v1:created"
    assert stored[1]["fields"] == ["name", "email"]
    assert stored[1]["values"]["changes"][0] == ["name", None, 'Zoë "1" \\ ☃']
    assert await verify_chain(store, tenant="acme") == ChainReport(True, 31, None)


async def test_an_event_read_twice_plain_is_audited_once(
    consumers: GdprBuses, store: DocumentStore
) -> None:
    values = [_imported(n) for n in range(10)]
    consumer = _consumer(consumers, RecordingDeadLetters())
    await consumer._handle_poll(RecordingOffsets(), _records([*values, values[3]]))
    await consumer._handle_poll(RecordingOffsets(), _records(values))
    assert [e["seq"] for e in await _stored(store)] == list(range(1, 11))
    assert (await verify_chain(store, tenant="acme")).valid


@pytest.mark.parametrize(
    "bad",
    [
        {"version": "two"},
        {"contact_id": None},
        {"profile": {"email": "no-name@example.com"}},
        {"changes": {"phone": "not an object"}},
    ],
)
async def test_a_bad_contact_event_among_plain_ones_is_dead_lettered_alone(
    consumers: GdprBuses, store: DocumentStore, bad: dict[str, Any]
) -> None:
    values = [_imported(n) for n in range(6)]
    target = 1 if "profile" in bad else 2
    values[target] = _with_data(values[target], **bad)
    dead = RecordingDeadLetters()
    offsets = RecordingOffsets()
    await _consumer(consumers, dead)._handle_poll(offsets, _records(values))
    assert dead.sent == [(values[target], "schema-invalid")]
    stored = await _stored(store)
    assert [e["event_id"] for e in stored] == [
        orjson.loads(v)["id"] for n, v in enumerate(values) if n != target
    ]
    assert offsets.committed == {TP: 6}
    assert (await verify_chain(store, tenant="acme")).valid


async def test_a_blank_tenant_is_dead_lettered_not_audited(
    consumers: GdprBuses, store: DocumentStore
) -> None:
    raw = orjson.dumps({**orjson.loads(_imported(1)), "tenant": " "})
    dead = RecordingDeadLetters()
    await _consumer(consumers, dead)._handle_poll(RecordingOffsets(), _records([raw]))
    assert dead.sent == [(raw, "unknown-tenant")]
    assert await _stored(store) == []


def _summary(count: int) -> bytes:
    rows = [
        ImportedContact(contact_id=f"c{n}", version=1, action="created", changed_fields=["name"])
        for n in range(count)
    ]
    data = ContactsImported(job_id="j1", batch_no=1, contacts=rows)
    return wrap(data, subject="j1", actor="import:j1").to_bytes()


async def test_an_imports_summary_is_passed_over_unvalidated_and_adds_nothing(
    consumers: GdprBuses, store: DocumentStore, parses: list[bytes | None]
) -> None:
    values = [_imported(1), _summary(1000), _imported(3)]
    offsets = RecordingOffsets()
    consumer = _consumer(consumers, RecordingDeadLetters())
    await consumer._handle_poll(offsets, _records(values))
    assert parses == []
    assert consumer.ignored == 1 and offsets.committed == {TP: 3}
    assert [e["target"] for e in await _stored(store)] == ["c1", "c3"]


async def test_a_summary_whose_envelope_is_malformed_is_still_dead_lettered(
    consumers: GdprBuses, store: DocumentStore
) -> None:
    envelope = orjson.loads(_summary(3))
    raw = orjson.dumps({k: v for k, v in envelope.items() if k != "time"})
    dead = RecordingDeadLetters()
    await _consumer(consumers, dead)._handle_poll(RecordingOffsets(), _records([raw, _imported(1)]))
    assert dead.sent == [(raw, "malformed-envelope")]
    assert [e["target"] for e in await _stored(store)] == ["c1"]
