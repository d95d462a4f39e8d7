"""Test helpers: create contacts over HTTP, read the outbox, build consumer envelopes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from fastapi import FastAPI

from crm_shared.envelope import EventData, EventEnvelope
from crm_shared.events import ImportContactsBatch, ImportRow
from crm_shared.storage.port import TOMBSTONE_VALUE
from crm_shared.topics import CONTACT_STATE
from tests.conftest import EDITOR_KEY, auth


@dataclass(frozen=True)
class OutboxEvent:
    """One pending outbox entry, decoded."""

    topic: str
    key: str | None
    envelope: dict[str, Any]

    @property
    def type(self) -> str:
        """The CloudEvents type."""
        return str(self.envelope["type"])

    @property
    def data(self) -> dict[str, Any]:
        """The event payload."""
        return dict(self.envelope["data"])


def envelope(data: EventData, *, tenant: str = "acme", subject: str | None = None) -> EventEnvelope:
    """An envelope as another service would publish it."""
    return EventEnvelope.wrap(data, source="crm/test", tenant=tenant, subject=subject)


def import_batch(
    rows: list[dict[str, Any]], *, policy: str = "skip", job_id: str = "job-1", batch_no: int = 1
) -> ImportContactsBatch:
    """An import command; rows are numbered from 1 unless they say otherwise."""
    return ImportContactsBatch(
        job_id=job_id,
        batch_no=batch_no,
        on_duplicate=policy,
        rows=[ImportRow(**{"row_number": n, **row}) for n, row in enumerate(rows, start=1)],
    )


class Harness:
    """The app under test plus shortcuts."""

    def __init__(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client

    async def create(self, *, key: str = EDITOR_KEY, **fields: Any) -> dict[str, Any]:
        """Create a contact over HTTP and return its body (asserting 201)."""
        body = {"name": "Ada Lovelace", **fields}
        response = await self.client.post("/v1/contacts", json=body, headers=auth(key))
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def outbox(self, event_type: str | None = None) -> list[OutboxEvent]:
        """Events waiting in the outbox (the broker is unreachable in these tests)."""
        pending = await self.app.state.store.pending_events(100_000)
        events = [
            OutboxEvent(p.topic, p.key.decode() if p.key else None, orjson.loads(p.value))
            for p in pending
            if p.value != TOMBSTONE_VALUE
        ]
        if event_type is None:
            # The contacts' states (crm.contacts.state.v1) only when asked for by their type.
            return [e for e in events if e.topic != CONTACT_STATE.name]
        return [e for e in events if e.type == event_type]

    async def tombstones(self) -> list[tuple[str, str]]:
        """(topic, key) of the tombstones waiting in the outbox, oldest first."""
        pending = await self.app.state.store.pending_events(100_000)
        return [(p.topic, (p.key or b"").decode()) for p in pending if p.value == TOMBSTONE_VALUE]

    async def handle(self, event: EventEnvelope) -> None:
        """Run the service's consumer handler on an envelope."""
        await self.app.state.bus.handle(event)
