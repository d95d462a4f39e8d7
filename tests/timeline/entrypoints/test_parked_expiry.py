"""Activities whose contact never shows up are dead-lettered as unknown-contact after the wait."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiokafka import ConsumerRecord

from crm_shared.envelope import EventEnvelope
from crm_shared.events import ActivityRecordedV2
from crm_shared.ids import new_id
from crm_shared.messaging.bus import MessageBus
from crm_shared.messaging.dead_letters import Failure
from crm_shared.storage.memory import MemoryStore
from crm_timeline.adapters.repository import COLLECTION_SPECS, TimelineRepository
from crm_timeline.entrypoints.consumers import build_bus
from crm_timeline.entrypoints.parked_expiry import dead_letter_expired
from crm_timeline.settings import TimelineSettings
from tests.stores import memory_store
from tests.timeline.factories import created, envelope

WAIT = 0.05


class RecordingDeadLetters:
    """Keeps what would go to the dead-letter topic; `broken` makes every send fail."""

    def __init__(self, *, broken: bool = False) -> None:
        self.sent: list[tuple[ConsumerRecord[bytes, bytes], str, Failure]] = []
        self.broken = broken

    async def send(
        self, record: ConsumerRecord[bytes, bytes], *, group: str, failure: Failure
    ) -> None:
        if self.broken:
            raise ConnectionError("broker down")
        self.sent.append((record, group, failure))

    async def close(self) -> None:
        return None


@pytest.fixture
async def store() -> AsyncIterator[MemoryStore]:
    async with memory_store(COLLECTION_SPECS) as started:
        yield started


@pytest.fixture
def bus(store: MemoryStore) -> MessageBus:
    return build_bus(store, TimelineSettings(timeline_unknown_contact_wait_seconds=WAIT))


def _report(contact_id: str) -> EventEnvelope:
    data = ActivityRecordedV2.model_validate(
        {
            "contact_id": contact_id,
            "occurred_at": "2025-03-01T09:01:00Z",
            "summary": "Ticket opened",
            "details": {"type": "ticket", "ticket_id": "tk-1", "change": "opened"},
        }
    )
    return envelope(data, source="crm/helpdesk")


async def _parked(store: MemoryStore, contact_id: str) -> int:
    async with store.reader() as session:
        repo = TimelineRepository(session)
        return len(await repo.parked_for(tenant="acme", contact_ids=[contact_id]))


async def test_an_expired_report_is_dead_lettered_unchanged_with_the_reason(
    store: MemoryStore, bus: MessageBus
) -> None:
    contact_id = new_id()
    report = _report(contact_id)
    await bus.handle(report)
    sink = RecordingDeadLetters()
    await asyncio.sleep(WAIT * 2)

    assert await dead_letter_expired(store, sink) == 1

    [(record, group, failure)] = sink.sent
    assert (group, failure.reason, tuple(failure.fields)) == (
        "crm-timeline",
        "unknown-contact",
        ("contact_id",),
    )
    assert EventEnvelope.from_bytes(record.value or b"") == report
    assert record.key == contact_id.encode()
    assert await _parked(store, contact_id) == 0


async def test_a_report_still_waiting_is_not_dead_lettered(store: MemoryStore) -> None:
    patient = build_bus(store, TimelineSettings(timeline_unknown_contact_wait_seconds=60))
    contact_id = new_id()
    await patient.handle(_report(contact_id))
    sink = RecordingDeadLetters()

    assert await dead_letter_expired(store, sink) == 0

    assert sink.sent == []
    assert await _parked(store, contact_id) == 1


async def test_what_cannot_be_dead_lettered_stays_parked(
    store: MemoryStore, bus: MessageBus
) -> None:
    contact_id = new_id()
    await bus.handle(_report(contact_id))
    await asyncio.sleep(WAIT * 2)

    with pytest.raises(ConnectionError):
        await dead_letter_expired(store, RecordingDeadLetters(broken=True))

    assert await _parked(store, contact_id) == 1
    sink = RecordingDeadLetters()
    assert await dead_letter_expired(store, sink) == 1


async def test_a_report_released_by_its_contact_is_never_dead_lettered(
    store: MemoryStore, bus: MessageBus
) -> None:
    contact_id = new_id()
    await bus.handle(_report(contact_id))
    await bus.handle(created(contact_id))
    await asyncio.sleep(WAIT * 2)
    sink = RecordingDeadLetters()

    assert await dead_letter_expired(store, sink) == 0

    assert sink.sent == []
