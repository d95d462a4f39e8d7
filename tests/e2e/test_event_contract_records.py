"""The event contract, read as another product would: every record of every topic, from the start.

A scripted session (creates, an edit, an import that creates and updates, activities from another
product in both CloudEvents modes, a note, a consent change, an erasure) runs on the platform;
then every topic is read from offset 0 and each record is checked against the published schemas
(shared/schemas, with jsonschema, not our pydantic models): the content-type header, the
envelope, the data, `dataschema`, the key convention and per-contact version order.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from crm_shared.topics import (
    ACTIVITIES,
    ALL_TOPICS,
    CONTACT_EVENTS,
    CONTACT_STATE,
    CONTACT_UPSERTS,
    CONVERSATIONS,
    DEAD_LETTERS,
    GDPR_EVENTS,
    Topic,
)
from tests.e2e.conftest import RunningPlatform, eventually

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "shared" / "schemas"
STRUCTURED = b"application/cloudevents+json"
# Contact events whose payload carries the contact's version, in the order they were written.
VERSIONED = {
    "crm.contacts.contact.created.v1",
    "crm.contacts.contact.updated.v1",
    "crm.contacts.contact.deleted.v1",
    "crm.contacts.contact.restored.v1",
    "crm.contacts.contact.anonymized.v1",
}


def _schemas() -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text()) for path in SCHEMAS.glob("*.json")}


def _activity(contact_id: str, summary: str) -> dict[str, Any]:
    return {
        "contact_id": contact_id,
        "activity_type": "conversation",
        "occurred_at": "2025-03-01T09:30:00Z",
        "summary": summary,
    }


async def _publish_activities(bootstrap: str, contact_id: str) -> None:
    """What a chat product would send, from the docs alone: one record in each mode."""
    structured = {
        "specversion": "1.0",
        "id": f"chat-structured-{contact_id}",
        "source": "chat-product",
        "type": "crm.activities.activity.recorded.v1",
        "time": "2025-03-01T09:30:01Z",
        "subject": contact_id,
        "tenant": "acme",
        "actor": "product:chat",
        "datacontenttype": "application/json",
        "data": _activity(contact_id, "Structured-mode chat"),
    }
    binary_headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", f"chat-binary-{contact_id}".encode()),
        ("ce_source", b"chat-product"),
        ("ce_type", b"crm.activities.activity.recorded.v1"),
        ("ce_time", b"2025-03-01T09:31:00Z"),
        ("ce_subject", contact_id.encode()),
        ("ce_tenant", b"acme"),
        ("ce_actor", b"product:chat"),
        ("content-type", b"application/json"),
    ]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            ACTIVITIES.name,
            json.dumps(structured).encode(),
            key=contact_id.encode(),
            headers=[("content-type", STRUCTURED)],
        )
        await producer.send_and_wait(
            ACTIVITIES.name,
            json.dumps(_activity(contact_id, "Binary-mode chat")).encode(),
            key=contact_id.encode(),
            headers=binary_headers,
        )
    finally:
        await producer.stop()


async def _read_topics(bootstrap: str, topics: tuple[Topic, ...]) -> dict[str, list[Any]]:
    """Every record of each topic up to its current end, partition by partition, in order."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=20,
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(t.name, p) for t in topics for p in range(t.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: dict[str, list[Any]] = defaultdict(list)
        remaining = {tp for tp, end in ends.items() if end > 0}
        while remaining:
            batches = await asyncio.wait_for(consumer.getmany(timeout_ms=500), 30)
            for tp, batch in batches.items():
                records[tp.topic].extend(batch)
                if batch and batch[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
        return records
    finally:
        await consumer.stop()


def _session(running: RunningPlatform) -> dict[str, str]:
    contacts, timeline = running.client("contacts"), running.client("timeline")
    importer, gdpr = running.client("importer"), running.client("gdpr")
    ada = contacts.post("/v1/contacts", json={"name": "Ada", "email": "ada@example.org"}).json()
    bob = contacts.post("/v1/contacts", json={"name": "Bob", "email": "bob@example.org"}).json()
    edited = contacts.patch(f"/v1/contacts/{ada['id']}", json={"company": "Analytical"})
    assert edited.status_code == 200, edited.text

    upload = io.StringIO()
    writer = csv.writer(upload)
    writer.writerow(["name", "email", "company"])
    writer.writerow(["Ada", "ada@example.org", "Engines Ltd"])
    writer.writerow(["Cy", "cy@example.org", ""])
    started = importer.post(
        "/v1/imports",
        files={"file": ("people.csv", upload.getvalue().encode(), "text/csv")},
        data={"on_duplicate": "update"},
    )
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    eventually(
        lambda: importer.get(f"/v1/imports/{job_id}").json()["status"] == "completed",
        what="the import to complete",
    )
    cy = contacts.get("/v1/contacts", params={"q": "cy@example.org"}).json()["items"][0]

    asyncio.run(_publish_activities(running.broker.bootstrap_servers, ada["id"]))
    eventually(
        lambda: (
            {"Structured-mode chat", "Binary-mode chat"}
            <= {
                i["summary"]
                for i in timeline.get(f"/v1/contacts/{ada['id']}/timeline").json()["items"]
            }
        ),
        what="both activities, structured and binary, on the timeline",
    )
    note = timeline.post(f"/v1/contacts/{ada['id']}/notes", json={"body": "Call back"})
    assert note.status_code == 201, note.text
    consent = gdpr.post(
        f"/v1/contacts/{ada['id']}/consents",
        json={"purpose": "marketing", "status": "withdrawn", "channel": "sms"},
    )
    assert consent.status_code == 201, consent.text

    erasure = gdpr.post("/v1/erasure-requests", json={"contact_id": bob["id"]})
    assert erasure.status_code == 202, erasure.text
    erasure_id = erasure.json()["id"]
    eventually(
        lambda: gdpr.get(f"/v1/erasure-requests/{erasure_id}").json()["status"] == "completed",
        what="the erasure to complete",
    )
    return {"ada": ada["id"], "bob": bob["id"], "cy": cy["id"], "job": job_id}


def _erasure_completed_published(bootstrap: str, contact_id: str) -> bool:
    records = asyncio.run(_read_topics(bootstrap, (GDPR_EVENTS,)))
    envelopes = [json.loads(r.value) for r in records[GDPR_EVENTS.name]]
    return any(
        e["type"] == "crm.gdpr.erasure.completed.v1" and e["subject"] == contact_id
        for e in envelopes
    )


def _check_record(record: Any, schemas: dict[str, dict[str, Any]]) -> dict[str, Any]:
    headers = dict(record.headers)
    where = f"{record.topic}@{record.partition}:{record.offset}"
    assert headers.get("content-type") == STRUCTURED, f"{where}: content-type {headers}"
    envelope = json.loads(record.value)
    jsonschema.validate(envelope, schemas["envelope"])
    schema = schemas[envelope["type"]]
    jsonschema.validate(envelope["data"], schema)
    assert envelope["dataschema"] == schema["$id"], where
    assert schema["x-topic"] == record.topic, where
    key_field = schema["x-key"].removeprefix("data.")
    assert record.key.decode() == envelope["data"][key_field], f"{where}: key"
    assert envelope["actor"] is None or ":" in envelope["actor"], f"{where}: actor"
    return envelope


def test_every_record_on_every_topic_keeps_the_published_contract(
    running: RunningPlatform,
) -> None:
    ids = _session(running)
    bootstrap = running.broker.bootstrap_servers
    eventually(
        lambda: _erasure_completed_published(bootstrap, ids["bob"]),
        what="the erasure's completion on the bus",
    )
    records = asyncio.run(_read_topics(bootstrap, ALL_TOPICS))
    schemas = _schemas()

    assert records[DEAD_LETTERS.name] == [], "nothing in the session should be dead-lettered"
    assert len(records[ACTIVITIES.name]) == 2
    quiet = {t.name for t in ALL_TOPICS if not records[t.name]}
    # Conversations and integration upserts are other products' input (tests/e2e/test_sources.py).
    products_only = {CONVERSATIONS.name, CONTACT_UPSERTS.name}
    assert quiet == {DEAD_LETTERS.name, *products_only}, "the session writes to every other topic"
    checked = 0
    versions: dict[str, list[int]] = defaultdict(list)
    mirrored: dict[str, list[dict[str, Any]]] = defaultdict(list)
    # The compacted state topic: each contact's latest record is its state, or a tombstone.
    latest_state: dict[str, dict[str, Any] | None] = {}
    for topic in ALL_TOPICS:
        for record in records[topic.name]:
            if topic == ACTIVITIES:
                continue  # written by the test, as another product, in either mode
            if topic == CONTACT_STATE and record.value is None:
                # Kafka's tombstone: a null value, so no CloudEvents content type either.
                assert record.headers == [] or not dict(record.headers).get("content-type")
                latest_state[record.key.decode()] = None
                continue
            envelope = _check_record(record, schemas)
            if topic == CONTACT_STATE:
                latest_state[record.key.decode()] = envelope["data"]
            checked += 1
            if topic == CONTACT_EVENTS and envelope["type"] in VERSIONED:
                versions[record.key.decode()].append(envelope["data"]["version"])
                mirrored[record.key.decode()].append(envelope)

    assert checked >= 15 and len(versions) == 3
    # The erased contact's state ends in a tombstone; the others' in their current profile.
    assert ids["bob"] in latest_state and latest_state[ids["bob"]] is None
    assert latest_state[ids["ada"]] is not None and latest_state[ids["cy"]] is not None
    for contact_id, seen in versions.items():
        assert seen == sorted(seen) and len(set(seen)) == len(seen), f"{contact_id}: {seen}"
    # A consumer of crm.contacts.events.v1 alone sees the import's writes with their values.
    [cy_created] = mirrored[ids["cy"]]
    assert cy_created["data"]["profile"]["email"] == "cy@example.org"
    assert cy_created["data"]["import_job_id"] == ids["job"]
    ada_types = [(e["type"].split(".")[-2], e["data"]["version"]) for e in mirrored[ids["ada"]]]
    assert ada_types == [("created", 1), ("updated", 2), ("updated", 3)]
    assert mirrored[ids["ada"]][2]["data"]["changes"]["company"] == {
        "before": "Analytical",
        "after": "Engines Ltd",
    }
    consent = [
        json.loads(r.value)["data"]
        for r in records[GDPR_EVENTS.name]
        if json.loads(r.value)["type"] == "crm.gdpr.consent.changed.v1"
    ]
    assert [(c["purpose"], c["status"], c["channel"]) for c in consent] == [
        ("marketing", "withdrawn", "sms")
    ]
