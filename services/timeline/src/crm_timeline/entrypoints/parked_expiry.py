"""The loop that dead-letters activities whose contact never showed up within the wait."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from aiokafka import ConsumerRecord

from crm_shared.cloudevents import STRUCTURED_HEADERS
from crm_shared.messaging.dead_letters import Failure
from crm_shared.storage import DocumentStore
from crm_shared.topics import ACTIVITIES
from crm_timeline.domain.model import ParkedActivity
from crm_timeline.entrypoints.consumers import EVENTS_GROUP
from crm_timeline.service_layer.parking import put_back, take_expired

log = logging.getLogger(__name__)


class DeadLetters(Protocol):
    """Where records go that can never be handled (crm_shared's DeadLetterSink)."""

    async def send(
        self, record: ConsumerRecord[bytes, bytes], *, group: str, failure: Failure
    ) -> None: ...

    async def close(self) -> None: ...


UNKNOWN_CONTACT = Failure("unknown-contact", "ContactNotFound", 1, ("contact_id",))


def _record(parked: ParkedActivity) -> ConsumerRecord[bytes, bytes]:
    """The report as a record again; its partition and offset were not kept (-1)."""
    value = parked.envelope.encode()
    return ConsumerRecord(
        topic=ACTIVITIES.name,
        partition=-1,
        offset=-1,
        timestamp=0,
        timestamp_type=0,
        key=parked.contact_id.encode(),
        value=value,
        checksum=None,
        serialized_key_size=len(parked.contact_id.encode()),
        serialized_value_size=len(value),
        headers=list(STRUCTURED_HEADERS),
    )


async def dead_letter_expired(store: DocumentStore, sink: DeadLetters) -> int:
    """Dead-letter every parked activity whose wait ran out; put back what could not be sent."""
    expired = await take_expired(store)
    for index, parked in enumerate(expired):
        try:
            await sink.send(_record(parked), group=EVENTS_GROUP, failure=UNKNOWN_CONTACT)
        except Exception:
            await put_back(store, expired[index:])
            raise
    if expired:
        log.warning("dead-lettered %d activities for contacts never known", len(expired))
    return len(expired)


async def expire_parked_forever(
    store: DocumentStore, sink: DeadLetters, *, every_seconds: float
) -> None:
    """Check for expired parked activities every `every_seconds`, until cancelled."""
    try:
        while True:
            try:
                await dead_letter_expired(store, sink)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the broker or the store is down: try again later
                log.warning("parked activities not expired yet (%s)", type(exc).__name__)
            await asyncio.sleep(every_seconds)
    finally:
        await sink.close()
