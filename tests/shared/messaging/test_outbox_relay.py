"""The outbox relay on the embedded broker: nothing committed is lost, even with no broker."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from crm_shared.devstack import EmbeddedBroker, free_port
from crm_shared.envelope import CONTENT_TYPE, EventEnvelope
from crm_shared.events import ContactDeleted
from crm_shared.messaging.kafka import ensure_topics, new_producer
from crm_shared.messaging.relay import OutboxRelay
from crm_shared.settings import PlatformSettings
from crm_shared.storage import OutgoingEvent, mark_processed_many
from crm_shared.storage import sqlite as sqlite_store
from crm_shared.storage.sqlite import SqliteStore
from crm_shared.topics import CONTACT_EVENTS
from tests.kafka_clients import reader
from tests.polling import cancel_and_wait, eventually

pytestmark = pytest.mark.integration


def _event(contact_id: str, version: int) -> OutgoingEvent:
    data = ContactDeleted(contact_id=contact_id, version=version)
    envelope = EventEnvelope.wrap(data, source="crm/test", tenant="acme", subject=contact_id)
    return OutgoingEvent(topic=data.topic, key=contact_id, envelope=envelope)


async def _commit_events(store: SqliteStore, events: list[OutgoingEvent]) -> None:
    async with store.transaction() as session:
        await session.add_events(events)


async def _read_ids(bootstrap: str, expected: set[str], within: float = 20.0) -> list[str]:
    seen: list[str] = []
    async with reader(bootstrap, CONTACT_EVENTS.name) as consumer:

        async def read_more() -> list[str]:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    event_id = EventEnvelope.from_bytes(record.value or b"").id
                    if event_id in expected:  # other tests share the broker and the topic
                        # Structured mode, as the CloudEvents Kafka binding spells it.
                        assert dict(record.headers)["content-type"] == CONTENT_TYPE.encode()
                        # The type too, so groups pass over the types they ignore unparsed.
                        assert dict(record.headers)["ce_type"] == ContactDeleted.event_type.encode()
                    seen.append(event_id)
            return seen

        await eventually(
            read_more, expected.issubset, within=within, interval=0, what="every event published"
        )
    return seen


def _relay(store: SqliteStore, bootstrap: str) -> OutboxRelay:
    settings = PlatformSettings(kafka_bootstrap_servers=bootstrap)
    return OutboxRelay(
        store,
        lambda: new_producer(settings, client_id="test-relay"),
        on_reconnect=lambda: ensure_topics(bootstrap),
        poll_interval=0.2,
        max_backoff=0.5,
    )


async def test_relay_publishes_committed_events_and_then_forgets_them(
    tmp_path: Path, broker: EmbeddedBroker
) -> None:
    store = SqliteStore(tmp_path / "svc.sqlite3")
    await store.start([])
    events = [_event(f"c-{i}", 1) for i in range(25)]
    await _commit_events(store, events)
    relay = _relay(store, broker.bootstrap_servers)
    task = asyncio.create_task(relay.run())
    try:
        ids = {e.envelope.id for e in events}
        seen = await _read_ids(broker.bootstrap_servers, ids)
        assert ids.issubset(seen)
        await eventually(
            lambda: store.pending_events(10), lambda p: p == [], within=5, what="an empty outbox"
        )
    finally:
        await cancel_and_wait(task)
        await store.close()


async def test_dead_broker_delays_events_and_loses_none(tmp_path: Path) -> None:
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    store = SqliteStore(tmp_path / "svc.sqlite3")
    await store.start([])
    relay = _relay(store, bootstrap)
    task = asyncio.create_task(relay.run())
    late_broker = EmbeddedBroker(port)
    try:
        events = [_event(f"c-{i}", 1) for i in range(10)]
        await _commit_events(store, events)
        await asyncio.sleep(1.5)
        assert len(await store.pending_events(100)) == 10, "events must wait while no broker is up"

        late_broker.start()
        ids = {e.envelope.id for e in events}
        seen = await _read_ids(bootstrap, ids)
        assert ids.issubset(seen)
        await eventually(lambda: relay.published, lambda n: n >= 10, what="the events marked sent")
        assert await store.pending_events(100) == []
    finally:
        await cancel_and_wait(task)
        late_broker.stop()
        await store.close()


async def test_a_gathering_relay_publishes_quick_commits_together(
    tmp_path: Path, broker: EmbeddedBroker
) -> None:
    store = SqliteStore(tmp_path / "svc.sqlite3")
    await store.start([])
    settings = PlatformSettings(kafka_bootstrap_servers=broker.bootstrap_servers)
    relay = OutboxRelay(
        store,
        lambda: new_producer(settings, client_id="test-relay"),
        on_reconnect=lambda: ensure_topics(broker.bootstrap_servers),
        gather_for=2.0,
    )
    batches: list[int] = []
    publish = relay.publish_pending

    async def counted() -> int:
        sent = await publish()
        if sent:
            batches.append(sent)
        return sent

    relay.publish_pending = counted  # type: ignore[method-assign]
    task = asyncio.create_task(relay.run())
    try:
        await _commit_events(store, [_event("c-first", 1)])
        await eventually(lambda: relay.published, lambda n: n == 1, what="the first event sent")
        later = [_event(f"c-{i}", 1) for i in range(3)]
        for event in later:
            # Each commit alone would wake a relay that does not gather.
            await _commit_events(store, [event])
            await asyncio.sleep(0.1)
        ids = {e.envelope.id for e in later}
        assert ids.issubset(await _read_ids(broker.bootstrap_servers, ids))
        # The records reach the broker before the relay marks them sent and counts the batch.
        await eventually(lambda: sum(batches), lambda n: n == 4, what="the batch counted")
        assert batches == [1, 3]
    finally:
        await cancel_and_wait(task)
        await store.close()


async def _copies_of(bootstrap: str, ids: set[str], copies: int) -> Counter[str]:
    """How often each of `ids` is on the topic, once every one is there `copies` times."""
    counted: Counter[str] = Counter()
    async with reader(bootstrap, CONTACT_EVENTS.name) as consumer:

        async def read_more() -> Counter[str]:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    event_id = EventEnvelope.from_bytes(record.value or b"").id
                    if event_id in ids:  # other tests share the broker and the topic
                        counted[event_id] += 1
            return counted

        await eventually(
            read_more,
            lambda seen: all(seen[i] >= copies for i in ids),
            within=20,
            interval=0,
            what=f"each event {copies} times",
        )
    return counted


async def test_a_crash_between_publish_and_delete_publishes_again_under_the_same_ids(
    tmp_path: Path, broker: EmbeddedBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Published entries wait for the next write to delete them; the process dies before one.
    monkeypatch.setattr(sqlite_store, "SENT_DELETE_DELAY_SECONDS", 3600.0)
    path = tmp_path / "svc.sqlite3"
    crashed = SqliteStore(path)
    await crashed.start([])
    events = [_event(f"c-{i}", 1) for i in range(5)]
    ids = {e.envelope.id for e in events}
    await _commit_events(crashed, events)
    relay = _relay(crashed, broker.bootstrap_servers)
    task = asyncio.create_task(relay.run())
    await eventually(lambda: relay.published, lambda n: n == 5, what="the events marked sent")
    await cancel_and_wait(task)
    assert await crashed.pending_events(10) == [], "this process does not publish them again"
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM _outbox").fetchone()[0] == 5

    restarted = SqliteStore(path)
    await restarted.start([])
    consumer_store = SqliteStore(tmp_path / "consumer.sqlite3")
    await consumer_store.start([])
    again = asyncio.create_task(_relay(restarted, broker.bootstrap_servers).run())
    try:
        # At least once: every event twice, under its own id both times ...
        copies = await _copies_of(broker.bootstrap_servers, ids, 2)
        assert copies == dict.fromkeys(ids, 2)
        await eventually(
            lambda: restarted.pending_events(10), lambda p: p == [], what="an empty outbox"
        )
        # ... so a consumer that records handled ids with its effect applies each once.
        delivered = [event_id for event_id in copies.elements()]
        async with consumer_store.transaction() as session:
            first = await mark_processed_many(session, "audit", delivered[:5])
            second = await mark_processed_many(session, "audit", delivered[5:])
        assert first | second == ids
        assert len(first) + len(second) == len(ids)
    finally:
        await cancel_and_wait(again)
        await restarted.close()
        await consumer_store.close()
        await crashed.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM _outbox").fetchone()[0] == 0
