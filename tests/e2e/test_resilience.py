"""Crashes and outages lose nothing and apply nothing twice, with the services as real processes."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from crm_shared.devstack import EmbeddedBroker
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ContactCreated
from crm_shared.events.contacts import ContactProfile
from crm_shared.topics import CONTACT_EVENTS
from tests.e2e.conftest import eventually, start_platform

pytestmark = pytest.mark.e2e


def _query(database: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def _count(database: Path, sql: str) -> int:
    rows = _query(database, sql)
    return int(rows[0][0]) if rows else 0


async def _publish_created(bootstrap: str, count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        futures = []
        for i in range(count):
            contact_id = f"crash-{i:05d}"
            data = ContactCreated(
                contact_id=contact_id,
                version=1,
                source="manual",
                profile=ContactProfile(name=f"Person {i}"),
            )
            envelope = EventEnvelope.wrap(
                data, source="crm/test", tenant="acme", subject=contact_id
            )
            futures.append(
                await producer.send(
                    CONTACT_EVENTS.name, value=envelope.to_bytes(), key=contact_id.encode()
                )
            )
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def test_killing_the_timeline_mid_stream_loses_no_event_and_applies_none_twice(
    tmp_path: Path,
) -> None:
    total = 3000
    stack = start_platform(tmp_path, ("timeline",))
    database = stack.data_dir / "timeline.sqlite3"
    items_sql = (
        "SELECT COUNT(*) FROM c_items WHERE json_extract(doc, '$.contact_id') LIKE 'crash-%'"
    )
    try:
        asyncio.run(_publish_created(stack.broker.bootstrap_servers, total))
        eventually(
            lambda: _count(database, items_sql) >= 200, what="the timeline to start consuming"
        )
        stack.platform.services["timeline"].stop(kill=True)
        applied_before_crash = _count(database, items_sql)
        assert applied_before_crash < total, "the crash must happen mid-stream"

        stack.platform.start(iter(["timeline"]))
        eventually(lambda: _count(database, items_sql) >= total, within=90, what="every event")
        per_contact = _query(
            database,
            "SELECT json_extract(doc, '$.contact_id'), COUNT(*) FROM c_items "
            "WHERE json_extract(doc, '$.contact_id') LIKE 'crash-%' GROUP BY 1",
        )
        assert len(per_contact) == total
        assert {count for _, count in per_contact} == {1}
    finally:
        stack.platform.stop()
        stack.broker.stop()


def test_a_dead_broker_delays_events_and_loses_none(tmp_path: Path) -> None:
    stack = start_platform(tmp_path, ("contacts", "timeline"))
    contacts, timeline = stack.client("contacts"), stack.client("timeline")
    outbox = stack.data_dir / "contacts.sqlite3"
    port = stack.broker.port
    revived: EmbeddedBroker | None = None
    try:
        stack.broker.stop()
        created = contacts.post("/v1/contacts", json={"name": "Written while Kafka was down"})
        assert created.status_code == 201, created.text
        contact_id = created.json()["id"]
        assert _count(outbox, "SELECT COUNT(*) FROM _outbox") >= 1

        revived = EmbeddedBroker(port)
        revived.start()
        items = eventually(
            lambda: timeline.get(f"/v1/contacts/{contact_id}/timeline").json().get("items"),
            within=60,
            what="the contact created while the broker was down to reach the timeline",
        )
        assert len(items) == 1
        eventually(
            lambda: _count(outbox, "SELECT COUNT(*) FROM _outbox") == 0 or None,
            what="the outbox to drain",
        )
    finally:
        stack.platform.stop()
        if revived is not None:
            revived.stop()
